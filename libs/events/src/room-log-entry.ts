import { decodeRecord } from './parse-record.js';
import { UndecodableEventError } from './undecodable-event.error.js';

/**
 * Entries of the membership topic, keyed by room ID so that each room's history is totally
 * ordered. Version 1 wire format (JSON, UTF-8):
 *   {"v":1,"id":"$event","type":"room.event","room_id":"!r:hs","event":{event_id,room_id,type,state_key,sender,origin_server_ts,content}}
 *   {"v":1,"id":"<uuid>","type":"room.forget","room_id":"!r:hs","user_id":"@a:hs","ts":1700000000000}
 * A `room.event` is a proposed room state event; the projector validates it against the room's
 * state in log order and records a rejection instead when the rules refuse it.
 */
export interface LoggedRoomEvent {
  readonly event_id: string;
  readonly room_id: string;
  readonly type: string;
  readonly state_key: string;
  readonly sender: string;
  readonly origin_server_ts: number;
  readonly content: Readonly<Record<string, unknown>>;
}

export interface RoomEventEntry {
  readonly v: 1;
  readonly id: string;
  readonly type: 'room.event';
  readonly room_id: string;
  readonly event: LoggedRoomEvent;
}

export interface RoomForgetEntry {
  readonly v: 1;
  readonly id: string;
  readonly type: 'room.forget';
  readonly room_id: string;
  readonly user_id: string;
  readonly ts: number;
}

export type RoomLogEntry = RoomEventEntry | RoomForgetEntry;

export function encodeRoomLogEntry(entry: RoomLogEntry): Buffer {
  return Buffer.from(JSON.stringify(entry), 'utf8');
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function decodeRoomLogEntry(bytes: Buffer | null): RoomLogEntry {
  return decodeRecord(bytes, 'membership entry', (raw) => {
    if (raw['v'] !== 1) throw new UndecodableEventError(`unknown membership entry version ${JSON.stringify(raw['v'])}`);
    const { id, type, room_id: roomId } = raw;
    if (typeof id !== 'string' || typeof roomId !== 'string') throw new UndecodableEventError('membership entry lacks id or room_id');
    if (type === 'room.event') {
      const event = raw['event'];
      if (
        !isObject(event) ||
        typeof event['event_id'] !== 'string' ||
        event['room_id'] !== roomId ||
        typeof event['type'] !== 'string' ||
        typeof event['state_key'] !== 'string' ||
        typeof event['sender'] !== 'string' ||
        typeof event['origin_server_ts'] !== 'number' ||
        !isObject(event['content'])
      ) {
        throw new UndecodableEventError('room.event carries a malformed event');
      }
      return { v: 1, id, type, room_id: roomId, event: event as unknown as LoggedRoomEvent };
    }
    if (type === 'room.forget') {
      const userId = raw['user_id'];
      const ts = raw['ts'];
      if (typeof userId !== 'string' || typeof ts !== 'number') throw new UndecodableEventError('room.forget lacks user_id or ts');
      return { v: 1, id, type, room_id: roomId, user_id: userId, ts };
    }
    throw new UndecodableEventError(`unknown membership entry type ${JSON.stringify(type)}`);
  });
}
