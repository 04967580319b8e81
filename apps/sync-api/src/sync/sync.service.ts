import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import { MatrixErrors } from '@mx/matrix';
import { encodeSyncToken, fitsLayout, isBehind, requestedProfileFields, type SyncPositions } from '@mx/sync';
import { ProfileUpdatesReader, type ProfileUpdates } from './profile-updates.reader.js';
import { ProjectionWatcher } from './projection-watcher.js';
import type { SyncRequest } from './sync-request.js';

export const USERS_SECTION = 'org.matrix.msc4429.users';

export interface SyncResponse {
  next_batch: string;
  rooms: { join: Record<string, never>; invite: Record<string, never>; leave: Record<string, never>; knock: Record<string, never> };
  [USERS_SECTION]?: Record<string, { profile_updates: ProfileUpdates | null }>;
}

interface SyncResult {
  readonly positions: SyncPositions;
  readonly users: Map<string, ProfileUpdates>;
}

/** Builds `/sync` responses from the projection; parks incremental syncs until something relevant is committed. */
@Injectable()
export class SyncService {
  constructor(
    private readonly dataSource: DataSource,
    private readonly watcher: ProjectionWatcher,
    private readonly profiles: ProfileUpdatesReader,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  async sync(userId: string, request: SyncRequest, aborted: () => boolean): Promise<SyncResponse> {
    const fields = this.profileFields(request);
    const since = request.since && fitsLayout(request.since, this.watcher.current) ? request.since : undefined;
    if (!since || request.fullState) return this.respond(await this.snapshot(userId, fields, undefined));

    const deadline = Date.now() + request.timeoutMs;
    const interested = new Set([userId]);
    for (;;) {
      const wait = this.watcher.waitForChange(interested);
      if (isBehind(since, this.watcher.current)) {
        const result = await this.snapshot(userId, fields, since);
        if (result.users.size > 0 || Date.now() >= deadline || aborted()) {
          wait.cancel();
          return this.respond(result);
        }
      } else if (Date.now() >= deadline || aborted()) {
        wait.cancel();
        return this.respond({ positions: since, users: new Map() });
      }
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([wait.changed, new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()))))]);
      clearTimeout(timer);
      wait.cancel();
    }
  }

  private profileFields(request: SyncRequest): string[] {
    if (!request.filter) return [];
    if ('id' in request.filter) throw MatrixErrors.invalidParam(`Unknown filter ${request.filter.id}`);
    return requestedProfileFields(request.filter.inline, this.config.sync.maxProfileFields);
  }

  /** Positions and data read in one snapshot, so next_batch covers exactly what the response holds. */
  private snapshot(userId: string, fields: readonly string[], since: SyncPositions | undefined): Promise<SyncResult> {
    return this.dataSource.transaction('REPEATABLE READ', async (manager) => {
      const query = manager.query.bind(manager);
      const positions = await this.watcher.readPositions(query);
      if (fields.length === 0) return { positions, users: new Map() };
      const users = since
        ? await this.profiles.changedFields(query, [userId], fields, since)
        : await this.profiles.currentFields(query, [userId], fields);
      return { positions, users };
    });
  }

  private respond(result: SyncResult): SyncResponse {
    const response: SyncResponse = { next_batch: encodeSyncToken(result.positions), rooms: { join: {}, invite: {}, leave: {}, knock: {} } };
    if (result.users.size > 0) {
      response[USERS_SECTION] = Object.fromEntries([...result.users].map(([user, updates]) => [user, { profile_updates: updates }]));
    }
    return response;
  }
}
