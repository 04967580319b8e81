import { describe, expect, it } from 'vitest';
import { accessTokenKey, HomeserverRequesterResolver, WhoamiCache, type WhoamiAnswer } from '@mx/auth';
import { decodeCompanionSyncToken } from '@mx/companion';
import { ConfigValidationError, loadAppConfig } from '@mx/config';
import { MatrixError } from '@mx/matrix';
import {
  companionVersions,
  homeserverRooms,
  homeserverSyncQuery,
  mergeCompanionSync,
  projectOnlySync,
  timelineMemberEvents,
} from '../../apps/sync-api/src/companion/companion-sync-response.js';

const SYNAPSE_TOKEN = 's72_1_0_5_3_1_1_4_0_1_0_0_0_0';
const positions = { epoch: 'abc123', profile: [0, 5], membership: [7] };
const alice = { kind: 'accepted', requester: { userId: '@alice:hs', deviceId: 'D' } } as const satisfies WhoamiAnswer;

describe('companion /sync: the whoami cache', () => {
  it('keeps accepted answers for the positive time and refusals for the negative one', () => {
    let now = 0;
    const cache = new WhoamiCache({ positiveMs: 1000, negativeMs: 100, maxEntries: 10, now: () => now });
    const refused: WhoamiAnswer = { kind: 'refused', status: 401, body: { errcode: 'M_UNKNOWN_TOKEN' } };
    cache.set('a', alice);
    cache.set('b', refused);
    now = 99;
    expect(cache.get('a')).toEqual(alice);
    expect(cache.get('b')).toEqual(refused);
    now = 100;
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toEqual(alice);
    now = 1000;
    expect(cache.get('a')).toBeUndefined();
  });

  it('holds at most maxEntries, the least recently used leaving first', () => {
    const cache = new WhoamiCache({ positiveMs: 1000, negativeMs: 100, maxEntries: 2 });
    cache.set('a', alice);
    cache.set('b', alice);
    cache.get('a');
    cache.set('c', alice);
    expect(cache.size).toBe(2);
    expect(cache.get('b')).toBeUndefined();
    expect(cache.get('a')).toBeDefined();
    expect(cache.get('c')).toBeDefined();
  });

  it('keeps nothing when a time is 0', () => {
    const cache = new WhoamiCache({ positiveMs: 0, negativeMs: 0, maxEntries: 10 });
    cache.set('a', alice);
    expect(cache.get('a')).toBeUndefined();
  });
});

describe('companion /sync: the homeserver resolves tokens', () => {
  function fakeHomeserver(answers: (() => Response)[]) {
    const calls: { url: string; authorization: string | undefined }[] = [];
    const fetchFake = ((url: string, init?: RequestInit) => {
      calls.push({ url, authorization: (init?.headers as Record<string, string> | undefined)?.['authorization'] });
      const next = answers.shift();
      return next ? Promise.resolve(next()) : Promise.reject(new TypeError('fetch failed'));
    }) as unknown as typeof fetch;
    return { calls, fetchFake };
  }
  const json = (status: number, body: unknown) => () => new Response(JSON.stringify(body), { status });
  const options = { baseUrl: 'http://hs', timeoutMs: 1000, positiveMs: 60_000, negativeMs: 5000, maxEntries: 100 };

  it('asks whoami with the token once, then answers from the cache', async () => {
    const { calls, fetchFake } = fakeHomeserver([json(200, { user_id: '@alice:hs', device_id: 'DEV', is_guest: false })]);
    const resolver = new HomeserverRequesterResolver({ ...options, fetch: fetchFake });
    expect(await resolver.resolve('tok')).toEqual({ userId: '@alice:hs', deviceId: 'DEV' });
    expect(await resolver.resolve('tok')).toEqual({ userId: '@alice:hs', deviceId: 'DEV' });
    expect(calls).toEqual([{ url: 'http://hs/_matrix/client/v3/account/whoami', authorization: 'Bearer tok' }]);
  });

  it("passes the homeserver's 401 through unchanged, and remembers it", async () => {
    const refusal = { errcode: 'M_UNKNOWN_TOKEN', error: 'Invalid access token passed.', soft_logout: false };
    const { calls, fetchFake } = fakeHomeserver([json(401, refusal)]);
    const resolver = new HomeserverRequesterResolver({ ...options, fetch: fetchFake });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const error = await resolver.resolve('bad').catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(MatrixError);
      expect((error as MatrixError).status).toBe(401);
      expect((error as MatrixError).toBody()).toEqual(refusal);
    }
    expect(calls).toHaveLength(1);
  });

  it('does not cache a failing homeserver: 502 M_UNKNOWN, then asks again', async () => {
    const { calls, fetchFake } = fakeHomeserver([json(500, { errcode: 'M_UNKNOWN', error: 'boom' })]);
    const resolver = new HomeserverRequesterResolver({ ...options, fetch: fetchFake });
    const first = (await resolver.resolve('tok').catch((caught: unknown) => caught)) as MatrixError;
    expect([first.status, first.errcode]).toEqual([502, 'M_UNKNOWN']);
    const second = (await resolver.resolve('tok').catch((caught: unknown) => caught)) as MatrixError;
    expect([second.status, second.errcode]).toEqual([502, 'M_UNKNOWN']); // unreachable now
    expect(calls).toHaveLength(2);
  });

  it('forgets what a logout on any replica announced: one token, every token of a user, or everything', async () => {
    const whoami = (user: string) => json(200, { user_id: user, device_id: 'D' });
    const { calls, fetchFake } = fakeHomeserver([
      whoami('@a:hs'),
      whoami('@a:hs'),
      whoami('@b:hs'),
      // after the deletions
      whoami('@a:hs'),
      whoami('@a:hs'),
      whoami('@a:hs'),
      whoami('@b:hs'),
    ]);
    const resolver = new HomeserverRequesterResolver({ ...options, fetch: fetchFake });
    for (const token of ['a1', 'a2', 'b1']) await resolver.resolve(token);
    expect(calls).toHaveLength(3);
    resolver.forgetDeleted([accessTokenKey('a1')]);
    await resolver.resolve('a1');
    await resolver.resolve('a2');
    expect(calls).toHaveLength(4); // a1 asked again, a2 still cached
    resolver.forgetDeleted({ userId: '@a:hs' });
    await resolver.resolve('a1');
    await resolver.resolve('a2');
    await resolver.resolve('b1');
    expect(calls).toHaveLength(6); // both of @a's asked again, @b's still cached
    resolver.forgetDeleted('all');
    await resolver.resolve('b1');
    expect(calls).toHaveLength(7);
  });

  it('keys the cache by the SHA-256 of the token, never the token', () => {
    expect(accessTokenKey('tok')).toMatch(/^[0-9a-f]{64}$/);
    expect(accessTokenKey('tok')).not.toContain('tok');
  });
});

describe('companion /sync: the forwarded query', () => {
  it("forwards the client's parameters with the homeserver's since and the capped timeout, never the token", () => {
    const params = homeserverSyncQuery(
      {
        filter: '{"room":{}}',
        since: `mc1_x_0_0_${SYNAPSE_TOKEN}`,
        timeout: '999999',
        full_state: 'false',
        set_presence: 'offline',
        access_token: 'secret',
        'org.matrix.msc4222.use_state_after': 'true',
      },
      SYNAPSE_TOKEN,
      30_000,
    );
    expect(Object.fromEntries(params)).toEqual({
      filter: '{"room":{}}',
      since: SYNAPSE_TOKEN,
      timeout: '30000',
      full_state: 'false',
      set_presence: 'offline',
      'org.matrix.msc4222.use_state_after': 'true',
    });
  });

  it('leaves since and timeout out when the client gave none', () => {
    expect(homeserverSyncQuery({ filter: '0' }, undefined, undefined).toString()).toBe('filter=0');
  });
});

describe('companion /sync: one response from two', () => {
  const homeserver = {
    next_batch: 's80_1',
    rooms: { join: { '!r': { timeline: { events: [{ sender: '@bob:hs', type: 'm.room.message', content: {} }] } } } },
    'org.matrix.msc4429.users': { '@bob:hs': { profile_updates: { 'm.status': 'theirs' } } },
    users: { '@bob:hs': { profile_updates: {} } },
    presence: { events: [] },
  };

  it("keeps the homeserver's sections, drops its users sections, adds ours and combines the tokens", () => {
    const merged = mergeCompanionSync(homeserver, 's80_1', positions, new Map([['@bob:hs', { 'm.status': 'ours' }]]), 'users');
    expect(merged['rooms']).toBe(homeserver.rooms);
    expect(merged['presence']).toBe(homeserver.presence);
    expect(merged['org.matrix.msc4429.users']).toBeUndefined();
    expect(merged['users']).toEqual({ '@bob:hs': { profile_updates: { 'm.status': 'ours' } } });
    expect(decodeCompanionSyncToken(merged['next_batch'] as string)).toEqual({ positions, homeserver: 's80_1' });
  });

  it('has no users section when ours is empty, and a plain homeserver token without positions', () => {
    const merged = mergeCompanionSync(homeserver, 's80_1', undefined, undefined, 'org.matrix.msc4429.users');
    expect(merged['next_batch']).toBe('s80_1');
    expect(merged['org.matrix.msc4429.users']).toBeUndefined();
    expect(merged['users']).toBeUndefined();
  });

  it("answers project news first with the homeserver's since unchanged", () => {
    const answer = projectOnlySync(SYNAPSE_TOKEN, positions, new Map([['@bob:hs', null]]), 'org.matrix.msc4429.users');
    expect(answer).toEqual({
      next_batch: `mc1_abc123_0.5_7_${SYNAPSE_TOKEN}`,
      'org.matrix.msc4429.users': { '@bob:hs': { profile_updates: null } },
    });
  });

  it("reads the homeserver's rooms for lazy-loading, ignoring what is malformed", () => {
    const rooms = homeserverRooms({ rooms: { join: { '!r': { timeline: { events: [{ sender: '@bob:hs' }, 'junk', null] } } }, leave: 5 } });
    expect(rooms.join['!r']!.timeline.events).toEqual([{ sender: '@bob:hs' }]);
    expect(rooms.join['!r']!.state.events).toEqual([]);
    expect(rooms.leave).toEqual({});
  });

  it('finds the joins and leaves of the timelines (joined and left rooms), each once, not the state', () => {
    const member = (id: string, user: string, ts?: unknown) => ({
      event_id: id,
      type: 'm.room.member',
      state_key: user,
      sender: user,
      origin_server_ts: ts,
      content: { membership: 'join' },
    });
    const rooms = homeserverRooms({
      rooms: {
        join: {
          '!a': {
            timeline: {
              events: [member('$1', '@b:hs', 10), { event_id: '$m', type: 'm.room.message', sender: '@b:hs' }, member('$1', '@b:hs', 10)],
            },
            state: { events: [member('$old', '@c:hs', 1)] },
          },
        },
        leave: { '!l': { timeline: { events: [member('$2', '@me:hs', 'not a number')] } } },
      },
    });
    expect(timelineMemberEvents(rooms)).toEqual([
      { eventId: '$1', roomId: '!a', userId: '@b:hs', originServerTs: 10 },
      { eventId: '$2', roomId: '!l', userId: '@me:hs', originServerTs: 0 },
    ]);
  });
});

describe('companion /versions', () => {
  it("keeps the homeserver's versions and features, adding MSC4429 (stable when configured)", () => {
    const synapse = { versions: ['v1.11', 'v1.12'], unstable_features: { 'uk.tcpip.msc4133': true, 'org.matrix.msc4429': false } };
    expect(companionVersions(synapse, false)).toEqual({
      versions: ['v1.11', 'v1.12'],
      unstable_features: { 'uk.tcpip.msc4133': true, 'org.matrix.msc4429': true },
    });
    expect(companionVersions(synapse, true)['unstable_features']).toMatchObject({ 'org.matrix.msc4429.stable': true });
    expect(companionVersions({ versions: [] }, false)).toEqual({ versions: [], unstable_features: { 'org.matrix.msc4429': true } });
  });
});

describe('companion mode configuration', () => {
  const companion = { MX_MODE: 'companion', MX_APPSERVICE_HS_TOKEN: 'h'.repeat(32), MX_APPSERVICE_AS_TOKEN: 'a'.repeat(32) };

  it('is standalone by default, with no upstream', () => {
    const config = loadAppConfig({}, { httpPort: 1 });
    expect(config.mode).toBe('standalone');
    expect(config.upstream).toBeUndefined();
  });

  it('needs MX_UPSTREAM_URL in companion mode', () => {
    expect(() => loadAppConfig(companion, { httpPort: 1 })).toThrow(/MX_UPSTREAM_URL is required/);
    expect(() => loadAppConfig({ ...companion, MX_UPSTREAM_URL: 'synapse:8008' }, { httpPort: 1 })).toThrow(ConfigValidationError);
  });

  it('structures the upstream settings, with their defaults', () => {
    const config = loadAppConfig({ ...companion, MX_UPSTREAM_URL: 'http://synapse:8008/' }, { httpPort: 1 });
    expect(config.mode).toBe('companion');
    expect(config.upstream).toEqual({ url: 'http://synapse:8008', timeoutMs: 10_000, whoamiCacheMs: 60_000, whoamiNegativeCacheMs: 5000 });
    const tuned = loadAppConfig(
      {
        ...companion,
        MX_UPSTREAM_URL: 'https://hs.example/base',
        MX_UPSTREAM_TIMEOUT_MS: '2500',
        MX_WHOAMI_CACHE_MS: '0',
        MX_WHOAMI_NEGATIVE_CACHE_MS: '1',
      },
      { httpPort: 1 },
    );
    expect(tuned.upstream).toEqual({ url: 'https://hs.example/base', timeoutMs: 2500, whoamiCacheMs: 0, whoamiNegativeCacheMs: 1 });
  });
});
