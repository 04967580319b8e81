import { rows, type Sql } from '../sql.js';

/**
 * `room_events`: The accepted room state events, in log order per room (the per-room stream /sync reads).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** A stored room event, decoded (its log position included). */
export interface StoredRoomEvent {
  readonly roomId: string;
  readonly eventId: string;
  readonly type: string;
  readonly stateKey: string;
  readonly sender: string;
  readonly originServerTs: number;
  readonly content: Record<string, unknown>;
  readonly partition: number;
  readonly offset: number;
}

/** The columns a StoredRoomEvent is decoded from, of `room_events` aliased `e` (room_state.ts selects them too). */
export const STORED_EVENT_COLUMNS =
  'e.room_id, e.event_id, e.type, e.state_key, e.sender, e.origin_server_ts, e.content, e.log_partition, e.log_offset';

export interface StoredEventRow {
  room_id: string;
  event_id: string;
  type: string;
  state_key: string;
  sender: string;
  origin_server_ts: string;
  content: Record<string, unknown>;
  log_partition: number;
  log_offset: string;
}

export function decodeStoredEvent(row: StoredEventRow): StoredRoomEvent {
  return {
    roomId: row.room_id,
    eventId: row.event_id,
    type: row.type,
    stateKey: row.state_key,
    sender: row.sender,
    originServerTs: Number(row.origin_server_ts),
    content: row.content,
    partition: row.log_partition,
    offset: Number(row.log_offset),
  };
}

/** Per room of `roomIds`, its last `count` events; by room, then in log order. */
export async function latestPerRoom(sql: Sql, roomIds: readonly string[], count: number): Promise<StoredRoomEvent[]> {
  if (roomIds.length === 0) return [];
  const found = await rows<StoredEventRow>(
    sql,
    `SELECT ${STORED_EVENT_COLUMNS} FROM unnest($1::text[]) AS r(room_id)
     CROSS JOIN LATERAL (SELECT * FROM room_events WHERE room_id = r.room_id ORDER BY log_offset DESC LIMIT $2) AS e
     ORDER BY e.room_id, e.log_offset`,
    [roomIds, count],
  );
  return found.map(decodeStoredEvent);
}

/**
 * Per room of `roomIds`, its last `count` events in the window that starts, per partition of the
 * membership topic, at `fromOffsets[partition]`; by room, then in log order.
 */
export async function latestPerRoomInWindow(
  sql: Sql,
  roomIds: readonly string[],
  fromOffsets: readonly number[],
  count: number,
): Promise<StoredRoomEvent[]> {
  if (roomIds.length === 0) return [];
  const found = await rows<StoredEventRow>(
    sql,
    `SELECT ${STORED_EVENT_COLUMNS} FROM unnest($1::text[]) AS r(room_id)
     CROSS JOIN LATERAL (
       SELECT * FROM room_events WHERE room_id = r.room_id AND log_offset >= ($2::bigint[])[log_partition + 1]
       ORDER BY log_offset DESC LIMIT $3
     ) AS e
     ORDER BY e.room_id, e.log_offset`,
    [roomIds, fromOffsets, count],
  );
  return found.map(decodeStoredEvent);
}

/**
 * One room's last `count` events in the window that starts at `fromOffsets[partition]` and ends
 * with the event at `untilOffset` (included), in log order.
 */
export async function latestInWindowUntil(
  sql: Sql,
  roomId: string,
  fromOffsets: readonly number[],
  untilOffset: number,
  count: number,
): Promise<StoredRoomEvent[]> {
  const found = await rows<StoredEventRow>(
    sql,
    `SELECT * FROM (
       SELECT ${STORED_EVENT_COLUMNS} FROM room_events e
       WHERE e.room_id = $1 AND e.log_offset >= ($2::bigint[])[e.log_partition + 1] AND e.log_offset <= $3
       ORDER BY e.log_offset DESC LIMIT $4
     ) AS e ORDER BY e.log_offset`,
    [roomId, fromOffsets, untilOffset, count],
  );
  return found.map(decodeStoredEvent);
}

/** The membership the last member event of `userId` in the room before `beforeOffset` gave; undefined when none. */
export async function membershipBefore(sql: Sql, roomId: string, userId: string, beforeOffset: number): Promise<string | undefined> {
  const found = await rows<{ membership: string }>(
    sql,
    `SELECT content->>'membership' AS membership FROM room_events
     WHERE room_id = $1 AND type = 'm.room.member' AND state_key = $2 AND log_offset < $3
     ORDER BY log_offset DESC LIMIT 1`,
    [roomId, userId, beforeOffset],
  );
  return found[0]?.membership;
}

/**
 * For each (room, user) pair, the membership its last member event before the window (which
 * starts at `fromOffsets[partition]`) gave; null when there was none.
 */
export async function membershipsBeforeWindow(
  sql: Sql,
  pairs: readonly { roomId: string; userId: string }[],
  fromOffsets: readonly number[],
): Promise<{ roomId: string; userId: string; membership: string | null }[]> {
  const found = await rows<{ room_id: string; user_id: string; membership: string | null }>(
    sql,
    `SELECT p.room_id, p.user_id, (
       SELECT e.content->>'membership' FROM room_events e
       WHERE e.room_id = p.room_id AND e.type = 'm.room.member' AND e.state_key = p.user_id AND e.log_offset < ($2::bigint[])[e.log_partition + 1]
       ORDER BY e.log_offset DESC LIMIT 1
     ) AS membership
     FROM jsonb_to_recordset($1::jsonb) AS p(room_id text, user_id text)`,
    [JSON.stringify(pairs.map((pair) => ({ room_id: pair.roomId, user_id: pair.userId }))), fromOffsets],
  );
  return found.map((row) => ({ roomId: row.room_id, userId: row.user_id, membership: row.membership }));
}

/** A room event the projection accepted, as its log entry carries it. */
export interface AcceptedEvent {
  readonly event_id: string;
  readonly room_id: string;
  readonly type: string;
  readonly state_key: string;
  readonly sender: string;
  readonly origin_server_ts: number;
  readonly content: Readonly<Record<string, unknown>>;
}

/** Appends accepted events to their rooms' streams, each with its offset in `partition` (an event already stored is kept). */
export async function insertAccepted(
  sql: Sql,
  partition: number,
  accepted: readonly { readonly offset: number; readonly event: AcceptedEvent }[],
): Promise<void> {
  if (accepted.length === 0) return;
  await sql.query(
    `INSERT INTO room_events (event_id, room_id, type, state_key, sender, origin_server_ts, content, log_partition, log_offset)
     SELECT e.event_id, e.room_id, e.type, e.state_key, e.sender, e.origin_server_ts, e.content, $2, e.log_offset
     FROM jsonb_to_recordset($1::jsonb) AS e(event_id text, room_id text, type text, state_key text, sender text, origin_server_ts bigint, content jsonb, log_offset bigint)
     ON CONFLICT (event_id) DO NOTHING`,
    [JSON.stringify(accepted.map(({ offset, event }) => ({ ...event, log_offset: offset }))), partition],
  );
}
