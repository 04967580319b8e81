import { describe, expect, it } from 'vitest';
import { expectStatus } from './accounts.js';
import { parkLongPoll } from './long-polls.js';
import { type MatrixResponse, type TestUser, USERS } from './matrix-client.js';
import type { Msc4429Driver, SyncBody, SyncOptions } from './msc4429-driver.js';

/**
 * The MSC4429 users-section behaviours, one table for both modes: standalone
 * (test/integration/msc4429.test.ts) and companion (test/integration/companion-msc4429.test.ts),
 * through a driver that performs each action where the mode performs it and resolves once the
 * project applied it. Every test uses fresh users. An incremental sync that expects something
 * long-polls (it answers as soon as the change is there), and one that expects an absence is
 * answered by a "marker" change of the syncer's own profile made after the change under test.
 */
const UNSTABLE_FIELDS = 'org.matrix.msc4429.profile_fields';
/** Long enough for any change to arrive; a long-poll answers as soon as it has something. */
const WAIT = 20_000;
const MARKER = 'com.example.marker';

/** A filter asking for the given profile fields under the unstable key. */
export function fields(...ids: string[]): Record<string, unknown> {
  return { [UNSTABLE_FIELDS]: { ids } };
}

export function describeMsc4429Behaviours(mode: string, d: () => Msc4429Driver): void {
  let markerCount = 0;
  const syncRaw = (user: TestUser, options: SyncOptions = {}): Promise<MatrixResponse<SyncBody>> => d().syncRaw(user, options);
  const sync = async (user: TestUser, options: SyncOptions = {}): Promise<SyncBody> => {
    const response = await syncRaw(user, options);
    expectStatus(response, 200);
    expect(typeof response.body.next_batch).toBe('string');
    return response.body;
  };
  /** An incremental sync that expects something: long-polls so the change has reached the sync side. */
  const syncFrom = (user: TestUser, since: string, filter: unknown, extra: Omit<SyncOptions, 'since' | 'filter'> = {}) =>
    sync(user, { since, filter, timeout: WAIT, ...extra });
  const put = (user: TestUser, key: string, value: unknown) => d().put(user, key, value);
  const del = (user: TestUser, key: string) => d().del(user, key);
  /** Two users joined to one fresh room (created by `owner`, public so `other` can join). */
  const shareRoom = async (owner: TestUser, other: TestUser): Promise<string> => {
    const roomId = await d().createPublicRoom(owner);
    await d().join(other, roomId);
    return roomId;
  };
  /** Changes the syncer's own marker field, so an incremental sync that must show an absence answers at once. */
  const marker = async (user: TestUser): Promise<string> => {
    markerCount += 1;
    const value = `mark-${markerCount}`;
    await put(user, MARKER, value);
    return value;
  };

  describe(`MSC4429 users section (${mode}): initial sync`, () => {
    it('never sends a users section without requested ids', async () => {
      const alice = await d().register('alice');
      const bob = await d().register('bob');
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
        const carol = await d().register('carol');
        await d().join(carol, roomId);
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

    it('sends the current requested fields of the syncer and every co-member, omitting unset fields and non-co-members', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      const w = await d().register('w');
      const z = await d().register('z');
      const v = await d().register('v');
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
      // A homeserver may give new accounts a displayname (Synapse: the localpart).
      const named = (user: TestUser) => {
        const name = d().defaultDisplayname(user);
        return name === undefined ? {} : { displayname: name };
      };
      const wUpdates = named(w);
      expect(body[USERS]).toEqual({
        [x.userId]: { profile_updates: { displayname: 'Xavier' } },
        [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.obj': { nested: [1, null, { a: 'b' }] }, ...named(y) } },
        ...(Object.keys(wUpdates).length === 0 ? {} : { [w.userId]: { profile_updates: wUpdates } }),
      });
    });

    it('sends a literal null value as null', async () => {
      const x = await d().register('x');
      await put(x, 'com.example.null', null);
      const body = await sync(x, { filter: fields('com.example.null') });
      expect(body[USERS]).toEqual({ [x.userId]: { profile_updates: { 'com.example.null': null } } });
    });
  });

  describe(`MSC4429 users section (${mode}): incremental sync`, () => {
    it('sends the latest value of each changed requested field: last PUT wins, DELETE and literal null as null', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
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
      const x = await d().register('x');
      const y = await d().register('y');
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
      const x = await d().register('x');
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
        const x = await d().register('x');
        const y = await d().register('y');
        await put(y, 'm.tz', 'Europe/Paris');
        await put(y, 'com.example.status', { text: 'away' });
        await put(y, 'com.example.unrequested', 'no');
        const filter = fields('m.tz', 'com.example.status', 'com.example.unset');
        const token = (await sync(x, { filter })).next_batch;
        if (who === 'syncer joins') {
          const roomId = await d().createPublicRoom(y);
          await d().join(x, roomId);
        } else {
          const roomId = await d().createPublicRoom(x);
          await d().join(y, roomId);
        }
        const body = await syncFrom(x, token, filter);
        expect(body[USERS], who).toEqual({
          [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.status': { text: 'away' } } },
        });
      }
    });

    it('does not treat a displayname change (which rewrites the member event) as newly visible', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
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
        const x = await d().register('x');
        const y = await d().register('y');
        await put(y, 'm.tz', 'Europe/Paris');
        const roomId = await shareRoom(x, y);
        const filter = fields('m.tz', MARKER);
        const token = (await sync(x, { filter })).next_batch;
        if (action === 'leave') await d().leave(y, roomId);
        else await d().act(x, action, roomId, y.userId);
        const departed = await syncFrom(x, token, filter);
        expect(departed[USERS]).toEqual({ [y.userId]: { profile_updates: null } });

        await put(y, 'm.tz', 'Asia/Tokyo');
        const mark = await marker(x);
        const after = await syncFrom(x, departed.next_batch, filter);
        expect(after[USERS]).toEqual({ [x.userId]: { profile_updates: { [MARKER]: mark } } });
      },
    );

    it('ends join → leave → join inside one window with the whole requested profile, not null', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      await put(y, 'm.tz', 'Europe/Paris');
      await put(y, 'com.example.status', 'busy');
      const roomId = await shareRoom(x, y);
      const filter = fields('m.tz', 'com.example.status');
      const token = (await sync(x, { filter })).next_batch;
      await d().leave(y, roomId);
      await d().join(y, roomId);
      const body = await syncFrom(x, token, filter);
      expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris', 'com.example.status': 'busy' } } });
    });

    it('does not treat a co-member who leaves one shared room but stays in another as departed', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      await put(y, 'm.tz', 'Europe/Paris');
      const first = await shareRoom(x, y);
      await shareRoom(x, y);
      const filter = fields('m.tz');
      const token = (await sync(x, { filter })).next_batch;
      await d().leave(y, first);
      const left = await syncFrom(x, token, filter);
      expect(left.rooms.join[first]?.timeline.events.some((e) => e.type === 'm.room.member' && e.state_key === y.userId)).toBe(true);
      expect(left[USERS]?.[y.userId]).toBeUndefined();
      await put(y, 'm.tz', 'Asia/Tokyo');
      const changed = await syncFrom(x, left.next_batch, filter);
      expect(changed[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
    });

    it('never mentions a user who shares no joined room, initially or incrementally', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      const z = await d().register('z');
      const v = await d().register('v');
      await put(z, 'm.tz', 'Europe/Paris');
      const roomId = await shareRoom(x, y);
      // Z is in a room with V only, and merely invited to X's room.
      await shareRoom(z, v);
      await d().act(x, 'invite', roomId, z.userId);
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
      const x = await d().register('x');
      const y = await d().register('y');
      const z = await d().register('z');
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

  describe(`MSC4429 users section (${mode}): lazy-loading members`, () => {
    it('sends initially only the profiles the response needs, and later the diffs of every visible user', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      const w = await d().register('w');
      await put(x, 'm.tz', 'UTC');
      await put(y, 'm.tz', 'Europe/Paris');
      await put(w, 'm.tz', 'Asia/Tokyo');
      const roomId = await d().createPublicRoom(x);
      await d().join(y, roomId);
      await d().join(w, roomId);
      const filter = { room: { state: { lazy_load_members: true }, timeline: { limit: 1 } }, ...fields('m.tz') };
      const initial = await sync(x, { filter });
      const room = initial.rooms.join[roomId]!;
      // W's join is the last event: X (the syncer) and W are the members the response needs, and
      // whoever else's member event the response carries (Synapse adds the room's "heroes", who
      // name the room, to its lazy-loaded state: Y there; the project does not).
      expect(room.timeline.events.map((e) => [e.type, e.state_key])).toEqual([['m.room.member', w.userId]]);
      const inResponse = new Set(
        [...room.state.events, ...room.timeline.events].filter((e) => e.type === 'm.room.member').map((e) => e.state_key),
      );
      const tz = { [x.userId]: 'UTC', [y.userId]: 'Europe/Paris', [w.userId]: 'Asia/Tokyo' };
      const needed = [x.userId, w.userId, ...(inResponse.has(y.userId) ? [y.userId] : [])];
      expect(initial[USERS]).toEqual(Object.fromEntries(needed.map((user) => [user, { profile_updates: { 'm.tz': tz[user] } }])));
      await put(y, 'm.tz', 'America/New_York');
      const body = await syncFrom(x, initial.next_batch, filter);
      expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'America/New_York' } } });
    });
  });

  describe(`MSC4429 tokens (${mode})`, () => {
    it("accepts one user's next_batch from another user", async () => {
      const alice = await d().register('alice');
      const bob = await d().register('bob');
      const token = (await sync(alice, { filter: fields('m.tz') })).next_batch;
      const response = await syncRaw(bob, { since: token, filter: fields('m.tz') });
      expectStatus(response, 200);
    });
  });

  describe(`MSC4429 wake-ups (${mode})`, () => {
    // Each parks a sync for longer than the test may run: only a wake-up can answer it in time.
    // Each write comes once the sync API shows the long-poll parked (parkLongPoll), so the long-poll's
    // first read found nothing and only a wake-up can bring it the write.
    it("wakes a parked sync on a co-member's requested field change", async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      await shareRoom(x, y);
      const filter = fields('m.tz');
      const token = (await sync(x, { filter })).next_batch;
      const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }), { syncApiUrl: d().syncApiUrl });
      await put(y, 'm.tz', 'Europe/Paris');
      expect((await parked.answer)[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });
    });

    it("wakes a parked sync on the syncer's own profile change while in no room", async () => {
      const x = await d().register('x');
      const filter = fields('m.tz');
      const token = (await sync(x, { filter })).next_batch;
      const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }), { syncApiUrl: d().syncApiUrl });
      await put(x, 'm.tz', 'Asia/Tokyo');
      expect((await parked.answer)[USERS]).toEqual({ [x.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
    });

    it("wakes a parked sync when someone joins one of the syncer's rooms", async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      await put(y, 'm.tz', 'Europe/Paris');
      const roomId = await d().createPublicRoom(x);
      const filter = fields('m.tz');
      const token = (await sync(x, { filter })).next_batch;
      const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }), { syncApiUrl: d().syncApiUrl });
      await d().join(y, roomId);
      const body = await parked.answer;
      const joinsIn = (response: SyncBody) =>
        ((response.rooms as SyncBody['rooms'] | undefined)?.join[roomId]?.timeline.events ?? [])
          .filter((e) => e.type === 'm.room.member' && e.state_key === y.userId)
          .map((e) => e.content['membership']);
      expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });
      // Standalone: one response holds both. Companion: the two sides answer independently, so when
      // the projection heard of the join first, the homeserver's timeline with it comes next.
      const joins = joinsIn(body);
      if (joins.length === 0 && d().roomsFromHomeserver) {
        const next = await syncFrom(x, body.next_batch, filter);
        expect(next[USERS]).toBeUndefined();
        joins.push(...joinsIn(next));
      }
      expect(joins).toEqual(['join']);
    });

    it('keeps a parked sync waiting through a co-member change of an unrequested field', async () => {
      const x = await d().register('x');
      const y = await d().register('y');
      await shareRoom(x, y);
      const filter = fields('m.tz');
      const token = (await sync(x, { filter })).next_batch;
      // Parked for longer than the test may run: an early answer to the unrequested change would
      // come back empty, so only a poll that kept waiting can carry the later, requested one.
      const parked = await parkLongPoll(() => sync(x, { since: token, timeout: 120_000, filter }), { syncApiUrl: d().syncApiUrl });
      await put(y, 'com.example.unrequested', 'ignored');
      await put(y, 'm.tz', 'Asia/Tokyo');
      const body = await parked.answer;
      expect(body[USERS]).toEqual({ [y.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
    });
  });
}
