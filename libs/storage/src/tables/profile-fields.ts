import { rows, type Sql } from '../sql.js';

/**
 * `profile_fields`: The latest value per (user, field) and the log position it came from.
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** The set fields of `userIds` (only those named in `fields`, when given) and their current values. */
export async function setValues(
  sql: Sql,
  userIds: readonly string[],
  fields?: readonly string[],
): Promise<{ userId: string; field: string; value: unknown }[]> {
  const found =
    fields === undefined
      ? await rows<{ user_id: string; field: string; value: unknown }>(
          sql,
          'SELECT user_id, field, value FROM profile_fields WHERE user_id = ANY($1) AND is_set',
          [userIds],
        )
      : await rows<{ user_id: string; field: string; value: unknown }>(
          sql,
          'SELECT user_id, field, value FROM profile_fields WHERE user_id = ANY($1) AND field = ANY($2) AND is_set',
          [userIds, fields],
        );
  return found.map((row) => ({ userId: row.user_id, field: row.field, value: row.value }));
}

/**
 * Of `userIds`' `fields`, those whose latest change lies in the window that starts, per partition
 * of the profile topic, at `fromOffsets[partition]`: the value, or `isSet` false when removed.
 */
export async function changedSince(
  sql: Sql,
  userIds: readonly string[],
  fields: readonly string[],
  fromOffsets: readonly number[],
): Promise<{ userId: string; field: string; value: unknown; isSet: boolean }[]> {
  const found = await rows<{ user_id: string; field: string; value: unknown; is_set: boolean }>(
    sql,
    `SELECT user_id, field, value, is_set FROM profile_fields
     WHERE user_id = ANY($1) AND field = ANY($2) AND log_offset >= ($3::bigint[])[log_partition + 1]`,
    [userIds, fields, fromOffsets],
  );
  return found.map((row) => ({ userId: row.user_id, field: row.field, value: row.value, isSet: row.is_set }));
}

/** The latest change of one (user, field) and the offset it came from (`value` is ignored when unset). */
export interface LatestFieldChange {
  readonly userId: string;
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
  readonly offset: number;
  readonly ts: number;
}

/** Stores each change as its (user, field)'s latest value, from `partition` (at most one change per (user, field)). */
export async function upsertLatest(sql: Sql, partition: number, changes: readonly LatestFieldChange[]): Promise<void> {
  await upsert(sql, partition, changes, 'always');
}

/** A user's whole profile: every set field and its value, ordered by field (the order GET /profile answers in). */
export async function profileOf(sql: Sql, userId: string): Promise<Map<string, unknown>> {
  const found = await rows<{ field: string; value: unknown }>(
    sql,
    'SELECT field, value FROM profile_fields WHERE user_id = $1 AND is_set ORDER BY field',
    [userId],
  );
  return new Map(found.map((row) => [row.field, row.value]));
}

/**
 * Companion mode: stores each change (a `displayname` / `avatar_url` a member event observed from
 * the homeserver carried, from `partition` of the profile topic) as its (user, field)'s latest
 * value, only when newer than the stored one (`updated_ts` is the member event's
 * `origin_server_ts`): a replayed or retried member event never takes effect again, and an old one
 * never overrides a newer name seen in another room. At most one change per (user, field).
 */
export async function upsertObserved(sql: Sql, partition: number, changes: readonly LatestFieldChange[]): Promise<void> {
  await upsert(sql, partition, changes, 'when newer');
}

/** The one upsert of both: `when newer` keeps a stored value whose `updated_ts` is not older. */
async function upsert(sql: Sql, partition: number, changes: readonly LatestFieldChange[], mode: 'always' | 'when newer'): Promise<void> {
  if (changes.length === 0) return;
  await sql.query(
    `INSERT INTO profile_fields (user_id, field, value, is_set, log_partition, log_offset, updated_ts)
     SELECT c.user_id, c.field, CASE WHEN c.is_set THEN c.value ELSE NULL END, c.is_set, $2, c.log_offset, c.updated_ts
     FROM jsonb_to_recordset($1::jsonb) AS c(user_id text, field text, value jsonb, is_set boolean, log_offset bigint, updated_ts bigint)
     ON CONFLICT (user_id, field) DO UPDATE SET
       value = EXCLUDED.value, is_set = EXCLUDED.is_set, log_partition = EXCLUDED.log_partition,
       log_offset = EXCLUDED.log_offset, updated_ts = EXCLUDED.updated_ts
     ${mode === 'when newer' ? 'WHERE profile_fields.updated_ts < EXCLUDED.updated_ts' : ''}`,
    [
      JSON.stringify(
        changes.map((change) => ({
          user_id: change.userId,
          field: change.field,
          value: change.value,
          is_set: change.isSet,
          log_offset: change.offset,
          updated_ts: change.ts,
        })),
      ),
      partition,
    ],
  );
}

/** One stored (user, field): its value (null when removed), whether set, and the `updated_ts` it is ordered by. */
export interface StoredField {
  readonly userId: string;
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
  readonly updatedTs: number;
}

/**
 * Companion mode (`ops companion-verify`): every stored (user, field) of `userIds`, removed ones
 * included, with the `updated_ts` the observed-value rule compares against.
 */
export async function storedFieldsOf(sql: Sql, userIds: readonly string[]): Promise<StoredField[]> {
  if (userIds.length === 0) return [];
  const found = await rows<{ user_id: string; field: string; value: unknown; is_set: boolean; updated_ts: string }>(
    sql,
    'SELECT user_id, field, value, is_set, updated_ts FROM profile_fields WHERE user_id = ANY($1)',
    [userIds],
  );
  return found.map((row) => ({
    userId: row.user_id,
    field: row.field,
    isSet: row.is_set,
    value: row.is_set ? row.value : null,
    updatedTs: Number(row.updated_ts),
  }));
}
