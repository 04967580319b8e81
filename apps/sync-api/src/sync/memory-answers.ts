import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { Database, memberships, type ProjectionChange } from '@mx/storage';
import {
  answerFromMemory,
  CoalescingLoader,
  type MembershipView,
  MembershipViews,
  type ProfileFieldValues,
  RecentChanges,
  StringPool,
  type SyncPositions,
  viewStillTrue,
} from '@mx/sync';
import { CommitWakeups } from './commit-wakeups.js';

/** An incremental sync's data answered from memory, and the positions it covers. */
export interface MemorySyncResult {
  readonly positions: SyncPositions;
  readonly users: Map<string, ProfileFieldValues>;
  readonly joinedRooms: ReadonlySet<string>;
}

/** Users whose membership views one read fetches at most. */
const VIEWS_PER_READ = 500;

/** User and room IDs shared by the cached views at most (see StringPool). */
const SHARED_IDS = 65_536;

/** Approximate heap bytes of a kept change besides its notification's characters. */
const CHANGE_OVERHEAD_BYTES = 200;

/**
 * Answers incremental syncs from this replica's memory when it can: keeps the recent changes the
 * projector announced (RecentChanges, fed before any long-poll wakes) and each syncing user's
 * membership view (MembershipViews, read once from the projection, forgotten when a commit may
 * change it). A sync it cannot answer exactly (token outside the window, a membership change of
 * the user's) returns undefined and is read from the projection as before.
 */
@Injectable()
export class MemoryAnswers {
  private readonly recent: RecentChanges;
  private readonly views: MembershipViews;
  /** Views not cached are read many users at a time: a burst of long-polls costs a few reads, not one transaction each. */
  private readonly viewReads = new CoalescingLoader<MembershipView>((users) => this.readViews(users), VIEWS_PER_READ);
  private readonly outcomes: Counter<'outcome'>;
  /** The views name the same users and rooms over and over: one copy of each. */
  private readonly ids = new StringPool(SHARED_IDS);

  constructor(
    private readonly db: Database,
    private readonly commits: CommitWakeups,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    registry: Registry,
  ) {
    this.recent = new RecentChanges(config.sync.recentChangesBytes);
    this.views = new MembershipViews(config.sync.membershipCacheBytes);
    commits.observe({
      heard: (change, size) => this.heard(change, size),
      missed: () => {
        this.recent.forgetAll();
        this.views.forgetAll();
      },
    });
    this.outcomes = new Counter({
      name: 'mx_sync_memory_answers_total',
      help: 'Incremental syncs answered from memory (outcome answered), or read from the database because the window did not cover the token (window), the membership view was newer than the commits heard (view) or a membership change concerned the user (membership)',
      labelNames: ['outcome'],
      registers: [registry],
    });
    const recent = this.recent;
    const views = this.views;
    new Gauge({
      name: 'mx_sync_recent_changes_bytes',
      help: 'Estimated bytes of recent projected changes kept to answer syncs from memory',
      registers: [registry],
      collect() {
        this.set(recent.size);
      },
    });
    new Gauge({
      name: 'mx_sync_membership_views',
      help: 'Users whose joined rooms and co-members this replica caches',
      registers: [registry],
      collect() {
        this.set(views.size);
      },
    });
  }

  /** Whether answers from memory are on (MX_SYNC_RECENT_CHANGES_BYTES above 0). */
  get enabled(): boolean {
    return this.config.sync.recentChangesBytes > 0;
  }

  /** The incremental sync of `userId` from `since` to this replica's current positions, or undefined when memory cannot answer it exactly. */
  async answer(userId: string, since: SyncPositions, fields: readonly string[]): Promise<MemorySyncResult | undefined> {
    if (!this.enabled) return undefined;
    const view = await this.viewOf(userId);
    // Read after the view: the window and the positions are taken together, with no await between them.
    const current = this.commits.current;
    if (!view) {
      this.outcomes.inc({ outcome: 'view' });
      return undefined;
    }
    const outcome = answerFromMemory(this.recent, view, userId, since, current, fields);
    this.outcomes.inc({ outcome: outcome.kind === 'answer' ? 'answered' : outcome.reason });
    return outcome.kind === 'answer' ? { positions: current, users: outcome.users, joinedRooms: view.joinedRooms } : undefined;
  }

  /**
   * The rooms `userId` is joined to, from the cached view when there is one that is still true
   * (else undefined: the caller reads them).
   */
  async joinedRooms(userId: string): Promise<ReadonlySet<string> | undefined> {
    if (!this.enabled) return undefined;
    return (await this.viewOf(userId))?.joinedRooms;
  }

  /** The user's membership view: cached, or read (with others', in one snapshot) and cached when no commit heard since may have changed it. */
  private async viewOf(userId: string): Promise<MembershipView | undefined> {
    return this.views.get(userId) ?? (await this.viewReads.load(userId));
  }

  /** The views of `users` as one snapshot has them; those a commit heard since may have changed are left out (and not cached). */
  private async readViews(users: readonly string[]): Promise<Map<string, MembershipView>> {
    const { membership, rooms, sharing } = await this.db.transaction(
      async (tx) => ({
        membership: (await this.commits.readPositions(tx)).membership,
        rooms: await memberships.joinedRoomsOfEach(tx, users),
        sharing: await memberships.usersSharingJoinedRoomOfEach(tx, users),
      }),
      'REPEATABLE READ',
    );
    const joined = new Map<string, Set<string>>(users.map((user) => [user, new Set<string>()]));
    const visible = new Map<string, Set<string>>(users.map((user) => [user, new Set<string>()]));
    for (const { userId, roomId } of rooms) joined.get(userId)?.add(this.ids.intern(roomId));
    for (const { userId, otherUserId } of sharing) visible.get(userId)?.add(this.ids.intern(otherUserId));
    const current = this.commits.current;
    const views = new Map<string, MembershipView>();
    for (const user of users) {
      const view: MembershipView = { joinedRooms: joined.get(user)!, visible: visible.get(user)!, membership };
      if (!viewStillTrue(this.recent, user, view, current)) continue;
      this.views.set(user, view);
      views.set(user, view);
    }
    return views;
  }

  private heard(change: ProjectionChange, size: number): void {
    const topic =
      change.topic === this.config.topics.profile ? 'profile' : change.topic === this.config.topics.membership ? 'membership' : undefined;
    if (topic === undefined) return;
    this.recent.heard({ ...change, topic, bytes: CHANGE_OVERHEAD_BYTES + size * 2 });
    if (topic === 'membership') this.views.heard(change);
  }
}
