import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** Latest value of one profile field of one user, with the log position it came from. */
@Entity({ name: 'profile_fields' })
@Index('profile_fields_position', ['logPartition', 'logOffset'])
export class ProfileFieldEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId!: string;

  @PrimaryColumn({ name: 'field', type: 'text' })
  field!: string;

  /** The JSON value; SQL NULL when the field was deleted (a JSON null is stored as jsonb 'null'). */
  @Column({ name: 'value', type: 'jsonb', nullable: true })
  value!: unknown;

  @Column({ name: 'is_set', type: 'boolean' })
  isSet!: boolean;

  @Column({ name: 'log_partition', type: 'integer' })
  logPartition!: number;

  @Column({ name: 'log_offset', type: 'bigint' })
  logOffset!: string;

  @Column({ name: 'updated_ts', type: 'bigint' })
  updatedTs!: string;
}
