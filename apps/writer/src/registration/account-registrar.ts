import { Inject, Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { AccessTokenService, hashPassword } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { formatUserId, isValidNewLocalpart, MatrixErrors, MAX_USER_ID_BYTES } from '@mx/matrix';
import { accounts, Database } from '@mx/storage';
import { DeviceRegistry } from '../login/device-registry.js';

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

/** Creates accounts, their first device and access token, in one transaction. */
@Injectable()
export class AccountRegistrar {
  constructor(
    private readonly db: Database,
    private readonly tokens: AccessTokenService,
    private readonly devices: DeviceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The user ID a username would get; throws M_INVALID_USERNAME when it cannot be registered. */
  userIdFor(localpart: string): string {
    if (!isValidNewLocalpart(localpart)) throw MatrixErrors.invalidUsername('User ID may only contain a-z, 0-9, and . _ = - / +');
    const userId = formatUserId(localpart, this.config.serverName);
    if (Buffer.byteLength(userId, 'utf8') > MAX_USER_ID_BYTES) throw MatrixErrors.invalidUsername('User ID is too long');
    return userId;
  }

  /** Throws M_INVALID_USERNAME or M_USER_IN_USE when the username cannot be registered now. */
  async assertAvailable(localpart: string): Promise<void> {
    if (await accounts.exists(this.db, this.userIdFor(localpart))) throw MatrixErrors.userInUse();
  }

  async register(account: NewAccount): Promise<RegisteredAccount> {
    const userId = this.userIdFor(account.localpart ?? `u${randomBytes(8).toString('hex')}`);
    const passwordHash = account.password === undefined ? null : await hashPassword(account.password);
    return this.db.transaction(async (tx) => {
      // Taken (by a concurrent registration, say): the transaction rolls back with the error.
      if (!(await accounts.create(tx, { userId, passwordHash, createdTs: Date.now() }))) throw MatrixErrors.userInUse();
      if (account.inhibitLogin) return { userId };
      const deviceId = await this.devices.upsert(tx, userId, account.deviceId, account.deviceDisplayName);
      const accessToken = await this.tokens.issue({ userId, deviceId }, tx);
      return { userId, deviceId, accessToken };
    });
  }
}
