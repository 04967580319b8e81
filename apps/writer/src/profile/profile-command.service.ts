import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { encodeProfileEvent, type ProfileEvent } from '@mx/events';
import { AVATAR_URL, DISPLAYNAME, MatrixErrors } from '@mx/matrix';
import { ProfileSize } from '@mx/profile';
import { EventLogWriter } from '../event-log-writer.js';
import { MemberProfileSync } from '../rooms/member-profile-sync.js';
import { ProfileReader } from './profile-reader.js';

/**
 * Turns accepted profile changes into events on the profile topic (keyed by user) and answers
 * once the projection includes them (read-your-writes). The size limit is checked here for a
 * prompt answer and enforced by the projector, which decides races between replicas. A new
 * displayname or avatar is then copied into the user's member events.
 */
@Injectable()
export class ProfileCommandService {
  constructor(
    private readonly writer: EventLogWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly reader: ProfileReader,
    private readonly memberProfiles: MemberProfileSync,
  ) {}

  async setField(userId: string, field: string, value: unknown): Promise<void> {
    const size = new ProfileSize(await this.reader.profile(userId));
    if (size.bytesWith(field, value) > this.config.profile.maxBytes) {
      throw MatrixErrors.profileTooLarge(`The profile would exceed ${this.config.profile.maxBytes} bytes`);
    }
    await this.publish({ v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now() });
  }

  async deleteField(userId: string, field: string): Promise<void> {
    if (!(await this.reader.profile(userId)).has(field)) return;
    await this.publish({ v: 1, id: randomUUID(), type: 'profile.field.deleted', user_id: userId, field, ts: Date.now() });
  }

  private async publish(event: ProfileEvent): Promise<void> {
    await this.writer.appendAndAwait(this.config.topics.profile, [{ id: event.id, key: event.user_id, value: encodeProfileEvent(event) }]);
    if (event.field === DISPLAYNAME || event.field === AVATAR_URL) await this.memberProfiles.propagate(event.user_id);
  }
}
