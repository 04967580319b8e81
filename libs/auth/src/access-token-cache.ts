import type { Requester } from './requester.js';

interface Entry {
  readonly requester: Requester;
  readonly expiresAt: number;
}

/**
 * Valid access tokens this process looked up recently, by the hex SHA-256 of the token: the
 * requester they stand for, for `ttlMs` after the lookup, at most `maxEntries` (the oldest go
 * first). Deleted tokens are forgotten as their deletion is announced; the time-to-live is only a
 * backstop. Unknown tokens are never cached.
 *
 * A lookup that overlaps a forgetting may have read the token before its deletion: `begin()` marks
 * the start of a lookup and `set()` drops the answer if anything was forgotten since.
 */
export class AccessTokenCache {
  private readonly entries = new Map<string, Entry>();
  private generation = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  get(hash: string): Requester | undefined {
    const entry = this.entries.get(hash);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.now()) {
      this.entries.delete(hash);
      return undefined;
    }
    return entry.requester;
  }

  /** Marks the start of a database lookup whose answer may be cached. */
  begin(): number {
    return this.generation;
  }

  /** Caches a lookup's answer, unless something was forgotten since the lookup began. */
  set(hash: string, requester: Requester, lookupBegan: number): void {
    if (lookupBegan !== this.generation || this.maxEntries === 0) return;
    this.entries.delete(hash);
    this.entries.set(hash, { requester, expiresAt: this.now() + this.ttlMs });
    while (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  forget(hashes: Iterable<string>): void {
    this.generation++;
    for (const hash of hashes) this.entries.delete(hash);
  }

  /** Forgets the tokens of a user's device, or of every device of the user. */
  forgetDevices(userId: string, deviceId?: string): void {
    this.generation++;
    for (const [hash, { requester }] of this.entries) {
      if (requester.userId === userId && (deviceId === undefined || requester.deviceId === deviceId)) this.entries.delete(hash);
    }
  }

  clear(): void {
    this.generation++;
    this.entries.clear();
  }
}
