import { describe, expect, inject, it } from 'vitest';
import { describeMsc4429Behaviours } from '../support/msc4429-behaviours.js';
import { standaloneDriver } from '../support/msc4429-driver.js';
import { CLIENT_V3, expectMatrixError, expectStatus, profilePath } from '../support/accounts.js';
import { type MatrixResponse, registerUser, request, type TestUser, USERS } from '../support/matrix-client.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';

/**
 * MSC4429 (profile updates in legacy /sync) through the real processes, standalone mode: stored filters, the
 * profile field filter keys, and the `org.matrix.msc4429.users` section of initial, incremental,
 * full_state and lazy-loading syncs, tokens, and the long-poll wake-ups. Every test uses fresh
 * users. The writer answers only after the projection applied a change, but the sync service
 * hears of it asynchronously: an incremental sync that expects something long-polls (it answers
 * as soon as the change is there), and one that expects an absence is answered by a "marker"
 * change of the syncer's own profile made after the change under test.
 */
const UNSTABLE_FIELDS = 'org.matrix.msc4429.profile_fields';
/** Long enough for any change to arrive; a long-poll answers as soon as it has something. */
const WAIT = 20_000;

type Updates = Record<string, unknown> | null;
type Users = Record<string, { profile_updates: Updates }>;

interface SyncEvent {
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
}
interface RoomSection {
  timeline: { events: SyncEvent[] };
  state: { events: SyncEvent[] };
}
interface SyncBody {
  next_batch: string;
  rooms: { join: Record<string, RoomSection>; leave: Record<string, RoomSection> };
  [USERS]?: Users;
}

interface SyncOptions {
  since?: string;
  timeout?: number;
  /** A filter object (sent as inline JSON) or a raw string (a stored filter id or malformed text). */
  filter?: unknown;
  fullState?: boolean;
}

function syncRaw(user: TestUser, options: SyncOptions = {}): Promise<MatrixResponse<SyncBody>> {
  const query = new URLSearchParams();
  if (options.since !== undefined) query.set('since', options.since);
  if (options.timeout !== undefined) query.set('timeout', String(options.timeout));
  if (options.filter !== undefined)
    query.set('filter', typeof options.filter === 'string' ? options.filter : JSON.stringify(options.filter));
  if (options.fullState !== undefined) query.set('full_state', String(options.fullState));
  return request<SyncBody>('GET', `${CLIENT_V3}/sync?${query.toString()}`, { token: user.accessToken });
}

async function sync(user: TestUser, options: SyncOptions = {}): Promise<SyncBody> {
  const response = await syncRaw(user, options);
  expectStatus(response, 200);
  expect(typeof response.body.next_batch).toBe('string');
  return response.body;
}

/** An incremental sync that expects something: long-polls so the change has reached the sync side. */
function syncFrom(user: TestUser, since: string, filter: unknown, extra: Omit<SyncOptions, 'since' | 'filter'> = {}): Promise<SyncBody> {
  return sync(user, { since, filter, timeout: WAIT, ...extra });
}

/** A filter asking for the given profile fields under the unstable key. */
function fields(...ids: string[]): Record<string, unknown> {
  return { [UNSTABLE_FIELDS]: { ids } };
}

async function put(user: TestUser, key: string, value: unknown): Promise<void> {
  const response = await request('PUT', profilePath(user.userId, key), { token: user.accessToken, body: { [key]: value } });
  expectStatus(response, 200);
}

/** Two users joined to one fresh room (created by `owner`, public so `other` can join). */
async function shareRoom(owner: TestUser, other: TestUser): Promise<string> {
  const roomId = await createRoomOk(owner, { preset: 'public_chat' });
  expectStatus(await joinRoomById(other, roomId), 200);
  return roomId;
}

function filterPath(userId: string, filterId?: string): string {
  const base = `${CLIENT_V3}/user/${encodeURIComponent(userId)}/filter`;
  return filterId === undefined ? base : `${base}/${encodeURIComponent(filterId)}`;
}

function postFilter(user: TestUser, definition: unknown, owner: string = user.userId) {
  return request<{ filter_id: string }>('POST', filterPath(owner), { token: user.accessToken, body: definition });
}

async function storeFilter(user: TestUser, definition: unknown): Promise<string> {
  const response = await postFilter(user, definition);
  expectStatus(response, 200);
  return response.body.filter_id;
}

describe('MSC4429 filters: stored filters', () => {
  it('stores a filter and gives it back exactly, unknown keys, nested values and key order included', async () => {
    const alice = await registerUser('alice');
    const definition = {
      zeta: 1,
      room: { timeline: { limit: 3 }, state: { lazy_load_members: false } },
      [UNSTABLE_FIELDS]: { ids: ['m.tz', 'displayname'] },
      alpha: { nested: [1, { b: null, a: true }, 'x'], empty: {} },
      'com.example.unknown': 'value',
      middle: [],
    };
    const created = await postFilter(alice, definition);
    expectStatus(created, 200);
    expect(typeof created.body.filter_id).toBe('string');
    expect(created.body.filter_id.length).toBeGreaterThan(0);
    expect(created.body.filter_id.startsWith('{')).toBe(false);

    const read = await request('GET', filterPath(alice.userId, created.body.filter_id), { token: alice.accessToken });
    expectStatus(read, 200);
    expect(read.body).toEqual(definition);
    expect(JSON.stringify(read.body)).toBe(JSON.stringify(definition));
  });

  it("forbids another user's filter path: POST and GET answer 403 M_FORBIDDEN", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const filterId = await storeFilter(alice, fields('m.tz'));
    expectMatrixError(await postFilter(bob, fields('m.tz'), alice.userId), 403, 'M_FORBIDDEN');
    expectMatrixError(await request('GET', filterPath(alice.userId, filterId), { token: bob.accessToken }), 403, 'M_FORBIDDEN');
  });

  it('answers an unknown filter id with 404 M_NOT_FOUND', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await request('GET', filterPath(alice.userId, 'nosuchfilter'), { token: alice.accessToken }), 404, 'M_NOT_FOUND');
    // Another user's filter id is unknown under one's own path.
    const bob = await registerUser('bob');
    const bobs = await storeFilter(bob, fields('m.tz'));
    expectMatrixError(await request('GET', filterPath(alice.userId, bobs), { token: alice.accessToken }), 404, 'M_NOT_FOUND');
  });

  it.each([
    ['ids as a string', { [UNSTABLE_FIELDS]: { ids: 'm.tz' } }],
    ['ids with a number', { [UNSTABLE_FIELDS]: { ids: [1] } }],
    ['stable key with a string', { profile_fields: { ids: 'm.tz' } }],
  ])('rejects malformed profile ids in a stored filter (%s) with 400 M_BAD_JSON', async (_name, definition) => {
    const alice = await registerUser('alice');
    expectMatrixError(await postFilter(alice, definition), 400, 'M_BAD_JSON');
  });

  it('uses a stored filter in /sync like the same inline filter', async () => {
    const alice = await registerUser('alice');
    await put(alice, 'm.tz', 'Europe/Paris');
    const filterId = await storeFilter(alice, fields('m.tz'));
    const stored = await sync(alice, { filter: filterId });
    const inline = await sync(alice, { filter: fields('m.tz') });
    expect(stored[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });
    expect(stored[USERS]).toEqual(inline[USERS]);
    // Incremental with the stored filter too.
    await put(alice, 'm.tz', 'Asia/Tokyo');
    const next = await syncFrom(alice, stored.next_batch, filterId);
    expect(next[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
  });
});

describe('MSC4429 filters: /sync filter parameter', () => {
  it('answers an unknown stored filter id with 400 M_INVALID_PARAM', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await syncRaw(alice, { filter: 'nosuchfilter' }), 400, 'M_INVALID_PARAM');
  });

  it('answers unparseable filter JSON with 400 M_NOT_JSON and a non-object with 400 M_BAD_JSON', async () => {
    const alice = await registerUser('alice');
    expectMatrixError(await syncRaw(alice, { filter: '{not json' }), 400, 'M_NOT_JSON');
    expectMatrixError(await syncRaw(alice, { filter: '[1]' }), 400, 'M_BAD_JSON');
  });

  it.each([
    ['ids as a string', { [UNSTABLE_FIELDS]: { ids: 'm.tz' } }],
    ['ids with a number', { [UNSTABLE_FIELDS]: { ids: [1] } }],
    ['section not an object', { [UNSTABLE_FIELDS]: ['m.tz'] }],
    ['stable ids with null', { profile_fields: { ids: [null] } }],
  ])('answers malformed inline profile ids (%s) with 400 M_BAD_JSON, never 500', async (_name, filter) => {
    const alice = await registerUser('alice');
    expectMatrixError(await syncRaw(alice, { filter }), 400, 'M_BAD_JSON');
  });

  it('caps the distinct profile ids at 100: 100 (with duplicates) pass, 101 answer 400 M_INVALID_PARAM', async () => {
    const alice = await registerUser('alice');
    const ids = Array.from({ length: 100 }, (_, i) => `com.example.f${i}`);
    expectStatus(await syncRaw(alice, { filter: fields(...ids, ...ids.slice(0, 10)) }), 200);
    expectMatrixError(await syncRaw(alice, { filter: fields(...ids, 'com.example.extra') }), 400, 'M_INVALID_PARAM');
    // The cap counts the union of both keys.
    const both = { [UNSTABLE_FIELDS]: { ids: ids.slice(0, 60) }, profile_fields: { ids: ids.slice(40).concat('com.example.extra') } };
    expectMatrixError(await syncRaw(alice, { filter: both }), 400, 'M_INVALID_PARAM');
    const overlapping = { [UNSTABLE_FIELDS]: { ids: ids.slice(0, 60) }, profile_fields: { ids: ids.slice(40) } };
    expectStatus(await syncRaw(alice, { filter: overlapping }), 200);
    // A stored filter over the cap is refused too (when stored, or at the latest when used).
    const stored = await postFilter(alice, fields(...ids, 'com.example.extra'));
    if (stored.status === 200) expectMatrixError(await syncRaw(alice, { filter: stored.body.filter_id }), 400, 'M_INVALID_PARAM');
    else expectMatrixError(stored, 400, 'M_INVALID_PARAM');
  });

  it('accepts the stable key, and merges the ids of both keys', async () => {
    const alice = await registerUser('alice');
    await put(alice, 'm.tz', 'UTC');
    await put(alice, 'com.example.b', 'bee');
    await put(alice, 'com.example.c', 'sea');
    const stable = await sync(alice, { filter: { profile_fields: { ids: ['com.example.b'] } } });
    expect(stable[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'com.example.b': 'bee' } } });
    const merged = await sync(alice, {
      filter: { [UNSTABLE_FIELDS]: { ids: ['m.tz'] }, profile_fields: { ids: ['com.example.b', 'm.tz'] } },
    });
    expect(merged[USERS]).toEqual({ [alice.userId]: { profile_updates: { 'm.tz': 'UTC', 'com.example.b': 'bee' } } });
  });
});

describe('MSC4429 tokens', () => {
  it.each(['garbage', 'm1_zz'])('answers the malformed since %j with 400 M_INVALID_PARAM', async (since) => {
    const alice = await registerUser('alice');
    expectMatrixError(await syncRaw(alice, { since, filter: fields('m.tz') }), 400, 'M_INVALID_PARAM');
  });

  it('answers a token of another topic layout with an initial-sync-like response', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await put(x, 'm.tz', 'UTC');
    await put(y, 'm.tz', 'Europe/Paris');
    const roomId = await shareRoom(x, y);
    const filter = fields('m.tz');
    const token = (await sync(x, { filter })).next_batch;
    const parts = token.split('_');
    expect(parts, token).toHaveLength(4);
    expect(parts[0]).toBe('m1');
    const foreign = ['m1', 'zzzz', parts[2], parts[3]].join('_');
    expect(foreign).not.toBe(token);
    const body = await sync(x, { since: foreign, filter });
    expect(body[USERS]).toEqual({
      [x.userId]: { profile_updates: { 'm.tz': 'UTC' } },
      [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } },
    });
    const room = body.rooms.join[roomId];
    expect(room).toBeDefined();
    expect([...room!.state.events, ...room!.timeline.events].map((e) => e.type)).toEqual(
      expect.arrayContaining(['m.room.create', 'm.room.power_levels', 'm.room.member']),
    );
  });
});

// The users section, its tokens and wake-ups: the table both modes run (companion: companion-msc4429.test.ts).
describeMsc4429Behaviours('standalone', () => standaloneDriver(inject('stack').syncApiUrl));
