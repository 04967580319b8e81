import { rows, type Sql } from '../sql.js';

/**
 * `rooms`: Rooms: creator, version, creation time.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** The creator of each of `roomIds` that exists. */
export async function creatorsOf(sql: Sql, roomIds: readonly string[]): Promise<{ roomId: string; creator: string }[]> {
  if (roomIds.length === 0) return [];
  const found = await rows<{ room_id: string; creator: string }>(sql, 'SELECT room_id, creator FROM rooms WHERE room_id = ANY($1)', [
    roomIds,
  ]);
  return found.map((row) => ({ roomId: row.room_id, creator: row.creator }));
}

/** A room as its `m.room.create` event made it. */
export interface CreatedRoom {
  readonly roomId: string;
  readonly creator: string;
  readonly roomVersion: string;
  readonly ts: number;
}

/** Stores newly created rooms (a room already stored is left as it is). */
export async function insertCreated(sql: Sql, created: readonly CreatedRoom[]): Promise<void> {
  if (created.length === 0) return;
  await sql.query(
    `INSERT INTO rooms (room_id, creator, room_version, created_ts)
     SELECT r.room_id, r.creator, r.room_version, r.ts FROM jsonb_to_recordset($1::jsonb) AS r(room_id text, creator text, room_version text, ts bigint)
     ON CONFLICT (room_id) DO NOTHING`,
    [JSON.stringify(created.map((room) => ({ room_id: room.roomId, creator: room.creator, room_version: room.roomVersion, ts: room.ts })))],
  );
}
