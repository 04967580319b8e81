import { Controller, Get, UseGuards } from '@nestjs/common';
import { AccessTokenGuard, AuthenticatedRequester, type Requester } from '@mx/auth';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';

/** `GET /account/whoami` (spec whoami.yaml). */
@ApiTags('account')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3/account')
@UseGuards(AccessTokenGuard)
export class WhoamiController {
  @Get('whoami')
  whoami(@AuthenticatedRequester() requester: Requester): { user_id: string; device_id: string; is_guest: false } {
    return { user_id: requester.userId, device_id: requester.deviceId, is_guest: false };
  }
}
