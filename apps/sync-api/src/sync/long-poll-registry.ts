/** Long-polls one user may have parked on one replica; a newer one releases the oldest beyond it. */
export const MAX_PARKED_LONG_POLLS_PER_USER = 100;

/**
 * One parked `/sync` long-poll, as the registry sees it: it may be told that its access token may
 * have been deleted (check before answering), or released (answer now, as when draining).
 */
export class ParkedLongPoll {
  private tokenInDoubt = false;
  private isReleased = false;
  private wake: (() => void) | undefined;

  constructor(
    readonly userId: string,
    readonly tokenHash: string,
  ) {}

  /** Answer now: a newer long-poll of the same user took its place, or the client went away. */
  get released(): boolean {
    return this.isReleased;
  }

  /** Resolves at once when a signal is pending (see takeTokenDoubt and released), else on the next one. */
  signalled(): Promise<void> {
    if (this.tokenInDoubt || this.isReleased) return Promise.resolve();
    return new Promise((resolve) => (this.wake = resolve));
  }

  /** Whether the token may have been deleted since last asked (the token must be checked again). */
  takeTokenDoubt(): boolean {
    const doubt = this.tokenInDoubt;
    this.tokenInDoubt = false;
    return doubt;
  }

  doubtToken(): void {
    this.tokenInDoubt = true;
    this.fire();
  }

  release(): void {
    this.isReleased = true;
    this.fire();
  }

  private fire(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
}

/**
 * The long-polls parked on this replica, by access token (so a deletion of the token reaches
 * them) and by user (so one user cannot park more than `maxPerUser`: the oldest is released).
 */
export class LongPollRegistry {
  private readonly byToken = new Map<string, Set<ParkedLongPoll>>();
  private readonly byUser = new Map<string, Set<ParkedLongPoll>>();
  private count = 0;

  constructor(
    private readonly maxPerUser = MAX_PARKED_LONG_POLLS_PER_USER,
    /** Told of each long-poll released to make room for a newer one. */
    private readonly onReleased: (poll: ParkedLongPoll) => void = () => undefined,
  ) {}

  /** Long-polls registered. */
  get size(): number {
    return this.count;
  }

  /** Registers a long-poll; `leave` (idempotent) when it answers. */
  park(userId: string, tokenHash: string): { readonly poll: ParkedLongPoll; leave(): void } {
    const poll = new ParkedLongPoll(userId, tokenHash);
    add(this.byToken, tokenHash, poll);
    const mine = add(this.byUser, userId, poll);
    this.count++;
    while (mine.size > this.maxPerUser) {
      const oldest = mine.values().next().value!;
      this.remove(oldest);
      oldest.release();
      this.onReleased(oldest);
    }
    return { poll, leave: () => this.remove(poll) };
  }

  /**
   * Tokens were deleted (`'all'`: any may have been; `{userId}`: every token of that user): their
   * long-polls must check theirs.
   */
  tokensDeleted(deletion: readonly string[] | 'all' | { readonly userId: string }): void {
    if (deletion === 'all') {
      for (const polls of this.byToken.values()) for (const poll of polls) poll.doubtToken();
      return;
    }
    if ('userId' in deletion) {
      for (const poll of this.byUser.get(deletion.userId) ?? []) poll.doubtToken();
      return;
    }
    for (const hash of deletion) for (const poll of this.byToken.get(hash) ?? []) poll.doubtToken();
  }

  private remove(poll: ParkedLongPoll): void {
    if (!this.byUser.get(poll.userId)?.has(poll)) return;
    discard(this.byToken, poll.tokenHash, poll);
    discard(this.byUser, poll.userId, poll);
    this.count--;
  }
}

function add(map: Map<string, Set<ParkedLongPoll>>, key: string, poll: ParkedLongPoll): Set<ParkedLongPoll> {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(poll);
  return set;
}

function discard(map: Map<string, Set<ParkedLongPoll>>, key: string, poll: ParkedLongPoll): void {
  const set = map.get(key);
  if (!set) return;
  set.delete(poll);
  if (set.size === 0) map.delete(key);
}
