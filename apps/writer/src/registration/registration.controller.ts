import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { MatrixError } from '@mx/matrix';
import { AccountRegistrar } from './account-registrar.js';
import { RegisterRequestDto } from './register-request.dto.js';

const DUMMY_STAGE = 'm.login.dummy';

/** `POST /register` with User-Interactive Auth through the `m.login.dummy` stage. */
@Controller('_matrix/client/v3')
export class RegistrationController {
  constructor(private readonly registrar: AccountRegistrar) {}

  @Post('register')
  @HttpCode(200)
  async register(@Body() body: RegisterRequestDto): Promise<Record<string, unknown>> {
    if (body.auth?.type !== DUMMY_STAGE) {
      throw new MatrixError(401, 'M_FORBIDDEN', 'Authentication required', {
        flows: [{ stages: [DUMMY_STAGE] }],
        params: {},
        session: randomBytes(12).toString('base64url'),
        ...(body.auth ? { completed: [] } : {}),
      });
    }
    const account = await this.registrar.register({
      localpart: body.username,
      password: body.password,
      deviceId: body.device_id,
      deviceDisplayName: body.initial_device_display_name,
      inhibitLogin: body.inhibit_login === true,
    });
    return {
      user_id: account.userId,
      ...(account.accessToken ? { access_token: account.accessToken, device_id: account.deviceId } : {}),
    };
  }
}
