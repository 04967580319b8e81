import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Next offset to apply, per topic partition; written in the same transaction as the projection rows. */
@Entity({ name: 'projection_positions' })
export class ProjectionPositionEntity {
  @PrimaryColumn({ name: 'topic', type: 'text' })
  topic!: string;

  @PrimaryColumn({ name: 'log_partition', type: 'integer' })
  logPartition!: number;

  @Column({ name: 'next_offset', type: 'bigint' })
  nextOffset!: string;
}
