import { Injectable } from '@nestjs/common';
import { Database, projectionPositions } from '@mx/storage';

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * Where consumption resumes on each topic partition: this process's copy of the projection's
 * committed positions, so that on a partition assignment the consumer can seek to where the
 * projection stands without awaiting the database. The real guard is the position row each batch
 * transaction locks and advances (`projectionPositions.lockNext` / `advance`): a stale copy only
 * means records are read again and skipped.
 */
@Injectable()
export class ResumePositions {
  private readonly committed = new Map<string, number>();

  constructor(private readonly db: Database) {}

  /** Loads every stored position (at start, before consuming). */
  async load(): Promise<void> {
    for (const { topic, partition, nextOffset } of await projectionPositions.all(this.db)) this.remember(topic, partition, nextOffset);
  }

  /** Where consumption of a partition should resume, as far as this process knows. */
  resumeOffset(topic: string, partition: number): number | undefined {
    return this.committed.get(keyOf(topic, partition));
  }

  /** Records a position after its transaction committed. */
  remember(topic: string, partition: number, nextOffset: number): void {
    const key = keyOf(topic, partition);
    if ((this.committed.get(key) ?? -1) < nextOffset) this.committed.set(key, nextOffset);
  }
}
