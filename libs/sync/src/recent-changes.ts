import type { SyncPositions } from './sync-token.js';

/** A profile field change the projection applied: the field's new value, or its removal (`isSet` false). */
export interface ProfileFieldUpdate {
  readonly offset: number;
  readonly userId: string;
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
}

/**
 * A projector commit as a sync API replica heard it. `fromOffset` absent: where the batch began
 * is unknown. Membership topic: `users` / `rooms` absent when not listed. Profile topic:
 * `profileChanges` absent when not announced.
 */
export interface HeardCommit {
  readonly topic: 'profile' | 'membership';
  readonly partition: number;
  readonly fromOffset?: number;
  readonly nextOffset: number;
  readonly users?: readonly string[];
  readonly rooms?: readonly string[];
  readonly profileChanges?: readonly ProfileFieldUpdate[];
  /** What keeping it costs (its notification's size is a fair estimate). */
  readonly bytes: number;
}

interface Kept {
  readonly commit: HeardCommit;
  dropped: boolean;
  /** Profile topic: the profile changes of its window up to and including this commit's, counted since the window began. */
  readonly changesThrough: number;
}

/** A profile change as the per-user index keeps it: with its partition, against which a token's bound applies. */
interface IndexedChange {
  readonly partition: number;
  readonly change: ProfileFieldUpdate;
}

/** One user's profile changes in the window, in the order heard (offset order within a partition). */
interface UserChanges {
  readonly entries: IndexedChange[];
  /** Whether they span partitions (a layout whose partition count changed): their order then says nothing across them. */
  mixed: boolean;
}

/** One partition's contiguous run of known commits: every commit in [start, end) is in `commits`. */
interface PartitionWindow {
  start: number | undefined;
  end: number | undefined;
  commits: Kept[];
  /** Profile changes kept in this window since it began (evicted ones included). */
  changesHeard: number;
}

/**
 * The recent projector commits a sync API replica heard, per partition of both topics, with what
 * each changed, so that an incremental sync whose token lies inside the window can be answered
 * without reading the projection. A partition's window is a gap-free run of commits: a commit
 * whose start does not meet the previous one's end, or whose content is not known, restarts the
 * window after it. Bounded by `maxBytes`: the oldest commits (of any partition) go first, and a
 * token older than a partition's window start is not covered. `maxBytes` 0 keeps nothing.
 */
export class RecentChanges {
  private readonly windows = { profile: [] as PartitionWindow[], membership: [] as PartitionWindow[] };
  /** Every kept commit in the order heard, for eviction (dropped ones are skipped). */
  private queue: Kept[] = [];
  private queueHead = 0;
  /** Queued commits a restart dropped: compacted away once they are many (they hold memory until then). */
  private droppedQueued = 0;
  private bytes = 0;
  /** The profile changes in the windows by user, so that a sync can visit only those of the users it concerns. */
  private readonly byUser = new Map<string, UserChanges>();

  constructor(private readonly maxBytes: number) {}

  /** Estimated bytes kept. */
  get size(): number {
    return this.bytes;
  }

  heard(commit: HeardCommit): void {
    const window = this.windowOf(commit.topic, commit.partition);
    if (window.end !== undefined && commit.nextOffset <= window.end) return; // already heard
    const known =
      this.maxBytes > 0 &&
      commit.fromOffset !== undefined &&
      commit.bytes <= this.maxBytes &&
      (commit.topic === 'membership' ? commit.users !== undefined && commit.rooms !== undefined : commit.profileChanges !== undefined);
    if (!known || window.end === undefined || commit.fromOffset !== window.end) {
      this.restart(window, known ? commit.fromOffset : commit.nextOffset);
    }
    window.end = commit.nextOffset;
    if (!known) return;
    const changes = commit.profileChanges ?? [];
    window.changesHeard += changes.length;
    const kept: Kept = { commit, dropped: false, changesThrough: window.changesHeard };
    window.commits.push(kept);
    for (const change of changes) this.index(commit.partition, change);
    this.queue.push(kept);
    this.bytes += commit.bytes;
    this.evict();
  }

  /** Commits may have been missed (the listener reconnected): nothing before the next commit heard is known. */
  forgetAll(): void {
    for (const windows of [this.windows.profile, this.windows.membership]) {
      for (const window of windows) this.restart(window, undefined);
    }
    this.queue = [];
    this.queueHead = 0;
    this.droppedQueued = 0;
    this.bytes = 0;
    this.byUser.clear();
  }

  /**
   * Whether every commit after `since` up to `current` is known, in every partition of both
   * topics (a partition where they are equal needs nothing).
   */
  covers(since: SyncPositions, current: SyncPositions): boolean {
    return (
      coversTopic(this.windows.profile, since.profile, current.profile) &&
      coversTopic(this.windows.membership, since.membership, current.membership)
    );
  }

  /** As `covers`, for the membership topic alone. */
  coversMembership(since: readonly number[], current: readonly number[]): boolean {
    return coversTopic(this.windows.membership, since, current);
  }

  /**
   * Whether no membership-topic commit after `since` concerns `userId` (names them, or touches one
   * of `rooms`). Only meaningful where `covers` holds.
   */
  membershipQuiet(since: readonly number[], userId: string, rooms: ReadonlySet<string>): boolean {
    for (const [partition, window] of this.windows.membership.entries()) {
      for (let index = firstAfter(window.commits, since[partition] ?? 0); index < window.commits.length; index++) {
        const { commit } = window.commits[index]!;
        if (commit.users!.includes(userId) || commit.rooms!.some((room) => rooms.has(room))) return false;
      }
    }
    return true;
  }

  /**
   * Visits the profile changes at or after `since` and before `current`, per partition in offset
   * order. Only meaningful where `covers` holds. A callback rather than a generator: every woken
   * long-poll walks its window, and a generator's step allocates.
   */
  forEachProfileChangeSince(since: readonly number[], current: readonly number[], visit: (change: ProfileFieldUpdate) => void): void {
    const windows = this.windows.profile;
    for (let partition = 0; partition < windows.length; partition++) {
      const window = windows[partition]!;
      const from = since[partition] ?? 0;
      const until = current[partition] ?? 0;
      if (from >= until) continue;
      for (let index = firstAfter(window.commits, from); index < window.commits.length; index++) {
        const { commit } = window.commits[index]!;
        if (commit.fromOffset! >= until) break;
        for (const change of commit.profileChanges!) if (change.offset >= from && change.offset < until) visit(change);
      }
    }
  }

  /**
   * Visits the profile changes of `self` and of `others` at or after `since` and before `current`,
   * each user's in offset order. Only meaningful where `covers` holds. Walks whichever is shorter:
   * the window after the token (every user's changes), or these users' own changes. A user woken
   * seldom holds an old token, and with many users writing the window after it is long, while the
   * users they share a room with changed a few times at most.
   */
  forEachProfileChangeOf(
    self: string,
    others: ReadonlySet<string>,
    since: readonly number[],
    current: readonly number[],
    visit: (change: ProfileFieldUpdate) => void,
  ): void {
    if (others.size + 1 < this.profileChangesAfter(since, current)) {
      this.forEachChangeOfUser(self, since, current, visit);
      for (const user of others) if (user !== self) this.forEachChangeOfUser(user, since, current, visit);
      return;
    }
    this.forEachProfileChangeSince(since, current, (change) => {
      if (change.userId === self || others.has(change.userId)) visit(change);
    });
  }

  /** As `forEachProfileChangeSince`, for one user's changes, from the per-user index. */
  forEachChangeOfUser(
    userId: string,
    since: readonly number[],
    current: readonly number[],
    visit: (change: ProfileFieldUpdate) => void,
  ): void {
    const indexed = this.byUser.get(userId);
    if (!indexed) return;
    const { entries } = indexed;
    let first = 0;
    if (!indexed.mixed) {
      // One partition: the changes at or after the token are the last ones.
      first = entries.length;
      while (first > 0 && entries[first - 1]!.change.offset >= (since[entries[first - 1]!.partition] ?? 0)) first--;
    }
    for (let index = first; index < entries.length; index++) {
      const { partition, change } = entries[index]!;
      if (change.offset >= (since[partition] ?? 0) && change.offset < (current[partition] ?? 0)) visit(change);
    }
  }

  /** About how many profile changes lie after `since` (up to whole commits at either end). */
  private profileChangesAfter(since: readonly number[], current: readonly number[]): number {
    let count = 0;
    const windows = this.windows.profile;
    for (let partition = 0; partition < windows.length; partition++) {
      const { commits } = windows[partition]!;
      if ((since[partition] ?? 0) >= (current[partition] ?? 0) || commits.length === 0) continue;
      const first = firstAfter(commits, since[partition] ?? 0);
      if (first >= commits.length) continue;
      const start = commits[first]!;
      count += commits[commits.length - 1]!.changesThrough - (start.changesThrough - start.commit.profileChanges!.length);
    }
    return count;
  }

  private index(partition: number, change: ProfileFieldUpdate): void {
    let indexed = this.byUser.get(change.userId);
    if (!indexed) this.byUser.set(change.userId, (indexed = { entries: [], mixed: false }));
    const last = indexed.entries[indexed.entries.length - 1];
    if (last && last.partition !== partition) indexed.mixed = true;
    indexed.entries.push({ partition, change });
  }

  /** Takes a dropped commit's changes out of the per-user index (evicted ones are each user's oldest). */
  private unindex(commit: HeardCommit): void {
    if (commit.topic !== 'profile') return;
    for (const change of commit.profileChanges!) {
      const indexed = this.byUser.get(change.userId);
      if (!indexed) continue;
      const position = indexed.entries[0]?.change === change ? 0 : indexed.entries.findIndex((entry) => entry.change === change);
      if (position >= 0) indexed.entries.splice(position, 1);
      if (indexed.entries.length === 0) this.byUser.delete(change.userId);
    }
  }

  private windowOf(topic: HeardCommit['topic'], partition: number): PartitionWindow {
    const windows = this.windows[topic];
    while (windows.length <= partition) windows.push({ start: undefined, end: undefined, commits: [], changesHeard: 0 });
    return windows[partition]!;
  }

  private restart(window: PartitionWindow, start: number | undefined): void {
    for (const kept of window.commits) {
      kept.dropped = true;
      this.bytes -= kept.commit.bytes;
      this.unindex(kept.commit);
    }
    this.droppedQueued += window.commits.length;
    window.commits = [];
    window.start = start;
    if (start === undefined) window.end = undefined;
    if (this.droppedQueued > 1024 && this.droppedQueued * 2 > this.queue.length - this.queueHead) {
      this.queue = this.queue.slice(this.queueHead).filter((kept) => !kept.dropped);
      this.queueHead = 0;
      this.droppedQueued = 0;
    }
  }

  private evict(): void {
    while (this.bytes > this.maxBytes && this.queueHead < this.queue.length) {
      const oldest = this.queue[this.queueHead++]!;
      if (oldest.dropped) {
        this.droppedQueued--;
        continue;
      }
      const window = this.windowOf(oldest.commit.topic, oldest.commit.partition);
      // A partition's commits are queued in its order, so its oldest kept commit is this one.
      window.commits.shift();
      window.start = oldest.commit.nextOffset;
      oldest.dropped = true;
      this.bytes -= oldest.commit.bytes;
      this.unindex(oldest.commit);
    }
    if (this.queueHead > 1024 && this.queueHead * 2 > this.queue.length) {
      this.queue = this.queue.slice(this.queueHead);
      this.queueHead = 0;
    }
  }
}

function coversTopic(windows: readonly PartitionWindow[], since: readonly number[], current: readonly number[]): boolean {
  return current.every((end, partition) => {
    const from = since[partition] ?? 0;
    if (from === end) return true;
    const window = windows[partition];
    return from < end && window?.start !== undefined && window.start <= from && window.end !== undefined && window.end >= end;
  });
}

/** The index of the first commit ending after `offset` (commits are in offset order): a binary search, so a sync costs what its window holds, not the whole window. */
function firstAfter(commits: readonly Kept[], offset: number): number {
  let low = 0;
  let high = commits.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (commits[middle]!.commit.nextOffset <= offset) low = middle + 1;
    else high = middle;
  }
  return low;
}
