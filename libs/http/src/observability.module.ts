import { type DynamicModule, Global, Module, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { LoggerModule } from 'nestjs-pino';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { HealthController } from './health.controller.js';
import { LifecycleState } from './lifecycle-state.js';
import { loggerOptions } from './logger-options.js';
import { MetricsController } from './metrics.controller.js';
import { READINESS_PROBES, type ReadinessProbe } from './readiness-probe.js';

export interface ObservabilityOptions {
  readonly service: string;
  /** Classes implementing ReadinessProbe; each is instantiated with DI. */
  readonly readinessProbes: readonly Type<ReadinessProbe>[];
}

/** Logging (pino), health endpoints (terminus) and metrics (prom-client) for one service. */
@Global()
@Module({})
export class ObservabilityModule {
  static forService(options: ObservabilityOptions): DynamicModule {
    return {
      module: ObservabilityModule,
      imports: [
        LoggerModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig) => loggerOptions(config.logLevel, options.service),
        }),
        TerminusModule.forRoot({ logger: false }),
      ],
      controllers: [HealthController, MetricsController],
      providers: [
        LifecycleState,
        ...options.readinessProbes,
        {
          provide: READINESS_PROBES,
          inject: [...options.readinessProbes],
          useFactory: (...probes: ReadinessProbe[]) => probes,
        },
        {
          provide: Registry,
          useFactory: () => {
            const registry = new Registry();
            registry.setDefaultLabels({ service: options.service });
            collectDefaultMetrics({ register: registry });
            return registry;
          },
        },
      ],
      exports: [Registry, LifecycleState, LoggerModule],
    };
  }
}
