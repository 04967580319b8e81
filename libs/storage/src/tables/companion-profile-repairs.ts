import { rows, type Sql } from '../sql.js';

/**
 * `companion_profile_repairs`: companion mode's profile writes that the homeserver may hold while
 * the log may not (the writer's ProfileRepairs marks, clears and repairs them). Every statement on
 * this table lives in this file (schema: ../migrations).
 */

/** A (user, field) whose homeserver value is to be appended to the log. */
export interface DueRepair {
  readonly userId: string;
  readonly field: string;
  /** The write that marked it: only that write's success (or its repair) clears the row. */
  readonly writeId: string;
  readonly attempts: number;
}

/** Marks (user, field) as possibly differing from `dueTs` on, on behalf of write `writeId` (a later mark replaces an earlier one). */
export async function mark(sql: Sql, userId: string, field: string, writeId: string, dueTs: number): Promise<void> {
  await sql.query(
    `INSERT INTO companion_profile_repairs (user_id, field, write_id, due_ts) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id, field) DO UPDATE SET write_id = EXCLUDED.write_id, due_ts = EXCLUDED.due_ts, attempts = 0`,
    [userId, field, writeId, dueTs],
  );
}

/** Clears the mark of write `writeId` (a later write's mark stays). */
export async function clear(sql: Sql, userId: string, field: string, writeId: string): Promise<void> {
  await sql.query('DELETE FROM companion_profile_repairs WHERE user_id = $1 AND field = $2 AND write_id = $3', [userId, field, writeId]);
}

/**
 * Takes up to `limit` marks due at `now`, leasing each until `now + leaseMs` (another writer skips
 * them meanwhile; a repair that fails is due again when its lease ends).
 */
export async function claimDue(sql: Sql, now: number, leaseMs: number, limit: number): Promise<DueRepair[]> {
  const found = await rows<{ user_id: string; field: string; write_id: string; attempts: number }>(
    sql,
    `UPDATE companion_profile_repairs SET due_ts = $2, attempts = attempts + 1
       WHERE (user_id, field) IN (
         SELECT user_id, field FROM companion_profile_repairs WHERE due_ts <= $1 ORDER BY due_ts LIMIT $3 FOR UPDATE SKIP LOCKED)
       RETURNING user_id, field, write_id, attempts`,
    [now, now + leaseMs, limit],
  );
  return found.map((row) => ({ userId: row.user_id, field: row.field, writeId: row.write_id, attempts: row.attempts }));
}

/** Marks waiting (due or not): a gauge for operators. */
export async function count(sql: Sql): Promise<number> {
  const found = await rows<{ n: number }>(sql, 'SELECT count(*)::int AS n FROM companion_profile_repairs');
  return found[0]?.n ?? 0;
}
