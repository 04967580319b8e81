import { Column, Entity, PrimaryColumn } from 'typeorm';

/** An event the projector validated and refused, with why; replays reach the same verdict. */
@Entity({ name: 'rejected_events' })
export class RejectedEventEntity {
  @PrimaryColumn({ name: 'event_id', type: 'text' })
  eventId!: string;

  @Column({ name: 'topic', type: 'text' })
  topic!: string;

  @Column({ name: 'log_partition', type: 'integer' })
  logPartition!: number;

  @Column({ name: 'log_offset', type: 'bigint' })
  logOffset!: string;

  @Column({ name: 'reason', type: 'text' })
  reason!: string;

  @Column({ name: 'rejected_ts', type: 'bigint' })
  rejectedTs!: string;
}
