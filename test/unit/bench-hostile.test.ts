import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { partitionForKey } from '@mx/event-log';
import {
  coverPartitions,
  isMatrixErrorBody,
  keptAdvancing,
  longestStallMs,
  promSamples,
  ResponseTally,
  rssSummary,
  statusClass,
} from '../bench/src/hostile-checks.js';
import {
  bigFilter,
  deepArray,
  deepObject,
  freshLocalpart,
  HOSTILE_CASES,
  type HostileCase,
  pickCase,
} from '../bench/src/hostile-requests.js';
import { kafkaPartition, murmur2 } from '../bench/src/kafka-partition.js';
import { defaultScenarios, parseArgv, resolveOptions } from '../bench/src/options.js';
import { evaluate, TARGETS } from '../bench/src/targets.js';

describe('bench kafkaPartition', () => {
  it('is the project’s partitioner (and so Kafka’s) for any key and partition count', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 80 }), fc.integer({ min: 1, max: 64 }), (key, count) => {
        expect(kafkaPartition(key, count)).toBe(partitionForKey(key, count));
      }),
      { numRuns: 500 },
    );
  });

  it('matches the Java client’s murmur2 vectors', () => {
    expect(murmur2(Buffer.from('21'))).toBe(-973932308);
    expect(murmur2(Buffer.from('foobar'))).toBe(-790332482);
    expect(murmur2(Buffer.from('a-little-bit-longer-string'))).toBe(-1486304829);
    expect(murmur2(Buffer.from([97, 98, 99]))).toBe(479470107);
    expect(() => kafkaPartition('a', 0)).toThrow(RangeError);
  });
});

describe('bench hostile response checks', () => {
  it('classifies statuses', () => {
    expect(statusClass(undefined)).toBe('transport');
    expect(statusClass(200)).toBe('2xx');
    expect(statusClass(429)).toBe('4xx');
    expect(statusClass(504)).toBe('5xx');
    expect(statusClass(0)).toBe('other');
  });

  it('recognises Matrix error bodies only', () => {
    expect(isMatrixErrorBody('{"errcode":"M_TOO_LARGE","error":"Request body too large"}')).toBe(true);
    expect(isMatrixErrorBody('<html><body>413 Request Entity Too Large</body></html>')).toBe(false);
    expect(isMatrixErrorBody('{"statusCode":400,"code":"FST_ERR_BAD_URL","error":"Bad Request"}')).toBe(false);
    expect(isMatrixErrorBody('{"errcode":"M_UNKNOWN"}')).toBe(false);
    expect(isMatrixErrorBody('[{"errcode":"M_UNKNOWN","error":"x"}]')).toBe(false);
    expect(isMatrixErrorBody('')).toBe(false);
  });

  it('tallies by kind and class, and keeps a few offending answers', () => {
    const tally = new ResponseTally();
    tally.record('a', 400, '{"errcode":"M_BAD_JSON","error":"x"}');
    tally.record('a', 200, '{}', false);
    tally.record('b', 500, '{"errcode":"M_UNKNOWN","error":"boom"}');
    tally.record('b', 413, '<html>413</html>');
    tally.record('b', undefined, 'socket hang up', false);
    for (let i = 0; i < 5; i += 1) tally.record('c', 502, 'Bad Gateway');
    const s = tally.snapshot();
    expect(s.requests).toBe(10);
    expect(s.byClass).toMatchObject({ '2xx': 1, '4xx': 2, '5xx': 6, transport: 1 });
    expect(s.serverErrors).toBe(6);
    expect(s.nonMatrixErrors).toBe(6); // the HTML 413 and the five plain-text 502s
    expect(s.unexpected).toBe(2);
    expect(s.transportErrors).toBe(1);
    expect(s.byKind['a']!.statuses).toEqual({ '400': 1, '200': 1 });
    expect(s.byKind['b']!.statuses).toEqual({ '500': 1, '413': 1, transport: 1 });
    expect(s.byKind['a']!.samples).toEqual([{ status: 200, why: 'unexpected status', body: '{}' }]);
    expect(s.byKind['c']!.samples).toHaveLength(3);
    expect(s.byKind['c']!.samples[0]!.why).toBe('5xx, not a Matrix error body');
  });

  it('reads Prometheus samples of one metric, labels unescaped', () => {
    const text = [
      '# HELP mx_projector_consumer_lag Records in the partition not yet applied',
      '# TYPE mx_projector_consumer_lag gauge',
      'mx_projector_consumer_lag{topic="mx.profile.v1",partition="0"} 3',
      'mx_projector_consumer_lag{topic="mx.profile.v1",partition="1"} 0',
      'mx_projector_consumer_lag_total{topic="x"} 9',
      'mx_projector_partition_stalled_seconds{topic="a\\"b",partition="2"} 12.5',
      'mx_plain 4',
    ].join('\n');
    expect(promSamples(text, 'mx_projector_consumer_lag')).toEqual([
      { labels: { topic: 'mx.profile.v1', partition: '0' }, value: 3 },
      { labels: { topic: 'mx.profile.v1', partition: '1' }, value: 0 },
    ]);
    expect(promSamples(text, 'mx_projector_partition_stalled_seconds')).toEqual([
      { labels: { topic: 'a"b', partition: '2' }, value: 12.5 },
    ]);
    expect(promSamples(text, 'mx_plain')).toEqual([{ labels: {}, value: 4 }]);
    expect(promSamples(text, 'mx_absent')).toEqual([]);
  });
});

describe('bench hostile RSS summary', () => {
  it('reports MB (10^6 bytes) and bounds the growth above the start', () => {
    const summary = rssSummary(100e6, [120e6, 149e6, undefined], 130e6, 50);
    expect(summary).toMatchObject({
      startMB: 100,
      maxMB: 149,
      minMB: 100,
      endMB: 130,
      endMinusStartMB: 30,
      maxMinusStartMB: 49,
      startMinusMinMB: 0,
      withinLimit: true,
      samples: 4,
    });
    expect(rssSummary(100e6, [151e6], 100e6, 50)).toMatchObject({ maxMinusStartMB: 51, withinLimit: false, endMinusStartMB: 0 });
    expect(rssSummary(100e6, [], 151e6, 50)).toMatchObject({ maxMinusStartMB: 51, withinLimit: false });
  });

  it('does not fail a process for giving memory back, and shows it', () => {
    expect(rssSummary(400e6, [250e6, 290e6], 300e6, 50)).toMatchObject({
      withinLimit: true,
      maxMinusStartMB: 0,
      startMinusMinMB: 150,
      endMinusStartMB: -100,
    });
  });

  it('says nothing about a process it could not read at the start', () => {
    expect(rssSummary(undefined, [1e6], 2e6, 50)).toMatchObject({ startMB: null, withinLimit: null, endMinusStartMB: null, maxMB: 2 });
  });
});

describe('bench hostile partition progress', () => {
  const samples = (rows: [number, number, number][]) => rows.map(([t, position, high]) => ({ t, position, high }));

  it('measures the longest time a partition sat at one position with records to apply', () => {
    expect(longestStallMs([])).toBe(0);
    // Caught up throughout: no stall.
    expect(
      longestStallMs(
        samples([
          [0, 5, 5],
          [1000, 5, 5],
          [2000, 7, 7],
        ]),
      ),
    ).toBe(0);
    // Behind but advancing every reading: no stall.
    expect(
      longestStallMs(
        samples([
          [0, 5, 9],
          [1000, 6, 9],
          [2000, 7, 9],
        ]),
      ),
    ).toBe(0);
    // Stuck at 6 from t = 1000 to t = 4000, then caught up; a later 1 s stall.
    expect(
      longestStallMs(
        samples([
          [0, 5, 9],
          [1000, 6, 9],
          [2000, 6, 12],
          [3000, 6, 15],
          [4000, 6, 15],
          [5000, 15, 15],
          [6000, 15, 16],
          [7000, 15, 16],
        ]),
      ),
    ).toBe(3000);
  });

  it('calls a partition advancing only when it moved and is caught up after the settle', () => {
    expect(keptAdvancing({ topic: 't', partition: 0, before: 10, after: 20, highAtEnd: 20 })).toBe(true);
    expect(keptAdvancing({ topic: 't', partition: 0, before: 10, after: 10, highAtEnd: 10 })).toBe(false);
    expect(keptAdvancing({ topic: 't', partition: 0, before: 10, after: 15, highAtEnd: 20 })).toBe(false);
    expect(keptAdvancing({ topic: 't', partition: 0, before: null, after: 15, highAtEnd: 15 })).toBe(false);
  });

  it('picks keys until every partition has its share', () => {
    const keys = Array.from({ length: 1000 }, (_, i) => `@u${i}:localhost`);
    const { chosen, missing } = coverPartitions(keys, (key) => kafkaPartition(key, 8), 8, 2);
    expect(missing).toEqual([]);
    expect(chosen).toHaveLength(16);
    for (let p = 0; p < 8; p += 1) expect(chosen.filter((c) => c.partition === p)).toHaveLength(2);
    for (const c of chosen) expect(kafkaPartition(c.candidate, 8)).toBe(c.partition);
    // It stops at the first candidates that complete the cover.
    expect(keys.indexOf(chosen.at(-1)!.candidate)).toBeLessThan(200);
    expect(coverPartitions(['a', 'b'], () => 0, 2, 1)).toEqual({ chosen: [{ candidate: 'a', partition: 0 }], missing: [1] });
  });
});

describe('bench hostile cases', () => {
  const env = {
    user: { userId: '@u:localhost', token: 't1' },
    filterUser: { userId: '@f:localhost', token: 't2' },
    room: { roomId: '!r:localhost', creator: { userId: '@c:localhost', token: 't3' } },
    serverName: 'localhost',
    tag: 'ab12cd34-7',
  };

  it('sends well-formed JSON: the hostility is in the values, sizes and depths', () => {
    for (const c of HOSTILE_CASES)
      for (const request of c.build(env))
        if (request.body !== undefined) expect(() => JSON.parse(request.body!) as unknown, c.name).not.toThrow();
  });

  it('builds what issue 12 lists', () => {
    const body = (name: string) => HOSTILE_CASES.find((c) => c.name === name)!.build(env)[0]!.body!;
    expect(body('profile-nul')).toContain('\\u0000');
    expect(body('profile-lone-surrogate')).toContain('\\ud800');
    expect(body('profile-1e400')).toContain('1e400');
    expect(JSON.parse(body('profile-1e400'))).toEqual({ 'com.example.hostile': Infinity });
    expect(body('profile-deep').length).toBeGreaterThan(20_000);
    expect(body('body-over-1mib').length).toBeGreaterThan(1024 * 1024);
    const filter = body('filter-250kb');
    expect(filter.length).toBeGreaterThan(245_000);
    expect(filter.length).toBeLessThan(256 * 1024);
    expect(filter).not.toBe(HOSTILE_CASES.find((c) => c.name === 'filter-250kb')!.build({ ...env, tag: 'other-1' })[0]!.body);
    expect((JSON.parse(body('createroom-6000-invites-trusted')) as { invite: string[] }).invite).toHaveLength(6000);
    expect(HOSTILE_CASES.find((c) => c.name === 'login-wrong-password-burst')!.build(env)).toHaveLength(6);
    const both = HOSTILE_CASES.find((c) => c.name === 'token-header-and-query')!.build(env)[0]!;
    expect(both.token).toBe('t1');
    expect(both.path).toContain('access_token=');
    expect(HOSTILE_CASES.find((c) => c.name === 'trace')!.build(env)[0]!.method).toBe('TRACE');
    expect(new Set(HOSTILE_CASES.map((c) => c.name)).size).toBe(HOSTILE_CASES.length);
    expect(freshLocalpart('AB_12-x', 3)).toBe('ab12-x-r3');
  });

  it('nests as deep as asked', () => {
    expect(deepArray(3)).toBe('[[[]]]');
    expect(deepObject(2)).toBe('{"a":{"a":1}}');
    expect(deepArray(10_000)).toHaveLength(20_000);
    expect(() => JSON.parse(deepArray(10_000)) as unknown).not.toThrow(); // valid JSON, just deep
    expect(bigFilter(1000, 't', 'hs')).toMatch(/^\{"room":\{"rooms":\["!tx000000/);
  });

  it('picks among the cases allowed to start, by weight', () => {
    const make = (name: string, weight: number, everyMs: number): HostileCase => ({
      name,
      what: name,
      weight,
      everyMs,
      build: () => [],
      expect: () => true,
      expectation: '',
    });
    const cases = [make('a', 1, 0), make('b', 3, 1000), make('z', 0, 0)];
    expect(pickCase(cases, new Map(), 0, 0.1)?.name).toBe('a');
    expect(pickCase(cases, new Map(), 0, 0.5)?.name).toBe('b');
    expect(pickCase(cases, new Map(), 0, 0.999)?.name).toBe('b');
    // b started 500 ms ago: only a may start.
    expect(pickCase(cases, new Map([['b', 1000]]), 1500, 0.9)?.name).toBe('a');
    expect(pickCase(cases, new Map([['b', 1000]]), 2000, 0.9)?.name).toBe('b');
    expect(pickCase([make('b', 3, 1000)], new Map([['b', 0]]), 10, 0.5)).toBeUndefined();
  });
});

describe('bench hostile options and targets', () => {
  it('runs only when named, with quick defaults', () => {
    const full = resolveOptions(parseArgv([]).flags, {});
    expect(full.scenarios).toEqual(defaultScenarios('project'));
    expect(full.scenarios).not.toContain('hostile');
    expect(full).toMatchObject({ hostileDurationS: 60, hostileConcurrency: 16, hostileSettleS: 10 });
    const quick = resolveOptions(parseArgv(['--quick', '--scenarios', 'hostile,memory']).flags, {});
    expect(quick.scenarios).toEqual(['memory', 'hostile']);
    expect(quick).toMatchObject({ hostileDurationS: 15, hostileSettleS: 5 });
    expect(resolveOptions(parseArgv(['--hostile-duration', '30']).flags, {}).hostileDurationS).toBe(30);
  });

  it('states the issue’s bounds as targets, indicative below one minute', () => {
    const spec = (id: string) => TARGETS.find((target) => target.metric === id)!;
    const scale = { users: 1000, fanoutRate: 100, initialSizes: [10000], memoryParked: 1000, hostileDurationS: 60 };
    expect(evaluate(spec('hostile.rss_growth.sync-api'), 12.3, scale)).toMatchObject({ status: 'met', unit: 'MB' });
    expect(evaluate(spec('hostile.rss_growth.writer'), 64, scale)).toMatchObject({ status: 'missed' });
    expect(evaluate(spec('hostile.partitions_not_advancing'), 2, scale)).toMatchObject({ status: 'missed', shortfall: '2 instead of 0' });
    expect(evaluate(spec('hostile.server_errors'), 0, { ...scale, hostileDurationS: 15 }).scaleNote).toMatch(/15 s mix/);
    expect(spec('hostile.non_matrix_error_bodies').threshold).toBe(0);
  });
});
