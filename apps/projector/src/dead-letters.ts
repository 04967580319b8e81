import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { EntityManager } from 'typeorm';
import type { ConsumedRecord } from '@mx/event-log';
import { ProjectorMetrics } from './projector-metrics.js';

/** Why a record was set aside: it is not an event we can read, or the database refused to store it. */
export type DeadLetterCause = 'undecodable' | 'unstorable';

/** A record set aside, as reported once its transaction committed. */
export interface DeadLetter {
  readonly offset: number;
  readonly cause: DeadLetterCause;
  readonly reason: string;
  readonly eventId: string | undefined;
}

/** Reasons are kept short: they may quote parts of a hostile record. */
const MAX_REASON_LENGTH = 1000;

/**
 * Sets aside a record the projection cannot apply, inside the batch's transaction, so the
 * partition moves on: the raw bytes and the reason in `dead_letters`, and, when the record's event
 * id could be read, a rejection in `rejected_events` so that the writer waiting on it answers its
 * client 400 (not 200, not a 503 after a timeout). Counted and logged only once the transaction
 * committed (a batch retried one record at a time must not count its letters twice).
 */
@Injectable()
export class DeadLetters {
  constructor(
    private readonly metrics: ProjectorMetrics,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(DeadLetters.name);
  }

  async record(
    manager: EntityManager,
    topic: string,
    partition: number,
    record: ConsumedRecord,
    cause: DeadLetterCause,
    reason: string,
    eventId: string | undefined,
  ): Promise<DeadLetter> {
    const shortReason = reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}...` : reason;
    await manager.query(
      `INSERT INTO dead_letters (topic, log_partition, log_offset, reason, payload, recorded_ts) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT DO NOTHING`,
      [topic, partition, record.offset, shortReason, record.value, Date.now()],
    );
    if (eventId !== undefined) {
      await manager.query(
        `INSERT INTO rejected_events (event_id, topic, log_partition, log_offset, reason, rejected_ts) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (event_id) DO NOTHING`,
        // `<errcode> <reason>`: what the writer answers its client.
        [eventId, topic, partition, record.offset, 'M_BAD_JSON The change holds a value that cannot be stored', Date.now()],
      );
    }
    return { offset: record.offset, cause, reason: shortReason, eventId };
  }

  /** Counts and logs the letters of a committed batch. */
  committed(topic: string, partition: number, letters: readonly DeadLetter[]): void {
    for (const { offset, cause, reason, eventId } of letters) {
      if (cause === 'undecodable') this.metrics.undecodable.inc({ topic });
      this.metrics.deadLetters.inc({ topic, cause });
      this.logger.error({ topic, partition, offset, eventId, cause, reason }, 'record set aside in dead_letters');
    }
  }
}
