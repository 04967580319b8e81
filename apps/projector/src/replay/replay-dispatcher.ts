import type { RecordBatch } from '@mx/event-log';
import { batchBytes } from './record-batch-transfer.js';

/**
 * Somewhere batches are applied, one at a time in the order they were handed over (a worker
 * thread, or this thread). Resolves with the partition's position after the batch (undefined when
 * not known); retries transient failures itself, so a rejection means the lane is gone.
 */
export interface ApplyLane {
  apply(batch: RecordBatch): Promise<number | undefined>;
}

interface PartitionState {
  lane: number;
  /** Batches of the partition handed to its lane and not yet applied. */
  pending: number;
}

/**
 * Spreads the replay's partition batches over the lanes so that partitions are applied in
 * parallel, while the consumer already fetches the next batches:
 *  - a partition's batches go to one lane while any of them is pending there, and a lane applies
 *    in order, so each partition is applied in log order (a partition idle again may move to the
 *    least loaded lane: its last batch is committed before the next one starts);
 *  - `dispatch` resolves once the batch is handed over, but only while the bytes of the batches
 *    pending stay under `maxPendingBytes`, so memory stays bounded whatever the topics' size.
 */
export class ReplayDispatcher {
  private readonly partitions = new Map<string, PartitionState>();
  private readonly laneBytes: number[];
  private pendingBytes = 0;
  private pendingBatches = 0;
  private waiters: (() => void)[] = [];
  private failure: { readonly error: unknown } | undefined;

  constructor(
    private readonly lanes: readonly ApplyLane[],
    private readonly maxPendingBytes: number,
    private readonly onApplied: (topic: string, partition: number, position: number) => void,
  ) {
    if (lanes.length === 0) throw new Error('the replay needs at least one lane to apply batches');
    this.laneBytes = lanes.map(() => 0);
  }

  /** Why a lane failed, once one did (the replay cannot complete then). */
  get error(): { readonly error: unknown } | undefined {
    return this.failure;
  }

  /** Hands a batch to its partition's lane; resolves once the pending bytes allow it, rejects once a lane failed. */
  async dispatch(batch: RecordBatch): Promise<void> {
    while (this.failure === undefined && this.pendingBatches > 0 && this.pendingBytes >= this.maxPendingBytes) await this.changed();
    if (this.failure !== undefined) throw this.failure.error;
    const key = `${batch.topic}\u0000${batch.partition}`;
    let state = this.partitions.get(key);
    if (state === undefined) {
      state = { lane: this.leastLoadedLane(), pending: 0 };
      this.partitions.set(key, state);
    } else if (state.pending === 0) {
      state.lane = this.leastLoadedLane();
    }
    const lane = state.lane;
    const bytes = batchBytes(batch);
    // Only these outlive the call: a lane that moved the records elsewhere lets this thread drop them.
    const { topic, partition } = batch;
    state.pending += 1;
    this.laneBytes[lane]! += bytes;
    this.pendingBytes += bytes;
    this.pendingBatches += 1;
    const settled = (): void => {
      state.pending -= 1;
      this.laneBytes[lane]! -= bytes;
      this.pendingBytes -= bytes;
      this.pendingBatches -= 1;
      this.notify();
    };
    this.lanes[lane]!.apply(batch).then(
      (position) => {
        if (position !== undefined) this.onApplied(topic, partition, position);
        settled();
      },
      (error: unknown) => {
        this.failure ??= { error };
        settled();
      },
    );
  }

  /** Resolves once every batch handed over is applied; rejects once a lane failed. */
  async drained(): Promise<void> {
    while (this.failure === undefined && this.pendingBatches > 0) await this.changed();
    if (this.failure !== undefined) throw this.failure.error;
  }

  private leastLoadedLane(): number {
    let best = 0;
    for (let lane = 1; lane < this.laneBytes.length; lane += 1) if (this.laneBytes[lane]! < this.laneBytes[best]!) best = lane;
    return best;
  }

  private changed(): Promise<void> {
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * Applies a batch, again and again after transient failures (a lost connection: the batch
 * transaction rolled back, and skips on the next attempt whatever a concurrent commit applied), as
 * the consumer would retry it; `warn` hears about each failure.
 */
export async function applyWithRetry<T>(
  apply: () => Promise<T>,
  warn: (error: unknown, attempt: number, delayMs: number) => void,
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await apply();
    } catch (error) {
      const delayMs = Math.min(10_000, 500 * 2 ** (attempt - 1));
      warn(error, attempt, delayMs);
      await sleep(delayMs);
    }
  }
}
