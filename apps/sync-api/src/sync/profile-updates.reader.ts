import { Injectable } from '@nestjs/common';
import { profileFields, type Sql } from '@mx/storage';
import type { SyncPositions } from '@mx/sync';

/** field → new value, or null when the field was removed. */
export type ProfileUpdates = Record<string, unknown>;

/** Reads profile changes from the projection, inside the caller's snapshot. */
@Injectable()
export class ProfileUpdatesReader {
  /** Current values of the requested fields that are set. */
  async currentFields(sql: Sql, userIds: readonly string[], fields: readonly string[]): Promise<Map<string, ProfileUpdates>> {
    const rows = await profileFields.setValues(sql, userIds, fields);
    return this.group(rows.map((row) => ({ ...row, isSet: true })));
  }

  /** The latest value (null for a deletion) of each requested field changed after `since`. */
  async changedFields(
    sql: Sql,
    userIds: readonly string[],
    fields: readonly string[],
    since: SyncPositions,
  ): Promise<Map<string, ProfileUpdates>> {
    return this.group(await profileFields.changedSince(sql, userIds, fields, since.profile));
  }

  private group(rows: readonly { userId: string; field: string; value: unknown; isSet: boolean }[]): Map<string, ProfileUpdates> {
    const byUser = new Map<string, ProfileUpdates>();
    for (const row of rows) {
      const updates = byUser.get(row.userId) ?? {};
      updates[row.field] = row.isSet ? row.value : null;
      byUser.set(row.userId, updates);
    }
    return byUser;
  }
}
