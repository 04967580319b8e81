import { rows, type Sql } from '../sql.js';

/**
 * `projection_positions`: Where the projection stands in each topic partition (next offset to apply), written with the rows it produced.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** A partition's committed position: the next offset the projection will apply there. */
export interface PartitionPosition {
  readonly topic: string;
  readonly partition: number;
  readonly nextOffset: number;
}

/** Every stored position, or only those of `topics` when given (in no particular order). */
export async function all(sql: Sql, topics?: readonly string[]): Promise<PartitionPosition[]> {
  const found =
    topics === undefined
      ? await rows<PositionRow>(sql, 'SELECT topic, log_partition, next_offset FROM projection_positions')
      : await rows<PositionRow>(sql, 'SELECT topic, log_partition, next_offset FROM projection_positions WHERE topic = ANY($1)', [topics]);
  return found.map((row) => ({ topic: row.topic, partition: row.log_partition, nextOffset: Number(row.next_offset) }));
}

interface PositionRow {
  topic: string;
  log_partition: number;
  next_offset: string;
}

/** The next offset the projection will apply in one partition (0 before it applied any). */
export async function nextOffset(sql: Sql, topic: string, partition: number): Promise<number> {
  const found = await rows<{ next_offset: string }>(
    sql,
    'SELECT next_offset FROM projection_positions WHERE topic = $1 AND log_partition = $2',
    [topic, partition],
  );
  return Number(found[0]?.next_offset ?? 0);
}

/**
 * Locks a partition's position row for the rest of the transaction (creating it at 0 when
 * missing) and returns the next offset to apply there: concurrent batches of one partition
 * serialize here.
 */
export async function lockNext(sql: Sql, topic: string, partition: number): Promise<number> {
  await sql.query('INSERT INTO projection_positions (topic, log_partition, next_offset) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING', [
    topic,
    partition,
  ]);
  const found = await rows<{ next_offset: string }>(
    sql,
    'SELECT next_offset FROM projection_positions WHERE topic = $1 AND log_partition = $2 FOR UPDATE',
    [topic, partition],
  );
  return Number(found[0]?.next_offset ?? 0);
}

/** Moves a partition's position to `nextOffset` (in the transaction that stored what came before it). */
export async function advance(sql: Sql, topic: string, partition: number, nextOffset: number): Promise<void> {
  await sql.query('UPDATE projection_positions SET next_offset = $3 WHERE topic = $1 AND log_partition = $2', [
    topic,
    partition,
    nextOffset,
  ]);
}
