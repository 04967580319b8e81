import { type CanActivate, type ExecutionContext, Injectable, Optional } from '@nestjs/common';
import { AccessTokenGuard, CompanionTokenGuard } from '@mx/auth';

/**
 * Who may write a profile: standalone mode checks the project's own access tokens
 * (AccessTokenGuard, unchanged); companion mode, where CompanionTokenGuard is provided (see
 * companion-profile.providers.ts), asks the homeserver's whoami.
 */
@Injectable()
export class ProfileWriteAuthGuard implements CanActivate {
  constructor(
    private readonly local: AccessTokenGuard,
    @Optional() private readonly companion?: CompanionTokenGuard,
  ) {}

  canActivate(context: ExecutionContext): Promise<boolean> {
    return this.companion ? this.companion.canActivate(context) : this.local.canActivate(context);
  }
}
