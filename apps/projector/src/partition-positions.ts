import { Injectable } from '@nestjs/common';
import { DataSource, type EntityManager } from 'typeorm';

const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

/**
 * The projection's own consumed position per topic partition, kept in the same transaction as
 * the rows it produced: the guard that makes each event take effect exactly once. A copy of the
 * committed positions stays in memory so that, on a partition assignment, the consumer can seek
 * to where the projection stands without awaiting the database (the in-transaction check stays
 * the real guard: a stale copy only means records are read again and skipped).
 */
@Injectable()
export class PartitionPositions {
  private readonly committed = new Map<string, number>();

  constructor(private readonly dataSource: DataSource) {}

  /** Loads every stored position (at start, before consuming). */
  async load(): Promise<void> {
    const rows: { topic: string; log_partition: number; next_offset: string }[] = await this.dataSource.query(
      'SELECT topic, log_partition, next_offset FROM projection_positions',
    );
    for (const row of rows) this.remember(row.topic, row.log_partition, Number(row.next_offset));
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

  /** Locks the partition's position row (creating it at 0) and returns the next offset to apply. */
  async lock(manager: EntityManager, topic: string, partition: number): Promise<number> {
    await manager.query(`INSERT INTO projection_positions (topic, log_partition, next_offset) VALUES ($1, $2, 0) ON CONFLICT DO NOTHING`, [
      topic,
      partition,
    ]);
    const rows: { next_offset: string }[] = await manager.query(
      'SELECT next_offset FROM projection_positions WHERE topic = $1 AND log_partition = $2 FOR UPDATE',
      [topic, partition],
    );
    return Number(rows[0]?.next_offset ?? 0);
  }

  async advance(manager: EntityManager, topic: string, partition: number, nextOffset: number): Promise<void> {
    await manager.query('UPDATE projection_positions SET next_offset = $3 WHERE topic = $1 AND log_partition = $2', [
      topic,
      partition,
      nextOffset,
    ]);
  }
}
