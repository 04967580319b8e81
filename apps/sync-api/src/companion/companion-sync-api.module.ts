import { Module } from '@nestjs/common';
import { AuthModule, COMPANION_AUTH_PROVIDERS } from '@mx/auth';
import { AppConfigModule } from '@mx/config';
import { EventLogModule } from '@mx/event-log';
import { ObservabilityModule } from '@mx/http';
import { StorageModule } from '@mx/storage';
import { SYNC_API_DEFAULTS } from '../sync-api.defaults.js';
import { SYNC_PROVIDERS } from '../sync/sync-providers.js';
import { CompanionSyncController } from './companion-sync.controller.js';
import { CompanionSyncService } from './companion-sync.service.js';
import { CompanionVersionsController } from './companion-versions.controller.js';

/**
 * The sync API in companion mode (MX_MODE=companion): `/sync` and `/versions` in front of the
 * homeserver at MX_UPSTREAM_URL, whose tokens it accepts (asking its whoami). The users section
 * comes from the same projection and code as in standalone mode.
 */
@Module({
  imports: [
    AppConfigModule.forService(SYNC_API_DEFAULTS),
    // Ready without the projection's database: /sync then still serves the homeserver's answers
    // (chat never depends on the project's storage), so an outage there must not take the
    // replicas out of their Service.
    ObservabilityModule.forService({ service: 'sync-api', readinessProbes: [] }),
    StorageModule,
    EventLogModule,
    AuthModule,
  ],
  controllers: [CompanionVersionsController, CompanionSyncController],
  providers: [...SYNC_PROVIDERS, ...COMPANION_AUTH_PROVIDERS, CompanionSyncService],
})
export class CompanionSyncApiModule {}
