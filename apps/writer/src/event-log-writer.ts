import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { EVENT_LOG_PRODUCER, type EventLogProducer, EventLogRecordsTooLargeError, type LogPosition, type LogRecord } from '@mx/event-log';
import { MatrixError, MatrixErrors } from '@mx/matrix';
import { Database, rejectedEvents } from '@mx/storage';
import { ReadYourWritesBarrier } from './read-your-writes-barrier.js';

const STATUS_OF: Readonly<Record<string, number>> = { M_FORBIDDEN: 403, M_NOT_FOUND: 404 };

/**
 * Appends commands' events to the log and answers with their outcome: it waits (bounded) until
 * the projection has applied them, then turns a rejection the projector recorded into the
 * matching Matrix error. A client never sees success for a change the projector refused; when the
 * outcome is not known in time it gets a 503.
 */
@Injectable()
export class EventLogWriter implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_LOG_PRODUCER) private readonly producer: EventLogProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly barrier: ReadYourWritesBarrier,
    private readonly db: Database,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(EventLogWriter.name);
  }

  /** Connects early so the first write does not pay for it; a broker that is down is retried on the next write. */
  onApplicationBootstrap(): void {
    this.producer.connect().catch((error: unknown) => this.logger.warn({ err: error }, 'event log not reachable yet'));
  }

  /**
   * Appends the records (one id each) and resolves once all are applied; throws the first rejection.
   * `onAppended` learns the records' positions as soon as the broker acknowledged them.
   */
  async appendAndAwait(
    topic: string,
    records: readonly (LogRecord & { readonly id: string })[],
    onAppended?: (positions: readonly LogPosition[]) => void,
  ): Promise<void> {
    const positions = await this.append(topic, records);
    onAppended?.(positions);
    const last = new Map<number, LogPosition>();
    for (const position of positions) last.set(position.partition, position);
    const applied = await Promise.all(
      [...last.values()].map((position) => this.barrier.waitUntilApplied(position, this.config.profile.readYourWritesTimeoutMs)),
    );
    if (applied.some((done) => !done)) {
      this.logger.warn({ topic, ids: records.map((record) => record.id) }, 'projection did not apply a write in time');
      throw MatrixErrors.unavailable('The change was accepted, but its outcome is not known yet; retry or check its effect');
    }
    // The projector's announcements say which records it refused; look in the table only when they did not cover ours.
    if (positions.every((position) => this.barrier.knownAccepted(position))) return;
    const rejections = await rejectedEvents.rejectionsOf(
      this.db,
      records.map((record) => record.id),
    );
    const rejection = records.map((record) => rejections.get(record.id)).find((found) => found !== undefined);
    if (rejection) throw rejectionError(rejection);
  }

  /** Appends the records and resolves once the broker acknowledged them (not waiting for the projection). */
  appendAcknowledged(topic: string, records: readonly LogRecord[]): Promise<LogPosition[]> {
    return this.append(topic, records);
  }

  private async append(topic: string, records: readonly LogRecord[]): Promise<LogPosition[]> {
    try {
      return await this.producer.append(topic, records);
    } catch (error) {
      // Records the log cannot hold are refused for good: a client error, never a retryable 503.
      if (error instanceof EventLogRecordsTooLargeError) {
        this.logger.warn(
          { err: error, topic, bytes: error.bytes, limitBytes: error.limitBytes },
          'a write was too large for the event log',
        );
        throw MatrixErrors.tooLarge('The change is too large to be stored');
      }
      this.logger.error({ err: error, topic }, 'event log did not acknowledge a write');
      // The idempotent producer keeps retrying: a record the broker has not acknowledged yet may still be written.
      throw MatrixErrors.unavailable(
        'The event log did not acknowledge the change in time; it may still be applied: retry or check its effect',
      );
    }
  }
}

/** A refused command (recorded by the projector, or refused by the writer's own check) → the Matrix error for the client. */
export function rejectionError(rejection: rejectedEvents.Rejection): MatrixError {
  return new MatrixError(STATUS_OF[rejection.errcode] ?? 400, rejection.errcode, rejection.message);
}
