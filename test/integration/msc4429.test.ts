import { describe, expect, it } from 'vitest';
import { CLIENT_V3, expectMatrixError, expectStatus, profilePath } from '../support/accounts.js';
import { type MatrixResponse, registerUser, request, type TestUser, USERS } from '../support/matrix-client.js';
import { parkLongPoll } from '../support/long-polls.js';
import { createRoomOk, joinRoomById, leaveRoom, membershipAction } from '../support/rooms.js';

/**
 * MSC4429 (profile updates in legacy /sync) through the real processes: stored filters, the
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

async function del(user: TestUser, key: string): Promise<void> {
  expectStatus(await request('DELETE', profilePath(user.userId, key), { token: user.accessToken }), 200);
}

/** Two users joined to one fresh room (created by `owner`, public so `other` can join). */
async function shareRoom(owner: TestUser, other: TestUser): Promise<string> {
  const roomId = await createRoomOk(owner, { preset: 'public_chat' });
  expectStatus(await joinRoomById(other, roomId), 200);
  return roomId;
}

const MARKER = 'com.example.marker';
let markerCount = 0;

/** Changes the syncer's own marker field, so an incremental sync that must show an absence answers at once. */
async function marker(user: TestUser): Promise<string> {
  markerCount += 1;
  const value = `mark-${markerCount}`;
  await put(user, MARKER, value);
  return value;
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

  it('never sends a users section without requested ids', async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    await put(alice, 'm.tz', 'UTC');
    await put(bob, 'm.tz', 'UTC');
    const roomId = await shareRoom(alice, bob);
    const zones = ['Europe/Paris', 'Asia/Tokyo', 'America/New_York', 'Africa/Cairo', 'Australia/Sydney'];
    const filters = [undefined, {}, fields(), { profile_fields: { ids: [] } }, { [UNSTABLE_FIELDS]: {} }];
    for (const [index, filter] of filters.entries()) {
      const shown = JSON.stringify(filter);
      const initial = await sync(alice, filter === undefined ? {} : { filter });
      expect(initial, shown).not.toHaveProperty([USERS]);
      await put(bob, 'm.tz', zones[index]!);
      await put(alice, 'm.tz', zones[(index + 1) % zones.length]!);
      // The positive control: a join committed after both profile changes (each write is answered
      // once applied). The long-poll waits for it (never a timeout: it is the only thing it can
      // send), and one snapshot holds it, so the answer's window holds both profile changes too.
      const carol = await registerUser('carol');
      expectStatus(await joinRoomById(carol, roomId), 200);
      const incremental = await sync(alice, { since: initial.next_batch, timeout: WAIT, ...(filter === undefined ? {} : { filter }) });
      const timeline = incremental.rooms.join[roomId]?.timeline.events ?? [];
      const joins = timeline.filter((event) => event.type === 'm.room.member' && event.state_key === carol.userId);
      expect(
        joins.map((event) => event.content['membership']),
        shown,
      ).toEqual(['join']);
      expect(incremental, shown).not.toHaveProperty([USERS]);
      expect(incremental).not.toHaveProperty(['users']);
    }
  });
});

describe('MSC4429 users section: initial sync', () => {
  it('sends the current requested fields of the syncer and every co-member, omitting unset fields and non-co-members', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    const w = await registerUser('w');
    const z = await registerUser('z');
    const v = await registerUser('v');
    await put(x, 'displayname', 'Xavier');
    await put(x, 'com.example.extra', 'not requested');
    await put(y, 'm.tz', 'Europe/Paris');
    await put(y, 'com.example.obj', { nested: [1, null, { a: 'b' }] });
    await put(z, 'm.tz', 'Asia/Tokyo');
    await put(v, 'm.tz', 'UTC');
    await shareRoom(x, y);
    // W shares a room but has no requested field; Z shares none; V shares a room with Z only.
    await shareRoom(w, x);
    await shareRoom(z, v);
    const body = await sync(x, { filter: fields('m.tz', 'displayname', 'com.example.obj', 'com.example.unset') });
    expect(body[USERS]).toEqual({
      [x.userId]: { profile_updates: { displayname: 'Xavier' } },
      [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.obj': { nested: [1, null, { a: 'b' }] } } },
    });
  });

  it('sends a literal null value as null', async () => {
    const x = await registerUser('x');
    await put(x, 'com.example.null', null);
    const body = await sync(x, { filter: fields('com.example.null') });
    expect(body[USERS]).toEqual({ [x.userId]: { profile_updates: { 'com.example.null': null } } });
  });
});

describe('MSC4429 users section: incremental sync', () => {
  it('sends the latest value of each changed requested field: last PUT wins, DELETE and literal null as null', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await shareRoom(x, y);
    await put(y, 'com.example.gone', 'soon deleted');
    await put(y, 'com.example.same', 'unchanged');
    const filter = fields('m.tz', 'com.example.gone', 'com.example.same', 'com.example.null', 'com.example.brief');
    const token = (await sync(x, { filter })).next_batch;
    await put(y, 'm.tz', 'Europe/Paris');
    await put(y, 'm.tz', 'Asia/Tokyo');
    await put(y, 'm.tz', 'America/New_York');
    await del(y, 'com.example.gone');
    await put(y, 'com.example.null', null);
    await put(y, 'com.example.brief', 'here');
    await del(y, 'com.example.brief');
    await put(y, 'com.example.unrequested', 'x');
    const body = await syncFrom(x, token, filter);
    expect(body[USERS]).toEqual({
      [y.userId]: {
        profile_updates: { 'm.tz': 'America/New_York', 'com.example.gone': null, 'com.example.null': null, 'com.example.brief': null },
      },
    });
  });

  it('consumes changes of unrequested fields instead of deferring them', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await shareRoom(x, y);
    const token = (await sync(x, { filter: fields('m.tz', MARKER) })).next_batch;
    await put(y, 'com.example.a', 'old change');
    const mark1 = await marker(x);
    const first = await syncFrom(x, token, fields(MARKER));
    expect(first[USERS]).toEqual({ [x.userId]: { profile_updates: { [MARKER]: mark1 } } });
    const mark2 = await marker(x);
    const second = await syncFrom(x, first.next_batch, fields('com.example.a', MARKER));
    expect(second[USERS]).toEqual({ [x.userId]: { profile_updates: { [MARKER]: mark2 } } });
  });

  it("always sends the syncer's own updates, even in no room at all", async () => {
    const x = await registerUser('x');
    await put(x, 'm.tz', 'UTC');
    const initial = await sync(x, { filter: fields('m.tz') });
    expect(initial[USERS]).toEqual({ [x.userId]: { profile_updates: { 'm.tz': 'UTC' } } });
    await put(x, 'm.tz', 'Europe/Berlin');
    const body = await syncFrom(x, initial.next_batch, fields('m.tz'));
    expect(body[USERS]).toEqual({ [x.userId]: { profile_updates: { 'm.tz': 'Europe/Berlin' } } });
    await del(x, 'm.tz');
    const deleted = await syncFrom(x, body.next_batch, fields('m.tz'));
    expect(deleted[USERS]).toEqual({ [x.userId]: { profile_updates: { 'm.tz': null } } });
  });

  it('sends the whole requested profile of a user who becomes visible by joining a room (either way round)', async () => {
    for (const who of ['syncer joins', 'other joins'] as const) {
      const x = await registerUser('x');
      const y = await registerUser('y');
      await put(y, 'm.tz', 'Europe/Paris');
      await put(y, 'com.example.status', { text: 'away' });
      await put(y, 'com.example.unrequested', 'no');
      const filter = fields('m.tz', 'com.example.status', 'com.example.unset');
      const token = (await sync(x, { filter })).next_batch;
      if (who === 'syncer joins') {
        const roomId = await createRoomOk(y, { preset: 'public_chat' });
        expectStatus(await joinRoomById(x, roomId), 200);
      } else {
        const roomId = await createRoomOk(x, { preset: 'public_chat' });
        expectStatus(await joinRoomById(y, roomId), 200);
      }
      const body = await syncFrom(x, token, filter);
      expect(body[USERS], who).toEqual({
        [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.status': { text: 'away' } } },
      });
    }
  });

  it('does not treat a displayname change (which rewrites the member event) as newly visible', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await put(y, 'm.tz', 'Europe/Paris');
    await put(y, 'displayname', 'Old Name');
    await shareRoom(x, y);
    const filter = fields('m.tz', 'displayname');
    const token = (await sync(x, { filter })).next_batch;
    await put(y, 'displayname', 'New Name');
    const body = await syncFrom(x, token, filter);
    expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { displayname: 'New Name' } } });
  });

  it.each(['leave', 'kick', 'ban'] as const)(
    'sends null for a co-member who departs (%s), and nothing about them afterwards',
    async (action) => {
      const x = await registerUser('x');
      const y = await registerUser('y');
      await put(y, 'm.tz', 'Europe/Paris');
      const roomId = await shareRoom(x, y);
      const filter = fields('m.tz', MARKER);
      const token = (await sync(x, { filter })).next_batch;
      if (action === 'leave') expectStatus(await leaveRoom(y, roomId), 200);
      else expectStatus(await membershipAction(x, action, roomId, y.userId), 200);
      const departed = await syncFrom(x, token, filter);
      expect(departed[USERS]).toEqual({ [y.userId]: { profile_updates: null } });

      await put(y, 'm.tz', 'Asia/Tokyo');
      const mark = await marker(x);
      const after = await syncFrom(x, departed.next_batch, filter);
      expect(after[USERS]).toEqual({ [x.userId]: { profile_updates: { [MARKER]: mark } } });
    },
  );

  it('ends join → leave → join inside one window with the whole requested profile, not null', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await put(y, 'm.tz', 'Europe/Paris');
    await put(y, 'com.example.status', 'busy');
    const roomId = await shareRoom(x, y);
    const filter = fields('m.tz', 'com.example.status');
    const token = (await sync(x, { filter })).next_batch;
    expectStatus(await leaveRoom(y, roomId), 200);
    expectStatus(await joinRoomById(y, roomId), 200);
    const body = await syncFrom(x, token, filter);
    expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.status': 'busy' } } });
  });

  it('does not treat a co-member who leaves one shared room but stays in another as departed', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await put(y, 'm.tz', 'Europe/Paris');
    const first = await shareRoom(x, y);
    await shareRoom(x, y);
    const filter = fields('m.tz');
    const token = (await sync(x, { filter })).next_batch;
    expectStatus(await leaveRoom(y, first), 200);
    const left = await syncFrom(x, token, filter);
    expect(left.rooms.join[first]?.timeline.events.some((e) => e.type === 'm.room.member' && e.state_key === y.userId)).toBe(true);
    expect(left[USERS]?.[y.userId]).toBeUndefined();
    await put(y, 'm.tz', 'Asia/Tokyo');
    const changed = await syncFrom(x, left.next_batch, filter);
    expect(changed[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
  });

  it('never mentions a user who shares no joined room, initially or incrementally', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    const z = await registerUser('z');
    const v = await registerUser('v');
    await put(z, 'm.tz', 'Europe/Paris');
    const roomId = await shareRoom(x, y);
    // Z is in a room with V only, and merely invited to X's room.
    await shareRoom(z, v);
    expectStatus(await membershipAction(x, 'invite', roomId, z.userId), 200);
    const filter = fields('m.tz', 'com.example.status', MARKER);
    const initial = await sync(x, { filter });
    expect(initial[USERS] ?? {}).not.toHaveProperty([z.userId]);
    await put(z, 'm.tz', 'Asia/Tokyo');
    await put(z, 'com.example.status', 'hello');
    await del(z, 'm.tz');
    const mark = await marker(x);
    const body = await syncFrom(x, initial.next_batch, filter);
    expect(body[USERS]).toEqual({ [x.userId]: { profile_updates: { [MARKER]: mark } } });
  });

  it('sends the current requested fields of every visible user on full_state=true with a token', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    const z = await registerUser('z');
    await put(x, 'm.tz', 'UTC');
    await put(y, 'm.tz', 'Europe/Paris');
    await put(y, 'com.example.status', 'busy');
    await put(z, 'm.tz', 'Asia/Tokyo');
    await shareRoom(x, y);
    const filter = fields('m.tz', 'com.example.status');
    const token = (await sync(x, { filter })).next_batch;
    const body = await sync(x, { since: token, filter, fullState: true });
    expect(body[USERS]).toEqual({
      [x.userId]: { profile_updates: { 'm.tz': 'UTC' } },
      [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.status': 'busy' } },
    });
  });
});

describe('MSC4429 users section: lazy-loading members', () => {
  it('sends initially only the profiles the response needs, and later the diffs of every visible user', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    const w = await registerUser('w');
    await put(x, 'm.tz', 'UTC');
    await put(y, 'm.tz', 'Europe/Paris');
    await put(w, 'm.tz', 'Asia/Tokyo');
    const roomId = await createRoomOk(x, { preset: 'public_chat' });
    expectStatus(await joinRoomById(y, roomId), 200);
    expectStatus(await joinRoomById(w, roomId), 200);
    const filter = { room: { state: { lazy_load_members: true }, timeline: { limit: 1 } }, ...fields('m.tz') };
    const initial = await sync(x, { filter });
    const room = initial.rooms.join[roomId]!;
    // W's join is the last event: X (the syncer) and W are the members the response needs.
    expect(room.timeline.events.map((e) => [e.type, e.state_key])).toEqual([['m.room.member', w.userId]]);
    expect(initial[USERS]).toEqual({
      [x.userId]: { profile_updates: { 'm.tz': 'UTC' } },
      [w.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } },
    });
    await put(y, 'm.tz', 'America/New_York');
    const body = await syncFrom(x, initial.next_batch, filter);
    expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'America/New_York' } } });
  });
});

describe('MSC4429 tokens', () => {
  it("accepts one user's next_batch from another user", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const token = (await sync(alice, { filter: fields('m.tz') })).next_batch;
    const response = await syncRaw(bob, { since: token, filter: fields('m.tz') });
    expectStatus(response, 200);
  });

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

describe('MSC4429 wake-ups', () => {
  // Each parks a sync for longer than the test may run: only a wake-up can answer it in time.
  // Each write comes once the sync API shows the long-poll parked (parkLongPoll), so the long-poll's
  // first read found nothing and only a wake-up can bring it the write.
  it("wakes a parked sync on a co-member's requested field change", async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await shareRoom(x, y);
    const filter = fields('m.tz');
    const token = (await sync(x, { filter })).next_batch;
    const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }));
    await put(y, 'm.tz', 'Europe/Paris');
    expect((await parked.answer)[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });
  });

  it("wakes a parked sync on the syncer's own profile change while in no room", async () => {
    const x = await registerUser('x');
    const filter = fields('m.tz');
    const token = (await sync(x, { filter })).next_batch;
    const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }));
    await put(x, 'm.tz', 'Asia/Tokyo');
    expect((await parked.answer)[USERS]).toEqual({ [x.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
  });

  it("wakes a parked sync when someone joins one of the syncer's rooms", async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await put(y, 'm.tz', 'Europe/Paris');
    const roomId = await createRoomOk(x, { preset: 'public_chat' });
    const filter = fields('m.tz');
    const token = (await sync(x, { filter })).next_batch;
    const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }));
    expectStatus(await joinRoomById(y, roomId), 200);
    const body = await parked.answer;
    const events = body.rooms.join[roomId]?.timeline.events ?? [];
    expect(events.filter((e) => e.type === 'm.room.member' && e.state_key === y.userId).map((e) => e.content['membership'])).toEqual([
      'join',
    ]);
    expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });
  });

  it('keeps a parked sync waiting through a co-member change of an unrequested field', async () => {
    const x = await registerUser('x');
    const y = await registerUser('y');
    await shareRoom(x, y);
    const filter = fields('m.tz');
    const token = (await sync(x, { filter })).next_batch;
    // Parked for longer than the test may run: an early answer to the unrequested change would
    // come back empty, so only a poll that kept waiting can carry the later, requested one.
    const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }));
    await put(y, 'com.example.unrequested', 'ignored');
    await put(y, 'm.tz', 'Asia/Tokyo');
    const body = await parked.answer;
    expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
  });
});
