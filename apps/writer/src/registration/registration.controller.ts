import { Body, Controller, Get, HttpCode, Post, Query } from '@nestjs/common';
import { MatrixErrors } from '@mx/matrix';
import { RATE_LIMIT, RateLimited } from '../rate-limits/request-rate-limit.guard.js';
import { AccountRegistrar } from './account-registrar.js';
import { RegisterRequestDto } from './register-request.dto.js';
import { RegistrationGate } from './registration-gate.js';
import { ApiOkResponse, ApiQuery, ApiTags, ApiUnauthorizedResponse } from '@nestjs/swagger';

/** Registration (spec registration.yaml) with User-Interactive Auth. */
@ApiTags('session')
@Controller('_matrix/client/v3')
export class RegistrationController {
  constructor(
    private readonly registrar: AccountRegistrar,
    private readonly gate: RegistrationGate,
  ) {}

  /** Every request (each step of User-Interactive Auth) counts against the client's address; no account exists yet. */
  @Post('register')
  @ApiQuery({ name: 'kind', required: false, enum: ['user', 'guest'] })
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['user_id'],
      properties: { user_id: { type: 'string' }, access_token: { type: 'string' }, device_id: { type: 'string' } },
    },
  })
  @ApiUnauthorizedResponse({
    description: 'User-Interactive Authentication: the stages left to complete (with the error of a failed stage), or a Matrix error',
    schema: {
      anyOf: [
        {
          type: 'object',
          required: ['flows', 'session'],
          properties: { flows: { type: 'array' }, session: { type: 'string' }, params: { type: 'object' }, completed: { type: 'array' } },
        },
        { $ref: '#/components/schemas/MatrixError' },
      ],
    },
  })
  @HttpCode(200)
  @RateLimited(RATE_LIMIT.registrationPerAddress)
  async register(@Body() body: RegisterRequestDto, @Query('kind') kind: unknown): Promise<Record<string, unknown>> {
    if (kind !== undefined && kind !== 'user') {
      if (kind === 'guest') throw MatrixErrors.guestAccessForbidden();
      throw MatrixErrors.invalidParam('kind must be user or guest');
    }
    this.gate.assertEnabled();
    // The username is checked before authentication, so a client learns early that it cannot have it.
    if (body.username !== undefined) await this.registrar.assertAvailable(body.username);
    await this.gate.authenticate(body.auth);
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

  @Get('register/available')
  async available(@Query('username') username: unknown): Promise<{ available: true }> {
    this.gate.assertEnabled();
    if (typeof username !== 'string' || username === '') throw MatrixErrors.missingParam('Missing username');
    await this.registrar.assertAvailable(username);
    return { available: true };
  }
}

/** `GET /register/m.login.registration_token/validity` (a v1 endpoint in the spec; v3 also answers). */
@ApiTags('session')
@Controller('_matrix/client')
export class RegistrationTokenController {
  constructor(private readonly gate: RegistrationGate) {}

  @Get(['v1/register/m.login.registration_token/validity', 'v3/register/m.login.registration_token/validity'])
  validity(@Query('token') token: unknown): { valid: boolean } {
    this.gate.assertEnabled();
    if (typeof token !== 'string' || token === '') throw MatrixErrors.missingParam('Missing token');
    return { valid: this.gate.tokenIsValid(token) };
  }
}
