import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { encodeRoomLogEntry, type RoomLogEntry } from '@mx/events';
import { isValidUserId, MatrixError, MatrixErrors } from '@mx/matrix';
import {
  authorizeRoomEvent,
  createRoomEvents,
  isValidAliasLocalpart,
  MEMBER,
  type Membership,
  membershipIn,
  newEventId,
  newRoomId,
  type RoomEvent,
  type RoomPreset,
  type RoomState,
} from '@mx/rooms';
import { Database, roomAliases } from '@mx/storage';
import { EventLogWriter, rejectionError } from '../event-log-writer.js';
import { ProfileReader } from '../profile/profile-reader.js';
import { memberContent } from './member-content.js';
import type { CreateRoomDto } from './room-dtos.js';
import { RoomStateReader } from './room-state-reader.js';

export const SUPPORTED_ROOM_VERSIONS = ['10', '11'];
export const DEFAULT_ROOM_VERSION = '11';

/**
 * Room commands: each becomes room state events on the membership topic (keyed by room, so one
 * room's events are totally ordered), pre-checked against the projection for a prompt error and
 * decided by the projector in log order; the answer waits for that decision.
 */
@Injectable()
export class RoomCommandService {
  constructor(
    private readonly writer: EventLogWriter,
    private readonly rooms: RoomStateReader,
    private readonly profiles: ProfileReader,
    private readonly db: Database,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async createRoom(creator: string, request: CreateRoomDto): Promise<{ room_id: string; room_alias?: string }> {
    const roomVersion = request.room_version ?? DEFAULT_ROOM_VERSION;
    if (!SUPPORTED_ROOM_VERSIONS.includes(roomVersion)) {
      throw new MatrixError(400, 'M_UNSUPPORTED_ROOM_VERSION', `Room version ${roomVersion} is not supported`);
    }
    // Every invite is an event of this one request; beyond the cap the request is refused whole.
    const maxInvites = this.config.rooms.maxInvitesPerCreate;
    if ((request.invite?.length ?? 0) > maxInvites) throw MatrixErrors.invalidParam(`Cannot invite more than ${maxInvites} users at once`);
    const invite = [...new Set(request.invite ?? [])];
    for (const user of invite) if (!isValidUserId(user)) throw MatrixErrors.invalidParam(`Invalid user ID to invite: ${user}`);
    if (invite.includes(creator)) throw MatrixErrors.invalidParam('Cannot invite yourself');
    const preset: RoomPreset = request.preset ?? (request.visibility === 'public' ? 'public_chat' : 'private_chat');
    const roomId = newRoomId(this.config.serverName);
    let alias: string | undefined;
    if (request.room_alias_name !== undefined) {
      if (!isValidAliasLocalpart(request.room_alias_name)) throw MatrixErrors.invalidParam('Invalid room_alias_name');
      alias = `#${request.room_alias_name}:${this.config.serverName}`;
      await this.claimAlias(alias, roomId);
    }
    const events = createRoomEvents({
      roomId,
      creator,
      creatorProfile: memberContent('join', await this.profiles.profile(creator)),
      roomVersion,
      preset,
      ...(request.name !== undefined ? { name: request.name } : {}),
      ...(alias !== undefined ? { alias } : {}),
      invite,
      isDirect: request.is_direct === true,
      now: Date.now(),
    });
    try {
      await this.publish(events);
    } catch (error) {
      if (alias !== undefined && error instanceof MatrixError && error.status !== 503) {
        await roomAliases.release(this.db, alias, roomId);
      }
      throw error;
    }
    return { room_id: roomId, ...(alias !== undefined ? { room_alias: alias } : {}) };
  }

  async join(userId: string, roomId: string, reason?: string): Promise<void> {
    await this.changeMembership(userId, roomId, userId, 'join', reason);
  }

  async leave(userId: string, roomId: string, reason?: string): Promise<void> {
    await this.changeMembership(userId, roomId, userId, 'leave', reason);
  }

  async invite(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    await this.changeMembership(sender, roomId, this.target(target), 'invite', reason);
  }

  async kick(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    const user = this.target(target);
    if (user === sender) throw MatrixErrors.forbidden('Use leave to leave a room');
    await this.changeMembership(sender, roomId, user, 'leave', reason);
  }

  async ban(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    await this.changeMembership(sender, roomId, this.target(target), 'ban', reason);
  }

  /** Only a member learns whether the target is banned: anyone else gets the 403 of every other non-member action. */
  async unban(sender: string, roomId: string, target: string, reason?: string): Promise<void> {
    const user = this.target(target);
    await this.changeMembership(sender, roomId, user, 'leave', reason, (state) =>
      membershipIn(state, sender) === 'join' && membershipIn(state, user) !== 'ban'
        ? MatrixErrors.forbidden('The user is not banned')
        : undefined,
    );
  }

  /**
   * Forgets a room the user has left. A room the user never had a membership in (or an unknown
   * room) is 404 M_NOT_FOUND, the same answer for both, so it does not tell whether the room exists.
   */
  async forget(userId: string, roomId: string): Promise<void> {
    const membership = await this.rooms.membership(roomId, userId);
    if (membership === 'join' || membership === 'invite')
      throw new MatrixError(400, 'M_UNKNOWN', 'You must leave the room before forgetting it');
    if (membership === undefined) throw MatrixErrors.notFound('You have no membership in this room to forget');
    const entry: RoomLogEntry = { v: 1, id: randomUUID(), type: 'room.forget', room_id: roomId, user_id: userId, ts: Date.now() };
    await this.writer.appendAndAwait(this.config.topics.membership, [{ id: entry.id, key: roomId, value: encodeRoomLogEntry(entry) }]);
  }

  /**
   * Builds the member event, checks it against the projection now, then lets the projector decide.
   * `precondition` adds a command's own check, made after the room is known to exist.
   */
  private async changeMembership(
    sender: string,
    roomId: string,
    target: string,
    membership: Membership,
    reason?: string,
    precondition?: (state: RoomState) => MatrixError | undefined,
  ): Promise<void> {
    const state = await this.rooms.state(roomId, [sender, target]);
    if (!state) throw MatrixErrors.notFound('Unknown room');
    const failed = precondition?.(state);
    if (failed) throw failed;
    const profile = membership === 'join' ? await this.profiles.profile(target) : new Map<string, unknown>();
    const event: RoomEvent = {
      event_id: newEventId(),
      room_id: roomId,
      type: MEMBER,
      state_key: target,
      sender,
      origin_server_ts: Date.now(),
      content: memberContent(membership, profile, reason),
    };
    const refusal = authorizeRoomEvent(state, event);
    if (refusal) throw rejectionError({ errcode: refusal.errcode, message: refusal.reason });
    await this.publish([event]);
  }

  private target(userId: string): string {
    if (!isValidUserId(userId)) throw MatrixErrors.invalidParam('Invalid user_id');
    return userId;
  }

  async publish(events: readonly RoomEvent[]): Promise<void> {
    await this.writer.appendAndAwait(
      this.config.topics.membership,
      events.map((event) => {
        const entry: RoomLogEntry = { v: 1, id: event.event_id, type: 'room.event', room_id: event.room_id, event };
        return { id: entry.id, key: event.room_id, value: encodeRoomLogEntry(entry) };
      }),
    );
  }

  private async claimAlias(alias: string, roomId: string): Promise<void> {
    if (!(await roomAliases.claim(this.db, alias, roomId, Date.now())))
      throw new MatrixError(400, 'M_ROOM_IN_USE', 'Room alias already taken');
  }
}
