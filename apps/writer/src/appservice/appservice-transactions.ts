import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { memberObservedEntry, observedFieldEntries, parseAppserviceTransaction } from '@mx/companion';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { EVENT_LOG_PRODUCER, type EventLogProducer, type LogRecord } from '@mx/event-log';
import { encodeProfileTopicEvent, encodeRoomLogEntry } from '@mx/events';
import { MatrixErrors } from '@mx/matrix';

/**
 * Companion mode: turns an Application Service transaction into `room.member_observed` entries of
 * the membership topic (key: room ID, so a room's facts keep their order), and the names and
 * avatars joins and invites carry into `profile.field.observed` entries of the profile topic (key:
 * user ID, so /sync's profile positions cover them), and resolves once the broker acknowledged them all. It does not wait for the projection: the homeserver only needs
 * the facts to be durable, and retries the transaction until it is answered 200. A retry appends
 * the same events again; the projector applies an event ID once.
 */
@Injectable()
export class AppserviceTransactions {
  constructor(
    @Inject(EVENT_LOG_PRODUCER) private readonly producer: EventLogProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(AppserviceTransactions.name);
  }

  async receive(txnId: string, body: unknown): Promise<void> {
    let parsed;
    try {
      parsed = parseAppserviceTransaction(body);
    } catch (error) {
      throw MatrixErrors.badJson(error instanceof Error ? error.message : 'not a transaction');
    }
    for (const refused of parsed.malformed) {
      this.logger.warn({ txnId, eventId: refused.eventId, reason: refused.reason }, 'skipped a malformed member event of a transaction');
    }
    if (parsed.memberships.length === 0) return;
    const records: LogRecord[] = parsed.memberships.map((observed) => ({
      key: observed.roomId,
      value: encodeRoomLogEntry(memberObservedEntry(observed)),
    }));
    const fields: LogRecord[] = parsed.memberships.flatMap(observedFieldEntries).map((entry) => ({
      key: entry.user_id,
      value: encodeProfileTopicEvent(entry),
    }));
    try {
      await Promise.all([
        this.producer.append(this.config.topics.membership, records),
        ...(fields.length === 0 ? [] : [this.producer.append(this.config.topics.profile, fields)]),
      ]);
    } catch (error) {
      this.logger.error({ err: error, txnId, events: records.length }, 'event log did not acknowledge an appservice transaction');
      // The homeserver retries the transaction; what was appended already is applied once.
      throw MatrixErrors.unavailable('The event log did not acknowledge the transaction; retry');
    }
    this.logger.debug({ txnId, memberships: parsed.memberships.length, ignored: parsed.ignored }, 'appservice transaction appended');
  }
}
