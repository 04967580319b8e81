import { rows, type Sql } from '../sql.js';

/**
 * `access_tokens`: Access tokens, stored as SHA-256 hashes, and the device each belongs to (libs/auth resolves and issues them).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** Whose token this is (its SHA-256 hash): the user and device, or undefined when no such token exists (never issued, or deleted). */
export async function owner(sql: Sql, tokenHash: Buffer): Promise<{ userId: string; deviceId: string } | undefined> {
  const found = await rows<{ user_id: string; device_id: string }>(
    sql,
    'SELECT user_id, device_id FROM access_tokens WHERE token_hash = $1',
    [tokenHash],
  );
  const row = found[0];
  return row && { userId: row.user_id, deviceId: row.device_id };
}

/** Stores a newly issued token (its SHA-256 hash) for an existing device. */
export async function create(sql: Sql, token: { tokenHash: Buffer; userId: string; deviceId: string; createdTs: number }): Promise<void> {
  await sql.query('INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)', [
    token.tokenHash,
    token.userId,
    token.deviceId,
    token.createdTs,
  ]);
}

/** Deletes every token of a user's device (the deletion trigger announces them). */
export async function deleteOfDevice(sql: Sql, userId: string, deviceId: string): Promise<void> {
  await sql.query('DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
}

/**
 * Sends `payload` on the access-token channel (protocol: ../access-token-changes.ts) and counts,
 * in the same statement, the connections listening there (named with `listenerPrefix`, read from
 * `pg_stat_activity`): how many must acknowledge a barrier.
 */
export async function announceCountingListeners(sql: Sql, channel: string, payload: string, listenerPrefix: string): Promise<number> {
  const found = await rows<{ listeners: number }>(
    sql,
    `SELECT pg_notify($1, $2), (SELECT count(*)::int FROM pg_stat_activity
       WHERE datname = current_database() AND starts_with(application_name, $3)) AS listeners`,
    [channel, payload, listenerPrefix],
  );
  return found[0]?.listeners ?? 0;
}

/** Sends `payload` on the access-token channel (protocol: ../access-token-changes.ts), e.g. a barrier's acknowledgement. */
export async function announce(sql: Sql, channel: string, payload: string): Promise<void> {
  await sql.query('SELECT pg_notify($1, $2)', [channel, payload]);
}
