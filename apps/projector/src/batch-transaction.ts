import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { ConsumedRecord, RecordBatch } from '@mx/event-log';
import { UndecodableEventError } from '@mx/events';
import {
  announceProjectionChange,
  type AppliedProfileChange,
  Database,
  inSavepoint,
  projectionPositions,
  rejectedEvents,
  type Sql,
} from '@mx/storage';
import { type DeadLetter, DeadLetters } from './dead-letters.js';
import { describeFailure, isDeterministicFailure } from './deterministic-failure.js';
import { ProjectorMetrics } from './projector-metrics.js';
import { ResumePositions } from './resume-positions.js';

/** What a projection's batch touched (for the sync API's wake-ups), and what it refused. */
export interface BatchEffects {
  readonly users: readonly string[];
  readonly rooms: readonly string[];
  /** The records the projection refused, and why: the batch transaction records them in rejected_events. */
  readonly rejected: readonly rejectedEvents.RefusedEvent[];
  /** Profile topic: the latest change of each (user, field) applied, when known exactly (announced for the sync API's memory). */
  readonly profileChanges?: readonly AppliedProfileChange[];
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

type Apply<T> = (tx: Sql, entries: { offset: number; entry: T }[]) => Promise<BatchEffects>;

/**
 * How a batch is applied: all its records at once (the normal case), or, after the database
 * refused the batch, each record under its own savepoint so that only the records that cannot be
 * stored are set aside.
 */
type Mode = 'together' | 'one-by-one';

/**
 * The exactly-once skeleton every projection shares: one transaction per partition batch that
 * locks the partition's position, skips records already applied, sets aside in dead_letters the
 * records that cannot be applied, lets the projection apply the rest, records every refusal (the
 * projection's and the dead letters') in rejected_events with one statement, advances the
 * position and announces the commit (`NOTIFY`). A batch for a partition this consumer no longer
 * owns is abandoned untouched.
 *
 * A poison record must never stall its partition: when the database refuses a batch for its data
 * (see isDeterministicFailure), the batch is applied again one record at a time and the records it
 * still refuses go to dead_letters and are refused to their writers. Transient failures (a lost
 * connection) throw, and the event-log consumer retries the batch with backoff.
 */
@Injectable()
export class BatchTransaction {
  constructor(
    private readonly db: Database,
    private readonly positions: ResumePositions,
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
    return this.db.transaction(async (tx): Promise<Committed | undefined> => {
      const nextOffset = await projectionPositions.lockNext(tx, batch.topic, batch.partition);
      const fresh = batch.records.filter((record) => record.offset >= nextOffset);
      if (fresh.length === 0 || batch.isStale()) return undefined;
      const letters: DeadLetter[] = [];
      // Every refusal of the batch, in the order it was decided (of two refusals of one event id, the first is kept).
      const refused: rejectedEvents.RefusedEvent[] = [];
      const entries: { offset: number; entry: T; record: ConsumedRecord }[] = [];
      for (const record of fresh) {
        try {
          entries.push({ offset: record.offset, entry: decode(record.value), record });
        } catch (error) {
          if (!(error instanceof UndecodableEventError)) throw error;
          const letter = await this.deadLetters.record(
            tx,
            batch.topic,
            batch.partition,
            record,
            'undecodable',
            error.message,
            error.eventId,
          );
          letters.push(letter);
          refused.push(...this.deadLetters.refusalOf(letter));
        }
      }
      let effects: BatchEffects;
      if (mode === 'together') {
        effects = await apply(
          tx,
          entries.map(({ offset, entry }) => ({ offset, entry })),
        );
        refused.push(...effects.rejected);
      } else {
        effects = await this.applyOneByOne(tx, batch, entries, apply, letters, refused);
      }
      await rejectedEvents.record(tx, batch.topic, batch.partition, refused);
      const newPosition = fresh[fresh.length - 1]!.offset + 1;
      await projectionPositions.advance(tx, batch.topic, batch.partition, newPosition);
      await announceProjectionChange(tx, this.config.database.schema, {
        topic: batch.topic,
        partition: batch.partition,
        fromOffset: fresh[0]!.offset,
        nextOffset: newPosition,
        rejectedOffsets: [...effects.rejected.map((refusal) => refusal.offset), ...letters.map((letter) => letter.offset)].sort(
          (a, b) => a - b,
        ),
        users: effects.users,
        rooms: effects.rooms,
        ...(effects.profileChanges ? { profileChanges: effects.profileChanges } : {}),
      });
      return { position: newPosition, records: fresh.length, letters };
    });
  }

  /**
   * Each record under its own savepoint; the ones the database refuses are set aside (added to
   * `letters`). Refusals, the projection's and the letters', are added to `refused` in record order.
   */
  private async applyOneByOne<T extends Identified>(
    tx: Sql,
    batch: RecordBatch,
    entries: readonly { offset: number; entry: T; record: ConsumedRecord }[],
    apply: Apply<T>,
    letters: DeadLetter[],
    refused: rejectedEvents.RefusedEvent[],
  ): Promise<BatchEffects> {
    const users = new Set<string>();
    const rooms = new Set<string>();
    const rejected: rejectedEvents.RefusedEvent[] = [];
    // Known only while every applied record's changes are: each record's are its own latest, in offset order.
    let profileChanges: AppliedProfileChange[] | undefined = [];
    for (const { offset, entry, record } of entries) {
      let effects: BatchEffects;
      try {
        effects = await inSavepoint(tx, () => apply(tx, [{ offset, entry }]));
      } catch (error) {
        if (!isDeterministicFailure(error)) throw error;
        const reason = `the projection refused the record: ${describeFailure(error)}`;
        const letter = await this.deadLetters.record(tx, batch.topic, batch.partition, record, 'unstorable', reason, entry.id);
        letters.push(letter);
        refused.push(...this.deadLetters.refusalOf(letter));
        continue;
      }
      for (const user of effects.users) users.add(user);
      for (const room of effects.rooms) rooms.add(room);
      rejected.push(...effects.rejected);
      refused.push(...effects.rejected);
      profileChanges = effects.profileChanges && profileChanges ? [...profileChanges, ...effects.profileChanges] : undefined;
    }
    return {
      users: [...users],
      rooms: [...rooms],
      rejected,
      ...(profileChanges ? { profileChanges: latestPerField(profileChanges) } : {}),
    };
  }
}

/** The last change of each (user, field), in offset order (as one batch's fold reports them). */
function latestPerField(changes: readonly AppliedProfileChange[]): AppliedProfileChange[] {
  const latest = new Map<string, AppliedProfileChange>();
  for (const change of changes) {
    const key = JSON.stringify([change.userId, change.field]);
    latest.delete(key);
    latest.set(key, change);
  }
  return [...latest.values()];
}
