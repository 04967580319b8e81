import { Controller, Get, Header } from '@nestjs/common';
import { Registry } from 'prom-client';
import { ApiExcludeController } from '@nestjs/swagger';

/** Prometheus metrics of this process. */
@ApiExcludeController()
@Controller('metrics')
export class MetricsController {
  constructor(private readonly registry: Registry) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
