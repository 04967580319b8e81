import { ProfileSize } from './profile-size.js';

/** What a cached profile answers: its size and which fields it has (values are not kept). */
export interface CachedProfile {
  readonly bytes: number;
  bytesWith(field: string, value: unknown): number;
  has(field: string): boolean;
}

/** A committed projection batch of the profile topic, as announced (projection-changes.ts). */
export interface ProjectedProfileBatch {
  readonly partition: number;
  /** The batch's first offset; unknown: every listed user counts as changed by someone else. */
  readonly fromOffset?: number;
  readonly nextOffset: number;
  /** Users whose profile the batch changed; absent when too many to list (every user counts as changed). */
  readonly users?: readonly string[];
}

/** The change an own write made, applied to the cached profile once the write was accepted. */
export type OwnProfileChange =
  { readonly kind: 'set'; readonly field: string; readonly value: unknown } | { readonly kind: 'delete'; readonly field: string };

/** A read of a profile from the projection, begun before the read: stored only if nothing outdated it meanwhile. */
export interface ProfileFill {
  store(fields: Iterable<readonly [string, unknown]>): CachedProfile;
}

/** An own write of a profile, from before it is appended until its outcome is known. */
export interface OwnProfileWrite {
  /** The broker acknowledged the write's records at these positions (so the projector's batch holding them is recognized as own). */
  appended(positions: readonly { readonly partition: number; readonly offset: number }[]): void;
  /** The projection applied the write: the cached profile takes the change. */
  accepted(change: OwnProfileChange): void;
  /** Refused, or outcome unknown: the cached profile is forgotten. */
  failed(): void;
}

/** Approximate heap bytes of one cached profile, besides its fields. */
const ENTRY_OVERHEAD_BYTES = 240;
/** Approximate heap bytes of one cached field, besides its name. */
const FIELD_OVERHEAD_BYTES = 72;

interface Entry {
  readonly size: ProfileSize;
  cost: number;
}

interface PendingFill {
  valid: boolean;
}

/**
 * A batch that held records not known as own while some own writes were not acknowledged yet
 * (the announcement overtook an acknowledgement): decided once they are.
 */
interface Verdict {
  readonly partition: number;
  /** Offsets of the batch not known as own yet. */
  readonly unknown: Set<number>;
  readonly users: readonly string[] | undefined;
  /** Own writes not acknowledged when the batch was announced. */
  readonly waiting: Set<number>;
}

interface InFlight {
  count: number;
  /** Two own writes of the user overlapped: their order in the log is unknown here, the cached profile is forgotten. */
  overlapped: boolean;
}

function costOf(userId: string, size: ProfileSize): number {
  let cost = ENTRY_OVERHEAD_BYTES + 2 * userId.length;
  for (const field of size.fields()) cost += FIELD_OVERHEAD_BYTES + 2 * field.length;
  return cost;
}

/**
 * Users' current profile sizes and field sets as the projection holds them, for a writer's prompt
 * checks (size limit, "is the field set?") without a query: filled on first read, updated by the
 * replica's own accepted writes, forgotten when the projection changes a user otherwise (a batch
 * the replica did not write alone), cleared when announcements may have been missed. Bounded by
 * an estimate of its heap bytes, least recently used first out. No framework, no I/O.
 *
 * An entry may still be stale (an announcement not heard yet, a listener that is reconnecting):
 * callers only trust it to let a write go ahead, confirm any refusal against the database, and
 * leave the final word to the projector, whose check is authoritative.
 */
export class ProfileSizeCache {
  private readonly entries = new Map<string, Entry>();
  private totalCost = 0;
  private enabled = false;
  private readonly pendingFills = new Map<string, Set<PendingFill>>();
  private readonly inFlight = new Map<string, InFlight>();
  /** partition → offset → user of own records the projection has not announced yet. */
  private readonly ownOffsets = new Map<number, Map<number, string>>();
  /** Own writes begun and not acknowledged (nor finished) yet. */
  private readonly unacked = new Set<number>();
  private nextWriteId = 0;
  private verdicts: Verdict[] = [];

  constructor(private readonly maxBytes: number) {}

  /** Number of cached profiles. */
  get size(): number {
    return this.entries.size;
  }

  /** Estimated heap bytes of the cached profiles. */
  get bytes(): number {
    return this.totalCost;
  }

  /** Starts caching (once announcements are heard); until then every lookup misses and nothing is stored. */
  enable(): void {
    this.enabled = true;
  }

  /** Forgets everything: announcements may have been missed. */
  clear(): void {
    this.entries.clear();
    this.totalCost = 0;
    this.ownOffsets.clear();
    this.verdicts = [];
    for (const fills of this.pendingFills.values()) for (const fill of fills) fill.valid = false;
  }

  /** The cached profile of `userId`, if any (and marks it recently used). */
  lookup(userId: string): CachedProfile | undefined {
    const entry = this.entries.get(userId);
    if (!entry) return undefined;
    this.entries.delete(userId);
    this.entries.set(userId, entry);
    return entry.size;
  }

  /** Call before reading the user's profile from the projection; store what was read with the result. */
  beginFill(userId: string): ProfileFill {
    const pending: PendingFill = { valid: this.enabled };
    let fills = this.pendingFills.get(userId);
    if (!fills) this.pendingFills.set(userId, (fills = new Set<PendingFill>()));
    fills.add(pending);
    return {
      store: (fields) => {
        const size = new ProfileSize(fields);
        const left = this.pendingFills.get(userId);
        left?.delete(pending);
        if (left?.size === 0) this.pendingFills.delete(userId);
        if (pending.valid && this.enabled) this.put(userId, size);
        return size;
      },
    };
  }

  /** Call before appending a write of the user's profile. */
  beginWrite(userId: string): OwnProfileWrite {
    const before = this.entries.get(userId);
    const flight = this.inFlight.get(userId) ?? { count: 0, overlapped: false };
    if (flight.count > 0) flight.overlapped = true;
    flight.count += 1;
    this.inFlight.set(userId, flight);
    const id = this.nextWriteId++;
    this.unacked.add(id);
    let done = false;
    const positions: { partition: number; offset: number }[] = [];
    const finish = (change: OwnProfileChange | undefined) => {
      if (done) return;
      done = true;
      this.acknowledged(id, []);
      flight.count -= 1;
      const entry = this.entries.get(userId);
      // Applied only to the entry the write started from, and only when no other own write of the user overlapped.
      if (change && entry && entry === before && !flight.overlapped) {
        if (change.kind === 'set') entry.size.set(change.field, change.value);
        else entry.size.delete(change.field);
        this.recost(userId, entry);
        // A read begun before the write was projected may miss it.
        this.invalidateFills(userId);
      } else {
        this.forget(userId);
        // Records never projected are not announced: let them go (announced after all, they count as someone else's).
        for (const { partition, offset } of positions) this.ownOffsets.get(partition)?.delete(offset);
      }
      if (flight.count === 0) this.inFlight.delete(userId);
    };
    return {
      appended: (appended) => {
        if (done) return;
        if (this.enabled) {
          for (const { partition, offset } of appended) {
            positions.push({ partition, offset });
            let offsets = this.ownOffsets.get(partition);
            if (!offsets) this.ownOffsets.set(partition, (offsets = new Map<number, string>()));
            offsets.set(offset, userId);
          }
        }
        this.acknowledged(id, appended);
      },
      accepted: (change) => finish(change),
      failed: () => finish(undefined),
    };
  }

  /**
   * The projection committed a batch of the profile topic: every user it changed is forgotten (every
   * user, when it does not say which), unless the batch held only this replica's own records (their
   * writes update the entries).
   */
  projected(batch: ProjectedProfileBatch): void {
    const { fromOffset, nextOffset } = batch;
    const offsets = this.ownOffsets.get(batch.partition);
    const own = new Set<number>();
    if (offsets) {
      for (const offset of offsets.keys()) {
        if (offset >= nextOffset) continue;
        offsets.delete(offset);
        if (fromOffset !== undefined && offset >= fromOffset) own.add(offset);
      }
      if (offsets.size === 0) this.ownOffsets.delete(batch.partition);
    }
    if (fromOffset === undefined) {
      this.changedByOthers(batch.users);
      return;
    }
    // A batch of own records only changed own users, whose writes update their entries (listed or not).
    const unknownCount = nextOffset - fromOffset - own.size;
    if (unknownCount <= 0) return;
    if (unknownCount > this.unacked.size) {
      this.changedByOthers(batch.users);
      return;
    }
    // Some own acknowledgements may not have arrived yet: decide once they have.
    const unknown = new Set<number>();
    for (let offset = fromOffset; offset < nextOffset; offset += 1) if (!own.has(offset)) unknown.add(offset);
    this.verdicts.push({ partition: batch.partition, unknown, users: batch.users, waiting: new Set(this.unacked) });
  }

  /** An own write was acknowledged at `positions` (none: it finished without). */
  private acknowledged(id: number, positions: readonly { readonly partition: number; readonly offset: number }[]): void {
    if (!this.unacked.delete(id)) return;
    if (this.verdicts.length === 0) return;
    const pending: Verdict[] = [];
    const decided: Verdict[] = [];
    for (const verdict of this.verdicts) {
      for (const { partition, offset } of positions) if (partition === verdict.partition) verdict.unknown.delete(offset);
      verdict.waiting.delete(id);
      if (verdict.unknown.size === 0) continue;
      (verdict.waiting.size === 0 ? decided : pending).push(verdict);
    }
    this.verdicts = pending;
    for (const verdict of decided) this.changedByOthers(verdict.users);
  }

  /** A batch held records of others: the users it changed are forgotten (all, when it does not say which). */
  private changedByOthers(users: readonly string[] | undefined): void {
    if (!users) this.clear();
    else for (const userId of users) this.forget(userId);
  }

  private forget(userId: string): void {
    const entry = this.entries.get(userId);
    if (entry) {
      this.entries.delete(userId);
      this.totalCost -= entry.cost;
    }
    this.invalidateFills(userId);
  }

  private invalidateFills(userId: string): void {
    for (const fill of this.pendingFills.get(userId) ?? []) fill.valid = false;
  }

  private put(userId: string, size: ProfileSize): void {
    this.forget(userId);
    const entry: Entry = { size, cost: costOf(userId, size) };
    if (entry.cost > this.maxBytes) return;
    this.entries.set(userId, entry);
    this.totalCost += entry.cost;
    this.evict();
  }

  private recost(userId: string, entry: Entry): void {
    const cost = costOf(userId, entry.size);
    this.totalCost += cost - entry.cost;
    entry.cost = cost;
    if (cost > this.maxBytes) this.forget(userId);
    this.evict();
  }

  private evict(): void {
    while (this.totalCost > this.maxBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.forget(oldest.value);
    }
  }
}
