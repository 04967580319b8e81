import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { EntityManager } from 'typeorm';
import type { ConsumedRecord } from '@mx/event-log';
import { ProjectorMetrics } from './projector-metrics.js';

/** Records a record the projector cannot decode, inside the batch's transaction, and counts it. */
@Injectable()
export class DeadLetters {
  constructor(
    private readonly metrics: ProjectorMetrics,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(DeadLetters.name);
  }

  async record(manager: EntityManager, topic: string, partition: number, record: ConsumedRecord, reason: string): Promise<void> {
    await manager.query(
      `INSERT INTO dead_letters (topic, log_partition, log_offset, reason, payload, recorded_ts) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      [topic, partition, record.offset, reason, record.value, Date.now()],
    );
    this.metrics.undecodable.inc({ topic });
    this.logger.error({ topic, partition, offset: record.offset, reason }, 'undecodable record sent to dead_letters');
  }
}
