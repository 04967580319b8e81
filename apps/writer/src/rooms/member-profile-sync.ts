import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { encodeRoomLogEntry } from '@mx/events';
import { MatrixError } from '@mx/matrix';
import { MEMBER, newEventId, type RoomEvent } from '@mx/rooms';
import { EventLogWriter } from '../event-log-writer.js';
import { ProfileReader } from '../profile/profile-reader.js';
import { memberContent } from './member-content.js';
import { RoomStateReader } from './room-state-reader.js';

/**
 * After a displayname or avatar change, updates the user's `m.room.member` event in every room
 * they have joined (join → join with the new content), as the spec requires. Other profile fields
 * never touch membership.
 */
@Injectable()
export class MemberProfileSync {
  constructor(
    private readonly writer: EventLogWriter,
    private readonly rooms: RoomStateReader,
    private readonly profiles: ProfileReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(MemberProfileSync.name);
  }

  async propagate(userId: string): Promise<void> {
    const rooms = await this.rooms.joinedRooms(userId);
    if (rooms.length === 0) return;
    const content = memberContent('join', await this.profiles.profile(userId));
    const events: RoomEvent[] = rooms.map((roomId) => ({
      event_id: newEventId(),
      room_id: roomId,
      type: MEMBER,
      state_key: userId,
      sender: userId,
      origin_server_ts: Date.now(),
      content,
    }));
    try {
      await this.writer.appendAndAwait(
        this.config.topics.membership,
        events.map((event) => ({
          id: event.event_id,
          key: event.room_id,
          value: encodeRoomLogEntry({ v: 1, id: event.event_id, type: 'room.event', room_id: event.room_id, event }),
        })),
      );
    } catch (error) {
      // A room the user left meanwhile refuses the update; the profile change itself stands.
      if (!(error instanceof MatrixError) || error.status === 503) throw error;
      this.logger.info({ userId, reason: error.message }, 'a member event update was refused');
    }
  }
}
