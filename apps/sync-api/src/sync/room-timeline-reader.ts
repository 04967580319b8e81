import { Injectable } from '@nestjs/common';
import { roomEvents, roomState, type Sql } from '@mx/storage';
import type { SyncEvent, SyncPositions } from '@mx/sync';

/** A room event as /sync builds with it: the wire form plus its log offset (stripped before sending). */
export interface WindowEvent extends SyncEvent {
  readonly offset: number;
}

function toWindowEvent(event: roomEvents.StoredRoomEvent): WindowEvent {
  return {
    event_id: event.eventId,
    type: event.type,
    state_key: event.stateKey,
    sender: event.sender,
    origin_server_ts: event.originServerTs,
    content: event.content,
    unsigned: {},
    offset: event.offset,
  };
}

function byRoom(events: readonly roomEvents.StoredRoomEvent[]): Map<string, WindowEvent[]> {
  const rooms = new Map<string, WindowEvent[]>();
  for (const event of events) {
    const list = rooms.get(event.roomId) ?? [];
    list.push(toWindowEvent(event));
    rooms.set(event.roomId, list);
  }
  return rooms;
}

/** Reads rooms' timelines and state from the projection for /sync, inside the caller's snapshot. Every query is indexed. */
@Injectable()
export class RoomTimelineReader {
  /** Per room, the last `count` events (initial sync), in log order. */
  async latestEvents(sql: Sql, roomIds: readonly string[], count: number): Promise<Map<string, WindowEvent[]>> {
    return byRoom(await roomEvents.latestPerRoom(sql, roomIds, count));
  }

  /** Per room, the last `count` events after `since`, in log order. */
  async eventsSince(sql: Sql, roomIds: readonly string[], since: SyncPositions, count: number): Promise<Map<string, WindowEvent[]>> {
    return byRoom(await roomEvents.latestPerRoomInWindow(sql, roomIds, since.membership, count));
  }

  async currentState(sql: Sql, roomIds: readonly string[]): Promise<Map<string, WindowEvent[]>> {
    return byRoom(await roomState.currentEvents(sql, roomIds));
  }

  /** The user's membership in a room just before `offset` (leave when none). */
  async membershipBefore(sql: Sql, roomId: string, userId: string, offset: number): Promise<string> {
    return (await roomEvents.membershipBefore(sql, roomId, userId, offset)) ?? 'leave';
  }

  /** The last `count` events of one room after `since` up to and including `until` (a leave), in log order. */
  async eventsUntil(sql: Sql, roomId: string, since: SyncPositions, until: number, count: number): Promise<WindowEvent[]> {
    return (await roomEvents.latestInWindowUntil(sql, roomId, since.membership, until, count)).map(toWindowEvent);
  }
}
