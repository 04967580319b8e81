/**
 * Loads values by key in batches: keys asked for while batches are being read wait for the next
 * one (at most `maxBatch` keys each, at most `maxInFlight` batches at once), so N callers arriving
 * together cost about N / maxBatch reads instead of N, and a burst never queues more reads than
 * `maxInFlight` on a connection pool. Callers asking for a key already waiting share its promise.
 * `read` answers the keys it found; the others resolve undefined. A failed read rejects its batch.
 */
export class CoalescingLoader<V> {
  private readonly waiting = new Map<string, { readonly promise: Promise<V | undefined>; settle: Settle<V> }>();
  private inFlight = 0;

  constructor(
    private readonly read: (keys: readonly string[]) => Promise<ReadonlyMap<string, V>>,
    private readonly maxBatch = 500,
    private readonly maxInFlight = 2,
  ) {}

  load(key: string): Promise<V | undefined> {
    const already = this.waiting.get(key);
    if (already) return already.promise;
    let settle!: Settle<V>;
    const promise = new Promise<V | undefined>((resolve, reject) => (settle = { resolve, reject }));
    this.waiting.set(key, { promise, settle });
    this.pump();
    return promise;
  }

  private pump(): void {
    while (this.inFlight < this.maxInFlight && this.waiting.size > 0) {
      const batch = new Map<string, Settle<V>>();
      for (const [key, { settle }] of this.waiting) {
        if (batch.size >= this.maxBatch) break;
        batch.set(key, settle);
      }
      for (const key of batch.keys()) this.waiting.delete(key);
      this.inFlight++;
      this.read([...batch.keys()])
        .then(
          (values) => {
            for (const [key, settle] of batch) settle.resolve(values.get(key));
          },
          (error: unknown) => {
            for (const settle of batch.values()) settle.reject(error);
          },
        )
        .finally(() => {
          this.inFlight--;
          this.pump();
        });
    }
  }
}

interface Settle<V> {
  resolve(value: V | undefined): void;
  reject(error: unknown): void;
}
