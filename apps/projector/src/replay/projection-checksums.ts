import type { DataSource } from 'typeorm';

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
export async function projectionChecksums(dataSource: DataSource, schema: string): Promise<TableChecksum[]> {
  const sums: TableChecksum[] = [];
  for (const [table, columns] of Object.entries(PROJECTION_TABLES)) {
    const rows: { rows: number; checksum: string }[] = await dataSource.query(
      `SELECT count(*)::int AS rows, coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '') AS checksum
       FROM (SELECT ${columns} FROM "${schema}".${table}) AS t`,
    );
    sums.push({ table, rows: rows[0]?.rows ?? 0, checksum: rows[0]?.checksum ?? '' });
  }
  return sums;
}
