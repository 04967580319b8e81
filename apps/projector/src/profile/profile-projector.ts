import { Inject, Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { RecordBatch } from '@mx/event-log';
import { decodeProfileEvent } from '@mx/events';
import { BatchTransaction } from '../batch-transaction.js';
import { ProjectorMetrics } from '../projector-metrics.js';
import { foldProfileEvents, type ProfileFold } from './fold-profile-events.js';

/**
 * Applies batches of the profile topic to `profile_fields`, deterministically (the size limit is
 * decided in log order; rejections are recorded), inside the shared exactly-once batch
 * transaction.
 */
@Injectable()
export class ProfileProjector {
  constructor(
    private readonly batches: BatchTransaction,
    private readonly metrics: ProjectorMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  applyBatch(batch: RecordBatch): Promise<void> {
    return this.batches.run(batch, decodeProfileEvent, async (manager, entries) => {
      const events = entries.map(({ offset, entry }) => ({ offset, event: entry }));
      const users = [...new Set(events.map(({ event }) => event.user_id))];
      const fold = foldProfileEvents(await this.currentProfiles(manager, users), events, this.config.profile.maxBytes);
      await this.write(manager, batch, fold);
      for (const rejection of fold.rejected) this.metrics.rejected.inc({ topic: batch.topic, reason: rejection.reason });
      const changedUsers = [...new Set(fold.changes.map((change) => change.userId))];
      // The rooms the changed users are in, so the sync API wakes their co-members' long-polls.
      const rooms: { room_id: string }[] =
        changedUsers.length === 0
          ? []
          : await manager.query(`SELECT DISTINCT room_id FROM memberships WHERE user_id = ANY($1) AND membership = 'join'`, [changedUsers]);
      return {
        users: changedUsers,
        rooms: rooms.map((row) => row.room_id),
        rejectedOffsets: fold.rejected.map((rejection) => rejection.offset),
      };
    });
  }

  private async currentProfiles(manager: EntityManager, users: readonly string[]): Promise<Map<string, Map<string, unknown>>> {
    const profiles = new Map<string, Map<string, unknown>>();
    if (users.length === 0) return profiles;
    const rows: { user_id: string; field: string; value: unknown }[] = await manager.query(
      'SELECT user_id, field, value FROM profile_fields WHERE user_id = ANY($1) AND is_set',
      [users],
    );
    for (const row of rows) {
      const profile = profiles.get(row.user_id) ?? new Map<string, unknown>();
      profile.set(row.field, row.value);
      profiles.set(row.user_id, profile);
    }
    return profiles;
  }

  private async write(manager: EntityManager, batch: RecordBatch, fold: ProfileFold): Promise<void> {
    if (fold.changes.length > 0) {
      await manager.query(
        `INSERT INTO profile_fields (user_id, field, value, is_set, log_partition, log_offset, updated_ts)
         SELECT c.user_id, c.field, CASE WHEN c.is_set THEN c.value ELSE NULL END, c.is_set, $2, c.log_offset, c.updated_ts
         FROM jsonb_to_recordset($1::jsonb) AS c(user_id text, field text, value jsonb, is_set boolean, log_offset bigint, updated_ts bigint)
         ON CONFLICT (user_id, field) DO UPDATE SET
           value = EXCLUDED.value, is_set = EXCLUDED.is_set, log_partition = EXCLUDED.log_partition,
           log_offset = EXCLUDED.log_offset, updated_ts = EXCLUDED.updated_ts`,
        [
          JSON.stringify(
            fold.changes.map((change) => ({
              user_id: change.userId,
              field: change.field,
              value: change.value,
              is_set: change.isSet,
              log_offset: change.offset,
              updated_ts: change.ts,
            })),
          ),
          batch.partition,
        ],
      );
    }
    if (fold.rejected.length > 0) {
      await manager.query(
        `INSERT INTO rejected_events (event_id, topic, log_partition, log_offset, reason, rejected_ts)
         SELECT r.event_id, $2, $3, r.log_offset, r.reason, $4
         FROM jsonb_to_recordset($1::jsonb) AS r(event_id text, log_offset bigint, reason text)
         ON CONFLICT (event_id) DO NOTHING`,
        [
          JSON.stringify(
            fold.rejected.map((rejection) => ({
              event_id: rejection.eventId,
              log_offset: rejection.offset,
              // `<errcode> <reason>`: what the writer answers its client.
              reason: `M_PROFILE_TOO_LARGE The profile would exceed ${this.config.profile.maxBytes} bytes`,
            })),
          ),
          batch.topic,
          batch.partition,
          Date.now(),
        ],
      );
    }
  }
}
