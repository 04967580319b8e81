import type { Sql } from '../sql.js';

/**
 * `devices`: A user's devices and their display names (login creates, logout removes).
 * Every statement on this table lives in this file (schema: ../migrations).
 */

/** Creates a user's device, or updates its display name when given (an existing device keeps its own otherwise). */
export async function upsert(
  sql: Sql,
  device: { userId: string; deviceId: string; displayName: string | undefined; createdTs: number },
): Promise<void> {
  await sql.query(
    `INSERT INTO devices (user_id, device_id, display_name, created_ts) VALUES ($1, $2, $3, $4)
     ON CONFLICT (user_id, device_id) DO UPDATE SET display_name = COALESCE(EXCLUDED.display_name, devices.display_name)`,
    [device.userId, device.deviceId, device.displayName ?? null, device.createdTs],
  );
}

/** Deletes a user's device; its access tokens go with it (foreign-key cascade). */
export async function remove(sql: Sql, userId: string, deviceId: string): Promise<void> {
  await sql.query('DELETE FROM devices WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
}

/** Deletes every device of a user, and so (by cascade) every access token. */
export async function removeAllOf(sql: Sql, userId: string): Promise<void> {
  await sql.query('DELETE FROM devices WHERE user_id = $1', [userId]);
}
