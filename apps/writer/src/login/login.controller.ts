import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { RATE_LIMIT, RateLimited } from '../rate-limits/request-rate-limit.guard.js';
import { LoginRequestDto } from './login-request.dto.js';
import { LoginService, PASSWORD_LOGIN } from './login.service.js';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';

/** Login and logout (spec login.yaml, logout.yaml). */
@ApiTags('session')
@Controller('_matrix/client/v3')
export class LoginController {
  constructor(private readonly logins: LoginService) {}

  @Get('login')
  flows(): { flows: { type: string }[] } {
    return { flows: [{ type: PASSWORD_LOGIN }] };
  }

  /** Every attempt, right or wrong, counts against the client's address and the account it names. */
  @Post('login')
  @ApiOkResponse({
    schema: {
      type: 'object',
      required: ['user_id', 'access_token', 'device_id'],
      properties: { user_id: { type: 'string' }, access_token: { type: 'string' }, device_id: { type: 'string' } },
    },
  })
  @HttpCode(200)
  @RateLimited(RATE_LIMIT.loginPerAddress, RATE_LIMIT.loginPerAccount)
  login(@Body() body: LoginRequestDto): ReturnType<LoginService['login']> {
    return this.logins.login(body);
  }

  @Post('logout')
  @ApiBearerAuth('accessToken')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logout(@AuthenticatedRequester() requester: Requester): Promise<Record<string, never>> {
    await this.logins.logout(requester);
    return {};
  }

  @Post('logout/all')
  @ApiBearerAuth('accessToken')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logoutAll(@AuthenticatedRequester() requester: Requester): Promise<Record<string, never>> {
    await this.logins.logoutAll(requester);
    return {};
  }
}
