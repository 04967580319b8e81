import { rows, type Sql } from '../sql.js';
import { decodeStoredEvent, STORED_EVENT_COLUMNS, type StoredEventRow, type StoredRoomEvent } from './room-events.js';

/**
 * `room_state`: The current state per (room, type, state key): which event holds it.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** The current state events (also reads `room_events`) of `roomIds`: by room, then in log order. */
export async function currentEvents(sql: Sql, roomIds: readonly string[]): Promise<StoredRoomEvent[]> {
  if (roomIds.length === 0) return [];
  const found = await rows<StoredEventRow>(
    sql,
    `SELECT ${STORED_EVENT_COLUMNS} FROM room_state s JOIN room_events e ON e.event_id = s.event_id WHERE s.room_id = ANY($1) ORDER BY e.room_id, e.log_offset`,
    [roomIds],
  );
  return found.map(decodeStoredEvent);
}

/** Makes events the current state of their (room, type, state key); of several for the same key, the last one wins. */
export async function setCurrent(
  sql: Sql,
  events: readonly { readonly room_id: string; readonly type: string; readonly state_key: string; readonly event_id: string }[],
): Promise<void> {
  if (events.length === 0) return;
  const latest = new Map(events.map((event) => [JSON.stringify([event.room_id, event.type, event.state_key]), event]));
  await sql.query(
    `INSERT INTO room_state (room_id, type, state_key, event_id)
     SELECT s.room_id, s.type, s.state_key, s.event_id FROM jsonb_to_recordset($1::jsonb) AS s(room_id text, type text, state_key text, event_id text)
     ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = EXCLUDED.event_id`,
    [JSON.stringify([...latest.values()].map(({ room_id, type, state_key, event_id }) => ({ room_id, type, state_key, event_id })))],
  );
}

/**
 * The content of the current room-wide (state key `''`) state events of `types` in each of
 * `roomIds`. Also reads `room_events` (the events' content).
 */
export async function roomWideContents(
  sql: Sql,
  roomIds: readonly string[],
  types: readonly string[],
): Promise<{ roomId: string; type: string; content: Record<string, unknown> }[]> {
  if (roomIds.length === 0) return [];
  const found = await rows<{ room_id: string; type: string; content: Record<string, unknown> }>(
    sql,
    `SELECT s.room_id, s.type, e.content FROM room_state s JOIN room_events e ON e.event_id = s.event_id
     WHERE s.room_id = ANY($1) AND s.state_key = '' AND s.type = ANY($2)`,
    [roomIds, types],
  );
  return found.map((row) => ({ roomId: row.room_id, type: row.type, content: row.content }));
}

/** The content of the current state event at (room, type, state key), undefined when none. Also reads `room_events`. */
export async function eventContent(sql: Sql, roomId: string, type: string, stateKey: string): Promise<Record<string, unknown> | undefined> {
  const found = await rows<{ content: Record<string, unknown> }>(
    sql,
    `SELECT e.content FROM room_state s JOIN room_events e ON e.event_id = s.event_id WHERE s.room_id = $1 AND s.type = $2 AND s.state_key = $3`,
    [roomId, type, stateKey],
  );
  return found[0]?.content;
}
