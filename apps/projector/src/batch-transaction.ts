import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { RecordBatch } from '@mx/event-log';
import { UndecodableEventError } from '@mx/events';
import { encodeProjectionChange, projectionChannel } from '@mx/storage';
import { DeadLetters } from './dead-letters.js';
import { PartitionPositions } from './partition-positions.js';
import { ProjectorMetrics } from './projector-metrics.js';

/** What a projection's batch touched, for the sync API's wake-ups. */
export interface BatchEffects {
  readonly users: readonly string[];
  readonly rooms: readonly string[];
  /** Offsets of the records the projection refused (recorded in rejected_events). */
  readonly rejectedOffsets: readonly number[];
}

/**
 * The exactly-once skeleton every projection shares: one transaction per partition batch that
 * locks the partition's position, skips records already applied, sends undecodable records to
 * dead_letters, lets the projection apply the rest, advances the position and announces the
 * commit (`NOTIFY`). A batch for a partition this consumer no longer owns is abandoned untouched.
 */
@Injectable()
export class BatchTransaction {
  constructor(
    private readonly dataSource: DataSource,
    private readonly positions: PartitionPositions,
    private readonly metrics: ProjectorMetrics,
    private readonly deadLetters: DeadLetters,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async run<T>(
    batch: RecordBatch,
    decode: (bytes: Buffer | null) => T,
    apply: (manager: EntityManager, entries: { offset: number; entry: T }[]) => Promise<BatchEffects>,
  ): Promise<void> {
    const committed = await this.dataSource.transaction(async (manager): Promise<number | undefined> => {
      const nextOffset = await this.positions.lock(manager, batch.topic, batch.partition);
      const fresh = batch.records.filter((record) => record.offset >= nextOffset);
      if (fresh.length === 0 || batch.isStale()) return undefined;
      const entries: { offset: number; entry: T }[] = [];
      for (const record of fresh) {
        try {
          entries.push({ offset: record.offset, entry: decode(record.value) });
        } catch (error) {
          if (!(error instanceof UndecodableEventError)) throw error;
          await this.deadLetters.record(manager, batch.topic, batch.partition, record, error.message);
        }
      }
      const effects = await apply(manager, entries);
      const newPosition = fresh[fresh.length - 1]!.offset + 1;
      await this.positions.advance(manager, batch.topic, batch.partition, newPosition);
      await manager.query('SELECT pg_notify($1, $2)', [
        projectionChannel(this.config.database.schema),
        encodeProjectionChange({
          topic: batch.topic,
          partition: batch.partition,
          fromOffset: fresh[0]!.offset,
          nextOffset: newPosition,
          rejectedOffsets: effects.rejectedOffsets,
          users: effects.users,
          rooms: effects.rooms,
        }),
      ]);
      this.metrics.applied.inc({ topic: batch.topic }, fresh.length);
      return newPosition;
    });
    if (committed === undefined) return;
    this.positions.remember(batch.topic, batch.partition, committed);
    this.metrics.batchSize.observe({ topic: batch.topic }, batch.records.length);
    this.metrics.latency.observe({ topic: batch.topic }, Math.max(0, Date.now() - (batch.records[0]?.timestamp ?? Date.now())) / 1000);
    this.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - committed));
  }
}
