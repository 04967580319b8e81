import { type DynamicModule, Module } from '@nestjs/common';
import { ConfigModule } from '@nestjs/config';
import { APP_CONFIG } from './app-config.js';
import { type ServiceDefaults, toAppConfig, validateEnvironment } from './load-app-config.js';

/** Validates the environment at start-up (a bad value stops the service) and provides APP_CONFIG globally. */
@Module({})
export class AppConfigModule {
  static forService(defaults: ServiceDefaults): DynamicModule {
    return {
      module: AppConfigModule,
      global: true,
      imports: [ConfigModule.forRoot({ ignoreEnvFile: true, cache: true, validate: validateEnvironment })],
      providers: [{ provide: APP_CONFIG, useFactory: () => toAppConfig(validateEnvironment(process.env), defaults) }],
      exports: [APP_CONFIG],
    };
  }
}
