import { Controller, HttpCode, Post, Req, UseGuards } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { type CompanionAuthenticatedRequest, CompanionTokenGuard } from '@mx/auth';
import { CompanionLogoutService } from './companion-logout.service.js';

/** `POST /logout` and `/logout/all` in companion mode: forwarded to the homeserver, then the token dropped everywhere. */
@ApiTags('session')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(CompanionTokenGuard)
export class CompanionLogoutController {
  constructor(private readonly logouts: CompanionLogoutService) {}

  @Post('logout')
  @HttpCode(200)
  @ApiOkResponse({ schema: { type: 'object' } })
  async logout(@Req() request: CompanionAuthenticatedRequest): Promise<Record<string, never>> {
    await this.logouts.logout(request.requester!, request.companionAccessToken!);
    return {};
  }

  @Post('logout/all')
  @HttpCode(200)
  @ApiOkResponse({ schema: { type: 'object' } })
  async logoutAll(@Req() request: CompanionAuthenticatedRequest): Promise<Record<string, never>> {
    await this.logouts.logoutAll(request.requester!, request.companionAccessToken!);
    return {};
  }
}
