import { Inject, Injectable } from '@nestjs/common';
import { AccessTokenService, type Requester, verifyPassword } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixError, MatrixErrors, parseUserId } from '@mx/matrix';
import { accounts, Database } from '@mx/storage';
import { DeviceRegistry } from './device-registry.js';
import type { LoginRequestDto } from './login-request.dto.js';
import { qualifyLoginUser } from './login-user-id.js';

export const PASSWORD_LOGIN = 'm.login.password';

/** Password login, logout and logout-everywhere. */
@Injectable()
export class LoginService {
  constructor(
    private readonly db: Database,
    private readonly tokens: AccessTokenService,
    private readonly devices: DeviceRegistry,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async login(request: LoginRequestDto): Promise<{ user_id: string; access_token: string; device_id: string; home_server: string }> {
    if (request.type !== PASSWORD_LOGIN) throw new MatrixError(400, 'M_UNKNOWN', `Unknown login type ${request.type}`);
    if (request.password === undefined) throw MatrixErrors.badJson('Missing password');
    const userId = this.userIdOf(request);
    const hash = await accounts.passwordHashOf(this.db, userId);
    if (!hash || !(await verifyPassword(request.password, hash))) throw MatrixErrors.forbidden('Invalid username or password');
    const { deviceId, accessToken } = await this.db.transaction(async (tx) => {
      const device = await this.devices.upsert(tx, userId, request.device_id, request.initial_device_display_name);
      return { deviceId: device, accessToken: await this.tokens.issue({ userId, deviceId: device }, tx) };
    });
    // A known device_id: its earlier tokens are gone (other processes hear of it from the database).
    if (request.device_id !== undefined) {
      this.tokens.forgetDevices(userId, deviceId);
      await this.tokens.awaitDeletionsHeard();
    }
    return { user_id: userId, access_token: accessToken, device_id: deviceId, home_server: this.config.serverName };
  }

  async logout(requester: Requester): Promise<void> {
    await this.devices.remove(this.db, requester.userId, requester.deviceId);
    this.tokens.forgetDevices(requester.userId, requester.deviceId);
    await this.tokens.awaitDeletionsHeard();
  }

  async logoutAll(requester: Requester): Promise<void> {
    await this.devices.removeAll(this.db, requester.userId);
    this.tokens.forgetDevices(requester.userId);
    await this.tokens.awaitDeletionsHeard();
  }

  private userIdOf(request: LoginRequestDto): string {
    let user: string | undefined;
    if (request.identifier) {
      if (request.identifier.type !== 'm.id.user')
        throw new MatrixError(400, 'M_UNKNOWN', `Unknown identifier type ${request.identifier.type}`);
      user = request.identifier.user;
    } else {
      user = request.user;
    }
    if (user === undefined || user === '') throw MatrixErrors.badJson('Missing user identifier');
    // The same user ID the per-account rate limit counted the attempt against.
    const userId = qualifyLoginUser(user, this.config.serverName);
    if (!parseUserId(userId)) throw MatrixErrors.forbidden('Invalid username or password');
    return userId;
  }
}
