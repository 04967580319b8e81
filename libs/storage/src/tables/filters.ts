import { rows, type Sql } from '../sql.js';

/**
 * `filters`: Stored /sync filters, per user; immutable once stored.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** Stores a filter's JSON text under a new ID (the caller draws IDs; one never changes once stored). */
export async function store(sql: Sql, userId: string, filterId: string, definition: string, createdTs: number): Promise<void> {
  await sql.query('INSERT INTO filters (user_id, filter_id, definition, created_ts) VALUES ($1, $2, $3, $4)', [
    userId,
    filterId,
    definition,
    createdTs,
  ]);
}

/** The stored JSON text of one of the user's filters, or undefined when the user has no filter with that ID. */
export async function definition(sql: Sql, userId: string, filterId: string): Promise<string | undefined> {
  const found = await rows<{ definition: string }>(sql, 'SELECT definition FROM filters WHERE user_id = $1 AND filter_id = $2', [
    userId,
    filterId,
  ]);
  return found[0]?.definition;
}
