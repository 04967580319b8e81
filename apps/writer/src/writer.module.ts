import { Module } from '@nestjs/common';
import { ThrottlerModule } from '@nestjs/throttler';
import { AuthModule } from '@mx/auth';
import { APP_CONFIG, AppConfigModule, type AppConfig } from '@mx/config';
import { EventLogModule } from '@mx/event-log';
import { DatabaseReadinessProbe, ObservabilityModule } from '@mx/http';
import { StorageModule } from '@mx/storage';
import { AppserviceModule, companionMode } from './appservice/appservice.module.js';
import { PushRulesController } from './account/push-rules.controller.js';
import { WhoamiController } from './account/whoami.controller.js';
import { CompanionLogoutController } from './companion/companion-logout.controller.js';
import { COMPANION_PROFILE_PROVIDERS } from './companion/companion-profile.providers.js';
import { CapabilitiesController } from './capabilities.controller.js';
import { KafkaReadinessProbe } from './kafka-readiness.probe.js';
import { DeviceRegistry } from './login/device-registry.js';
import { LoginController } from './login/login.controller.js';
import { LoginService } from './login/login.service.js';
import { ProfileCommandService } from './profile/profile-command.service.js';
import { ProfileReader } from './profile/profile-reader.js';
import { ProfileSizeCacheService } from './profile/profile-size-cache.service.js';
import { ProfileController } from './profile/profile.controller.js';
import { ProfileWriteAuthGuard } from './profile/profile-write-auth.guard.js';
import { EventLogWriter } from './event-log-writer.js';
import { ReadYourWritesBarrier } from './read-your-writes-barrier.js';
import { MemberProfileSync } from './rooms/member-profile-sync.js';
import { RoomCommandService } from './rooms/room-commands.service.js';
import { RoomStateReader } from './rooms/room-state-reader.js';
import { RoomReadsController } from './rooms/room-reads.controller.js';
import { RoomsController } from './rooms/rooms.controller.js';
import { requestThrottlers } from './rate-limits/request-throttlers.js';
import { AccountRegistrar } from './registration/account-registrar.js';
import { RegistrationGate } from './registration/registration-gate.js';
import { RegistrationController, RegistrationTokenController } from './registration/registration.controller.js';
import { UiaSessionStore } from './registration/uia-session.store.js';
import { WRITER_DEFAULTS } from './writer.defaults.js';

/** The writer: accounts, and every state change turned into events on Kafka. */
@Module({
  imports: [
    AppConfigModule.forService(WRITER_DEFAULTS),
    ObservabilityModule.forService({ service: 'writer', readinessProbes: [DatabaseReadinessProbe, KafkaReadinessProbe] }),
    StorageModule,
    EventLogModule,
    AuthModule,
    ThrottlerModule.forRootAsync({
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => ({
        throttlers: [
          { name: 'profile-writes', ttl: config.profile.writeRateWindowMs, limit: config.profile.writeRateLimit },
          // Login, registration and room creation, per client address and per account (see request-throttlers.ts).
          ...requestThrottlers(config),
        ],
        setHeaders: false,
      }),
    }),
    // Companion mode: the Application Service API the homeserver sends its member events to.
    ...(companionMode() ? [AppserviceModule] : []),
  ],
  controllers: [
    RegistrationController,
    RegistrationTokenController,
    // Companion mode: logout is the homeserver's, forwarded (login goes to the homeserver itself).
    ...(companionMode() ? [CompanionLogoutController] : [LoginController]),
    WhoamiController,
    PushRulesController,
    ProfileController,
    CapabilitiesController,
    RoomsController,
    RoomReadsController,
  ],
  providers: [
    AccountRegistrar,
    RegistrationGate,
    UiaSessionStore,
    DeviceRegistry,
    LoginService,
    ProfileReader,
    ProfileSizeCacheService,
    ProfileCommandService,
    ReadYourWritesBarrier,
    EventLogWriter,
    RoomStateReader,
    RoomCommandService,
    MemberProfileSync,
    ProfileWriteAuthGuard,
    // Companion mode: profile writes checked with the homeserver's whoami and written to it first.
    ...(companionMode() ? COMPANION_PROFILE_PROVIDERS : []),
  ],
})
export class WriterModule {}
