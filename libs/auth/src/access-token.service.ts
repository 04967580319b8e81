import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { generateAccessToken, hashAccessToken } from './access-token.js';
import type { Requester } from './requester.js';

/** Issues and resolves access tokens (stored hashed in PostgreSQL). */
@Injectable()
export class AccessTokenService {
  constructor(private readonly dataSource: DataSource) {}

  async resolve(token: string): Promise<Requester | null> {
    const rows: { user_id: string; device_id: string }[] = await this.dataSource.query(
      'SELECT user_id, device_id FROM access_tokens WHERE token_hash = $1',
      [hashAccessToken(token)],
    );
    const row = rows[0];
    return row ? { userId: row.user_id, deviceId: row.device_id } : null;
  }

  /** Creates a token for an existing device; runs inside the caller's transaction when given one. */
  async issue(requester: Requester, query: DataSource['query'] = this.dataSource.query.bind(this.dataSource)): Promise<string> {
    const token = generateAccessToken();
    await query('INSERT INTO access_tokens (token_hash, user_id, device_id, created_ts) VALUES ($1, $2, $3, $4)', [
      hashAccessToken(token),
      requester.userId,
      requester.deviceId,
      Date.now(),
    ]);
    return token;
  }
}
