import { Column, Entity, PrimaryColumn } from 'typeorm';

@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryColumn({ name: 'user_id', type: 'text' })
  userId!: string;

  /** scrypt hash in PHC-like form; null for accounts that cannot log in with a password. */
  @Column({ name: 'password_hash', type: 'text', nullable: true })
  passwordHash!: string | null;

  @Column({ name: 'created_ts', type: 'bigint' })
  createdTs!: string;
}
