/**
 * A least-recently-used map bounded both by entries and by the bytes its values are said to cost:
 * adding past either bound drops the least recently used entries until both hold again. A value
 * costing more than the whole byte bound is not kept at all. `onDropped` hears of every entry that
 * leaves, however (replaced, deleted or pushed out), so an index kept beside it can follow.
 */
export class ByteBoundedLru<V> {
  private readonly entries = new Map<string, { readonly value: V; readonly cost: number }>();
  private totalBytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly onDropped: (key: string, value: V) => void = () => undefined,
  ) {}

  /** The sum of the costs of the entries held; never above `maxBytes`. */
  get bytes(): number {
    return this.totalBytes;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The value, now the most recently used. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` as the most recently used entry, unless it alone costs more than the bound. */
  set(key: string, value: V, cost: number): void {
    this.delete(key);
    if (cost > this.maxBytes || this.maxEntries === 0) return;
    this.entries.set(key, { value, cost });
    this.totalBytes += cost;
    while (this.entries.size > this.maxEntries || this.totalBytes > this.maxBytes) {
      this.delete(this.entries.keys().next().value!);
    }
  }

  delete(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    this.totalBytes -= entry.cost;
    this.onDropped(key, entry.value);
  }

  clear(): void {
    for (const key of [...this.entries.keys()]) this.delete(key);
  }
}
