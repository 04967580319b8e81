import { describe, expect, it } from 'vitest';
import { expectMatrixError, expectStatus, profilePath } from '../support/accounts.js';
import { parkLongPoll } from '../support/long-polls.js';
import { registerUser, request, type TestUser } from '../support/matrix-client.js';
import { createRoomOk, joinRoomById, leaveRoom, membershipAction } from '../support/rooms.js';

/** The rooms section of /sync, initial and incremental, through the real processes. */
interface SyncEvent {
  event_id: string;
  type: string;
  state_key: string;
  sender: string;
  content: Record<string, unknown>;
}
interface RoomSection {
  timeline: { events: SyncEvent[]; limited: boolean; prev_batch: string };
  state: { events: SyncEvent[] };
}
interface SyncBody {
  next_batch: string;
  rooms: {
    join: Record<string, RoomSection>;
    invite: Record<string, { invite_state: { events: Omit<SyncEvent, 'event_id'>[] } }>;
    leave: Record<string, RoomSection>;
  };
  'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }>;
}

async function sync(user: TestUser, options: { since?: string; timeout?: number; filter?: unknown } = {}): Promise<SyncBody> {
  const query = new URLSearchParams();
  if (options.since) query.set('since', options.since);
  if (options.timeout !== undefined) query.set('timeout', String(options.timeout));
  if (options.filter !== undefined) query.set('filter', JSON.stringify(options.filter));
  const response = await request<SyncBody>('GET', `/_matrix/client/v3/sync?${query.toString()}`, { token: user.accessToken });
  expectStatus(response, 200);
  return response.body;
}

const memberEvent = (events: readonly SyncEvent[], userId: string) =>
  events.filter((event) => event.type === 'm.room.member' && event.state_key === userId);
const types = (events: readonly SyncEvent[]) => events.map((event) => event.type);

describe('/sync rooms section', () => {
  it('gives an initial sync every joined room with its state and timeline', async () => {
    const alice = await registerUser('alice');
    const roomId = await createRoomOk(alice, { preset: 'public_chat', name: 'Lobby' });
    const body = await sync(alice);
    const room = body.rooms.join[roomId];
    expect(room).toBeDefined();
    const all = [...room!.state.events, ...room!.timeline.events];
    for (const type of ['m.room.create', 'm.room.power_levels', 'm.room.join_rules', 'm.room.name']) expect(types(all)).toContain(type);
    expect(memberEvent(all, alice.userId).at(-1)?.content['membership']).toBe('join');
    // State and timeline never repeat a state key.
    const keys = all.map((event) => `${event.type}|${event.state_key}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("shows the user's own join in the next sync, with the room's whole state", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    const before = await sync(bob);
    expect(before.rooms.join).not.toHaveProperty(roomId);
    expectStatus(await joinRoomById(bob, roomId), 200);
    const after = await sync(bob, { since: before.next_batch, timeout: 10_000 });
    const room = after.rooms.join[roomId];
    expect(room).toBeDefined();
    expect(memberEvent(room!.timeline.events, bob.userId).at(-1)?.content['membership']).toBe('join');
    expect(types(room!.state.events)).toContain('m.room.create');
    expect(memberEvent([...room!.state.events, ...room!.timeline.events], alice.userId)).toHaveLength(1);
  });

  it("shows another member's leave in the remaining members' timeline", async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectStatus(await joinRoomById(bob, roomId), 200);
    const token = (await sync(alice)).next_batch;
    expectStatus(await leaveRoom(bob, roomId), 200);
    // A long-poll, as clients sync: this replica may hear of the commit a moment after the writer answered.
    const body = await sync(alice, { since: token, timeout: 10_000 });
    const events = body.rooms.join[roomId]?.timeline.events ?? [];
    expect(memberEvent(events, bob.userId).map((event) => event.content['membership'])).toEqual(['leave']);
    expect(body.rooms.leave).not.toHaveProperty(roomId);
  });

  it('puts a room the user left, was kicked or banned from in rooms.leave, ending with that event', async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    for (const action of ['leave', 'kick', 'ban'] as const) {
      const roomId = await createRoomOk(alice, { preset: 'public_chat' });
      expectStatus(await joinRoomById(bob, roomId), 200);
      const token = (await sync(bob)).next_batch;
      if (action === 'leave') expectStatus(await leaveRoom(bob, roomId), 200);
      else expectStatus(await membershipAction(alice, action, roomId, bob.userId), 200);
      const body = await sync(bob, { since: token, timeout: 10_000 });
      expect(body.rooms.join, action).not.toHaveProperty(roomId);
      const last = body.rooms.leave[roomId]?.timeline.events.at(-1);
      expect(last, action).toMatchObject({
        type: 'm.room.member',
        state_key: bob.userId,
        content: { membership: action === 'ban' ? 'ban' : 'leave' },
      });
      expect(last?.sender, action).toBe(action === 'leave' ? bob.userId : alice.userId);
    }
  });

  it('shows an invite with stripped state, and wakes the invitee’s parked sync', async () => {
    const alice = await registerUser('alice');
    const carol = await registerUser('carol');
    const roomId = await createRoomOk(alice, { preset: 'private_chat', name: 'Secret' });
    const token = (await sync(carol)).next_batch;
    // Parked (shown by the sync API before the invite is sent) for longer than the test may run:
    // only a wake-up can answer it in time.
    const parked = await parkLongPoll(() => sync(carol, { since: token, timeout: 120_000 }));
    expectStatus(await membershipAction(alice, 'invite', roomId, carol.userId), 200);
    const body = await parked.answer;
    const invite = body.rooms.invite[roomId];
    expect(invite).toBeDefined();
    const stripped = invite!.invite_state.events;
    expect(stripped.map((event) => event.type)).toEqual(
      expect.arrayContaining(['m.room.create', 'm.room.join_rules', 'm.room.name', 'm.room.member']),
    );
    expect(stripped.find((event) => event.type === 'm.room.member')).toMatchObject({
      state_key: carol.userId,
      sender: alice.userId,
      content: { membership: 'invite' },
    });
    expect(body.rooms.join).not.toHaveProperty(roomId);
  });

  it('limits the timeline to the filter and sends the state the gap hides', async () => {
    const alice = await registerUser('alice');
    const roomId = await createRoomOk(alice, { preset: 'public_chat', name: 'Busy' });
    const token = (await sync(alice)).next_batch;
    const others = await Promise.all([registerUser('u'), registerUser('u'), registerUser('u')]);
    for (const user of others) expectStatus(await joinRoomById(user, roomId), 200);
    const body = await sync(alice, { since: token, timeout: 10_000, filter: { room: { timeline: { limit: 1 } } } });
    const room = body.rooms.join[roomId]!;
    expect(room.timeline.events).toHaveLength(1);
    expect(room.timeline.limited).toBe(true);
    const members = memberEvent([...room.state.events, ...room.timeline.events], others[0].userId);
    expect(members.map((event) => event.content['membership'])).toEqual(['join']);
  });

  it('lazy-loads members on an initial sync: only the members the response needs', async () => {
    const alice = await registerUser('alice');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    const others = await Promise.all([registerUser('u'), registerUser('u'), registerUser('u')]);
    for (const user of others) expectStatus(await joinRoomById(user, roomId), 200);
    const body = await sync(alice, { filter: { room: { timeline: { limit: 1 }, state: { lazy_load_members: true } } } });
    const room = body.rooms.join[roomId]!;
    const members = [...room.state.events, ...room.timeline.events]
      .filter((event) => event.type === 'm.room.member')
      .map((event) => event.state_key);
    const sender = room.timeline.events[0]!.sender;
    expect(new Set(members)).toEqual(new Set([alice.userId, sender]));
  });

  it('keeps next_batch valid for any user', async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const aliceToken = (await sync(alice)).next_batch;
    const body = await sync(bob, { since: aliceToken });
    expect(body.next_batch).toMatch(/^m1_/);
  });

  describe('room.rooms and room.not_rooms', () => {
    const sections = (body: SyncBody) => ({
      join: Object.keys(body.rooms.join).sort(),
      invite: Object.keys(body.rooms.invite).sort(),
      leave: Object.keys(body.rooms.leave).sort(),
    });
    const sorted = (...rooms: string[]) => [...rooms].sort();

    it('limit an initial sync to the listed rooms, not_rooms winning', async () => {
      const alice = await registerUser('alice');
      const carol = await registerUser('carol');
      const [a, b, c] = await Promise.all([1, 2, 3].map(() => createRoomOk(alice, { preset: 'public_chat' })));
      const d = await createRoomOk(carol, { preset: 'private_chat' });
      expectStatus(await membershipAction(carol, 'invite', d, alice.userId), 200);
      const everything = await sync(alice);
      expect(sections(everything)).toEqual({ join: sorted(a!, b!, c!), invite: [d], leave: [] });

      expect(sections(await sync(alice, { filter: { room: { rooms: [a, b, d], not_rooms: [b] } } }))).toEqual({
        join: [a],
        invite: [d],
        leave: [],
      });
      expect(sections(await sync(alice, { filter: { room: { not_rooms: [a, d] } } }))).toEqual({
        join: sorted(b!, c!),
        invite: [],
        leave: [],
      });
      expect(sections(await sync(alice, { filter: { room: { rooms: [] } } }))).toEqual({ join: [], invite: [], leave: [] });
      // A room the user is not in changes nothing.
      expect(sections(await sync(alice, { filter: { room: { rooms: [c, '!elsewhere:test.local'] } } }))).toEqual({
        join: [c],
        invite: [],
        leave: [],
      });
    });

    it('limit an incremental sync’s joined, invited and left rooms to the listed ones', async () => {
      const alice = await registerUser('alice');
      const bob = await registerUser('bob');
      const carol = await registerUser('carol');
      const [a, b, c, g] = await Promise.all([1, 2, 3, 4].map(() => createRoomOk(alice, { preset: 'public_chat' })));
      const [e, f] = await Promise.all([1, 2].map(() => createRoomOk(carol, { preset: 'private_chat' })));
      const filter = { room: { rooms: [a, b, e, g], not_rooms: [g] } };
      const token = (await sync(alice, { filter })).next_batch;

      for (const room of [b, c, g]) expectStatus(await joinRoomById(bob, room!), 200);
      for (const room of [e, f]) expectStatus(await membershipAction(carol, 'invite', room!, alice.userId), 200);
      for (const room of [a, c]) expectStatus(await leaveRoom(alice, room!), 200);

      // Everything is there without the filter (this replica has heard every commit) ...
      const everything = { join: sorted(b!, g!), invite: sorted(e!, f!), leave: sorted(a!, c!) };
      for (let attempt = 0; ; attempt++) {
        const all = sections(await sync(alice, { since: token, timeout: 2000 }));
        if (JSON.stringify(all) === JSON.stringify(everything) || attempt === 10) {
          expect(all).toEqual(everything);
          break;
        }
      }
      // ... and only the listed rooms with it.
      expect(sections(await sync(alice, { since: token, timeout: 0, filter }))).toEqual({ join: [b], invite: [e], leave: [a] });
    });

    it('leave MSC4429 profile updates alone: co-members of unlisted rooms are still sent', async () => {
      const alice = await registerUser('alice');
      const bob = await registerUser('bob');
      const roomId = await createRoomOk(alice, { preset: 'public_chat' });
      expectStatus(await joinRoomById(bob, roomId), 200);
      expectStatus(
        await request('PUT', profilePath(bob.userId, 'm.tz'), { token: bob.accessToken, body: { 'm.tz': 'Europe/Paris' } }),
        200,
      );
      const filter = { room: { rooms: [] }, 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } };
      const initial = await sync(alice, { filter });
      expect(sections(initial)).toEqual({ join: [], invite: [], leave: [] });
      expect(initial['org.matrix.msc4429.users']).toEqual({ [bob.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } } });

      // Parked for longer than the test may run (a long-poll that times out reads what is there:
      // only a wake-up can answer this one in time).
      const parked = await parkLongPoll(() => sync(alice, { since: initial.next_batch, timeout: 120_000, filter }));
      expectStatus(await request('PUT', profilePath(bob.userId, 'm.tz'), { token: bob.accessToken, body: { 'm.tz': 'Asia/Tokyo' } }), 200);
      const update = await parked.answer;
      expect(sections(update)).toEqual({ join: [], invite: [], leave: [] });
      expect(update['org.matrix.msc4429.users']).toEqual({ [bob.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
    });

    it('must be lists of strings', async () => {
      const alice = await registerUser('alice');
      for (const room of [{ rooms: '!a:test.local' }, { not_rooms: [1] }, { rooms: null }]) {
        const query = new URLSearchParams({ filter: JSON.stringify({ room }) });
        expectMatrixError(
          await request('GET', `/_matrix/client/v3/sync?${query.toString()}`, { token: alice.accessToken }),
          400,
          'M_BAD_JSON',
        );
        expectMatrixError(
          await request('POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.userId)}/filter`, {
            token: alice.accessToken,
            body: { room },
          }),
          400,
          'M_BAD_JSON',
        );
      }
    });
  });
});
