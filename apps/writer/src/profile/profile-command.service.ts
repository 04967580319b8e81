import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { EVENT_LOG_PRODUCER, type EventLogProducer, type LogPosition } from '@mx/event-log';
import { encodeProfileEvent, type ProfileEvent } from '@mx/events';
import { MatrixErrors } from '@mx/matrix';
import { ProfileSize } from '@mx/profile';
import { ProjectionBarrier } from '../projection-barrier.js';
import { ProfileReader } from './profile-reader.js';

/**
 * Turns accepted profile changes into events on the profile topic (keyed by user) and answers
 * once the projection includes them (read-your-writes, bounded). The size limit is checked here
 * for a prompt answer and enforced by the projector, which decides races between replicas.
 */
@Injectable()
export class ProfileCommandService implements OnApplicationBootstrap {
  constructor(
    @Inject(EVENT_LOG_PRODUCER) private readonly producer: EventLogProducer,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reader: ProfileReader,
    private readonly barrier: ProjectionBarrier,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(ProfileCommandService.name);
  }

  /** Connects early so the first write does not pay for it; a broker that is down is retried on the next write. */
  onApplicationBootstrap(): void {
    this.producer.connect().catch((error: unknown) => this.logger.warn({ err: error }, 'event log not reachable yet'));
  }

  async setField(userId: string, field: string, value: unknown): Promise<void> {
    const size = new ProfileSize(await this.reader.profile(userId));
    if (size.bytesWith(field, value) > this.config.profile.maxBytes) throw this.tooLarge();
    const event: ProfileEvent = { v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now() };
    await this.publishAndAwait(event);
  }

  async deleteField(userId: string, field: string): Promise<void> {
    if (!(await this.reader.profile(userId)).has(field)) return;
    await this.publishAndAwait({ v: 1, id: randomUUID(), type: 'profile.field.deleted', user_id: userId, field, ts: Date.now() });
  }

  private async publishAndAwait(event: ProfileEvent): Promise<void> {
    const position = await this.publish(event);
    const applied = await this.barrier.waitUntilApplied(position, this.config.profile.readYourWritesTimeoutMs);
    if (!applied) {
      this.logger.warn({ position, eventId: event.id }, 'projection did not apply the write in time; answering before it is visible');
      return;
    }
    const rejection = await this.reader.rejectionReason(event.id);
    if (rejection === 'profile_too_large') throw this.tooLarge();
    if (rejection !== undefined) throw MatrixErrors.forbidden(`The change was rejected: ${rejection}`);
  }

  private tooLarge() {
    return MatrixErrors.profileTooLarge(`The profile would exceed ${this.config.profile.maxBytes} bytes`);
  }

  private async publish(event: ProfileEvent): Promise<LogPosition> {
    let positions: LogPosition[];
    try {
      positions = await this.producer.append(this.config.topics.profile, [{ key: event.user_id, value: encodeProfileEvent(event) }]);
    } catch (error) {
      this.logger.error({ err: error, eventId: event.id }, 'event log did not acknowledge a profile change');
      throw MatrixErrors.unavailable('The event log is unavailable; the change was not saved');
    }
    const position = positions[0];
    if (!position) throw MatrixErrors.unavailable('The event log did not acknowledge the change');
    return position;
  }
}
