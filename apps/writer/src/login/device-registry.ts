import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { accessTokens, devices, type Sql } from '@mx/storage';

/** Devices of users; a device's access tokens go with it. */
@Injectable()
export class DeviceRegistry {
  /**
   * Creates the device, or reuses an existing one of the same user after invalidating its access
   * tokens (spec login.yaml: logging in with a known device_id replaces that device's tokens).
   * Returns the device ID.
   */
  async upsert(sql: Sql, userId: string, deviceId: string | undefined, displayName: string | undefined): Promise<string> {
    const id = deviceId ?? randomBytes(5).toString('hex').toUpperCase();
    await devices.upsert(sql, { userId, deviceId: id, displayName, createdTs: Date.now() });
    await accessTokens.deleteOfDevice(sql, userId, id);
    return id;
  }

  /** Deletes a device and (by cascade) its access tokens. */
  async remove(sql: Sql, userId: string, deviceId: string): Promise<void> {
    await devices.remove(sql, userId, deviceId);
  }

  async removeAll(sql: Sql, userId: string): Promise<void> {
    await devices.removeAllOf(sql, userId);
  }
}
