import { rows, type Sql } from '../sql.js';

/**
 * `room_aliases`: Room aliases (owned by the writer, like accounts).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

const UNIQUE_VIOLATION = '23505';

/** Points a new alias at `roomId`; false when the alias is already taken (by any room). */
export async function claim(sql: Sql, alias: string, roomId: string, createdTs: number): Promise<boolean> {
  try {
    await sql.query('INSERT INTO room_aliases (alias, room_id, created_ts) VALUES ($1, $2, $3)', [alias, roomId, createdTs]);
    return true;
  } catch (error) {
    if ((error as { code?: string }).code === UNIQUE_VIOLATION) return false;
    throw error;
  }
}

/** Removes the alias if it still points at `roomId` (a claim whose room was never created). */
export async function release(sql: Sql, alias: string, roomId: string): Promise<void> {
  await sql.query('DELETE FROM room_aliases WHERE alias = $1 AND room_id = $2', [alias, roomId]);
}

/** The room an alias points at; undefined for an unknown alias. */
export async function roomIdOf(sql: Sql, alias: string): Promise<string | undefined> {
  const found = await rows<{ room_id: string }>(sql, 'SELECT room_id FROM room_aliases WHERE alias = $1', [alias]);
  return found[0]?.room_id;
}
