import { Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import type { ConsumedRecord } from '@mx/event-log';
import { deadLetters, type rejectedEvents, type Sql } from '@mx/storage';
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

/** What the writer waiting on a record set aside answers its client. */
const UNSTORABLE: rejectedEvents.Rejection = { errcode: 'M_BAD_JSON', message: 'The change holds a value that cannot be stored' };

/**
 * Sets aside a record the projection cannot apply, inside the batch's transaction, so the
 * partition moves on: the raw bytes and the reason in `dead_letters`. When the record's event id
 * could be read, the batch transaction also refuses it in `rejected_events` (see `refusalOf`) so
 * that the writer waiting on it answers its client 400 (not 200, not a 503 after a timeout).
 * Counted and logged only once the transaction committed (a batch retried one record at a time
 * must not count its letters twice).
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
    tx: Sql,
    topic: string,
    partition: number,
    record: ConsumedRecord,
    cause: DeadLetterCause,
    reason: string,
    eventId: string | undefined,
  ): Promise<DeadLetter> {
    const shortReason = reason.length > MAX_REASON_LENGTH ? `${reason.slice(0, MAX_REASON_LENGTH)}...` : reason;
    await deadLetters.record(tx, {
      topic,
      partition,
      offset: record.offset,
      reason: shortReason,
      payload: record.value,
      recordedTs: Date.now(),
    });
    return { offset: record.offset, cause, reason: shortReason, eventId };
  }

  /** The refusal a letter's writer gets, when its event id could be read. */
  refusalOf(letter: DeadLetter): rejectedEvents.RefusedEvent[] {
    return letter.eventId === undefined ? [] : [{ offset: letter.offset, eventId: letter.eventId, rejection: UNSTORABLE }];
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
