import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleState } from './lifecycle-state.js';
import { READINESS_PROBES, type ReadinessProbe } from './readiness-probe.js';
import { ApiExcludeController } from '@nestjs/swagger';

/** `/health/live` (the process answers) and `/health/ready` (every dependency answers, not draining). */
@ApiExcludeController()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly lifecycle: LifecycleState,
    @Inject(READINESS_PROBES) private readonly probes: ReadinessProbe[],
  ) {}

  @Get('live')
  live(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('ready')
  @HealthCheck()
  ready() {
    return this.health.check([
      () => {
        const session = this.indicators.check('lifecycle');
        return this.lifecycle.draining ? session.down('draining') : session.up();
      },
      ...this.probes.map(
        (probe) => () =>
          this.indicators
            .check(probe.name)
            .attempt(() => probe.check())
            .withTimeout(2000),
      ),
    ]);
  }
}
