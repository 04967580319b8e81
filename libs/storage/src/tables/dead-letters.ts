import type { Sql } from '../sql.js';

/**
 * `dead_letters`: Records the projector set aside: raw bytes and the reason (written in the batch transaction that moves past them).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** A record set aside: where it was, why, and its raw bytes. */
export interface DeadLetterRow {
  readonly topic: string;
  readonly partition: number;
  readonly offset: number;
  readonly reason: string;
  readonly payload: Buffer | null;
  readonly recordedTs: number;
}

/** Sets a record aside (a record already set aside keeps its first letter). */
export async function record(sql: Sql, letter: DeadLetterRow): Promise<void> {
  await sql.query(
    `INSERT INTO dead_letters (topic, log_partition, log_offset, reason, payload, recorded_ts) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT DO NOTHING`,
    [letter.topic, letter.partition, letter.offset, letter.reason, letter.payload, letter.recordedTs],
  );
}
