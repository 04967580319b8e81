import { Body, Controller, Get, HttpCode, Post, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { LoginRequestDto } from './login-request.dto.js';
import { LoginService, PASSWORD_LOGIN } from './login.service.js';

/** Login and logout (spec login.yaml, logout.yaml). */
@Controller('_matrix/client/v3')
export class LoginController {
  constructor(private readonly logins: LoginService) {}

  @Get('login')
  flows(): { flows: { type: string }[] } {
    return { flows: [{ type: PASSWORD_LOGIN }] };
  }

  @Post('login')
  @HttpCode(200)
  login(@Body() body: LoginRequestDto): ReturnType<LoginService['login']> {
    return this.logins.login(body);
  }

  @Post('logout')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logout(@AuthenticatedRequester() requester: Requester): Promise<Record<string, never>> {
    await this.logins.logout(requester);
    return {};
  }

  @Post('logout/all')
  @HttpCode(200)
  @UseGuards(AccessTokenGuard)
  async logoutAll(@AuthenticatedRequester() requester: Requester): Promise<Record<string, never>> {
    await this.logins.logoutAll(requester);
    return {};
  }
}
