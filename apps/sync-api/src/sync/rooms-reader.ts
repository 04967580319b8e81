import { Injectable } from '@nestjs/common';
import type { DataSource } from 'typeorm';
import type { Membership } from '@mx/rooms';
import type { SyncEvent, SyncPositions } from '@mx/sync';

type Query = DataSource['query'];

export interface OwnMembership {
  readonly roomId: string;
  readonly membership: Membership;
  readonly eventId: string;
  readonly partition: number;
  readonly offset: number;
  readonly forgotten: boolean;
}

interface EventRow {
  room_id: string;
  event_id: string;
  type: string;
  state_key: string;
  sender: string;
  origin_server_ts: string;
  content: Record<string, unknown>;
  log_partition: number;
  log_offset: string;
}

const EVENT_COLUMNS = 'e.room_id, e.event_id, e.type, e.state_key, e.sender, e.origin_server_ts, e.content, e.log_partition, e.log_offset';

export interface WindowEvent extends SyncEvent {
  readonly offset: number;
}

function toEvent(row: EventRow): WindowEvent {
  return {
    event_id: row.event_id,
    type: row.type,
    state_key: row.state_key,
    sender: row.sender,
    origin_server_ts: Number(row.origin_server_ts),
    content: row.content,
    unsigned: {},
    offset: Number(row.log_offset),
  };
}

function byRoom(rows: readonly EventRow[]): Map<string, WindowEvent[]> {
  const rooms = new Map<string, WindowEvent[]>();
  for (const row of rows) {
    const list = rooms.get(row.room_id) ?? [];
    list.push(toEvent(row));
    rooms.set(row.room_id, list);
  }
  return rooms;
}

/** Reads the room projection for /sync, inside the caller's snapshot. Every query is indexed. */
@Injectable()
export class RoomsReader {
  async memberships(query: Query, userId: string): Promise<OwnMembership[]> {
    const rows: {
      room_id: string;
      membership: Membership;
      event_id: string;
      log_partition: number;
      log_offset: string;
      forgotten: boolean;
    }[] = await query('SELECT room_id, membership, event_id, log_partition, log_offset, forgotten FROM memberships WHERE user_id = $1', [
      userId,
    ]);
    return rows.map((row) => ({
      roomId: row.room_id,
      membership: row.membership,
      eventId: row.event_id,
      partition: row.log_partition,
      offset: Number(row.log_offset),
      forgotten: row.forgotten,
    }));
  }

  async joinedRoomIds(query: Query, userId: string): Promise<string[]> {
    const rows: { room_id: string }[] = await query(`SELECT room_id FROM memberships WHERE user_id = $1 AND membership = 'join'`, [userId]);
    return rows.map((row) => row.room_id);
  }

  /** Per room, the last `count` events (initial sync), in log order. */
  async latestEvents(query: Query, roomIds: readonly string[], count: number): Promise<Map<string, WindowEvent[]>> {
    if (roomIds.length === 0) return new Map();
    const rows: EventRow[] = await query(
      `SELECT ${EVENT_COLUMNS} FROM unnest($1::text[]) AS r(room_id)
       CROSS JOIN LATERAL (SELECT * FROM room_events WHERE room_id = r.room_id ORDER BY log_offset DESC LIMIT $2) AS e
       ORDER BY e.room_id, e.log_offset`,
      [roomIds, count],
    );
    return byRoom(rows);
  }

  /** Per room, the last `count` events after `since`, in log order. */
  async eventsSince(query: Query, roomIds: readonly string[], since: SyncPositions, count: number): Promise<Map<string, WindowEvent[]>> {
    if (roomIds.length === 0) return new Map();
    const rows: EventRow[] = await query(
      `SELECT ${EVENT_COLUMNS} FROM unnest($1::text[]) AS r(room_id)
       CROSS JOIN LATERAL (
         SELECT * FROM room_events WHERE room_id = r.room_id AND log_offset >= ($2::bigint[])[log_partition + 1]
         ORDER BY log_offset DESC LIMIT $3
       ) AS e
       ORDER BY e.room_id, e.log_offset`,
      [roomIds, since.membership, count],
    );
    return byRoom(rows);
  }

  async currentState(query: Query, roomIds: readonly string[]): Promise<Map<string, WindowEvent[]>> {
    if (roomIds.length === 0) return new Map();
    const rows: EventRow[] = await query(
      `SELECT ${EVENT_COLUMNS} FROM room_state s JOIN room_events e ON e.event_id = s.event_id WHERE s.room_id = ANY($1) ORDER BY e.room_id, e.log_offset`,
      [roomIds],
    );
    return byRoom(rows);
  }

  /** The user's membership in a room just before `offset` (leave when none). */
  async membershipBefore(query: Query, roomId: string, userId: string, offset: number): Promise<string> {
    const rows: { membership: string }[] = await query(
      `SELECT content->>'membership' AS membership FROM room_events
       WHERE room_id = $1 AND type = 'm.room.member' AND state_key = $2 AND log_offset < $3
       ORDER BY log_offset DESC LIMIT 1`,
      [roomId, userId, offset],
    );
    return rows[0]?.membership ?? 'leave';
  }

  /** The last `count` events of one room after `since` up to and including `until` (a leave), in log order. */
  async eventsUntil(query: Query, roomId: string, since: SyncPositions, until: number, count: number): Promise<WindowEvent[]> {
    const rows: EventRow[] = await query(
      `SELECT * FROM (
         SELECT ${EVENT_COLUMNS} FROM room_events e
         WHERE e.room_id = $1 AND e.log_offset >= ($2::bigint[])[e.log_partition + 1] AND e.log_offset <= $3
         ORDER BY e.log_offset DESC LIMIT $4
       ) AS e ORDER BY e.log_offset`,
      [roomId, since.membership, until, count],
    );
    return rows.map(toEvent);
  }
}
