import { Injectable } from '@nestjs/common';
import type { EntityManager } from 'typeorm';
import type { RecordBatch } from '@mx/event-log';
import { decodeRoomLogEntry } from '@mx/events';
import { loadRoomStates } from '@mx/storage';
import { BatchTransaction } from '../batch-transaction.js';
import { ProjectorMetrics } from '../projector-metrics.js';
import { foldRoomEntries, type RoomFold } from './fold-room-entries.js';

/**
 * Applies batches of the membership topic: validates each proposed room event against the room's
 * state in log order, and in one transaction per partition batch stores the accepted events (the
 * per-room stream), the current state, the membership edges, the rejections, the partition's
 * position and the change notification.
 */
@Injectable()
export class RoomProjector {
  constructor(
    private readonly batches: BatchTransaction,
    private readonly metrics: ProjectorMetrics,
  ) {}

  applyBatch(batch: RecordBatch): Promise<void> {
    return this.batches.run(batch, decodeRoomLogEntry, async (manager, entries) => {
      const rooms = [...new Set(entries.map(({ entry }) => entry.room_id))];
      const users = [
        ...new Set(
          entries.flatMap(({ entry }) => (entry.type === 'room.event' ? [entry.event.sender, entry.event.state_key] : [entry.user_id])),
        ),
      ];
      const fold = foldRoomEntries(await loadRoomStates(manager.query.bind(manager), rooms, users), entries);
      await this.write(manager, batch, fold);
      for (const rejection of fold.rejected) this.metrics.rejected.inc({ topic: batch.topic, reason: rejection.reason.split(' ')[0] });
      return {
        rooms: [...new Set(fold.accepted.map(({ event }) => event.room_id))],
        users: [...new Set(fold.memberships.map((change) => change.userId))],
        rejectedOffsets: fold.rejected.map((rejection) => rejection.offset),
      };
    });
  }

  private async write(manager: EntityManager, batch: RecordBatch, fold: RoomFold): Promise<void> {
    const json = (value: unknown) => JSON.stringify(value);
    if (fold.createdRooms.length > 0) {
      await manager.query(
        `INSERT INTO rooms (room_id, creator, room_version, created_ts)
         SELECT r.room_id, r.creator, r.room_version, r.ts FROM jsonb_to_recordset($1::jsonb) AS r(room_id text, creator text, room_version text, ts bigint)
         ON CONFLICT (room_id) DO NOTHING`,
        [
          json(
            fold.createdRooms.map((room) => ({ room_id: room.roomId, creator: room.creator, room_version: room.roomVersion, ts: room.ts })),
          ),
        ],
      );
    }
    if (fold.accepted.length > 0) {
      const events = fold.accepted.map(({ offset, event }) => ({ ...event, log_offset: offset }));
      await manager.query(
        `INSERT INTO room_events (event_id, room_id, type, state_key, sender, origin_server_ts, content, log_partition, log_offset)
         SELECT e.event_id, e.room_id, e.type, e.state_key, e.sender, e.origin_server_ts, e.content, $2, e.log_offset
         FROM jsonb_to_recordset($1::jsonb) AS e(event_id text, room_id text, type text, state_key text, sender text, origin_server_ts bigint, content jsonb, log_offset bigint)
         ON CONFLICT (event_id) DO NOTHING`,
        [json(events), batch.partition],
      );
      // The current state: the last accepted event per (room, type, state_key).
      const latest = new Map(events.map((event) => [JSON.stringify([event.room_id, event.type, event.state_key]), event]));
      await manager.query(
        `INSERT INTO room_state (room_id, type, state_key, event_id)
         SELECT s.room_id, s.type, s.state_key, s.event_id FROM jsonb_to_recordset($1::jsonb) AS s(room_id text, type text, state_key text, event_id text)
         ON CONFLICT (room_id, type, state_key) DO UPDATE SET event_id = EXCLUDED.event_id`,
        [json([...latest.values()].map(({ room_id, type, state_key, event_id }) => ({ room_id, type, state_key, event_id })))],
      );
    }
    if (fold.memberships.length > 0) {
      await manager.query(
        `INSERT INTO memberships (room_id, user_id, membership, event_id, log_partition, log_offset, forgotten)
         SELECT m.room_id, m.user_id, m.membership, m.event_id, $2, m.log_offset, false
         FROM jsonb_to_recordset($1::jsonb) AS m(room_id text, user_id text, membership text, event_id text, log_offset bigint)
         ON CONFLICT (room_id, user_id) DO UPDATE SET membership = EXCLUDED.membership, event_id = EXCLUDED.event_id,
           log_partition = EXCLUDED.log_partition, log_offset = EXCLUDED.log_offset, forgotten = false`,
        [
          json(
            fold.memberships.map((change) => ({
              room_id: change.roomId,
              user_id: change.userId,
              membership: change.membership,
              event_id: change.eventId,
              log_offset: change.offset,
            })),
          ),
          batch.partition,
        ],
      );
    }
    for (const { roomId, userId } of fold.forgotten) {
      await manager.query('UPDATE memberships SET forgotten = true WHERE room_id = $1 AND user_id = $2', [roomId, userId]);
    }
    if (fold.rejected.length > 0) {
      await manager.query(
        `INSERT INTO rejected_events (event_id, topic, log_partition, log_offset, reason, rejected_ts)
         SELECT r.id, $2, $3, r.log_offset, r.reason, $4 FROM jsonb_to_recordset($1::jsonb) AS r(id text, log_offset bigint, reason text)
         ON CONFLICT (event_id) DO NOTHING`,
        [
          json(fold.rejected.map((rejection) => ({ id: rejection.id, log_offset: rejection.offset, reason: rejection.reason }))),
          batch.topic,
          batch.partition,
          Date.now(),
        ],
      );
    }
  }
}
