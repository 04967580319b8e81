import { describe, expect, it } from 'vitest';
import type { RoomLogEntry } from '@mx/events';
import {
  CREATE,
  emptyRoomState,
  foldRoomEntries,
  initialPowerLevels,
  JOIN_RULES,
  MEMBER,
  type Membership,
  NAME,
  POWER_LEVELS,
  powerLevelsFrom,
  type RoomEvent,
  type RoomState,
} from '@mx/rooms';

const ROOM = '!room:hs';
const ALICE = '@alice:hs';
const BOB = '@bob:hs';
const CAROL = '@carol:hs';

let counter = 0;

/** A proposed state event as the writer logs it (its entry id is its event id). */
function proposed(type: string, stateKey: string, sender: string, content: Record<string, unknown>, roomId = ROOM): RoomLogEntry {
  counter += 1;
  const event: RoomEvent = {
    event_id: `$e${counter}`,
    room_id: roomId,
    type,
    state_key: stateKey,
    sender,
    origin_server_ts: 1000 + counter,
    content,
  };
  return { v: 1, id: event.event_id, type: 'room.event', room_id: roomId, event };
}

const member = (target: string, sender: string, membership: string, roomId = ROOM) =>
  proposed(MEMBER, target, sender, { membership }, roomId);

function forget(userId: string, roomId = ROOM): RoomLogEntry {
  counter += 1;
  return { v: 1, id: `forget-${counter}`, type: 'room.forget', room_id: roomId, user_id: userId, ts: 1000 + counter };
}

function eventOf(entry: RoomLogEntry): RoomEvent {
  if (entry.type !== 'room.event') throw new Error('not a room event');
  return entry.event;
}

/** Entries at offsets 0, 1, 2, … */
const at = (...entries: RoomLogEntry[]) => entries.map((entry, offset) => ({ offset, entry }));

/** An existing public room created by Alice, with the given memberships. */
function existing(memberships: Record<string, Membership>): Map<string, RoomState> {
  return new Map([
    [
      ROOM,
      {
        ...emptyRoomState(),
        exists: true,
        creator: ALICE,
        joinRule: 'public',
        powerLevels: powerLevelsFrom(initialPowerLevels(ALICE), ALICE),
        memberships: new Map(Object.entries(memberships)),
      },
    ],
  ]);
}

describe('foldRoomEntries', () => {
  it('creates a room: the create event, the creator join and the initial state are accepted in log order', () => {
    const create = proposed(CREATE, '', ALICE, { creator: ALICE, room_version: '11' });
    const join = member(ALICE, ALICE, 'join');
    const entries = at(
      create,
      join,
      proposed(POWER_LEVELS, '', ALICE, initialPowerLevels(ALICE)),
      proposed(JOIN_RULES, '', ALICE, { join_rule: 'public' }),
      proposed(NAME, '', ALICE, { name: 'Lobby' }),
    );
    const fold = foldRoomEntries(new Map(), entries);
    expect(fold.rejected).toEqual([]);
    expect(fold.accepted).toEqual(
      entries.map(({ offset, entry }) => ({ offset, event: entry.type === 'room.event' ? entry.event : null })),
    );
    expect(fold.createdRooms).toEqual([{ roomId: ROOM, creator: ALICE, roomVersion: '11', ts: eventOf(create).origin_server_ts }]);
    expect(fold.memberships).toEqual([{ roomId: ROOM, userId: ALICE, membership: 'join', eventId: join.id, offset: 1 }]);
    expect(fold.forgotten).toEqual([]);
  });

  it('records the room version as "1" when the create event names none', () => {
    const fold = foldRoomEntries(new Map(), at(proposed(CREATE, '', ALICE, { creator: ALICE })));
    expect(fold.createdRooms.map((room) => room.roomVersion)).toEqual(['1']);
  });

  it('lets only the creator join first after creation, then applies the later events against the new state', () => {
    const fold = foldRoomEntries(
      new Map(),
      at(
        proposed(CREATE, '', ALICE, { creator: ALICE, room_version: '11' }),
        member(BOB, BOB, 'join'),
        member(ALICE, ALICE, 'join'),
        proposed(JOIN_RULES, '', ALICE, { join_rule: 'public' }),
        member(BOB, BOB, 'join'),
      ),
    );
    expect(fold.accepted.map(({ offset }) => offset)).toEqual([0, 2, 3, 4]);
    expect(fold.rejected).toEqual([
      {
        eventId: expect.any(String) as string,
        offset: 1,
        rejection: { errcode: 'M_FORBIDDEN', message: 'The room is still being created' },
      },
    ]);
    expect(fold.memberships.map(({ userId, membership, offset }) => ({ userId, membership, offset }))).toEqual([
      { userId: ALICE, membership: 'join', offset: 2 },
      { userId: BOB, membership: 'join', offset: 4 },
    ]);
  });

  it('refuses with the errcode and the message apart, each rejection with its entry id and offset', () => {
    const create = proposed(CREATE, '', ALICE, { creator: ALICE });
    const unknownRoom = member(BOB, BOB, 'join', '!nowhere:hs');
    const banned = member(CAROL, CAROL, 'join');
    const kick = member(ALICE, BOB, 'leave');
    const fold = foldRoomEntries(existing({ [ALICE]: 'join', [BOB]: 'join', [CAROL]: 'ban' }), at(create, unknownRoom, banned, kick));
    expect(fold.accepted).toEqual([]);
    expect(fold.createdRooms).toEqual([]);
    expect(fold.rejected).toEqual([
      { eventId: create.id, offset: 0, rejection: { errcode: 'M_BAD_STATE', message: 'Room already exists' } },
      { eventId: unknownRoom.id, offset: 1, rejection: { errcode: 'M_NOT_FOUND', message: 'Unknown room' } },
      { eventId: banned.id, offset: 2, rejection: { errcode: 'M_FORBIDDEN', message: 'You are banned from this room' } },
      { eventId: kick.id, offset: 3, rejection: { errcode: 'M_FORBIDDEN', message: 'Insufficient power level to kick' } },
    ]);
  });

  it('keeps only the last membership per (room, user) of the batch, in the order of their last change', () => {
    const fold = foldRoomEntries(
      existing({ [ALICE]: 'join' }),
      at(member(BOB, BOB, 'join'), member(CAROL, ALICE, 'invite'), member(BOB, BOB, 'leave'), member(CAROL, CAROL, 'join')),
    );
    expect(fold.rejected).toEqual([]);
    expect(fold.accepted.map(({ offset }) => offset)).toEqual([0, 1, 2, 3]);
    expect(fold.memberships.map(({ userId, membership, offset }) => ({ userId, membership, offset }))).toEqual([
      { userId: BOB, membership: 'leave', offset: 2 },
      { userId: CAROL, membership: 'join', offset: 3 },
    ]);
    expect(fold.memberships[1]!.eventId).toBe(fold.accepted[3]!.event.event_id);
  });

  it('decides each entry against the state the earlier entries of the batch left', () => {
    // Alice bans Bob, then Bob's join is refused; Alice unbans him, and his next join is accepted.
    const fold = foldRoomEntries(
      existing({ [ALICE]: 'join', [BOB]: 'leave' }),
      at(member(BOB, ALICE, 'ban'), member(BOB, BOB, 'join'), member(BOB, ALICE, 'leave'), member(BOB, BOB, 'join')),
    );
    expect(fold.accepted.map(({ offset }) => offset)).toEqual([0, 2, 3]);
    expect(fold.rejected.map(({ offset, rejection }) => ({ offset, errcode: rejection.errcode }))).toEqual([
      { offset: 1, errcode: 'M_FORBIDDEN' },
    ]);
    expect(fold.memberships.map(({ userId, membership }) => ({ userId, membership }))).toEqual([{ userId: BOB, membership: 'join' }]);
  });

  it('forgets a room the user left, and refuses to forget one they are still in (M_UNKNOWN)', () => {
    const stillIn = forget(ALICE);
    const left = forget(BOB);
    const invited = forget(CAROL);
    const fold = foldRoomEntries(existing({ [ALICE]: 'join', [BOB]: 'leave', [CAROL]: 'invite' }), at(stillIn, left, invited));
    expect(fold.forgotten).toEqual([{ roomId: ROOM, userId: BOB }]);
    expect(fold.rejected).toEqual([
      { eventId: stillIn.id, offset: 0, rejection: { errcode: 'M_UNKNOWN', message: 'User is still in the room' } },
      { eventId: invited.id, offset: 2, rejection: { errcode: 'M_UNKNOWN', message: 'User is still in the room' } },
    ]);
    expect(fold.accepted).toEqual([]);
    expect(fold.memberships).toEqual([]);
  });

  it('refuses to forget a room that does not exist', () => {
    const entry = forget(BOB, '!nowhere:hs');
    const fold = foldRoomEntries(new Map(), at(entry));
    expect(fold.forgotten).toEqual([]);
    expect(fold.rejected).toEqual([
      { eventId: entry.id, offset: 0, rejection: { errcode: 'M_UNKNOWN', message: 'User is still in the room' } },
    ]);
  });

  it('drops a forget that a later membership of the same batch supersedes', () => {
    const fold = foldRoomEntries(existing({ [ALICE]: 'join', [BOB]: 'leave' }), at(forget(BOB), member(BOB, BOB, 'join')));
    expect(fold.forgotten).toEqual([]);
    expect(fold.memberships.map(({ userId, membership }) => ({ userId, membership }))).toEqual([{ userId: BOB, membership: 'join' }]);
  });

  it('keeps a forget that follows the membership change', () => {
    const fold = foldRoomEntries(existing({ [ALICE]: 'join', [BOB]: 'join' }), at(member(BOB, BOB, 'leave'), forget(BOB)));
    expect(fold.rejected).toEqual([]);
    expect(fold.forgotten).toEqual([{ roomId: ROOM, userId: BOB }]);
    expect(fold.memberships.map(({ userId, membership }) => ({ userId, membership }))).toEqual([{ userId: BOB, membership: 'leave' }]);
  });

  it('does not touch the initial states it is given', () => {
    const initial = existing({ [ALICE]: 'join' });
    const before = initial.get(ROOM);
    foldRoomEntries(initial, at(member(BOB, BOB, 'join')));
    expect(initial.get(ROOM)).toBe(before);
    expect(before?.memberships.has(BOB)).toBe(false);
  });
});
