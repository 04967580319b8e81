import { Module } from '@nestjs/common';
import { AuthModule } from '@mx/auth';
import { AppConfigModule } from '@mx/config';
import { EventLogModule } from '@mx/event-log';
import { DatabaseReadinessProbe, ObservabilityModule } from '@mx/http';
import { StorageModule } from '@mx/storage';
import { FilterController } from './filters/filter.controller.js';
import { SyncController } from './sync/sync.controller.js';
import { SYNC_PROVIDERS } from './sync/sync-providers.js';
import { SYNC_API_DEFAULTS } from './sync-api.defaults.js';
import { VersionsController } from './versions.controller.js';

/** The sync API: `/sync` (with MSC4429 profile updates) served from the projection. */
@Module({
  imports: [
    AppConfigModule.forService(SYNC_API_DEFAULTS),
    ObservabilityModule.forService({ service: 'sync-api', readinessProbes: [DatabaseReadinessProbe] }),
    StorageModule,
    EventLogModule,
    AuthModule,
  ],
  controllers: [VersionsController, SyncController, FilterController],
  providers: SYNC_PROVIDERS,
})
export class SyncApiModule {}
