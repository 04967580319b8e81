import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixErrors } from '@mx/matrix';
import {
  buildTimeline,
  encodeSyncToken,
  fitsLayout,
  isBehind,
  type JoinedRoomSection,
  type LeftRoomSection,
  parseSyncFilter,
  strippedState,
  type SyncEvent,
  type SyncFilter,
  type SyncPositions,
} from '@mx/sync';
import { ProfileUpdatesReader, type ProfileUpdates } from './profile-updates.reader.js';
import { ProjectionWatcher } from './projection-watcher.js';
import { RoomsReader, type WindowEvent } from './rooms-reader.js';
import type { SyncRequest } from './sync-request.js';

export const USERS_SECTION = 'org.matrix.msc4429.users';

export interface SyncResponse {
  next_batch: string;
  rooms: {
    join: Record<string, JoinedRoomSection>;
    invite: Record<string, { invite_state: { events: unknown[] } }>;
    leave: Record<string, LeftRoomSection>;
    knock: Record<string, never>;
  };
  [USERS_SECTION]?: Record<string, { profile_updates: ProfileUpdates | null }>;
}

interface SyncResult {
  readonly positions: SyncPositions;
  readonly rooms: SyncResponse['rooms'];
  readonly users: Map<string, ProfileUpdates | null>;
  readonly joinedRooms: ReadonlySet<string>;
}

const isEmpty = (result: SyncResult): boolean =>
  result.users.size === 0 &&
  Object.keys(result.rooms.join).length === 0 &&
  Object.keys(result.rooms.invite).length === 0 &&
  Object.keys(result.rooms.leave).length === 0;

/** Builds `/sync` responses from the projection; parks incremental syncs until something relevant is committed. */
@Injectable()
export class SyncService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly watcher: ProjectionWatcher,
    private readonly profiles: ProfileUpdatesReader,
    private readonly roomsReader: RoomsReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async sync(userId: string, request: SyncRequest, aborted: () => boolean): Promise<SyncResponse> {
    const filter = this.filterOf(request);
    // No token, or one from another topic layout: a full sync (a 4xx here would strand clients).
    if (request.since === undefined || !fitsLayout(request.since, this.watcher.current)) {
      return this.respond(await this.snapshot(userId, filter, undefined, true));
    }
    let since: SyncPositions = request.since;
    if (request.fullState) return this.respond(await this.snapshot(userId, filter, since, true));

    // Nothing committed since the token and no wait asked for: answer from memory.
    if (request.timeoutMs === 0 && !isBehind(since, this.watcher.current)) return this.respond(this.nothingNew(since));

    const deadline = Date.now() + request.timeoutMs;
    let rooms: ReadonlySet<string> = new Set(await this.roomsReader.joinedRoomIds(this.dataSource.query.bind(this.dataSource), userId));
    for (;;) {
      const wait = this.watcher.waitForChange({ users: new Set([userId]), rooms });
      if (isBehind(since, this.watcher.current)) {
        const result = await this.snapshot(userId, filter, since, false);
        if (!isEmpty(result) || Date.now() >= deadline || aborted()) {
          wait.cancel();
          return this.respond(result);
        }
        // Only irrelevant changes: they are consumed, and the wait goes on from the new position.
        since = result.positions;
        rooms = result.joinedRooms;
      } else if (Date.now() >= deadline || aborted()) {
        wait.cancel();
        return this.respond(this.nothingNew(since));
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([wait.changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      wait.cancel();
    }
  }

  private filterOf(request: SyncRequest): SyncFilter {
    if (!request.filter) return parseSyncFilter({}, this.config.sync.maxProfileFields);
    if ('id' in request.filter) throw MatrixErrors.invalidParam(`Unknown filter ${request.filter.id}`);
    return parseSyncFilter(request.filter.inline, this.config.sync.maxProfileFields);
  }

  private nothingNew(since: SyncPositions): SyncResult {
    return { positions: since, rooms: { join: {}, invite: {}, leave: {}, knock: {} }, users: new Map(), joinedRooms: new Set() };
  }

  /** Positions and data read in one snapshot, so next_batch covers exactly what the response holds. */
  private snapshot(userId: string, filter: SyncFilter, since: SyncPositions | undefined, fullState: boolean): Promise<SyncResult> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const query = manager.query.bind(manager);
      const positions = await this.watcher.readPositions(query);
      const { rooms, joinedRooms } = await this.roomsSection(query, userId, filter, since, fullState);
      let users = new Map<string, ProfileUpdates | null>();
      if (filter.profileFields.length > 0) {
        users = since
          ? await this.profiles.changedFields(query, [userId], filter.profileFields, since)
          : await this.profiles.currentFields(query, [userId], filter.profileFields);
      }
      return { positions, rooms, users, joinedRooms };
    });
  }

  private async roomsSection(
    query: DataSource['query'],
    userId: string,
    filter: SyncFilter,
    since: SyncPositions | undefined,
    fullState: boolean,
  ): Promise<{ rooms: SyncResponse['rooms']; joinedRooms: Set<string> }> {
    const rooms: SyncResponse['rooms'] = { join: {}, invite: {}, leave: {}, knock: {} };
    const memberships = await this.roomsReader.memberships(query, userId);
    const changedSince = (partition: number, offset: number) => since === undefined || offset >= (since.membership[partition] ?? 0);
    const joined = memberships.filter((m) => m.membership === 'join');
    const joinedRooms = new Set(joined.map((m) => m.roomId));

    // Joined rooms: new to the client (initial sync, full_state, or joined since the token) get the whole state.
    const fresh = new Set<string>();
    for (const m of joined) {
      if (since === undefined || fullState) fresh.add(m.roomId);
      else if (
        changedSince(m.partition, m.offset) &&
        (await this.roomsReader.membershipBefore(query, m.roomId, userId, since.membership[m.partition] ?? 0)) !== 'join'
      ) {
        fresh.add(m.roomId);
      }
    }
    const count = filter.timelineLimit + 1;
    const windows =
      since === undefined
        ? await this.roomsReader.latestEvents(query, [...joinedRooms], count)
        : await this.roomsReader.eventsSince(query, [...joinedRooms], since, count);
    const needState = [...joinedRooms].filter((roomId) => fresh.has(roomId) || (windows.get(roomId)?.length ?? 0) > filter.timelineLimit);
    const invites = memberships.filter((m) => m.membership === 'invite' && changedSince(m.partition, m.offset));
    const states = await this.roomsReader.currentState(query, [...new Set([...needState, ...invites.map((m) => m.roomId)])]);
    for (const roomId of joinedRooms) {
      const window = windows.get(roomId) ?? [];
      if (window.length === 0 && !fresh.has(roomId)) continue;
      const limited = window.length > filter.timelineLimit;
      const { timeline, state } = buildTimeline({
        window,
        currentState: states.get(roomId) ?? [],
        limit: filter.timelineLimit,
        // A limited timeline leaves a gap: the whole current state closes it.
        fullState: fresh.has(roomId) || limited,
        ...(filter.lazyLoadMembers && fresh.has(roomId) ? { lazyMembersFor: new Set([userId]) } : {}),
        prevBatch: prevBatch(window),
      });
      rooms.join[roomId] = {
        timeline: { ...timeline, events: timeline.events.map(stripOffset), limited: timeline.limited || (since === undefined && limited) },
        state: { events: state.events.map(stripOffset) },
        ephemeral: { events: [] },
        account_data: { events: [] },
        unread_notifications: {},
      };
    }
    for (const m of invites) {
      const inviteEvent = (states.get(m.roomId) ?? []).find((event) => event.type === 'm.room.member' && event.state_key === userId);
      if (!inviteEvent) continue;
      rooms.invite[m.roomId] = { invite_state: { events: strippedState(states.get(m.roomId) ?? [], inviteEvent) } };
    }
    if (since !== undefined) {
      for (const m of memberships) {
        if ((m.membership !== 'leave' && m.membership !== 'ban') || m.forgotten || !changedSince(m.partition, m.offset)) continue;
        const window = await this.roomsReader.eventsUntil(query, m.roomId, since, m.offset, count);
        const events = window.slice(-Math.max(1, filter.timelineLimit));
        rooms.leave[m.roomId] = {
          timeline: { events: events.map(stripOffset), limited: events.length < window.length, prev_batch: prevBatch(window) },
          state: { events: [] },
          account_data: { events: [] },
        };
      }
    }
    return { rooms, joinedRooms };
  }

  private respond(result: SyncResult): SyncResponse {
    const response: SyncResponse = { next_batch: encodeSyncToken(result.positions), rooms: result.rooms };
    if (result.users.size > 0) {
      response[USERS_SECTION] = Object.fromEntries([...result.users].map(([user, updates]) => [user, { profile_updates: updates }]));
    }
    return response;
  }
}

/** The wire form of an event: its log offset is ours, not the client's. */
function stripOffset(event: SyncEvent): SyncEvent {
  const { offset: _offset, ...wire } = event as WindowEvent;
  return wire;
}

/** An opaque marker of where a room's timeline starts (this server has no /messages yet). */
function prevBatch(window: readonly WindowEvent[]): string {
  return `t${window[0]?.offset ?? 0}`;
}
