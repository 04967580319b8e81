import { Injectable } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Database, uiaSessions } from '@mx/storage';

const SESSION_LIFETIME_MS = 60 * 60 * 1000;

/** User-Interactive Auth sessions in PostgreSQL, so any writer replica can continue a session. */
@Injectable()
export class UiaSessionStore {
  constructor(private readonly db: Database) {}

  async create(): Promise<string> {
    const sessionId = randomBytes(18).toString('base64url');
    const now = Date.now();
    await uiaSessions.deleteCreatedBefore(this.db, now - SESSION_LIFETIME_MS);
    await uiaSessions.create(this.db, sessionId, now);
    return sessionId;
  }

  /** Marks a live, not yet completed session as completed; false when there is no such session. */
  complete(sessionId: string): Promise<boolean> {
    return uiaSessions.complete(this.db, sessionId, Date.now(), Date.now() - SESSION_LIFETIME_MS);
  }
}
