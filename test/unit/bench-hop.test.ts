import { describe, expect, it } from 'vitest';
import { defaultPids, postgresPidFile } from '../bench/src/default-pids.js';
import {
  addedLatency,
  hopFilterBody,
  hopLatencies,
  hopMessageBody,
  hopPairedPhases,
  hopPhases,
  hopRooms,
  type HopSend,
  p50p99,
  pairedDifferences,
  timelineMessages,
} from '../bench/src/hop-plan.js';
import { defaultScenarios, parseArgv, resolveOptions } from '../bench/src/options.js';
import { parsePidFile, procStatTicks, statTicks } from '../bench/src/proc.js';

describe('bench hop phases', () => {
  it('alternates the origin order by round for the idle phases', () => {
    const phases = hopPhases(2, ['via', 'direct']);
    expect(phases.map((phase) => `${phase.round}:${phase.filter}:${phase.origin}`)).toEqual([
      '0:plain:via',
      '0:plain:direct',
      '0:profile:via',
      '0:profile:direct',
      '1:plain:direct',
      '1:plain:via',
      '1:profile:direct',
      '1:profile:via',
    ]);
    expect(phases.map((phase) => phase.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(hopPhases(1, ['via']).map((phase) => phase.origin)).toEqual(['via', 'via']);
  });

  it('runs one paired long-poll phase per round and filter, the filter order alternating', () => {
    expect(hopPairedPhases(3).map((phase) => `${phase.index}:${phase.round}:${phase.filter}`)).toEqual([
      '0:0:plain',
      '1:0:profile',
      '2:1:profile',
      '3:1:plain',
      '4:2:plain',
      '5:2:profile',
    ]);
  });

  it('asks for profile fields only in the MSC4429 variant', () => {
    expect(hopFilterBody('plain', 'com.example.bench')).toEqual({ room: { timeline: { limit: 50 } } });
    expect(hopFilterBody('profile', 'com.example.bench')).toEqual({
      room: { timeline: { limit: 50 } },
      'org.matrix.msc4429.profile_fields': { ids: ['com.example.bench'] },
    });
  });

  it('picks the first rooms, their creators as senders and every member as a client', () => {
    const layout = hopRooms(
      [
        { roomId: '!a', members: [3, 1, 2] },
        { roomId: '!b', members: [2, 4] },
        { roomId: '!c', members: [5, 6] },
      ],
      2,
    );
    expect(layout.rooms).toEqual([
      { roomId: '!a', sender: 3, receivers: [1, 2] },
      { roomId: '!b', sender: 2, receivers: [4] },
    ]);
    expect(layout.clients).toEqual([1, 2, 3, 4]);
  });
});

describe('bench hop timelines', () => {
  const event = (body: string, sender = '@s:hs', type = 'm.room.message') => ({ type, sender, content: { msgtype: 'm.text', body } });

  it("finds this phase's messages in the joined rooms' timelines and counts gaps", () => {
    const body = {
      next_batch: 's2',
      rooms: {
        join: {
          '!a': { timeline: { limited: false, events: [event(hopMessageBody('t1', 2, 7)), event('t1:h2:x'), event('hello')] } },
          '!b': { timeline: { limited: true, events: [event(hopMessageBody('t1', 2, 8), '@o:hs'), event(hopMessageBody('t1', 3, 9))] } },
          '!c': { timeline: { events: [event(hopMessageBody('t1', 2, 10), '@s:hs', 'm.room.topic')] } },
          '!d': {},
        },
        leave: { '!e': { timeline: { events: [event(hopMessageBody('t1', 2, 11))] } } },
      },
    };
    expect(timelineMessages(body, 't1', 2)).toEqual({
      messages: [
        { roomId: '!a', sender: '@s:hs', seq: 7 },
        { roomId: '!b', sender: '@o:hs', seq: 8 },
      ],
      limited: 1,
    });
    expect(timelineMessages({ next_batch: 's' }, 't1', 2)).toEqual({ messages: [], limited: 0 });
  });
});

describe('bench hop latencies', () => {
  const sends = new Map<number, HopSend>([
    [0, { room: 0, sentAt: 100, ackAt: 150 }],
    [1, { room: 1, sentAt: 200, ackAt: 260 }],
    [2, { room: 0, sentAt: 300, ackAt: undefined }],
  ]);
  const receivers = (room: number) => (room === 0 ? [1, 2] : [3]);

  it('pairs acknowledged sends with their receivers, first delivery only', () => {
    const figures = hopLatencies(
      sends,
      [
        { seq: 0, receiver: 1, at: 140 },
        { seq: 0, receiver: 1, at: 400 },
        { seq: 0, receiver: 2, at: 180 },
        { seq: 0, receiver: 3, at: 180 },
        { seq: 2, receiver: 1, at: 350 },
        { seq: 9, receiver: 1, at: 350 },
      ],
      receivers,
    );
    expect(figures.fromSend).toEqual([40, 80]);
    expect(figures.fromAck).toEqual([-10, 30]);
    expect(figures).toMatchObject({ expected: 3, delivered: 2, missing: 1, duplicates: 1, unexpected: 3 });
    expect([...figures.first]).toEqual([
      ['0>1', 140],
      ['0>2', 180],
    ]);
  });

  it('takes the difference per message and receiver delivered through both origins', () => {
    const via = new Map([
      ['0>1', 150],
      ['0>2', 190],
      ['1>3', 300],
    ]);
    const direct = new Map([
      ['0>1', 140],
      ['0>2', 195],
    ]);
    expect(pairedDifferences(via, direct)).toEqual([10, -5]);
  });

  it('subtracts percentiles, null when a side is missing', () => {
    expect(p50p99([3, 1, 2])).toEqual({ p50: 2, p99: 3, count: 3 });
    expect(addedLatency({ p50: 12.5, p99: 40 }, { p50: 10, p99: 30.25 })).toEqual({ p50: 2.5, p99: 9.75 });
    expect(addedLatency({ p50: null, p99: 40 }, p50p99([]))).toEqual({ p50: null, p99: null });
  });
});

describe('bench companion target', () => {
  it('is named explicitly, runs hop by default and measures its own Synapse directly', () => {
    const options = resolveOptions(parseArgv(['--target', 'companion']).flags, { MX_SYNAPSE_PORT: '38448' });
    expect(options.target).toBe('companion');
    expect(options.hopDirectUrl).toBe('http://127.0.0.1:38448');
    expect(options.scenarios).toEqual(['memory', 'fanout', 'hop', 'writes', 'idle', 'initial', 'replay', 'scaleout']);
    expect(resolveOptions(parseArgv(['--target', 'companion', '--hop-direct-url', 'none']).flags, {}).hopDirectUrl).toBeUndefined();
    expect(() => resolveOptions(parseArgv(['--hop-direct-url', 'http://10.0.0.1:8448']).flags, {})).toThrow(/loopback/);
  });

  it('leaves hop out of the project default (no messages there) and hostile out of every default', () => {
    expect(defaultScenarios('project')).not.toContain('hop');
    expect(defaultScenarios('synapse')).toContain('hop');
    expect(defaultScenarios('synapse')).not.toContain('hostile');
    expect(resolveOptions(parseArgv([]).flags, {}).scenarios).not.toContain('hop');
    expect(resolveOptions(parseArgv(['--base-url', 'http://127.0.0.1:8448']).flags, {}).hopDirectUrl).toBeUndefined();
  });

  it("watches companion.sh's processes, nginx and PostgreSQL with their children", () => {
    const pids = defaultPids({ pids: new Map(), target: 'companion', projectRoot: '/repo' }, { MX_LOCAL_DIR: '/l', MX_PG_DIR: '/pg' });
    expect(Object.fromEntries(pids)).toEqual({
      writer: '/l/run/writer.pid',
      projector: '/l/run/projector.pid',
      'sync-api': '/l/run/sync-api.pid',
      synapse: '/l/synapse/synapse.pid',
      router: '+/l/nginx/nginx.pid',
      kafka: '/l/kafka/kafka.pid',
      postgres: '+/pg/data/postmaster.pid',
    });
    expect(
      Object.fromEntries(
        defaultPids({ pids: new Map(), target: 'synapse', projectRoot: '/repo' }, { MX_SYNAPSE_DIR: '/s', MX_PG_DIR: '/pg' }),
      ),
    ).toEqual({ synapse: '/s/synapse.pid', postgres: '+/pg/data/postmaster.pid' });
    expect([...defaultPids({ pids: new Map([['x', '/x.pid']]), target: 'companion', projectRoot: '/repo' }, {})]).toEqual([
      ['x', '/x.pid'],
    ]);
  });

  it("finds PostgreSQL's pid file where postgres.sh puts the cluster", () => {
    const hashed = '/var/tmp/mx-postgres-d6fff5cc6e54/data/postmaster.pid';
    expect(postgresPidFile('/l', {}, (file) => file === hashed)).toBe(hashed);
    expect(postgresPidFile('/l', {}, () => false)).toBe('/l/postgres/data/postmaster.pid');
  });
});

describe('bench CPU readings', () => {
  it('reads a process tree marker from --pid', () => {
    expect(parsePidFile('+/run/nginx.pid')).toEqual({ pidFile: '/run/nginx.pid', tree: true });
    expect(parsePidFile('/run/writer.pid')).toEqual({ pidFile: '/run/writer.pid', tree: false });
  });

  it('adds user and system ticks, and the reaped children on request, after a command name with spaces', () => {
    const fields = ['S', '1', '2', '3', '0', '-1', '4194560', '10', '0', '0', '0', '700', '300', '50', '25', '20', '0'];
    const stat = `1234 (nginx: worker (x)) ${fields.join(' ')}`;
    expect(statTicks(stat, false)).toBe(1000);
    expect(statTicks(stat, true)).toBe(1075);
    expect(statTicks('garbage', false)).toBeUndefined();
  });

  it("reads the machine's busy and total ticks from /proc/stat", () => {
    const text = 'cpu  100 5 50 1000 20 1 2 3 0 0\ncpu0 50 2 25 500 10 0 1 1 0 0\nintr 1\n';
    expect(procStatTicks(text)).toEqual({ busy: 161, total: 1181 });
    expect(procStatTicks('intr 1\n')).toBeUndefined();
  });
});
