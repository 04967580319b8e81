import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { ConsumedRecord, RecordBatch } from '@mx/event-log';
import { UndecodableEventError } from '@mx/events';
import { encodeProjectionChange, projectionChannel } from '@mx/storage';
import { type DeadLetter, DeadLetters } from './dead-letters.js';
import { describeFailure, isDeterministicFailure } from './deterministic-failure.js';
import { PartitionPositions } from './partition-positions.js';
import { ProjectorMetrics } from './projector-metrics.js';

/** What a projection's batch touched, for the sync API's wake-ups. */
export interface BatchEffects {
  readonly users: readonly string[];
  readonly rooms: readonly string[];
  /** Offsets of the records the projection refused (recorded in rejected_events). */
  readonly rejectedOffsets: readonly number[];
}

/** Every event carries a unique id: the one its writer waits on. */
interface Identified {
  readonly id: string;
}

/** What one batch transaction committed. */
interface Committed {
  readonly position: number;
  readonly records: number;
  readonly letters: readonly DeadLetter[];
}

type Apply<T> = (manager: EntityManager, entries: { offset: number; entry: T }[]) => Promise<BatchEffects>;

/**
 * How a batch is applied: all its records at once (the normal case), or, after the database
 * refused the batch, each record under its own savepoint so that only the records that cannot be
 * stored are set aside.
 */
type Mode = 'together' | 'one-by-one';

/**
 * The exactly-once skeleton every projection shares: one transaction per partition batch that
 * locks the partition's position, skips records already applied, sets aside in dead_letters the
 * records that cannot be applied, lets the projection apply the rest, advances the position and
 * announces the commit (`NOTIFY`). A batch for a partition this consumer no longer owns is
 * abandoned untouched.
 *
 * A poison record must never stall its partition: when the database refuses a batch for its data
 * (see isDeterministicFailure), the batch is applied again one record at a time and the records it
 * still refuses go to dead_letters and are refused to their writers. Transient failures (a lost
 * connection) throw, and the event-log consumer retries the batch with backoff.
 */
@Injectable()
export class BatchTransaction {
  constructor(
    private readonly dataSource: DataSource,
    private readonly positions: PartitionPositions,
    private readonly metrics: ProjectorMetrics,
    private readonly deadLetters: DeadLetters,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(BatchTransaction.name);
  }

  async run<T extends Identified>(batch: RecordBatch, decode: (bytes: Buffer | null) => T, apply: Apply<T>): Promise<void> {
    this.metrics.progress.pending(batch.topic, batch.partition);
    let committed: Committed | undefined;
    try {
      committed = await this.attempt(batch, decode, apply, 'together');
    } catch (error) {
      const deterministic = isDeterministicFailure(error);
      this.metrics.batchFailures.inc({ topic: batch.topic, kind: deterministic ? 'data' : 'transient' });
      if (!deterministic) throw error;
      this.logger.warn(
        { err: error, topic: batch.topic, partition: batch.partition, fromOffset: batch.records[0]?.offset, records: batch.records.length },
        'the database refused a batch for its data; applying its records one by one to set the bad ones aside',
      );
      committed = await this.attempt(batch, decode, apply, 'one-by-one');
    }
    if (committed === undefined) return;
    const { position, records, letters } = committed;
    this.deadLetters.committed(batch.topic, batch.partition, letters);
    this.metrics.applied.inc({ topic: batch.topic }, records);
    this.positions.remember(batch.topic, batch.partition, position);
    this.metrics.progress.advanced(batch.topic, batch.partition, position, batch.highWatermark);
    this.metrics.batchSize.observe({ topic: batch.topic }, batch.records.length);
    this.metrics.latency.observe({ topic: batch.topic }, Math.max(0, Date.now() - (batch.records[0]?.timestamp ?? Date.now())) / 1000);
    this.metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Math.max(0, batch.highWatermark - position));
  }

  /** One transaction over the batch; resolves what it committed, or undefined when there was nothing to do. */
  private attempt<T extends Identified>(
    batch: RecordBatch,
    decode: (bytes: Buffer | null) => T,
    apply: Apply<T>,
    mode: Mode,
  ): Promise<Committed | undefined> {
    return this.dataSource.transaction(async (manager): Promise<Committed | undefined> => {
      const nextOffset = await this.positions.lock(manager, batch.topic, batch.partition);
      const fresh = batch.records.filter((record) => record.offset >= nextOffset);
      if (fresh.length === 0 || batch.isStale()) return undefined;
      const letters: DeadLetter[] = [];
      const entries: { offset: number; entry: T; record: ConsumedRecord }[] = [];
      for (const record of fresh) {
        try {
          entries.push({ offset: record.offset, entry: decode(record.value), record });
        } catch (error) {
          if (!(error instanceof UndecodableEventError)) throw error;
          letters.push(
            await this.deadLetters.record(manager, batch.topic, batch.partition, record, 'undecodable', error.message, error.eventId),
          );
        }
      }
      const effects =
        mode === 'together'
          ? await apply(
              manager,
              entries.map(({ offset, entry }) => ({ offset, entry })),
            )
          : await this.applyOneByOne(manager, batch, entries, apply, letters);
      const newPosition = fresh[fresh.length - 1]!.offset + 1;
      await this.positions.advance(manager, batch.topic, batch.partition, newPosition);
      await manager.query('SELECT pg_notify($1, $2)', [
        projectionChannel(this.config.database.schema),
        encodeProjectionChange({
          topic: batch.topic,
          partition: batch.partition,
          fromOffset: fresh[0]!.offset,
          nextOffset: newPosition,
          rejectedOffsets: [...effects.rejectedOffsets, ...letters.map((letter) => letter.offset)].sort((a, b) => a - b),
          users: effects.users,
          rooms: effects.rooms,
        }),
      ]);
      return { position: newPosition, records: fresh.length, letters };
    });
  }

  /** Each record under its own savepoint; the ones the database refuses are set aside (added to `letters`). */
  private async applyOneByOne<T extends Identified>(
    manager: EntityManager,
    batch: RecordBatch,
    entries: readonly { offset: number; entry: T; record: ConsumedRecord }[],
    apply: Apply<T>,
    letters: DeadLetter[],
  ): Promise<BatchEffects> {
    const users = new Set<string>();
    const rooms = new Set<string>();
    const rejectedOffsets: number[] = [];
    for (const { offset, entry, record } of entries) {
      await manager.query('SAVEPOINT mx_record');
      try {
        const effects = await apply(manager, [{ offset, entry }]);
        await manager.query('RELEASE SAVEPOINT mx_record');
        for (const user of effects.users) users.add(user);
        for (const room of effects.rooms) rooms.add(room);
        rejectedOffsets.push(...effects.rejectedOffsets);
      } catch (error) {
        if (!isDeterministicFailure(error)) throw error;
        await manager.query('ROLLBACK TO SAVEPOINT mx_record');
        const reason = `the projection refused the record: ${describeFailure(error)}`;
        letters.push(await this.deadLetters.record(manager, batch.topic, batch.partition, record, 'unstorable', reason, entry.id));
      }
    }
    return { users: [...users], rooms: [...rooms], rejectedOffsets };
  }
}
