import { Inject, Injectable } from '@nestjs/common';
import { PinoLogger } from 'nestjs-pino';
import { DataSource, type EntityManager } from 'typeorm';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { RecordBatch } from '@mx/event-log';
import { decodeProfileEvent, type ProfileEvent, UndecodableEventError } from '@mx/events';
import { encodeProjectionChange, projectionChannel } from '@mx/storage';
import { DeadLetters } from '../dead-letters.js';
import { PartitionPositions } from '../partition-positions.js';
import { ProjectorMetrics } from '../projector-metrics.js';
import { foldProfileEvents, type ProfileFold } from './fold-profile-events.js';

/**
 * Applies batches of the profile topic to `profile_fields`. One transaction per partition batch
 * holds the rows, the rejections, the partition's new position and the change notification, so
 * each event takes effect exactly once: the stored position is locked and records below it are
 * skipped.
 */
@Injectable()
export class ProfileProjector {
  constructor(
    private readonly dataSource: DataSource,
    private readonly positions: PartitionPositions,
    private readonly metrics: ProjectorMetrics,
    private readonly deadLetters: DeadLetters,
    private readonly logger: PinoLogger,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.logger.setContext(ProfileProjector.name);
  }

  async applyBatch(batch: RecordBatch): Promise<void> {
    const committed = await this.dataSource.transaction(async (manager): Promise<number | undefined> => {
      const nextOffset = await this.positions.lock(manager, batch.topic, batch.partition);
      const fresh = batch.records.filter((record) => record.offset >= nextOffset);
      if (fresh.length === 0 || batch.isStale()) return undefined;
      const events: { offset: number; event: ProfileEvent }[] = [];
      for (const record of fresh) {
        try {
          events.push({ offset: record.offset, event: decodeProfileEvent(record.value) });
        } catch (error) {
          if (!(error instanceof UndecodableEventError)) throw error;
          await this.deadLetters.record(manager, batch.topic, batch.partition, record, error.message);
        }
      }
      const users = [...new Set(events.map(({ event }) => event.user_id))];
      const fold = foldProfileEvents(await this.currentProfiles(manager, users), events, this.config.profile.maxBytes);
      await this.write(manager, batch, fold);
      const newPosition = fresh[fresh.length - 1]!.offset + 1;
      await this.positions.advance(manager, batch.topic, batch.partition, newPosition);
      const changedUsers = [...new Set(fold.changes.map((change) => change.userId))];
      // The rooms the changed users are in, so the sync API wakes their co-members' long-polls.
      const rooms: { room_id: string }[] =
        changedUsers.length === 0
          ? []
          : await manager.query(`SELECT DISTINCT room_id FROM memberships WHERE user_id = ANY($1) AND membership = 'join'`, [changedUsers]);
      await manager.query('SELECT pg_notify($1, $2)', [
        projectionChannel(this.config.database.schema),
        encodeProjectionChange({
          topic: batch.topic,
          partition: batch.partition,
          nextOffset: newPosition,
          users: changedUsers,
          rooms: rooms.map((row) => row.room_id),
        }),
      ]);
      this.metrics.applied.inc({ topic: batch.topic }, fresh.length);
      for (const rejection of fold.rejected) this.metrics.rejected.inc({ topic: batch.topic, reason: rejection.reason });
      return newPosition;
    });
    if (committed !== undefined) this.positions.remember(batch.topic, batch.partition, committed);
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
