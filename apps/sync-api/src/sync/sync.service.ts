import { Inject, Injectable } from '@nestjs/common';
import { AccessTokenService } from '@mx/auth';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixErrors } from '@mx/matrix';
import { accessTokens, Database, memberships, type Sql } from '@mx/storage';
import {
  buildTimeline,
  encodeFilter,
  encodeSyncToken,
  fitsLayout,
  includesRoom,
  isAhead,
  isBehind,
  type JoinedRoomSection,
  LazyProfileCache,
  type LeftRoomSection,
  parseSyncFilter,
  StoredFilterCache,
  strippedState,
  type SyncEvent,
  visibilityChanges,
  type SyncFilter,
  type SyncPositions,
} from '@mx/sync';
import { FilterStore } from '../filters/filter-store.js';
import { LongPolls } from './long-polls.js';
import { MemoryAnswers } from './memory-answers.js';
import { ProfileUpdatesReader, type ProfileUpdates } from './profile-updates.reader.js';
import { CommitWakeups } from './commit-wakeups.js';
import { RoomTimelineReader, type WindowEvent } from './room-timeline-reader.js';
import { VisibilityReader } from './visibility-reader.js';
import type { SyncRequest } from './sync-request.js';

export const UNSTABLE_USERS_SECTION = 'org.matrix.msc4429.users';
export const STABLE_USERS_SECTION = 'users';

export interface SyncResponse {
  next_batch: string;
  rooms: {
    join: Record<string, JoinedRoomSection>;
    invite: Record<string, { invite_state: { events: unknown[] } }>;
    leave: Record<string, LeftRoomSection>;
    knock: Record<string, never>;
  };
  [UNSTABLE_USERS_SECTION]?: Record<string, { profile_updates: ProfileUpdates | null }>;
  [STABLE_USERS_SECTION]?: Record<string, { profile_updates: ProfileUpdates | null }>;
}

/** Who is syncing: the user, the device (for lazy-loading memory) and the access token's hex SHA-256. */
export interface Syncer {
  readonly userId: string;
  readonly deviceId: string;
  readonly tokenHash: string;
}

/** Companion mode: a users section and the project positions it covers. */
export interface CompanionUsersResult {
  readonly positions: SyncPositions;
  readonly users: Map<string, ProfileUpdates | null>;
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
    private readonly db: Database,
    private readonly commits: CommitWakeups,
    private readonly profiles: ProfileUpdatesReader,
    private readonly timelines: RoomTimelineReader,
    private readonly visibility: VisibilityReader,
    private readonly filters: FilterStore,
    private readonly tokens: AccessTokenService,
    private readonly longPolls: LongPolls,
    private readonly memory: MemoryAnswers,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.lazyCache = new LazyProfileCache(config.sync.lazyCacheDevices);
    this.storedFilters = new StoredFilterCache(config.sync.maxProfileFields);
    this.defaultFilter = parseSyncFilter({}, config.sync.maxProfileFields);
  }

  private readonly lazyCache: LazyProfileCache;
  private readonly storedFilters: StoredFilterCache;
  /** The filter of a /sync that names none. */
  private readonly defaultFilter: SyncFilter;

  /**
   * `closed` aborts when the client goes away: a parked long-poll then ends at once. Every answer
   * carrying data is read in a snapshot in which the access token still exists, so nothing
   * committed after the token's deletion can reach its holder; a parked long-poll whose token is
   * deleted answers 401 `M_UNKNOWN_TOKEN` as soon as this replica hears of the deletion.
   */
  async sync(syncer: Syncer, request: SyncRequest, closed: AbortSignal): Promise<SyncResponse> {
    const { userId } = syncer;
    const filter = await this.filterOf(userId, request);
    // No token, or one from another projection or topic layout: a full sync (a 4xx here would strand clients).
    if (request.since === undefined || !(await this.tokenFits(request.since))) {
      return this.respond(await this.snapshot(syncer, filter, undefined, request.fullState));
    }
    let since: SyncPositions = request.since;
    if (request.fullState) return this.respond(await this.snapshot(syncer, filter, since, true));

    // Nothing committed since the token and no wait asked for: answer from memory.
    if (request.timeoutMs === 0 && !isBehind(since, this.commits.current)) return this.respond(this.nothingNew(since));

    const deadline = Date.now() + request.timeoutMs;
    // Registered first, then checked: a deletion heard before registering has already left the
    // token cache (so the check asks the database), one heard after it signals the long-poll.
    const parked = this.longPolls.park(userId, syncer.tokenHash);
    const release = () => parked.poll.release();
    closed.addEventListener('abort', release, { once: true });
    if (closed.aborted) release();
    try {
      await this.assertTokenAlive(syncer);
      let rooms: ReadonlySet<string> = await this.joinedRooms(userId);
      const over = () => Date.now() >= deadline || parked.poll.released || this.commits.draining;
      for (;;) {
        const wait = this.commits.waitForChange({ users: new Set([userId]), rooms });
        let timer: NodeJS.Timeout | undefined;
        try {
          if (parked.poll.takeTokenDoubt()) await this.assertTokenAlive(syncer);
          if (isBehind(since, this.commits.current)) {
            const result = (await this.fromMemory(syncer, filter, since)) ?? (await this.snapshot(syncer, filter, since, false));
            if (!isEmpty(result) || over()) return this.respond(result);
            // Only irrelevant changes: they are consumed, and the wait goes on from the new position.
            since = result.positions;
            rooms = result.joinedRooms;
          } else if (over()) {
            return this.respond(this.nothingNew(since));
          }
          this.commits.countPark();
          await Promise.race([
            wait.changed,
            parked.poll.signalled(),
            new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now())))),
          ]);
        } finally {
          clearTimeout(timer);
          wait.cancel();
        }
      }
    } finally {
      closed.removeEventListener('abort', release);
      parked.leave();
    }
  }

  /**
   * Companion mode: the users section alone, built from the projection exactly as `sync` builds it
   * for this user and filter, with the homeserver's rooms section standing in for ours (lazy-loading
   * looks at its timelines' senders). Read in one snapshot with the positions it covers; no token
   * check (the homeserver owns tokens). `since` undefined: the section starts afresh.
   */
  async companionUsers(
    syncer: Syncer,
    filter: SyncFilter,
    since: SyncPositions | undefined,
    fullState: boolean,
    rooms: SyncResponse['rooms'],
  ): Promise<CompanionUsersResult> {
    return this.db.transaction(async (tx) => {
      const positions = await this.commits.readPositions(tx);
      const users =
        filter.profileFields.length === 0
          ? new Map<string, ProfileUpdates | null>()
          : await this.usersSection(tx, syncer, filter, rooms, since, fullState);
      return { positions, users };
    }, 'REPEATABLE READ');
  }

  /**
   * Companion mode's half of a long-poll: resolves with the users section as soon as the projection
   * has something for this user after `since`, or `undefined` once `stop` aborts (the homeserver
   * answered first, the client left, or the deadline passed). Irrelevant commits move `since` on.
   */
  async companionWait(
    syncer: Syncer,
    filter: SyncFilter,
    since: SyncPositions,
    stop: AbortSignal,
  ): Promise<CompanionUsersResult | undefined> {
    if (filter.profileFields.length === 0) {
      await new Promise<void>((resolve) => (stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true })));
      return undefined;
    }
    const userId = syncer.userId;
    let rooms: ReadonlySet<string> = await this.joinedRooms(userId);
    const empty: SyncResponse['rooms'] = { join: {}, invite: {}, leave: {}, knock: {} };
    while (!stop.aborted && !this.commits.draining) {
      const wait = this.commits.waitForChange({ users: new Set([userId]), rooms });
      const onStop = () => wait.cancel();
      try {
        if (isBehind(since, this.commits.current)) {
          const remembered = await this.memory.answer(userId, since, filter.profileFields);
          const result = remembered ?? (await this.companionUsers(syncer, filter, since, false, empty));
          if (result.users.size > 0) return result;
          since = result.positions;
          rooms = remembered?.joinedRooms ?? (await this.joinedRooms(userId));
          continue;
        }
        this.commits.countPark();
        await Promise.race([
          wait.changed,
          new Promise<void>((resolve) => {
            if (stop.aborted) resolve();
            stop.addEventListener('abort', () => resolve(), { once: true });
          }),
        ]);
      } finally {
        onStop();
      }
    }
    return undefined;
  }

  /**
   * Companion mode: waits (at most `maxMs`, or until `stop`) until the projection holds these
   * member events the homeserver's answer shows, so that the answer's users section agrees with its
   * timeline (a joiner's profile with the join, `null` with the leave). The Application Service feed
   * lags the homeserver's own /sync by tens of milliseconds; past `maxMs` the answer goes without
   * them and the next one carries them. Resolves with the events still missing.
   */
  async companionAwaitMembers(
    events: readonly { eventId: string; roomId: string; userId: string; originServerTs: number }[],
    maxMs: number,
    stop: AbortSignal,
  ): Promise<number> {
    if (events.length === 0) return 0;
    const deadline = Date.now() + maxMs;
    const rooms: ReadonlySet<string> = new Set(events.map((event) => event.roomId));
    let pending = [...events];
    const stopped = new Promise<void>((resolve) =>
      stop.aborted ? resolve() : stop.addEventListener('abort', () => resolve(), { once: true }),
    );
    for (;;) {
      // Registered before the check, so a commit between the check and the wait still wakes it.
      const wait = this.commits.waitForChange({ users: new Set(), rooms });
      let timer: NodeJS.Timeout | undefined;
      try {
        const missing = new Set(await memberships.unprojectedMemberEvents(this.db, pending));
        pending = pending.filter((event) => missing.has(event.eventId));
        const left = deadline - Date.now();
        if (pending.length === 0 || left <= 0 || stop.aborted) return pending.length;
        await Promise.race([wait.changed, stopped, new Promise<void>((resolve) => (timer = setTimeout(resolve, left)))]);
      } finally {
        clearTimeout(timer);
        wait.cancel();
      }
    }
  }

  /** Companion mode: whether a token's project positions belong to this projection's layout (else the section starts afresh). */
  positionsFit(positions: SyncPositions): Promise<boolean> {
    return this.tokenFits(positions);
  }

  /** Companion mode: the filter a definition describes (400 as in standalone mode when it cannot be used). */
  parseFilter(definition: Record<string, unknown>): SyncFilter {
    encodeFilter(definition);
    return parseSyncFilter(definition, this.config.sync.maxProfileFields);
  }

  /** The users section's key in a response. */
  get usersSectionName(): string {
    return this.config.sync.stableNames ? STABLE_USERS_SECTION : UNSTABLE_USERS_SECTION;
  }

  /** 401 `M_UNKNOWN_TOKEN` when the syncing token was deleted (from the token cache when it holds it, else the database). */
  private async assertTokenAlive(syncer: Syncer): Promise<void> {
    if (await this.tokens.isAlive(syncer.tokenHash)) return;
    this.longPolls.tokenDeleted();
    throw MatrixErrors.unknownToken();
  }

  /**
   * A token fits when it names this projection's layout and claims no position beyond what was
   * committed (checked against the database when this replica's memory looks behind).
   */
  private async tokenFits(token: SyncPositions): Promise<boolean> {
    if (!fitsLayout(token, this.commits.current)) return false;
    return !isAhead(token, this.commits.current) || !isAhead(token, await this.commits.readStoredPositions());
  }

  private async filterOf(userId: string, request: SyncRequest): Promise<SyncFilter> {
    if (!request.filter) return this.defaultFilter;
    if ('inline' in request.filter) {
      encodeFilter(request.filter.inline); // 400 M_TOO_LARGE beyond MAX_FILTER_BYTES, as for a stored one
      return parseSyncFilter(request.filter.inline, this.config.sync.maxProfileFields);
    }
    const stored = await this.filters.find(userId, request.filter.id);
    if (stored === undefined) throw MatrixErrors.invalidParam(`Unknown filter ${request.filter.id}`);
    return this.storedFilters.parse(stored);
  }

  /** The rooms the user is joined to: from the memory's view when it holds a true one, else from the projection. */
  private async joinedRooms(userId: string): Promise<ReadonlySet<string>> {
    return (await this.memory.joinedRooms(userId)) ?? new Set(await memberships.joinedRoomIds(this.db, userId));
  }

  /**
   * An incremental sync from memory (see MemoryAnswers), or undefined when it must be read from
   * the projection. One that carries data is sent only while the token is alive, as this replica
   * has heard: its deletion reaches the parked long-poll (takeTokenDoubt) through the token
   * channel, a commit through the projection channel.
   */
  private async fromMemory(syncer: Syncer, filter: SyncFilter, since: SyncPositions): Promise<SyncResult | undefined> {
    const remembered = await this.memory.answer(syncer.userId, since, filter.profileFields);
    if (!remembered) return undefined;
    const result: SyncResult = { ...remembered, rooms: { join: {}, invite: {}, leave: {}, knock: {} } };
    if (!isEmpty(result)) await this.assertTokenAlive(syncer);
    return result;
  }

  private nothingNew(since: SyncPositions): SyncResult {
    return { positions: since, rooms: { join: {}, invite: {}, leave: {}, knock: {} }, users: new Map(), joinedRooms: new Set() };
  }

  /** Positions and data read in one snapshot, so next_batch covers exactly what the response holds. */
  private snapshot(syncer: Syncer, filter: SyncFilter, since: SyncPositions | undefined, fullState: boolean): Promise<SyncResult> {
    return this.db.transaction(async (tx) => {
      // The token in the same snapshot as the data: what a deleted token's holder could be sent was committed before the deletion.
      if ((await accessTokens.owner(tx, Buffer.from(syncer.tokenHash, 'hex'))) === undefined) throw MatrixErrors.unknownToken();
      const positions = await this.commits.readPositions(tx);
      const { rooms, joinedRooms } = await this.roomsSection(tx, syncer.userId, filter, since, fullState);
      const users =
        filter.profileFields.length === 0
          ? new Map<string, ProfileUpdates | null>()
          : await this.usersSection(tx, syncer, filter, rooms, since, fullState);
      return { positions, rooms, users, joinedRooms };
    }, 'REPEATABLE READ');
  }

  /**
   * MSC4429's users section. Initial sync and full_state: the requested fields of every visible
   * user (lazy-loading: only of those the response needs). Incremental: for visible users the
   * latest value of each requested field changed in the window; newly visible users their whole
   * requested profile; departed users `null`. Nothing ever about users who share no room.
   */
  private async usersSection(
    sql: Sql,
    syncer: Syncer,
    filter: SyncFilter,
    rooms: SyncResponse['rooms'],
    since: SyncPositions | undefined,
    fullState: boolean,
  ): Promise<Map<string, ProfileUpdates | null>> {
    const me = syncer.userId;
    const device = `${me}|${syncer.deviceId}`;
    const visibleNow = await this.visibility.visibleUsers(sql, me);
    visibleNow.add(me);
    const fields = filter.profileFields;
    if (since === undefined || fullState) {
      const wanted =
        filter.lazyLoadMembers && !fullState
          ? new Set([me, ...membersInResponse(rooms)].filter((user) => visibleNow.has(user)))
          : visibleNow;
      this.lazyCache.reset(device);
      if (filter.lazyLoadMembers) this.lazyCache.remember(device, wanted);
      return nonEmpty(await this.profiles.currentFields(sql, [...wanted], fields));
    }
    const { newlyVisible, rejoined, departed } = visibilityChanges(await this.visibility.windowInput(sql, me, since, visibleNow));
    const full = new Set([...newlyVisible, ...rejoined]);
    if (filter.lazyLoadMembers) {
      // Members the client now sees in timelines but was never sent: their whole profile.
      for (const user of this.lazyCache.unsent(device, membersInResponse(rooms))) if (visibleNow.has(user)) full.add(user);
    }
    const diffs = [...visibleNow].filter((user) => !full.has(user));
    const users = new Map<string, ProfileUpdates | null>(await this.profiles.changedFields(sql, diffs, fields, since));
    for (const [user, profile] of await this.profiles.currentFields(sql, [...full], fields)) users.set(user, profile);
    for (const user of rejoined) {
      // The client may still hold values from before the lapse: clear what is no longer set.
      const profile: ProfileUpdates = { ...(users.get(user) ?? {}) };
      for (const name of fields) if (!Object.hasOwn(profile, name)) profile[name] = null;
      users.set(user, profile);
    }
    for (const user of departed) users.set(user, null);
    if (filter.lazyLoadMembers) this.lazyCache.remember(device, full);
    return nonEmpty(users);
  }

  private async roomsSection(
    sql: Sql,
    userId: string,
    filter: SyncFilter,
    since: SyncPositions | undefined,
    fullState: boolean,
  ): Promise<{ rooms: SyncResponse['rooms']; joinedRooms: Set<string> }> {
    const rooms: SyncResponse['rooms'] = { join: {}, invite: {}, leave: {}, knock: {} };
    const ownMemberships = await memberships.ofUser(sql, userId);
    const changedSince = (partition: number, offset: number) => since === undefined || offset >= (since.membership[partition] ?? 0);
    const joinedRooms = new Set(
      ownMemberships.filter((membership) => membership.membership === 'join').map((membership) => membership.roomId),
    );
    // The filter's room.rooms / room.not_rooms pick the rooms shown; every joined room still counts for waking.
    const shown = ownMemberships.filter((membership) => includesRoom(filter, membership.roomId));
    const joined = shown.filter((membership) => membership.membership === 'join');
    const shownJoined = new Set(joined.map((membership) => membership.roomId));

    // Joined rooms: new to the client (initial sync, full_state, or joined since the token) get the whole state.
    const fresh = new Set<string>();
    for (const membership of joined) {
      if (since === undefined || fullState) fresh.add(membership.roomId);
      else if (
        changedSince(membership.partition, membership.offset) &&
        (await this.timelines.membershipBefore(sql, membership.roomId, userId, since.membership[membership.partition] ?? 0)) !== 'join'
      ) {
        fresh.add(membership.roomId);
      }
    }
    const count = filter.timelineLimit + 1;
    const windows =
      since === undefined
        ? await this.timelines.latestEvents(sql, [...shownJoined], count)
        : await this.timelines.eventsSince(sql, [...shownJoined], since, count);
    const needState = [...shownJoined].filter((roomId) => fresh.has(roomId) || (windows.get(roomId)?.length ?? 0) > filter.timelineLimit);
    const invites = shown.filter(
      (membership) => membership.membership === 'invite' && changedSince(membership.partition, membership.offset),
    );
    const states = await this.timelines.currentState(sql, [...new Set([...needState, ...invites.map((membership) => membership.roomId)])]);
    for (const roomId of shownJoined) {
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
    for (const membership of invites) {
      const inviteEvent = (states.get(membership.roomId) ?? []).find(
        (event) => event.type === 'm.room.member' && event.state_key === userId,
      );
      if (!inviteEvent) continue;
      rooms.invite[membership.roomId] = { invite_state: { events: strippedState(states.get(membership.roomId) ?? [], inviteEvent) } };
    }
    if (since !== undefined) {
      for (const membership of shown) {
        if (
          (membership.membership !== 'leave' && membership.membership !== 'ban') ||
          membership.forgotten ||
          !changedSince(membership.partition, membership.offset)
        )
          continue;
        const window = await this.timelines.eventsUntil(sql, membership.roomId, since, membership.offset, count);
        const events = window.slice(-Math.max(1, filter.timelineLimit));
        rooms.leave[membership.roomId] = {
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
      const section = this.config.sync.stableNames ? STABLE_USERS_SECTION : UNSTABLE_USERS_SECTION;
      response[section] = Object.fromEntries([...result.users].map(([user, updates]) => [user, { profile_updates: updates }]));
    }
    return response;
  }
}

/** Users whose member events or timeline activity a rooms section carries. */
function membersInResponse(rooms: SyncResponse['rooms']): Set<string> {
  const users = new Set<string>();
  for (const section of [...Object.values(rooms.join), ...Object.values(rooms.leave)]) {
    for (const event of [...section.state.events, ...section.timeline.events]) {
      users.add(event.sender);
      if (event.type === 'm.room.member') users.add(event.state_key);
    }
  }
  return users;
}

/** Drops users with nothing to say (no requested field set); `null` (departed) stays. */
function nonEmpty(users: ReadonlyMap<string, ProfileUpdates | null>): Map<string, ProfileUpdates | null> {
  return new Map([...users].filter(([, updates]) => updates === null || Object.keys(updates).length > 0));
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
