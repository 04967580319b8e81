import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationShutdown, type OnModuleInit } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { Counter, Gauge, Registry } from 'prom-client';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { EVENT_LOG_ADMIN, type EventLogAdmin } from '@mx/event-log';
import { Database, ProjectionCommitListener, projectionMeta, projectionPositions, type ProjectionChange, type Sql } from '@mx/storage';
import { layoutEpoch, type SyncPositions } from '@mx/sync';

/** What a parked sync cares about: its own user (profile, memberships) and the rooms it is in. */
export interface SyncInterest {
  readonly users: ReadonlySet<string>;
  readonly rooms: ReadonlySet<string>;
}

interface Waiter {
  readonly interest: SyncInterest;
  readonly wake: () => void;
}

/** Hears every commit before the long-polls it concerns are woken (so they find it), and when commits may have been missed. */
export interface CommitObserver {
  /** `size`: the notification's length, a fair estimate of what keeping the change costs. */
  heard(change: ProjectionChange, size: number): void;
  /** The listener reconnected: commits may have been missed. */
  missed(): void;
}

/**
 * This replica's view of the projector's commits, heard through PostgreSQL LISTEN/NOTIFY: keeps
 * the latest committed positions in memory and wakes the parked long-polls that a commit
 * concerns. Costs no database work while nothing happens.
 */
@Injectable()
export class CommitWakeups implements OnModuleInit, BeforeApplicationShutdown, OnApplicationShutdown {
  private positions: SyncPositions = { epoch: '', profile: [], membership: [] };
  private readonly waiters = new Set<Waiter>();
  /** The waiters by each user and room of their interest: a commit wakes the ones it names, each once. */
  private readonly byUser = new Map<string, Set<Waiter>>();
  private readonly byRoom = new Map<string, Set<Waiter>>();
  private readonly observers: CommitObserver[] = [];
  private listener: ProjectionCommitListener | undefined;

  private readonly wakeups: Counter;
  private readonly parks: Counter;

  constructor(
    registry: Registry,
    private readonly db: Database,
    @Inject(EVENT_LOG_ADMIN) private readonly admin: EventLogAdmin,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly logger: PinoLogger,
  ) {
    this.logger.setContext(CommitWakeups.name);
    const waiters = this.waiters;
    new Gauge({
      name: 'mx_sync_parked_long_polls',
      help: 'Long-polls waiting for a change',
      registers: [registry],
      collect() {
        this.set(waiters.size);
      },
    });
    this.wakeups = new Counter({ name: 'mx_sync_wakeups_total', help: 'Long-polls woken by a projector commit', registers: [registry] });
    // Never decreases, unlike the gauge: whoever sent a long-poll can tell from a rise that a park happened since a
    // reading, however many other long-polls answered meanwhile.
    this.parks = new Counter({
      name: 'mx_sync_long_poll_parks_total',
      help: 'Times a long-poll began to wait for a change (again after each irrelevant change woke it); mx_sync_parked_long_polls is how many are registered now',
      registers: [registry],
    });
  }

  async onModuleInit(): Promise<void> {
    const { profile, membership } = this.config.topics;
    const [profilePartitions = 0, membershipPartitions = 0] = await this.admin.partitionCounts([profile, membership]);
    if (profilePartitions < 1 || membershipPartitions < 1) throw new Error('Topics are not provisioned; run the provision-topics command');
    const projectionEpoch = await projectionMeta.epoch(this.db);
    if (projectionEpoch === undefined) throw new Error('The database has no projection epoch; run the migrate command');
    const epoch = layoutEpoch({
      projectionEpoch,
      profileTopic: profile,
      profilePartitions,
      membershipTopic: membership,
      membershipPartitions,
    });
    this.positions = {
      epoch,
      profile: new Array<number>(profilePartitions).fill(0),
      membership: new Array<number>(membershipPartitions).fill(0),
    };
    this.listener = new ProjectionCommitListener(this.config.database, this.logger);
    this.listener.subscribe((event) => {
      if (event.kind === 'change') {
        this.onChange(event.change, event.size);
        return;
      }
      for (const observer of this.observers) observer.missed();
      void this.reload().then(() => this.wakeAll());
    });
    await this.listener.start();
    await this.reload();
  }

  /** True once shutdown began: parked long-polls answer at once (their next_batch stays valid). */
  draining = false;

  /** Runs before the HTTP server closes, which waits for in-flight requests: release the long-polls first. */
  beforeApplicationShutdown(): void {
    this.logger.info({ parked: this.waiters.size }, 'shutting down: answering parked long-polls');
    this.draining = true;
    this.wakeAll();
  }

  async onApplicationShutdown(): Promise<void> {
    this.wakeAll();
    await this.listener?.stop();
  }

  /** The latest positions this replica has heard of. */
  get current(): SyncPositions {
    return this.positions;
  }

  /** The committed positions as the database has them now (for a token that looks ahead of memory). */
  readStoredPositions(): Promise<SyncPositions> {
    return this.readPositions(this.db);
  }

  /** Reads the committed positions inside the caller's snapshot, shaped like the current layout. */
  async readPositions(sql: Sql): Promise<SyncPositions> {
    const stored = await projectionPositions.all(sql, [this.config.topics.profile, this.config.topics.membership]);
    const profile = new Array<number>(this.positions.profile.length).fill(0);
    const membership = new Array<number>(this.positions.membership.length).fill(0);
    for (const position of stored) {
      const target = position.topic === this.config.topics.profile ? profile : membership;
      if (position.partition < target.length) target[position.partition] = position.nextOffset;
    }
    return { epoch: this.positions.epoch, profile, membership };
  }

  /**
   * Resolves when a change that may concern one of `users` is committed, or after `timeoutMs`.
   * Register before reading, so no commit can slip between the read and the wait.
   */
  waitForChange(interest: SyncInterest): { readonly changed: Promise<void>; cancel(): void } {
    let wake!: () => void;
    const changed = new Promise<void>((resolve) => (wake = resolve));
    const waiter: Waiter = { interest, wake: () => wake() };
    this.waiters.add(waiter);
    for (const user of interest.users) index(this.byUser, user, waiter);
    for (const room of interest.rooms) index(this.byRoom, room, waiter);
    return { changed, cancel: () => this.remove(waiter) };
  }

  /** Tells `observer` of every commit heard from now on, before any long-poll wakes for it. */
  observe(observer: CommitObserver): void {
    this.observers.push(observer);
  }

  /** Counts a long-poll that begins to wait: nothing this replica has heard of since its position is for it. */
  countPark(): void {
    this.parks.inc();
  }

  private onChange(change: ProjectionChange, size: number): void {
    this.advance(change);
    for (const observer of this.observers) observer.heard(change, size);
    if (change.users === undefined && change.rooms === undefined) {
      // Without the lists every waiter counts as concerned: a spurious wake-up is cheap, a missed one is not.
      this.wakeups.inc(this.waiters.size);
      this.wakeAll();
      return;
    }
    const woken = new Set<Waiter>();
    for (const user of change.users ?? []) for (const waiter of this.byUser.get(user) ?? []) woken.add(waiter);
    for (const room of change.rooms ?? []) for (const waiter of this.byRoom.get(room) ?? []) woken.add(waiter);
    this.wakeups.inc(woken.size);
    for (const waiter of woken) {
      this.remove(waiter);
      waiter.wake();
    }
  }

  private remove(waiter: Waiter): void {
    if (!this.waiters.delete(waiter)) return;
    for (const user of waiter.interest.users) unindex(this.byUser, user, waiter);
    for (const room of waiter.interest.rooms) unindex(this.byRoom, room, waiter);
  }

  private advance(change: ProjectionChange): void {
    const target = change.topic === this.config.topics.profile ? [...this.positions.profile] : [...this.positions.membership];
    if (change.partition >= target.length || (target[change.partition] ?? 0) >= change.nextOffset) return;
    target[change.partition] = change.nextOffset;
    this.positions =
      change.topic === this.config.topics.profile ? { ...this.positions, profile: target } : { ...this.positions, membership: target };
  }

  /** Catches up from the database (at start and after a reconnect); positions never move back. */
  private async reload(): Promise<void> {
    const stored = await this.readPositions(this.db);
    const max = (mine: readonly number[], theirs: readonly number[]) => mine.map((offset, index) => Math.max(offset, theirs[index] ?? 0));
    this.positions = {
      ...this.positions,
      profile: max(this.positions.profile, stored.profile),
      membership: max(this.positions.membership, stored.membership),
    };
  }

  private wakeAll(): void {
    const all = [...this.waiters];
    this.waiters.clear();
    this.byUser.clear();
    this.byRoom.clear();
    for (const waiter of all) waiter.wake();
  }
}

function index(map: Map<string, Set<Waiter>>, key: string, waiter: Waiter): void {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(waiter);
}

function unindex(map: Map<string, Set<Waiter>>, key: string, waiter: Waiter): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(waiter);
  if (set.size === 0) map.delete(key);
}
