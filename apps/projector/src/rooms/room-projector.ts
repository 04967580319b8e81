import { Injectable } from '@nestjs/common';
import type { RecordBatch } from '@mx/event-log';
import { decodeRoomLogEntry, type RoomEventEntry, type RoomForgetEntry, type RoomMemberObservedEntry } from '@mx/events';
import { foldRoomEntries } from '@mx/rooms';
import { loadRoomStates, memberships, roomEvents, roomState, rooms, type Sql } from '@mx/storage';
import { BatchTransaction, type BatchEffects } from '../batch-transaction.js';
import { ProjectorMetrics } from '../projector-metrics.js';
import { foldObservedMemberships, observedPairKey, type StoredMemberEvent } from './fold-observed-memberships.js';

/**
 * Applies batches of the membership topic: validates each proposed room event against the room's
 * state in log order, and in one transaction per partition batch stores the accepted events (the
 * per-room stream), the current state and the membership edges; the batch transaction records
 * the rejections the fold returns, with the partition's position and the change notification.
 */
@Injectable()
export class RoomProjector {
  constructor(
    private readonly batches: BatchTransaction,
    private readonly metrics: ProjectorMetrics,
  ) {}

  applyBatch(batch: RecordBatch): Promise<void> {
    return this.batches.run(batch, decodeRoomLogEntry, async (tx, all) => {
      const entries: { offset: number; entry: RoomEventEntry | RoomForgetEntry }[] = [];
      const observed: { offset: number; entry: RoomMemberObservedEntry }[] = [];
      for (const { offset, entry } of all) {
        if (entry.type === 'room.member_observed') observed.push({ offset, entry });
        else entries.push({ offset, entry });
      }
      const own = await this.applyProposed(tx, batch, entries);
      if (observed.length === 0) return own;
      const facts = await this.applyObserved(tx, batch, observed);
      return {
        rooms: [...new Set([...own.rooms, ...facts.rooms])],
        users: [...new Set([...own.users, ...facts.users])],
        rejected: own.rejected,
      };
    });
  }

  /** The project's own room commands (standalone mode): authorized against the room's state in log order. */
  private async applyProposed(
    tx: Sql,
    batch: RecordBatch,
    entries: readonly { offset: number; entry: RoomEventEntry | RoomForgetEntry }[],
  ): Promise<BatchEffects> {
    if (entries.length === 0) return { rooms: [], users: [], rejected: [] };
    const roomIds = [...new Set(entries.map(({ entry }) => entry.room_id))];
    const userIds = [
      ...new Set(
        entries.flatMap(({ entry }) => (entry.type === 'room.event' ? [entry.event.sender, entry.event.state_key] : [entry.user_id])),
      ),
    ];
    const fold = foldRoomEntries(await loadRoomStates(tx, roomIds, userIds), entries);
    await rooms.insertCreated(tx, fold.createdRooms);
    await roomEvents.insertAccepted(tx, batch.partition, fold.accepted);
    // The current state: the last accepted event per (room, type, state_key).
    await roomState.setCurrent(
      tx,
      fold.accepted.map(({ event }) => event),
    );
    await memberships.upsertLatest(tx, batch.partition, fold.memberships);
    await memberships.markForgotten(tx, fold.forgotten);
    for (const { rejection } of fold.rejected) this.metrics.rejected.inc({ topic: batch.topic, reason: rejection.errcode });
    return {
      rooms: [...new Set(fold.accepted.map(({ event }) => event.room_id))],
      users: [...new Set(fold.memberships.map((change) => change.userId))],
      rejected: fold.rejected,
    };
  }

  /**
   * Member events observed from the homeserver (companion mode): facts, applied without room
   * authorization when they are the current member event of their (room, user), and kept in the
   * membership history (`room_events`, as the project's own member events are). (The writer puts
   * the `displayname` / `avatar_url` they carry on the profile topic.)
   */
  private async applyObserved(
    tx: Sql,
    batch: RecordBatch,
    entries: readonly { offset: number; entry: RoomMemberObservedEntry }[],
  ): Promise<BatchEffects> {
    const pairs = [...new Map(entries.map(({ entry }) => [observedPairKey(entry.room_id, entry.user_id), entry])).values()].map(
      (entry) => ({ roomId: entry.room_id, userId: entry.user_id }),
    );
    const stored = new Map<string, StoredMemberEvent>(
      (await memberships.currentMemberEvents(tx, pairs)).map((row) => [observedPairKey(row.roomId, row.userId), row]),
    );
    const fold = foldObservedMemberships(stored, entries);
    // The membership history first: a sync window finds who joined or left in it there, as in standalone mode.
    await roomEvents.insertAccepted(tx, batch.partition, fold.history);
    await memberships.upsertObserved(tx, batch.partition, fold.memberships);
    return {
      rooms: [...new Set(fold.memberships.map((change) => change.roomId))],
      users: [...new Set(fold.memberships.map((change) => change.userId))],
      rejected: [],
    };
  }
}
