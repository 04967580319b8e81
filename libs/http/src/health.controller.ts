import { Controller, Get, Inject } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService, HealthIndicatorService } from '@nestjs/terminus';
import { LifecycleState } from './lifecycle-state.js';
import { READINESS_PROBES, type ReadinessProbe } from './readiness-probe.js';
import { ApiExcludeController } from '@nestjs/swagger';

/**
 * `/health/live` (the process answers) and `/health/ready` (every dependency answers, not draining). Both name the
 * process that answers (`pid`), so whoever started it can tell it from another one holding the port (the tests'
 * ServiceProcess.waitReady does); probes need only the status code.
 */
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
  live(): { status: 'ok'; pid: number } {
    return { status: 'ok', pid: process.pid };
  }

  @Get('ready')
  @HealthCheck()
  async ready(): Promise<HealthCheckResult & { pid: number }> {
    const result = await this.health.check([
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
    return { ...result, pid: process.pid };
  }
}
