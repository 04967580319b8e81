import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { encodeProfileEvent, type ProfileEvent } from '@mx/events';
import { AVATAR_URL, DISPLAYNAME, MatrixErrors } from '@mx/matrix';
import { ProfileSize } from '@mx/profile';
import { HomeserverProfileWriter } from '../companion/homeserver-profile-writer.js';
import { EventLogWriter } from '../event-log-writer.js';
import { MemberProfileSync } from '../rooms/member-profile-sync.js';
import { ProfileReader } from './profile-reader.js';

/**
 * Turns accepted profile changes into events on the profile topic (keyed by user) and answers
 * once the projection includes them (read-your-writes). The size limit is checked here for a
 * prompt answer and enforced by the projector, which decides races between replicas. A new
 * displayname or avatar is then copied into the user's member events.
 *
 * Companion mode (a HomeserverProfileWriter is provided): the homeserver gets the change first; its
 * refusal is the answer and nothing is appended. The homeserver sends the member events itself
 * (they come back through the Application Service API), so nothing is propagated here.
 */
@Injectable()
export class ProfileCommandService {
  constructor(
    private readonly writer: EventLogWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reader: ProfileReader,
    private readonly memberProfiles: MemberProfileSync,
    private readonly logger: PinoLogger,
    @Optional() private readonly homeserver?: HomeserverProfileWriter,
  ) {
    this.logger.setContext(ProfileCommandService.name);
  }

  async setField(userId: string, field: string, value: unknown): Promise<void> {
    const size = new ProfileSize(await this.reader.profile(userId));
    if (size.bytesWith(field, value) > this.config.profile.maxBytes) {
      throw MatrixErrors.profileTooLarge(`The profile would exceed ${this.config.profile.maxBytes} bytes`);
    }
    if (this.homeserver) await this.homeserver.setField(userId, field, value);
    await this.publish({ v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now() });
  }

  async deleteField(userId: string, field: string): Promise<void> {
    // Companion mode: the homeserver may hold the field even when the projection does not.
    if (this.homeserver) await this.homeserver.deleteField(userId, field);
    if (!(await this.reader.profile(userId)).has(field)) return;
    await this.publish({ v: 1, id: randomUUID(), type: 'profile.field.deleted', user_id: userId, field, ts: Date.now() });
  }

  private async publish(event: ProfileEvent): Promise<void> {
    try {
      await this.writer.appendAndAwait(this.config.topics.profile, [
        { id: event.id, key: event.user_id, value: encodeProfileEvent(event) },
      ]);
    } catch (error) {
      if (this.homeserver) {
        // The homeserver holds the change, the log may not: the projection differs until the field is
        // written again (issue 14's verify command, not built yet, is to repair this).
        this.logger.error(
          { userId: event.user_id, field: event.field, eventType: event.type, eventId: event.id, err: error },
          'Profile change stored at the homeserver but not acknowledged by the log; the projection may differ until the field is written again',
        );
      }
      throw error;
    }
    if (this.homeserver) return;
    if (event.field === DISPLAYNAME || event.field === AVATAR_URL) await this.memberProfiles.propagate(event.user_id);
  }
}
