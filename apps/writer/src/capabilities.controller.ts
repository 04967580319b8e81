import { Controller, Get, Inject, UseGuards } from '@nestjs/common';
import { AccessTokenGuard } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { AVATAR_URL, DISPLAYNAME } from '@mx/matrix';
import { ProfileFieldPolicy } from '@mx/profile';
import { ApiBearerAuth, ApiTags } from '@nestjs/swagger';

/** `GET /capabilities` (spec capabilities.yaml), profile capabilities from the field policy. */
@ApiTags('server')
@ApiBearerAuth('accessToken')
@Controller('_matrix/client/v3')
@UseGuards(AccessTokenGuard)
export class CapabilitiesController {
  private readonly policy: ProfileFieldPolicy;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    this.policy = new ProfileFieldPolicy(config.profile.allowedFields, config.profile.disallowedFields);
  }

  @Get('capabilities')
  capabilities(): { capabilities: Record<string, unknown> } {
    return {
      capabilities: {
        'm.change_password': { enabled: false },
        'm.3pid_changes': { enabled: false },
        'm.get_login_token': { enabled: false },
        'm.room_versions': { default: '11', available: { '10': 'stable', '11': 'stable' } },
        'm.set_displayname': { enabled: this.policy.mayChange(DISPLAYNAME) },
        'm.set_avatar_url': { enabled: this.policy.mayChange(AVATAR_URL) },
        'm.profile_fields': this.policy.capability(),
      },
    };
  }
}
