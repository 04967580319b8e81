import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accessTokenOfRequest, authorizationHeaderValues, MIXED_ACCESS_TOKEN_SOURCES, TOO_MANY_AUTHORIZATION_HEADERS } from '@mx/auth';
import { ConfigValidationError, loadAppConfig, validateEnvironment } from '@mx/config';
import { MatrixError } from '@mx/matrix';
import { assertFilterTextSize, encodeFilter, LazyProfileCache, MAX_FILTER_BYTES } from '@mx/sync';
import { ByteBoundedLru } from '@mx/sync';
import { filterCacheCost } from '../../apps/sync-api/src/filters/filter-store.js';
import { LongPollRegistry } from '../../apps/sync-api/src/sync/long-poll-registry.js';

function matrixErrorOf(action: () => unknown): { status: number; errcode: string } | undefined {
  try {
    action();
  } catch (error) {
    if (error instanceof MatrixError) return { status: error.status, errcode: error.errcode };
    throw error;
  }
  return undefined;
}

describe('accessTokenOfRequest (as Synapse reads a request’s token)', () => {
  it('refuses an Authorization header together with an access_token query parameter, whatever either holds', () => {
    const mixed = { kind: 'ambiguous', reason: MIXED_ACCESS_TOKEN_SOURCES };
    expect(accessTokenOfRequest(['Bearer good'], { access_token: 'bogus' })).toEqual(mixed);
    expect(accessTokenOfRequest(['Bearer good'], { access_token: 'good' })).toEqual(mixed);
    expect(accessTokenOfRequest(['Bearer good'], { access_token: '' })).toEqual(mixed);
    expect(accessTokenOfRequest([''], { access_token: 'good' })).toEqual(mixed);
    expect(accessTokenOfRequest(['Bearer good'], { access_token: ['a', 'b'] })).toEqual(mixed);
  });

  it('refuses more than one Authorization header', () => {
    expect(accessTokenOfRequest(['Bearer a', 'Bearer a'], {})).toEqual({ kind: 'ambiguous', reason: TOO_MANY_AUTHORIZATION_HEADERS });
  });

  it('reads a single source as before', () => {
    expect(accessTokenOfRequest(['Bearer abc'], {})).toEqual({ kind: 'token', token: 'abc' });
    expect(accessTokenOfRequest([], { access_token: 'def' })).toEqual({ kind: 'token', token: 'def' });
    expect(accessTokenOfRequest([], {})).toEqual({ kind: 'missing' });
    expect(accessTokenOfRequest([''], {})).toEqual({ kind: 'missing' });
    expect(accessTokenOfRequest(['Basic abc'], {})).toEqual({ kind: 'malformed' });
    expect(accessTokenOfRequest([], { access_token: ['a', 'b'] })).toEqual({ kind: 'malformed' });
  });

  it('does not take an inherited property for the query parameter', () => {
    const query = Object.create({ access_token: 'inherited' }) as Record<string, unknown>;
    expect(accessTokenOfRequest(['Bearer abc'], query)).toEqual({ kind: 'token', token: 'abc' });
  });

  it('finds every Authorization header in Node’s raw header list, whatever its case', () => {
    expect(authorizationHeaderValues(['Host', 'x', 'authorization', 'Bearer a', 'AUTHORIZATION', 'Bearer b', 'Accept', '*/*'])).toEqual([
      'Bearer a',
      'Bearer b',
    ]);
    expect(authorizationHeaderValues(['Host', 'x'])).toEqual([]);
  });
});

describe('filter size cap', () => {
  it('accepts a filter of exactly MAX_FILTER_BYTES as compact JSON and refuses one byte more (400 M_TOO_LARGE)', () => {
    const padded = (bytes: number) => ({ p: 'x'.repeat(bytes - JSON.stringify({ p: '' }).length) });
    expect(Buffer.byteLength(encodeFilter(padded(MAX_FILTER_BYTES)))).toBe(MAX_FILTER_BYTES);
    expect(matrixErrorOf(() => encodeFilter(padded(MAX_FILTER_BYTES + 1)))).toEqual({ status: 400, errcode: 'M_TOO_LARGE' });
  });

  it('counts UTF-8 bytes, not characters', () => {
    const chars = Math.floor(MAX_FILTER_BYTES / 3) + 10; // under the cap in characters, over it in bytes
    expect(matrixErrorOf(() => assertFilterTextSize(JSON.stringify({ p: '€'.repeat(chars) })))).toEqual({
      status: 400,
      errcode: 'M_TOO_LARGE',
    });
    expect(matrixErrorOf(() => assertFilterTextSize(JSON.stringify({ p: '€'.repeat(1000) })))).toBeUndefined();
  });

  it('writes the filter as it is stored (compact JSON, every key kept in order)', () => {
    const definition = { z: 1, room: { timeline: { limit: 5 } }, 'com.example.unknown': [true, null] };
    expect(encodeFilter(definition)).toBe(JSON.stringify(definition));
  });
});

describe('ByteBoundedLru', () => {
  it('never holds more bytes or entries than its bounds, and its count matches what it holds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.integer({ min: 0, max: 500 }),
        fc.array(fc.tuple(fc.constantFrom('set', 'get', 'delete'), fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 700 }))),
        (maxEntries, maxBytes, operations) => {
          const lru = new ByteBoundedLru<number>(maxEntries, maxBytes);
          const costs = new Map<string, number>();
          for (const [operation, id, cost] of operations) {
            const key = `k${id}`;
            if (operation === 'set') {
              lru.set(key, cost, cost);
              costs.set(key, cost);
            } else if (operation === 'get') {
              const value = lru.get(key);
              if (value !== undefined) expect(value).toBe(costs.get(key));
            } else lru.delete(key);
            expect(lru.bytes).toBeLessThanOrEqual(maxBytes);
            expect(lru.size).toBeLessThanOrEqual(maxEntries);
          }
          let held = 0;
          for (const [key, cost] of costs) if (lru.get(key) !== undefined) held += cost;
          expect(held).toBe(lru.bytes);
        },
      ),
    );
  });

  it('drops the least recently used first, and never keeps a value costing more than the whole bound', () => {
    const lru = new ByteBoundedLru<string>(10, 100);
    lru.set('a', 'A', 40);
    lru.set('b', 'B', 40);
    expect(lru.get('a')).toBe('A'); // b is now the least recently used
    lru.set('c', 'C', 40);
    expect([lru.get('a'), lru.get('b'), lru.get('c')]).toEqual(['A', undefined, 'C']);
    lru.set('huge', 'H', 101);
    expect(lru.get('huge')).toBeUndefined();
    expect(lru.bytes).toBe(80);
  });

  it('costs a filter at least two bytes a character of its key and text', () => {
    expect(filterCacheCost('@a:hs\nid', 'x'.repeat(1000))).toBeGreaterThanOrEqual(2 * (8 + 1000));
  });
});

describe('LazyProfileCache bounds', () => {
  it('keeps its estimated memory within maxBytes however devices and users come', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 0, max: 4000 }),
        fc.array(
          fc.tuple(
            fc.constantFrom('remember', 'reset'),
            fc.integer({ min: 0, max: 6 }),
            fc.array(fc.string({ minLength: 1, maxLength: 40 }), { maxLength: 12 }),
          ),
        ),
        (maxDevices, maxUsers, maxBytes, operations) => {
          const cache = new LazyProfileCache(maxDevices, maxUsers, maxBytes);
          for (const [operation, device, users] of operations) {
            if (operation === 'remember') cache.remember(`@u:hs|D${device}`, users);
            else cache.reset(`@u:hs|D${device}`);
            expect(cache.bytes).toBeLessThanOrEqual(maxBytes);
            expect(cache.bytes).toBeGreaterThanOrEqual(0);
            expect(cache.size).toBeLessThanOrEqual(maxDevices);
          }
          for (let device = 0; device <= 6; device++) cache.reset(`@u:hs|D${device}`);
          expect(cache.bytes).toBe(0);
        },
      ),
    );
  });

  it('forgets the least recently synced device when the memory bound is reached, and keeps users per device bounded', () => {
    const users = (prefix: string, count: number) => Array.from({ length: count }, (_, index) => `@${prefix}${index}:hs`);
    const cache = new LazyProfileCache(100, 3, 1000);
    cache.remember('a', users('x', 5));
    expect(cache.unsent('a', users('x', 5))).toEqual(['@x0:hs', '@x1:hs']); // only the last 3 kept
    cache.remember('b', users('y', 3));
    cache.remember('c', users('z', 3)); // over 1000 estimated bytes: a, the least recently synced, goes
    expect(cache.unsent('a', ['@x4:hs'])).toEqual(['@x4:hs']);
    expect(cache.unsent('c', ['@z2:hs'])).toEqual([]);
    expect(cache.bytes).toBeLessThanOrEqual(1000);
  });
});

describe('LongPollRegistry', () => {
  it('signals the long-polls of a deleted token, and every long-poll when any token may be gone', async () => {
    const registry = new LongPollRegistry();
    const a = registry.park('@a:hs', 'aa');
    const a2 = registry.park('@a:hs', 'aa');
    const b = registry.park('@b:hs', 'bb');
    registry.tokensDeleted(['aa', 'cc']);
    await a.poll.signalled();
    await a2.poll.signalled();
    expect([a.poll.takeTokenDoubt(), a2.poll.takeTokenDoubt(), b.poll.takeTokenDoubt()]).toEqual([true, true, false]);
    expect(a.poll.takeTokenDoubt()).toBe(false); // taken once
    const waiting = b.poll.signalled();
    registry.tokensDeleted('all');
    await waiting;
    expect([a.poll.takeTokenDoubt(), b.poll.takeTokenDoubt()]).toEqual([true, true]);
  });

  it('signals every long-poll of a user whose tokens all went (companion /logout/all), and no one else’s', async () => {
    const registry = new LongPollRegistry();
    const a1 = registry.park('@a:hs', 'aa');
    const a2 = registry.park('@a:hs', 'ab');
    const b = registry.park('@b:hs', 'bb');
    registry.tokensDeleted({ userId: '@a:hs' });
    await Promise.all([a1.poll.signalled(), a2.poll.signalled()]);
    expect([a1.poll.takeTokenDoubt(), a2.poll.takeTokenDoubt(), b.poll.takeTokenDoubt()]).toEqual([true, true, false]);
  });

  it('releases a user’s oldest long-poll beyond the per-user bound, and no one else’s', async () => {
    const released: string[] = [];
    const registry = new LongPollRegistry(2, (poll) => released.push(poll.tokenHash));
    const first = registry.park('@a:hs', 't1');
    registry.park('@a:hs', 't2');
    const other = registry.park('@b:hs', 'u1');
    expect(registry.size).toBe(3);
    registry.park('@a:hs', 't3');
    await first.poll.signalled();
    expect(first.poll.released).toBe(true);
    expect(other.poll.released).toBe(false);
    expect(released).toEqual(['t1']);
    expect(registry.size).toBe(3);
    first.leave(); // already gone: idempotent
    expect(registry.size).toBe(3);
    registry.tokensDeleted(['t1']); // no longer registered: nothing to signal
    expect(first.poll.takeTokenDoubt()).toBe(false);
  });

  it('forgets a long-poll once it leaves', () => {
    const registry = new LongPollRegistry();
    const parked = registry.park('@a:hs', 'aa');
    parked.leave();
    parked.leave();
    expect(registry.size).toBe(0);
    registry.tokensDeleted(['aa']);
    expect(parked.poll.takeTokenDoubt()).toBe(false);
  });
});

describe('MX_SYNC_FILTER_CACHE_BYTES', () => {
  const defaults = { httpPort: 8102 };

  it('defaults to 32 MiB and accepts 0 (no cache)', () => {
    expect(loadAppConfig({}, defaults).sync.filterCacheBytes).toBe(32 * 1024 * 1024);
    expect(loadAppConfig({ MX_SYNC_FILTER_CACHE_BYTES: '0' }, defaults).sync.filterCacheBytes).toBe(0);
    expect(loadAppConfig({ MX_SYNC_FILTER_CACHE_BYTES: '262144' }, defaults).sync.filterCacheBytes).toBe(262144);
  });

  it.each(['-1', '1.5', 'lots', String(4 * 1024 ** 3 + 1)])('refuses %s at start-up', (value) => {
    expect(() => validateEnvironment({ MX_SYNC_FILTER_CACHE_BYTES: value })).toThrow(ConfigValidationError);
  });
});
