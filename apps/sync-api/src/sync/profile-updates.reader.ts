import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { SyncPositions } from '@mx/sync';

/** field → new value, or null when the field was removed. */
export type ProfileUpdates = Record<string, unknown>;

/** Reads profile changes from the projection, inside the caller's snapshot. */
@Injectable()
export class ProfileUpdatesReader {
  /** Current values of the requested fields that are set. */
  async currentFields(
    query: DataSource['query'],
    userIds: readonly string[],
    fields: readonly string[],
  ): Promise<Map<string, ProfileUpdates>> {
    const rows: { user_id: string; field: string; value: unknown }[] = await query(
      'SELECT user_id, field, value FROM profile_fields WHERE user_id = ANY($1) AND field = ANY($2) AND is_set',
      [userIds, fields],
    );
    return this.group(rows.map((row) => ({ ...row, is_set: true })));
  }

  /** The latest value (null for a deletion) of each requested field changed after `since`. */
  async changedFields(
    query: DataSource['query'],
    userIds: readonly string[],
    fields: readonly string[],
    since: SyncPositions,
  ): Promise<Map<string, ProfileUpdates>> {
    const rows: { user_id: string; field: string; value: unknown; is_set: boolean }[] = await query(
      `SELECT user_id, field, value, is_set FROM profile_fields
       WHERE user_id = ANY($1) AND field = ANY($2) AND log_offset >= ($3::bigint[])[log_partition + 1]`,
      [userIds, fields, since.profile],
    );
    return this.group(rows);
  }

  private group(rows: readonly { user_id: string; field: string; value: unknown; is_set: boolean }[]): Map<string, ProfileUpdates> {
    const byUser = new Map<string, ProfileUpdates>();
    for (const row of rows) {
      const updates = byUser.get(row.user_id) ?? {};
      updates[row.field] = row.is_set ? row.value : null;
      byUser.set(row.user_id, updates);
    }
    return byUser;
  }
}
