import { Module } from '@nestjs/common';
import { AuthModule } from '@mx/auth';
import { AppConfigModule } from '@mx/config';
import { EventLogModule } from '@mx/event-log';
import { DatabaseReadinessProbe, ObservabilityModule } from '@mx/http';
import { StorageModule } from '@mx/storage';
import { KafkaReadinessProbe } from './kafka-readiness.probe.js';
import { ProfileCommandService } from './profile/profile-command.service.js';
import { ProfileController } from './profile/profile.controller.js';
import { AccountRegistrar } from './registration/account-registrar.js';
import { RegistrationController } from './registration/registration.controller.js';
import { WRITER_DEFAULTS } from './writer.defaults.js';

/** The writer: accounts, and every state change turned into events on Kafka. */
@Module({
  imports: [
    AppConfigModule.forService(WRITER_DEFAULTS),
    ObservabilityModule.forService({ service: 'writer', readinessProbes: [DatabaseReadinessProbe, KafkaReadinessProbe] }),
    StorageModule,
    EventLogModule,
    AuthModule,
  ],
  controllers: [RegistrationController, ProfileController],
  providers: [AccountRegistrar, ProfileCommandService],
})
export class WriterModule {}
