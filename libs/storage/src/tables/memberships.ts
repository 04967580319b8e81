import type { Membership } from '@mx/rooms';
import { rows, type Sql } from '../sql.js';

/**
 * `memberships`: The membership edges (room, user, membership, the event and log position it came from): who shares a room with whom.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** One of a user's membership rows: the room, the membership, the event and log position it came from. */
export interface UserMembership {
  readonly roomId: string;
  readonly membership: Membership;
  readonly eventId: string;
  readonly partition: number;
  readonly offset: number;
  readonly forgotten: boolean;
}

/** Every membership row of `userId` (any membership, forgotten ones included). */
export async function ofUser(sql: Sql, userId: string): Promise<UserMembership[]> {
  const found = await rows<{
    room_id: string;
    membership: Membership;
    event_id: string;
    log_partition: number;
    log_offset: string;
    forgotten: boolean;
  }>(sql, 'SELECT room_id, membership, event_id, log_partition, log_offset, forgotten FROM memberships WHERE user_id = $1', [userId]);
  return found.map((row) => ({
    roomId: row.room_id,
    membership: row.membership,
    eventId: row.event_id,
    partition: row.log_partition,
    offset: Number(row.log_offset),
    forgotten: row.forgotten,
  }));
}

/** The rooms `userId` is joined to, sorted. */
export async function joinedRoomIds(sql: Sql, userId: string): Promise<string[]> {
  const found = await rows<{ room_id: string }>(
    sql,
    `SELECT room_id FROM memberships WHERE user_id = $1 AND membership = 'join' ORDER BY room_id`,
    [userId],
  );
  return found.map((row) => row.room_id);
}

/** Users joined to a room `userId` is joined to (`userId` included when joined anywhere), each once. */
export async function usersSharingJoinedRoom(sql: Sql, userId: string): Promise<string[]> {
  const found = await rows<{ user_id: string }>(
    sql,
    `SELECT DISTINCT other.user_id FROM memberships mine
     JOIN memberships other ON other.room_id = mine.room_id AND other.membership = 'join'
     WHERE mine.user_id = $1 AND mine.membership = 'join'`,
    [userId],
  );
  return found.map((row) => row.user_id);
}

/** For each of `userIds`, the rooms they are joined to. */
export async function joinedRoomsOfEach(sql: Sql, userIds: readonly string[]): Promise<{ userId: string; roomId: string }[]> {
  if (userIds.length === 0) return [];
  const found = await rows<{ user_id: string; room_id: string }>(
    sql,
    `SELECT user_id, room_id FROM memberships WHERE user_id = ANY($1) AND membership = 'join'`,
    [userIds],
  );
  return found.map((row) => ({ userId: row.user_id, roomId: row.room_id }));
}

/** For each of `userIds`, the users joined to a room they are joined to (themselves included when joined anywhere), each once. */
export async function usersSharingJoinedRoomOfEach(
  sql: Sql,
  userIds: readonly string[],
): Promise<{ userId: string; otherUserId: string }[]> {
  if (userIds.length === 0) return [];
  const found = await rows<{ user_id: string; other_user_id: string }>(
    sql,
    `SELECT DISTINCT mine.user_id, other.user_id AS other_user_id FROM memberships mine
     JOIN memberships other ON other.room_id = mine.room_id AND other.membership = 'join'
     WHERE mine.user_id = ANY($1) AND mine.membership = 'join'`,
    [userIds],
  );
  return found.map((row) => ({ userId: row.user_id, otherUserId: row.other_user_id }));
}

/** Of `among`, those joined to a room `userId` is joined to, counting no room of `exceptRooms`. */
export async function usersSharingJoinedRoomOutside(
  sql: Sql,
  userId: string,
  among: readonly string[],
  exceptRooms: readonly string[],
): Promise<string[]> {
  const found = await rows<{ user_id: string }>(
    sql,
    `SELECT DISTINCT other.user_id FROM memberships mine
     JOIN memberships other ON other.room_id = mine.room_id AND other.membership = 'join'
     WHERE mine.user_id = $1 AND mine.membership = 'join' AND other.user_id = ANY($2) AND NOT (mine.room_id = ANY($3))`,
    [userId, among, exceptRooms],
  );
  return found.map((row) => row.user_id);
}

/** Everyone with a membership row (any membership) in `roomIds`. */
export async function membersOfRooms(sql: Sql, roomIds: readonly string[]): Promise<{ roomId: string; userId: string }[]> {
  const found = await rows<{ room_id: string; user_id: string }>(sql, 'SELECT room_id, user_id FROM memberships WHERE room_id = ANY($1)', [
    roomIds,
  ]);
  return found.map((row) => ({ roomId: row.room_id, userId: row.user_id }));
}

/** The memberships of `userIds` in `roomIds` (pairs without a row are absent). */
export async function ofUsersInRooms(
  sql: Sql,
  roomIds: readonly string[],
  userIds: readonly string[],
): Promise<{ roomId: string; userId: string; membership: Membership }[]> {
  const found = await rows<{ room_id: string; user_id: string; membership: Membership }>(
    sql,
    'SELECT room_id, user_id, membership FROM memberships WHERE room_id = ANY($1) AND user_id = ANY($2)',
    [roomIds, userIds],
  );
  return found.map((row) => ({ roomId: row.room_id, userId: row.user_id, membership: row.membership }));
}

/**
 * Member events (also reads `room_events`) in the window that starts, per partition of the
 * membership topic, at `fromOffsets[partition]`, in every room `userId` has (or had) a membership
 * row in: whose membership became what, each distinct (room, user, membership) once.
 */
export async function memberEventsInWindow(
  sql: Sql,
  userId: string,
  fromOffsets: readonly number[],
): Promise<{ roomId: string; userId: string; membership: string }[]> {
  const found = await rows<{ room_id: string; state_key: string; membership: string }>(
    sql,
    `SELECT DISTINCT e.room_id, e.state_key, e.content->>'membership' AS membership FROM memberships mine
     JOIN room_events e ON e.room_id = mine.room_id AND e.type = 'm.room.member' AND e.log_offset >= ($2::bigint[])[e.log_partition + 1]
     WHERE mine.user_id = $1`,
    [userId, fromOffsets],
  );
  return found.map((row) => ({ roomId: row.room_id, userId: row.state_key, membership: row.membership }));
}

/** The rooms any of `userIds` has joined (each once, in no particular order). */
export async function joinedRoomIdsOfAny(sql: Sql, userIds: readonly string[]): Promise<string[]> {
  if (userIds.length === 0) return [];
  const found = await rows<{ room_id: string }>(
    sql,
    `SELECT DISTINCT room_id FROM memberships WHERE user_id = ANY($1) AND membership = 'join'`,
    [userIds],
  );
  return found.map((row) => row.room_id);
}

/** A (room, user)'s latest membership, the member event it came from and that event's offset. */
export interface LatestMembership {
  readonly roomId: string;
  readonly userId: string;
  readonly membership: Membership;
  readonly eventId: string;
  readonly offset: number;
}

/** Stores each change as its (room, user)'s membership, from `partition`, no longer forgotten (at most one change per pair). */
export async function upsertLatest(sql: Sql, partition: number, changes: readonly LatestMembership[]): Promise<void> {
  if (changes.length === 0) return;
  await sql.query(
    `INSERT INTO memberships (room_id, user_id, membership, event_id, log_partition, log_offset, forgotten)
     SELECT m.room_id, m.user_id, m.membership, m.event_id, $2, m.log_offset, false
     FROM jsonb_to_recordset($1::jsonb) AS m(room_id text, user_id text, membership text, event_id text, log_offset bigint)
     ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_id = EXCLUDED.event_id,
       log_partition = EXCLUDED.log_partition, log_offset = EXCLUDED.log_offset, forgotten = false`,
    [
      JSON.stringify(
        changes.map((change) => ({
          room_id: change.roomId,
          user_id: change.userId,
          membership: change.membership,
          event_id: change.eventId,
          log_offset: change.offset,
        })),
      ),
      partition,
    ],
  );
}

/** Marks each (room, user) membership forgotten (the user forgot the room they left). */
export async function markForgotten(sql: Sql, forgotten: readonly { roomId: string; userId: string }[]): Promise<void> {
  for (const { roomId, userId } of forgotten) {
    await sql.query('UPDATE memberships SET forgotten = true WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
  }
}

/**
 * The users joined to `roomId`, sorted, each with the content of the member event that made them
 * joined (also reads `room_events`: display name and avatar as the room knows them).
 */
export async function joinedWithMemberContent(sql: Sql, roomId: string): Promise<{ userId: string; content: Record<string, unknown> }[]> {
  const found = await rows<{ user_id: string; content: Record<string, unknown> }>(
    sql,
    `SELECT m.user_id, e.content FROM memberships m JOIN room_events e ON e.event_id = m.event_id
     WHERE m.room_id = $1 AND m.membership = 'join' ORDER BY m.user_id`,
    [roomId],
  );
  return found.map((row) => ({ userId: row.user_id, content: row.content }));
}

/** The member event a (room, user)'s membership row came from, and its `origin_server_ts` (null when not observed from a homeserver). */
export interface CurrentMemberEvent {
  readonly roomId: string;
  readonly userId: string;
  readonly eventId: string;
  readonly originServerTs: number | null;
}

/** The current member events of the given (room, user) pairs (pairs without a row are absent). */
export async function currentMemberEvents(
  sql: Sql,
  pairs: readonly { readonly roomId: string; readonly userId: string }[],
): Promise<CurrentMemberEvent[]> {
  if (pairs.length === 0) return [];
  const found = await rows<{ room_id: string; user_id: string; event_id: string; origin_server_ts: string | null }>(
    sql,
    `SELECT m.room_id, m.user_id, m.event_id, m.origin_server_ts FROM memberships m
     JOIN unnest($1::text[], $2::text[]) AS p(room_id, user_id) ON p.room_id = m.room_id AND p.user_id = m.user_id`,
    [pairs.map((pair) => pair.roomId), pairs.map((pair) => pair.userId)],
  );
  return found.map((row) => ({
    roomId: row.room_id,
    userId: row.user_id,
    eventId: row.event_id,
    originServerTs: row.origin_server_ts === null ? null : Number(row.origin_server_ts),
  }));
}

/** A membership observed from the homeserver that became its (room, user)'s current one. */
export interface ObservedMembershipChange extends LatestMembership {
  readonly originServerTs: number;
}

/**
 * Stores each observed membership as its (room, user)'s membership, from `partition`, with its
 * event's `origin_server_ts`, no longer forgotten (at most one change per pair; the caller decided
 * it is the current one).
 */
export async function upsertObserved(sql: Sql, partition: number, changes: readonly ObservedMembershipChange[]): Promise<void> {
  if (changes.length === 0) return;
  await sql.query(
    `INSERT INTO memberships (room_id, user_id, membership, event_id, log_partition, log_offset, forgotten, origin_server_ts)
     SELECT m.room_id, m.user_id, m.membership, m.event_id, $2, m.log_offset, false, m.origin_server_ts
     FROM jsonb_to_recordset($1::jsonb) AS m(room_id text, user_id text, membership text, event_id text, log_offset bigint, origin_server_ts bigint)
     ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_id = EXCLUDED.event_id,
       log_partition = EXCLUDED.log_partition, log_offset = EXCLUDED.log_offset, forgotten = false,
       origin_server_ts = EXCLUDED.origin_server_ts`,
    [
      JSON.stringify(
        changes.map((change) => ({
          room_id: change.roomId,
          user_id: change.userId,
          membership: change.membership,
          event_id: change.eventId,
          log_offset: change.offset,
          origin_server_ts: change.originServerTs,
        })),
      ),
      partition,
    ],
  );
}

/**
 * Companion mode: of these member events (the homeserver's, by event ID), those the projection has
 * not applied yet: not in the membership history, and no newer membership of their (room, user)
 * stored (a superseded event is never applied, and needs no waiting for).
 */
export async function unprojectedMemberEvents(
  sql: Sql,
  events: readonly { eventId: string; roomId: string; userId: string; originServerTs: number }[],
): Promise<string[]> {
  if (events.length === 0) return [];
  const found = await rows<{ event_id: string }>(
    sql,
    `SELECT f.event_id FROM jsonb_to_recordset($1::jsonb) AS f(event_id text, room_id text, user_id text, ts bigint)
     WHERE NOT EXISTS (SELECT 1 FROM room_events e WHERE e.event_id = f.event_id)
       AND NOT EXISTS (SELECT 1 FROM memberships m WHERE m.room_id = f.room_id AND m.user_id = f.user_id AND m.origin_server_ts >= f.ts)`,
    [
      JSON.stringify(
        events.map((event) => ({ event_id: event.eventId, room_id: event.roomId, user_id: event.userId, ts: event.originServerTs })),
      ),
    ],
  );
  return found.map((row) => row.event_id);
}
