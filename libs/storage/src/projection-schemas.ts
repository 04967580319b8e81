import type { Database } from './database.js';
import type { Sql } from './sql.js';

/**
 * Operations on a whole projection as a set of tables in one PostgreSQL schema, for the replay
 * (`verify` / `rebuild`): the one place that lists the projection's tables together. Everything
 * else reaches a table through its module in ./tables.
 */

/** The projection's tables and the columns that must match between a projection and its replay. */
export const PROJECTION_TABLES: Readonly<Record<string, string>> = {
  profile_fields: 'user_id, field, value::text, is_set, log_partition, log_offset',
  projection_positions: 'topic, log_partition, next_offset',
  rejected_events: 'event_id, topic, log_partition, log_offset, reason',
  dead_letters: 'topic, log_partition, log_offset, reason',
  rooms: 'room_id, creator, room_version, created_ts',
  room_events: 'event_id, room_id, type, state_key, sender, origin_server_ts, content::text, log_partition, log_offset',
  room_state: 'room_id, type, state_key, event_id',
  memberships: 'room_id, user_id, membership, event_id, log_partition, log_offset, forgotten',
};

export interface TableChecksum {
  readonly table: string;
  readonly rows: number;
  readonly checksum: string;
}

/** Row count and an order-independent checksum of each projection table in `schema`. */
export async function projectionChecksums(sql: Sql, schema: string): Promise<TableChecksum[]> {
  const sums: TableChecksum[] = [];
  for (const [table, columns] of Object.entries(PROJECTION_TABLES)) {
    const found = (await sql.query(
      `SELECT count(*)::int AS rows, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS checksum
       FROM (SELECT ${columns} FROM "${schema}".${table}) AS t`,
    )) as { rows: number; checksum: string }[];
    sums.push({ table, rows: found[0]?.rows ?? 0, checksum: found[0]?.checksum ?? '' });
  }
  return sums;
}

/**
 * Makes the projection in schema `replayed` the live one in `live`, in one transaction: the live
 * projection's tables (and its epoch) move to a new schema `backup`, the replayed ones take their place.
 */
export async function swapInProjection(db: Pick<Database, 'transaction'>, replayed: string, live: string, backup: string): Promise<void> {
  await db.transaction(async (tx) => {
    await tx.query(`CREATE SCHEMA "${backup}"`);
    for (const table of [...Object.keys(PROJECTION_TABLES), 'projection_meta']) {
      await tx.query(`ALTER TABLE "${live}".${table} SET SCHEMA "${backup}"`);
      await tx.query(`ALTER TABLE "${replayed}".${table} SET SCHEMA "${live}"`);
    }
  });
}

/** Drops `schema` and everything in it (a replay's scratch projection). */
export async function dropSchema(sql: Sql, schema: string): Promise<void> {
  await sql.query(`DROP SCHEMA "${schema}" CASCADE`);
}
