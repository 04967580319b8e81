import { Injectable } from '@nestjs/common';
import { Counter, Registry } from 'prom-client';

/** The projector's counters, shared by its projections. */
@Injectable()
export class ProjectorMetrics {
  readonly applied: Counter;
  readonly rejected: Counter;
  readonly undecodable: Counter;

  constructor(registry: Registry) {
    this.applied = new Counter({
      name: 'mx_projector_events_applied_total',
      help: 'Events applied',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.rejected = new Counter({
      name: 'mx_projector_events_rejected_total',
      help: 'Events refused by validation',
      labelNames: ['topic', 'reason'],
      registers: [registry],
    });
    this.undecodable = new Counter({
      name: 'mx_projector_events_undecodable_total',
      help: 'Events that could not be decoded',
      labelNames: ['topic'],
      registers: [registry],
    });
  }
}
