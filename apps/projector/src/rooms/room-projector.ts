import { Injectable } from '@nestjs/common';
import type { RecordBatch } from '@mx/event-log';
import { decodeRoomLogEntry } from '@mx/events';
import { foldRoomEntries } from '@mx/rooms';
import { loadRoomStates, memberships, roomEvents, roomState, rooms } from '@mx/storage';
import { BatchTransaction } from '../batch-transaction.js';
import { ProjectorMetrics } from '../projector-metrics.js';

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
    return this.batches.run(batch, decodeRoomLogEntry, async (tx, entries) => {
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
    });
  }
}
