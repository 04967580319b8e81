import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';
import { AccessTokenService, hashPassword } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { formatUserId, isValidNewLocalpart, MatrixErrors, MAX_USER_ID_BYTES } from '@mx/matrix';

export interface NewAccount {
  readonly localpart?: string | undefined;
  readonly password?: string | undefined;
  readonly deviceId?: string | undefined;
  readonly deviceDisplayName?: string | undefined;
  readonly inhibitLogin: boolean;
}

export interface RegisteredAccount {
  readonly userId: string;
  readonly deviceId?: string;
  readonly accessToken?: string;
}

const PG_UNIQUE_VIOLATION = '23505';

/** Creates accounts, their first device and access token, in one transaction. */
@Injectable()
export class AccountRegistrar {
  constructor(
    private readonly dataSource: DataSource,
    private readonly tokens: AccessTokenService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async register(account: NewAccount): Promise<RegisteredAccount> {
    const localpart = account.localpart?.toLowerCase() ?? `u${randomBytes(8).toString('hex')}`;
    if (!isValidNewLocalpart(localpart)) {
      throw MatrixErrors.invalidUsername('User ID may only contain a-z, 0-9, and . _ = - / +');
    }
    const userId = formatUserId(localpart, this.config.serverName);
    if (Buffer.byteLength(userId, 'utf8') > MAX_USER_ID_BYTES) throw MatrixErrors.invalidUsername('User ID is too long');
    const passwordHash = account.password === undefined ? null : await hashPassword(account.password);
    const deviceId = account.deviceId ?? randomBytes(5).toString('hex').toUpperCase();
    const now = Date.now();
    try {
      return await this.dataSource.transaction(async (manager) => {
        await manager.query('INSERT INTO accounts (user_id, password_hash, created_ts) VALUES ($1, $2, $3)', [userId, passwordHash, now]);
        if (account.inhibitLogin) return { userId };
        await manager.query('INSERT INTO devices (user_id, device_id, display_name, created_ts) VALUES ($1, $2, $3, $4)', [
          userId,
          deviceId,
          account.deviceDisplayName ?? null,
          now,
        ]);
        const accessToken = await this.tokens.issue({ userId, deviceId }, manager.query.bind(manager));
        return { userId, deviceId, accessToken };
      });
    } catch (error) {
      if ((error as { code?: string }).code === PG_UNIQUE_VIOLATION) throw MatrixErrors.userInUse();
      throw error;
    }
  }
}
