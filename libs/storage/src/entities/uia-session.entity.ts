import { Column, Entity, PrimaryColumn } from 'typeorm';

/** A User-Interactive Auth session; completed sessions cannot be used again. */
@Entity({ name: 'uia_sessions' })
export class UiaSessionEntity {
  @PrimaryColumn({ name: 'session_id', type: 'text' })
  sessionId!: string;

  @Column({ name: 'created_ts', type: 'bigint' })
  createdTs!: string;

  @Column({ name: 'completed_ts', type: 'bigint', nullable: true })
  completedTs!: string | null;
}
