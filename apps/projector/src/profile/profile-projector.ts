import { Inject, Injectable } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@mx/config';
import type { RecordBatch } from '@mx/event-log';
import { decodeProfileTopicEvent, type ProfileEvent, type ProfileFieldObserved } from '@mx/events';
import { foldProfileEvents, type RejectedProfileEvent } from '@mx/profile';
import { memberships, profileFields, type rejectedEvents, type Sql } from '@mx/storage';
import { BatchTransaction } from '../batch-transaction.js';
import { ProjectorMetrics } from '../projector-metrics.js';
import { latestObservedFields } from './fold-observed-fields.js';

/**
 * Applies batches of the profile topic to `profile_fields`, deterministically (the size limit is
 * decided in log order; rejections are returned to the batch transaction, which records them),
 * inside the shared exactly-once batch transaction.
 */
@Injectable()
export class ProfileProjector {
  constructor(
    private readonly batches: BatchTransaction,
    private readonly metrics: ProjectorMetrics,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  applyBatch(batch: RecordBatch): Promise<void> {
    return this.batches.run(batch, decodeProfileTopicEvent, async (tx, entries) => {
      const events: { offset: number; event: ProfileEvent }[] = [];
      const observed: { offset: number; entry: ProfileFieldObserved }[] = [];
      for (const { offset, entry } of entries) {
        if (entry.type === 'profile.field.observed') observed.push({ offset, entry });
        else events.push({ offset, event: entry });
      }
      const users = [...new Set(events.map(({ event }) => event.user_id))];
      const fold = foldProfileEvents(await this.currentProfiles(tx, users), events, this.config.profile.maxBytes);
      await profileFields.upsertLatest(tx, batch.partition, fold.changes);
      // Companion mode: names and avatars observed in member events, kept only when newer than the stored value.
      const observedChanges = latestObservedFields(observed);
      await profileFields.upsertObserved(tx, batch.partition, observedChanges);
      for (const rejection of fold.rejected) this.metrics.rejected.inc({ topic: batch.topic, reason: rejection.reason });
      const changedUsers = [...new Set([...fold.changes, ...observedChanges].map((change) => change.userId))];
      return {
        users: changedUsers,
        // The rooms the changed users are in, so the sync API wakes their co-members' long-polls.
        rooms: await memberships.joinedRoomIdsOfAny(tx, changedUsers),
        rejected: fold.rejected.map((rejected) => this.refusal(rejected)),
        // Observed names apply only when newer than the stored ones: what they changed is not known here.
        ...(observed.length === 0
          ? {
              profileChanges: fold.changes.map(({ offset, userId, field, isSet, value }) => ({ offset, userId, field, isSet, value })),
            }
          : {}),
      };
    });
  }

  private async currentProfiles(tx: Sql, users: readonly string[]): Promise<Map<string, Map<string, unknown>>> {
    const profiles = new Map<string, Map<string, unknown>>();
    if (users.length === 0) return profiles;
    for (const { userId, field, value } of await profileFields.setValues(tx, users)) {
      const profile = profiles.get(userId) ?? new Map<string, unknown>();
      profile.set(field, value);
      profiles.set(userId, profile);
    }
    return profiles;
  }

  /** What the writer of a rejected event answers its client (the fold's one reason: `profile_too_large`). */
  private refusal({ eventId, offset }: RejectedProfileEvent): rejectedEvents.RefusedEvent {
    return {
      eventId,
      offset,
      rejection: { errcode: 'M_PROFILE_TOO_LARGE', message: `The profile would exceed ${this.config.profile.maxBytes} bytes` },
    };
  }
}
