import { Injectable } from '@nestjs/common';
import { Database } from '@mx/storage';
import type { ReadinessProbe } from './readiness-probe.js';

/** Ready while the database answers. */
@Injectable()
export class DatabaseReadinessProbe implements ReadinessProbe {
  readonly name = 'database';

  constructor(private readonly db: Database) {}

  check(): Promise<void> {
    return this.db.ping();
  }
}
