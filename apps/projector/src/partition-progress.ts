const keyOf = (topic: string, partition: number) => `${topic}/${partition}`;

/**
 * A partition this consumer has not tried to apply for this long is no longer reported: it moved
 * to another consumer (a stuck partition is retried every few seconds, so it stays reported).
 */
const UNATTEMPTED_FORGOTTEN_AFTER_MS = 120_000;

interface Progress {
  readonly topic: string;
  readonly partition: number;
  /** Since when the partition has had records past its position without advancing; undefined when caught up. */
  behindSince: number | undefined;
  lastAttemptAt: number;
}

/**
 * How long each partition has gone without advancing while it had records to apply: a partition
 * stuck on a batch the projection cannot commit (the database refuses it, a bug) shows here long
 * before anyone notices the writes it stalls. Plain bookkeeping, read by the metrics.
 */
export class PartitionProgress {
  private readonly partitions = new Map<string, Progress>();

  /** A batch of the partition is about to be applied: it has records past its position. */
  pending(topic: string, partition: number, now = Date.now()): void {
    const progress = this.entry(topic, partition, now);
    progress.behindSince ??= now;
    progress.lastAttemptAt = now;
  }

  /** The partition's position moved to `nextOffset` (of `highWatermark` records in the partition). */
  advanced(topic: string, partition: number, nextOffset: number, highWatermark: number, now = Date.now()): void {
    const progress = this.entry(topic, partition, now);
    progress.behindSince = nextOffset >= highWatermark ? undefined : now;
    progress.lastAttemptAt = now;
  }

  /** Seconds each known partition has been stalled (0 when caught up or advancing). */
  stalledSeconds(now = Date.now()): { topic: string; partition: number; seconds: number }[] {
    for (const [key, progress] of this.partitions) {
      if (now - progress.lastAttemptAt > UNATTEMPTED_FORGOTTEN_AFTER_MS) this.partitions.delete(key);
    }
    return [...this.partitions.values()].map(({ topic, partition, behindSince }) => ({
      topic,
      partition,
      seconds: behindSince === undefined ? 0 : Math.max(0, now - behindSince) / 1000,
    }));
  }

  private entry(topic: string, partition: number, now: number): Progress {
    const key = keyOf(topic, partition);
    let progress = this.partitions.get(key);
    if (progress === undefined) {
      progress = { topic, partition, behindSince: undefined, lastAttemptAt: now };
      this.partitions.set(key, progress);
    }
    return progress;
  }
}
