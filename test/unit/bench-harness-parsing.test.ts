import { describe, expect, it } from 'vitest';
import { isLoopbackHost, assertLoopbackUrl } from '../bench/src/loopback.js';
import { retryAfterMs } from '../bench/src/matrix-client.js';
import { parseArgv, resolveOptions } from '../bench/src/options.js';
import { profileUpdates } from '../bench/src/profile-updates.js';
import { parseReplayLine, replayRates } from '../bench/src/replay-progress.js';
import { niceTicks } from '../bench/src/report/svg-plot.js';

describe('bench loopback guard', () => {
  it('accepts loopback only', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('127.12.0.3')).toBe(true);
    expect(isLoopbackHost('localhost')).toBe(true);
    expect(isLoopbackHost('[::1]')).toBe(true);
    expect(isLoopbackHost('10.0.0.1')).toBe(false);
    expect(isLoopbackHost('matrix.org')).toBe(false);
    expect(isLoopbackHost('127.0.0.1.nip.io')).toBe(false);
    expect(() => assertLoopbackUrl('https://127.0.0.1:8448')).toThrow(/only http/);
    expect(() => assertLoopbackUrl('http://example.com')).toThrow(/loopback/);
  });
});

describe('bench options', () => {
  it('takes flags over environment over profile defaults', () => {
    const { flags } = parseArgv(['--quick', '--users=100', '--scenarios', 'writes,fanout']);
    const options = resolveOptions(flags, { MX_BENCH_ROOM_SIZE: '4' });
    expect(options).toMatchObject({ quick: true, users: 100, roomSize: 4, fanoutRate: 20, target: 'project' });
    expect(options.scenarios).toEqual(['fanout', 'writes']);
  });

  it('names the target from the port and refuses remote URLs and unknown flags', () => {
    expect(resolveOptions(parseArgv(['--base-url', 'http://127.0.0.1:8448']).flags, {}).target).toBe('synapse');
    expect(() => resolveOptions(parseArgv(['--base-url', 'http://192.168.1.2:8008']).flags, {})).toThrow(/loopback/);
    expect(() => resolveOptions(parseArgv(['--nope', '1']).flags, {})).toThrow(/unknown flag/);
    expect(() => resolveOptions(parseArgv(['--scenarios', 'fanout,bogus']).flags, {})).toThrow(/unknown scenario/);
  });

  it('reads pid files and sizes', () => {
    const options = resolveOptions(parseArgv(['--pid', 'a=/x.pid', '--pid', 'b=/y.pid', '--initial-sizes', '10000,1000']).flags, {});
    expect([...options.pids]).toEqual([
      ['a', '/x.pid'],
      ['b', '/y.pid'],
    ]);
    expect(options.initialSizes).toEqual([1000, 10000]);
  });
});

describe('bench response parsing', () => {
  it('reads the MSC4429 users section in both entry shapes', () => {
    const updates = profileUpdates({
      next_batch: 's',
      'org.matrix.msc4429.users': {
        '@a:hs': { profile_updates: { 'm.status': 'x' } },
        '@b:hs': { profile_updates: null },
        '@c:hs': { 'm.status': null },
      },
    });
    expect(updates.get('@a:hs')).toEqual({ 'm.status': 'x' });
    expect(updates.get('@b:hs')).toBeNull();
    expect(updates.get('@c:hs')).toEqual({ 'm.status': null });
    expect(profileUpdates({ next_batch: 's' }).size).toBe(0);
  });

  it('backs off as a 429 asks', () => {
    expect(retryAfterMs({ errcode: 'M_LIMIT_EXCEEDED', retry_after_ms: 250 }, '9')).toBe(250);
    expect(retryAfterMs({}, '2')).toBe(2000);
    expect(retryAfterMs({}, undefined)).toBe(1000);
  });

  it('parses the replay progress and derives rates', () => {
    expect(parseReplayLine('replay: 500/2000 events, 1500 left, 4000 events/s   ', 1000)).toEqual({
      t: 1000,
      done: 500,
      total: 2000,
      rate: 4000,
    });
    expect(parseReplayLine('something else', 0)).toBeUndefined();
    const rates = replayRates([
      { t: 1000, done: 0, total: 2000, rate: 0 },
      { t: 1250, done: 500, total: 2000, rate: 2000 },
      { t: 1750, done: 2000, total: 2000, rate: 2600 },
    ]);
    expect(rates).toEqual({ events: 2000, caughtUpMs: 1750, phaseRate: 3000, cliRate: 2600, wallRate: 1143 });
    expect(replayRates([{ t: 300, done: 10, total: 10, rate: 40 }]).phaseRate).toBeNull();
  });

  it('picks round plot ticks covering the range', () => {
    expect(niceTicks(0, 100, 5)).toEqual([0, 20, 40, 60, 80, 100]);
    expect(niceTicks(0, 1, 5)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    const ticks = niceTicks(-3, 1379, 10);
    expect(ticks[0]).toBeLessThanOrEqual(-3);
    expect(ticks.at(-1)).toBeGreaterThanOrEqual(1379);
  });
});
