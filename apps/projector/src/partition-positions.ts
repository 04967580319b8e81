import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';

/**
 * The projection's own consumed position per topic partition, kept in the same transaction as
 * the rows it produced: the guard that makes each event take effect exactly once.
 */
@Injectable()
export class PartitionPositions {
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
