import { Worker } from 'node:worker_threads';
import type { RecordBatch } from '@mx/event-log';
import { type ApplyLane, applyWithRetry } from './replay-dispatcher.js';
import { type PackedBatch, packBatch, transferList } from './record-batch-transfer.js';

/** What the replay posts to a worker thread. */
export type ToWorker = { readonly type: 'batch'; readonly id: number; readonly batch: PackedBatch } | { readonly type: 'close' };

/** What a worker thread posts back. */
export interface FromWorker {
  readonly type: 'applied';
  readonly id: number;
  /** The batch's partition's position after it (committed), -1 when not known. */
  readonly position: number;
}

/** How the replay tells about a failed attempt at a batch (it is retried). */
export function warnRetry(batch: Pick<RecordBatch, 'topic' | 'partition'>, error: unknown, attempt: number, delayMs: number): void {
  const reason = error instanceof Error ? error.message : String(error);
  process.stderr.write(
    `\nreplay: applying a batch of ${batch.topic}/${batch.partition} failed (attempt ${attempt}: ${reason}); retrying in ${delayMs} ms\n`,
  );
}

/** Applies batches in this thread, one at a time, with the projector's own code. */
export class InProcessLane implements ApplyLane {
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly applyBatch: (batch: RecordBatch) => Promise<void>,
    private readonly positionOf: (topic: string, partition: number) => number | undefined,
  ) {}

  apply(batch: RecordBatch): Promise<number | undefined> {
    const applied = this.tail.then(async () => {
      await applyWithRetry(
        () => this.applyBatch(batch),
        (error, attempt, delayMs) => warnRetry(batch, error, attempt, delayMs),
      );
      return this.positionOf(batch.topic, batch.partition);
    });
    this.tail = applied;
    return applied;
  }
}

/**
 * A worker thread with a projector of its own (its own Nest context and connection pool, in the
 * replay's schema) applying the batches posted to it, one at a time in order. Each batch's records
 * are moved to the thread (see packBatch), not copied record by record.
 */
export class WorkerLane implements ApplyLane {
  private readonly worker: Worker;
  private readonly waiting = new Map<number, { resolve: (position: number | undefined) => void; reject: (error: unknown) => void }>();
  private nextId = 0;
  private failure: Error | undefined;
  private closing = false;
  private readonly exited: Promise<number>;

  constructor(entry: URL, name: string) {
    this.worker = new Worker(entry, { name });
    this.worker.on('message', (message: FromWorker) => {
      const waiter = this.waiting.get(message.id);
      this.waiting.delete(message.id);
      waiter?.resolve(message.position < 0 ? undefined : message.position);
    });
    this.worker.on('error', (error: unknown) => this.fail(error instanceof Error ? error : new Error(String(error))));
    this.exited = new Promise((resolve) => {
      this.worker.on('exit', (code) => {
        if (!this.closing || this.waiting.size > 0) this.fail(new Error(`replay worker ${name} exited (code ${code})`));
        resolve(code);
      });
    });
  }

  apply(batch: RecordBatch): Promise<number | undefined> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const packed = packBatch(batch);
    return new Promise((resolve, reject) => {
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'batch', id, batch: packed } satisfies ToWorker, transferList(packed));
    });
  }

  /** Lets the thread finish what it was given, close its projector and exit. */
  async close(timeoutMs = 30_000): Promise<void> {
    this.closing = true;
    if (!this.failure) this.worker.postMessage({ type: 'close' } satisfies ToWorker);
    const timer = setTimeout(() => void this.worker.terminate(), timeoutMs);
    await this.exited;
    clearTimeout(timer);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiting.values()) waiter.reject(this.failure);
    this.waiting.clear();
  }
}
