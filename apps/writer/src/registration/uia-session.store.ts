import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { DataSource } from 'typeorm';

const SESSION_LIFETIME_MS = 60 * 60 * 1000;

/** User-Interactive Auth sessions in PostgreSQL, so any writer replica can continue a session. */
@Injectable()
export class UiaSessionStore {
  constructor(private readonly dataSource: DataSource) {}

  async create(): Promise<string> {
    const sessionId = randomBytes(18).toString('base64url');
    const now = Date.now();
    await this.dataSource.query('DELETE FROM uia_sessions WHERE created_ts < $1', [now - SESSION_LIFETIME_MS]);
    await this.dataSource.query('INSERT INTO uia_sessions (session_id, created_ts) VALUES ($1, $2)', [sessionId, now]);
    return sessionId;
  }

  /** Marks a live, not yet completed session as completed; false when there is no such session. */
  async complete(sessionId: string): Promise<boolean> {
    // Wrapped in a SELECT: TypeORM returns [rows, count] for a bare UPDATE … RETURNING.
    const rows: { completed: number }[] = await this.dataSource.query(
      `WITH completed AS (
         UPDATE uia_sessions SET completed_ts = $2
         WHERE session_id = $1 AND completed_ts IS NULL AND created_ts >= $3 RETURNING 1
       ) SELECT count(*)::int AS completed FROM completed`,
      [sessionId, Date.now(), Date.now() - SESSION_LIFETIME_MS],
    );
    return (rows[0]?.completed ?? 0) > 0;
  }
}
