import { rows, type Sql } from '../sql.js';

/**
 * `uia_sessions`: User-Interactive Auth sessions of registration.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** Starts a session. */
export async function create(sql: Sql, sessionId: string, createdTs: number): Promise<void> {
  await sql.query('INSERT INTO uia_sessions (session_id, created_ts) VALUES ($1, $2)', [sessionId, createdTs]);
}

/** Deletes the sessions started before `createdTs` (expired). */
export async function deleteCreatedBefore(sql: Sql, createdTs: number): Promise<void> {
  await sql.query('DELETE FROM uia_sessions WHERE created_ts < $1', [createdTs]);
}

/**
 * Marks the session completed at `completedTs` if it exists, is not completed yet and was started
 * at or after `createdSince` (still live); false when there is no such session.
 */
export async function complete(sql: Sql, sessionId: string, completedTs: number, createdSince: number): Promise<boolean> {
  // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE … RETURNING.
  const found = await rows<{ completed: number }>(
    sql,
    `WITH completed AS (
       UPDATE uia_sessions SET completed_ts = $2
       WHERE session_id = $1 AND completed_ts IS NULL AND created_ts >= $3 RETURNING 1
     ) SELECT count(*)::int AS completed FROM completed`,
    [sessionId, completedTs, createdSince],
  );
  return (found[0]?.completed ?? 0) > 0;
}
