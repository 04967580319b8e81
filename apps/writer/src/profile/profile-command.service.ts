import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { EVENT_LOG_PRODUCER, type EventLogProducer, type LogPosition } from '@mx/event-log';
import { encodeProfileEvent, type ProfileEvent } from '@mx/events';
import { MatrixErrors } from '@mx/matrix';

/** Turns accepted profile changes into events on the profile topic (keyed by user). */
@Injectable()
export class ProfileCommandService implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_LOG_PRODUCER) private readonly producer: EventLogProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {}

  /** Connects early so the first write does not pay for it; a broker that is down is retried on the next write. */
  onApplicationBootstrap(): void {
    this.producer.connect().catch((error: unknown) => this.logger.warn({ err: error }, 'event log not reachable yet'));
  }

  setField(userId: string, field: string, value: unknown): Promise<LogPosition> {
    return this.publish({ v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now() });
  }

  deleteField(userId: string, field: string): Promise<LogPosition> {
    return this.publish({ v: 1, id: randomUUID(), type: 'profile.field.deleted', user_id: userId, field, ts: Date.now() });
  }

  private async publish(event: ProfileEvent): Promise<LogPosition> {
    let positions: LogPosition[];
    try {
      positions = await this.producer.append(this.config.topics.profile, [{ key: event.user_id, value: encodeProfileEvent(event) }]);
    } catch (error) {
      throw Object.assign(MatrixErrors.unavailable('The event log is unavailable; the change was not saved'), { cause: error });
    }
    const position = positions[0];
    if (!position) throw MatrixErrors.unavailable('The event log did not acknowledge the change');
    return position;
  }
}
