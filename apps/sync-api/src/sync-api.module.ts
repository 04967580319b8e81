import { Module } from '@nestjs/common';
import { AuthModule } from '@mx/auth';
import { AppConfigModule } from '@mx/config';
import { EventLogModule } from '@mx/event-log';
import { DatabaseReadinessProbe, ObservabilityModule } from '@mx/http';
import { StorageModule } from '@mx/storage';
import { ProfileUpdatesReader } from './sync/profile-updates.reader.js';
import { LongPolls } from './sync/long-polls.js';
import { MemoryAnswers } from './sync/memory-answers.js';
import { CommitWakeups } from './sync/commit-wakeups.js';
import { RoomTimelineReader } from './sync/room-timeline-reader.js';
import { VisibilityReader } from './sync/visibility-reader.js';
import { FilterController } from './filters/filter.controller.js';
import { FilterStore } from './filters/filter-store.js';
import { SyncController } from './sync/sync.controller.js';
import { SyncService } from './sync/sync.service.js';
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
  providers: [
    CommitWakeups,
    MemoryAnswers,
    LongPolls,
    ProfileUpdatesReader,
    RoomTimelineReader,
    VisibilityReader,
    FilterStore,
    SyncService,
  ],
})
export class SyncApiModule {}
