/**
 * Companion mode: the homeserver long-polls of one replica, shared across a client's requests.
 *
 * A companion `/sync` long-poll waits on both sides and answers with whichever has news first.
 * When the project's side wins (a profile update), the homeserver's long-poll has not answered
 * yet; cancelling it would make the client's next request, which carries the same homeserver
 * `since`, open a new one at once: one more homeserver `/sync` per profile update delivered (the
 * benchmark measured this as companion mode's extra latency under fan-out). Instead the poll is
 * left running, detached, and the next request with the same token and the same homeserver query
 * joins it. Its answer, should it come while no request is waiting, is kept for `keepAnswerMs`
 * (a homeserver answers the same `since` with the same or newer data, so a kept answer is as good
 * as a new request's). A failed poll is never shared.
 *
 * Bounded: beyond `maxEntries` polls, the least recently joined one no request waits on is aborted
 * (polls requests wait on are bounded by those requests); each poll ends by itself at its own
 * timeout, and a kept answer leaves after `keepAnswerMs`. Pure, no framework: `start` makes the
 * request.
 */
export interface SharedUpstreamPollsOptions {
  readonly maxEntries: number;
  readonly keepAnswerMs: number;
  readonly now?: () => number;
}

export interface JoinedPoll<T> {
  /** The homeserver's answer (the shared poll's). */
  readonly answer: Promise<T>;
  /** Whether an earlier request had started it. */
  readonly reused: boolean;
  /**
   * The request is done with the poll: `consumed` when it answered the client with the poll's
   * answer (nobody may use it again: the client's next `since` is newer), otherwise it stays for
   * the next request. Idempotent.
   */
  release(consumed: boolean): void;
}

interface Entry<T> {
  readonly answer: Promise<T>;
  readonly controller: AbortController;
  /** When the answer came (undefined while waiting). */
  settledAt: number | undefined;
  /** Requests joined and not yet released. */
  waiting: number;
}

export class SharedUpstreamPolls<T> {
  private readonly entries = new Map<string, Entry<T>>();
  private readonly now: () => number;

  constructor(private readonly options: SharedUpstreamPollsOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Polls held (waiting, or answered and kept). */
  get size(): number {
    return this.entries.size;
  }

  /** The poll for `key`: a running or kept one, else a new one made by `start`. */
  join(key: string, start: (signal: AbortSignal) => Promise<T>): JoinedPoll<T> {
    let entry = this.usable(key);
    const reused = entry !== undefined;
    if (entry) {
      // Most recently joined last.
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      entry = this.begin(key, start);
    }
    const joined = entry;
    joined.waiting++;
    if (!reused) this.evictBeyondBound();
    let released = false;
    return {
      answer: joined.answer,
      reused,
      release: (consumed) => {
        if (released) return;
        released = true;
        joined.waiting--;
        if (consumed && this.entries.get(key) === joined) this.entries.delete(key);
      },
    };
  }

  private usable(key: string): Entry<T> | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (entry.settledAt !== undefined && this.now() - entry.settledAt > this.options.keepAnswerMs) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  private begin(key: string, start: (signal: AbortSignal) => Promise<T>): Entry<T> {
    const controller = new AbortController();
    const answer = start(controller.signal);
    const entry: Entry<T> = { answer, controller, settledAt: undefined, waiting: 0 };
    this.entries.set(key, entry);
    answer.then(
      () => {
        entry.settledAt = this.now();
        // Kept for the next request a while, then let go.
        setTimeout(() => {
          if (this.entries.get(key) === entry) this.entries.delete(key);
        }, this.options.keepAnswerMs).unref();
      },
      () => {
        // A failure is the requests' of the moment, never shared with a later one.
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry;
  }

  /** Beyond the bound: the least recently joined polls no request waits on leave (a running one is aborted). */
  private evictBeyondBound(): void {
    if (this.entries.size <= this.options.maxEntries) return;
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.options.maxEntries) return;
      if (entry.waiting > 0) continue;
      this.entries.delete(key);
      entry.controller.abort();
    }
  }
}
