import { Module } from '@nestjs/common';
import { AppConfigModule } from '@mx/config';
import { EventLogModule } from '@mx/event-log';
import { DatabaseReadinessProbe, ObservabilityModule } from '@mx/http';
import { StorageModule } from '@mx/storage';
import { ConsumerReadinessProbe } from './consumer-readiness.probe.js';
import { ProfileProjectionController } from './profile/profile-projection.controller.js';
import { ProfileProjector } from './profile/profile-projector.js';
import { BatchTransaction } from './batch-transaction.js';
import { DeadLetters } from './dead-letters.js';
import { ProjectorMetrics } from './projector-metrics.js';
import { ResumePositions } from './resume-positions.js';
import { RoomProjectionController } from './rooms/room-projection.controller.js';
import { RoomProjector } from './rooms/room-projector.js';
import { PROJECTOR_DEFAULTS } from './projector.defaults.js';

/** The projector: consumes the topics and keeps the PostgreSQL projection. */
@Module({
  imports: [
    AppConfigModule.forService(PROJECTOR_DEFAULTS),
    ObservabilityModule.forService({ service: 'projector', readinessProbes: [DatabaseReadinessProbe, ConsumerReadinessProbe] }),
    StorageModule,
    EventLogModule,
  ],
  controllers: [ProfileProjectionController, RoomProjectionController],
  providers: [ResumePositions, ProjectorMetrics, DeadLetters, BatchTransaction, ProfileProjector, RoomProjector],
})
export class ProjectorModule {}
