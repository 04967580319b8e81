import { Injectable } from '@nestjs/common';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { PartitionProgress } from './partition-progress.js';

/** The projector's counters, shared by its projections. */
@Injectable()
export class ProjectorMetrics {
  readonly applied: Counter;
  readonly rejected: Counter;
  readonly undecodable: Counter;
  readonly batchSize: Histogram;
  readonly latency: Histogram;
  readonly lag: Gauge;
  readonly deadLetters: Counter;
  readonly batchFailures: Counter;
  readonly progress = new PartitionProgress();

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
    this.batchSize = new Histogram({
      name: 'mx_projector_batch_records',
      help: 'Records per applied partition batch',
      labelNames: ['topic'],
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 5000],
      registers: [registry],
    });
    this.latency = new Histogram({
      name: 'mx_projector_latency_seconds',
      help: 'From a record being appended to its batch being committed',
      labelNames: ['topic'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    });
    this.lag = new Gauge({
      name: 'mx_projector_consumer_lag',
      help: 'Records in the partition not yet applied, as of the last batch',
      labelNames: ['topic', 'partition'],
      registers: [registry],
    });
    this.undecodable = new Counter({
      name: 'mx_projector_events_undecodable_total',
      help: 'Events that could not be decoded',
      labelNames: ['topic'],
      registers: [registry],
    });
    this.deadLetters = new Counter({
      name: 'mx_projector_dead_letters_total',
      help: 'Records set aside in dead_letters: undecodable (not an event, or a value the projection cannot store) or refused by the database',
      labelNames: ['topic', 'cause'],
      registers: [registry],
    });
    this.batchFailures = new Counter({
      name: 'mx_projector_batch_failures_total',
      help: 'Partition batches whose transaction failed: transient (retried) or data (records applied one by one, the bad ones set aside)',
      labelNames: ['topic', 'kind'],
      registers: [registry],
    });
    const progress = this.progress;
    new Gauge({
      name: 'mx_projector_partition_stalled_seconds',
      help: 'Seconds a partition has had records to apply without its position advancing (0 when caught up or advancing)',
      labelNames: ['topic', 'partition'],
      registers: [registry],
      collect() {
        this.reset();
        for (const { topic, partition, seconds } of progress.stalledSeconds()) this.set({ topic, partition: String(partition) }, seconds);
      },
    });
  }
}
