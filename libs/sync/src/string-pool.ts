/**
 * One shared copy of each string seen recently. Each row read from PostgreSQL brings its own copy
 * of a user ID: the membership views of 10,000 syncing users named their co-members in some
 * 180,000 strings (about 10 MB), where 10,000 would do. Bounded: once `maxEntries` strings are
 * held it starts afresh, so it never holds more than that, and at worst shares less.
 */
export class StringPool {
  private readonly strings = new Map<string, string>();

  constructor(private readonly maxEntries: number) {}

  /** Strings held. */
  get size(): number {
    return this.strings.size;
  }

  /** The pool's copy of `value` (equal to it), which becomes the shared one when there was none. */
  intern(value: string): string {
    const shared = this.strings.get(value);
    if (shared !== undefined) return shared;
    if (this.strings.size >= this.maxEntries) this.strings.clear();
    this.strings.set(value, value);
    return value;
  }
}
