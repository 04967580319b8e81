import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Access tokens are stored only as SHA-256 hashes. */
@Entity({ name: 'access_tokens' })
export class AccessTokenEntity {
  @PrimaryColumn({ name: 'token_hash', type: 'bytea' })
  tokenHash!: Buffer;

  @Column({ name: 'user_id', type: 'text' })
  userId!: string;

  @Column({ name: 'device_id', type: 'text' })
  deviceId!: string;

  @Column({ name: 'created_ts', type: 'bigint' })
  createdTs!: string;
}
