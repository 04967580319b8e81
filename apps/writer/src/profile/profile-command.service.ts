import { Inject, Injectable, Optional } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { encodeProfileEvent, type ProfileEvent } from '@mx/events';
import { AVATAR_URL, DISPLAYNAME, MatrixError, MatrixErrors } from '@mx/matrix';
import type { CachedProfile } from '@mx/profile';
import { HomeserverProfileWriter } from '../companion/homeserver-profile-writer.js';
import { ProfileRepairs } from '../companion/profile-repairs.js';
import { EventLogWriter } from '../event-log-writer.js';
import { MemberProfileSync } from '../rooms/member-profile-sync.js';
import { ProfileSizeCacheService } from './profile-size-cache.service.js';

/**
 * Turns accepted profile changes into events on the profile topic (keyed by user) and answers
 * once the projection includes them (read-your-writes). The size limit is checked here for a
 * prompt answer (from the replica's cached view of the profile in the steady state: no query) and
 * enforced by the projector, which decides races between replicas. A new
 * displayname or avatar is then copied into the user's member events.
 *
 * Companion mode (a HomeserverProfileWriter is provided): the homeserver gets the change first; its
 * refusal is the answer and nothing is appended. The homeserver sends the member events itself
 * (they come back through the Application Service API), so nothing is propagated here. The write
 * is marked for repair before it reaches the homeserver and cleared once the log took it: should
 * the log fail, ProfileRepairs appends the homeserver's value within seconds.
 */
@Injectable()
export class ProfileCommandService {
  constructor(
    private readonly writer: EventLogWriter,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly sizes: ProfileSizeCacheService,
    private readonly memberProfiles: MemberProfileSync,
    private readonly logger: PinoLogger,
    @Optional() private readonly homeserver?: HomeserverProfileWriter,
    @Optional() private readonly repairs?: ProfileRepairs,
  ) {
    this.logger.setContext(ProfileCommandService.name);
  }

  async setField(userId: string, field: string, value: unknown): Promise<void> {
    const maxBytes = this.config.profile.maxBytes;
    const tooLarge = (profile: CachedProfile) => profile.bytesWith(field, value) > maxBytes;
    if (tooLarge(await this.sizes.profileFor(userId, tooLarge))) {
      throw MatrixErrors.profileTooLarge(`The profile would exceed ${this.config.profile.maxBytes} bytes`);
    }
    const homeserver = this.homeserver;
    if (!homeserver) {
      await this.publish({ v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now() });
      return;
    }
    await this.throughHomeserver(userId, field, async () => {
      await homeserver.setField(userId, field, value);
      return { v: 1, id: randomUUID(), type: 'profile.field.set', user_id: userId, field, value, ts: Date.now() };
    });
  }

  async deleteField(userId: string, field: string): Promise<void> {
    const homeserver = this.homeserver;
    if (!homeserver) {
      if (!(await this.hasField(userId, field))) return;
      await this.publish({ v: 1, id: randomUUID(), type: 'profile.field.deleted', user_id: userId, field, ts: Date.now() });
      return;
    }
    await this.throughHomeserver(userId, field, async () => {
      // The homeserver may hold the field even when the projection does not.
      await homeserver.deleteField(userId, field);
      if (!(await this.hasField(userId, field))) return undefined;
      return { v: 1, id: randomUUID(), type: 'profile.field.deleted', user_id: userId, field, ts: Date.now() };
    });
  }

  /**
   * Companion mode: `write` changes the homeserver and says what to append (nothing: undefined),
   * with the (user, field) marked for repair from before the homeserver is touched until the log
   * took the change. A homeserver refusal clears the mark; a log failure brings the repair forward.
   */
  private async throughHomeserver(userId: string, field: string, write: () => Promise<ProfileEvent | undefined>): Promise<void> {
    const repairs = this.repairs;
    if (!repairs) throw new Error('companion mode without ProfileRepairs');
    const writeId = await repairs.beforeHomeserverWrite(userId, field);
    let event: ProfileEvent | undefined;
    try {
      event = await write();
    } catch (error) {
      // The homeserver refused (or never got) the change; should it have stored it after all, the mark repairs it.
      if (error instanceof MatrixError && error.status < 500) await repairs.settled(userId, field, writeId);
      throw error;
    }
    try {
      if (event) await this.publish(event);
    } catch (error) {
      if (!(error instanceof MatrixError && error.status < 500)) await repairs.failed(userId, field, writeId);
      throw error;
    }
    await repairs.settled(userId, field, writeId);
  }

  private async hasField(userId: string, field: string): Promise<boolean> {
    const lacks = (profile: CachedProfile) => !profile.has(field);
    return !lacks(await this.sizes.profileFor(userId, lacks));
  }

  private async publish(event: ProfileEvent): Promise<void> {
    // The writer's cached view of the profile follows its own writes (see ProfileSizeCacheService).
    const write = this.sizes.beginWrite(event.user_id);
    try {
      await this.writer.appendAndAwait(
        this.config.topics.profile,
        [{ id: event.id, key: event.user_id, value: encodeProfileEvent(event) }],
        (positions) => write.appended(positions),
      );
    } catch (error) {
      write.failed();
      if (this.homeserver) {
        this.logger.error(
          { userId: event.user_id, field: event.field, eventType: event.type, eventId: event.id, err: error },
          'Profile change stored at the homeserver but not acknowledged by the log; it is repaired from the homeserver shortly',
        );
      }
      throw error;
    }
    write.accepted(
      event.type === 'profile.field.set' ? { kind: 'set', field: event.field, value: event.value } : { kind: 'delete', field: event.field },
    );
    if (this.homeserver) return;
    if (event.field === DISPLAYNAME || event.field === AVATAR_URL) await this.memberProfiles.propagate(event.user_id);
  }
}
