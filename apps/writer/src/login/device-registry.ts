import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import type { DataSource } from 'typeorm';

/** Devices of users; a device's access tokens go with it. */
@Injectable()
export class DeviceRegistry {
  /**
   * Creates the device, or reuses an existing one of the same user after invalidating its access
   * tokens (spec login.yaml: logging in with a known device_id replaces that device's tokens).
   * Returns the device ID.
   */
  async upsert(query: DataSource['query'], userId: string, deviceId: string | undefined, displayName: string | undefined): Promise<string> {
    const id = deviceId ?? randomBytes(5).toString('hex').toUpperCase();
    await query(
      `INSERT INTO devices (user_id, device_id, display_name, created_ts) VALUES ($1, $2, $3, $4)
       ON CONFLICT (user_id, device_id) DO UPDATE SET display_name = COALESCE(EXCLUDED.display_name, devices.display_name)`,
      [userId, id, displayName ?? null, Date.now()],
    );
    await query('DELETE FROM access_tokens WHERE user_id = $1 AND device_id = $2', [userId, id]);
    return id;
  }

  /** Deletes a device and (by cascade) its access tokens. */
  async remove(query: DataSource['query'], userId: string, deviceId: string): Promise<void> {
    await query('DELETE FROM devices WHERE user_id = $1 AND device_id = $2', [userId, deviceId]);
  }

  async removeAll(query: DataSource['query'], userId: string): Promise<void> {
    await query('DELETE FROM devices WHERE user_id = $1', [userId]);
  }
}
