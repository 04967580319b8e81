/**
 * Coalesces concurrent appends into few requests: while one flush is in flight, new submissions
 * queue up; when it completes, everything queued goes out together (up to a weight limit per
 * flush). Each submission gets back the results of its own items, in order. At most one flush
 * runs at a time, and items are flushed in submission order, so per-key ordering is kept.
 *
 * An idempotent Kafka producer allows one request in flight per connection; without this, every
 * append would wait for the previous one's round trip, capping writes at one request per RTT.
 */
export class AppendCoalescer<Item, Result> {
  private readonly queue: { items: readonly Item[]; resolve: (results: Result[]) => void; reject: (error: unknown) => void }[] = [];
  private flushing = false;

  constructor(
    /** Sends the items of several submissions at once; returns one result per item, in order. */
    private readonly flush: (items: readonly Item[]) => Promise<Result[]>,
    private readonly limits: { readonly maxWeight: number; readonly weight: (item: Item) => number },
  ) {}

  submit(items: readonly Item[]): Promise<Result[]> {
    if (items.length === 0) return Promise.resolve([]);
    return new Promise<Result[]>((resolve, reject) => {
      this.queue.push({ items, resolve, reject });
      if (!this.flushing) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.flushing = true;
    try {
      while (this.queue.length > 0) {
        const taken = this.takeBatch();
        const items = taken.flatMap((entry) => entry.items);
        try {
          const results = await this.flush(items);
          if (results.length !== items.length) throw new Error(`flush returned ${results.length} results for ${items.length} items`);
          let start = 0;
          for (const entry of taken) {
            entry.resolve(results.slice(start, start + entry.items.length));
            start += entry.items.length;
          }
        } catch (error) {
          for (const entry of taken) entry.reject(error);
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** The queued submissions that fit the weight limit (always at least one, whatever its weight). */
  private takeBatch(): typeof this.queue {
    let weight = 0;
    let count = 0;
    for (const entry of this.queue) {
      const entryWeight = entry.items.reduce((sum, item) => sum + this.limits.weight(item), 0);
      if (count > 0 && weight + entryWeight > this.limits.maxWeight) break;
      weight += entryWeight;
      count += 1;
    }
    return this.queue.splice(0, count);
  }
}
