import type { Provider } from '@nestjs/common';
import { COMPANION_AUTH_PROVIDERS } from '@mx/auth';
import { CompanionLogoutService } from './companion-logout.service.js';
import { HomeserverProfileReader } from './homeserver-profile-reader.js';
import { HomeserverProfileWriter } from './homeserver-profile-writer.js';
import { ProfileRepairs } from './profile-repairs.js';

/**
 * The writer's providers in companion mode (MX_MODE=companion): profile writes authenticated by
 * the homeserver's whoami (CompanionTokenGuard, picked up by ProfileWriteAuthGuard) and written to
 * the homeserver before the log (HomeserverProfileWriter, picked up by ProfileCommandService), and
 * profile reads answered by the homeserver (HomeserverProfileReader), logouts forwarded to the
 * homeserver (CompanionLogoutService); writes the log did not take are
 * repaired from the homeserver (ProfileRepairs).
 */
export const COMPANION_PROFILE_PROVIDERS: Provider[] = [
  ...COMPANION_AUTH_PROVIDERS,
  HomeserverProfileWriter,
  HomeserverProfileReader,
  CompanionLogoutService,
  ProfileRepairs,
];
