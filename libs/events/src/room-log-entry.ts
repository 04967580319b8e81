import { decodeRecord } from './parse-record.js';
import { UndecodableEventError } from './undecodable-event.error.js';

/**
 * Entries of the membership topic, keyed by room ID so that each room's history is totally
 * ordered. Version 1 wire format (JSON, UTF-8):
 *   {"v":1,"id":"$event","type":"room.event","room_id":"!r:hs","event":{event_id,room_id,type,state_key,sender,origin_server_ts,content}}
 *   {"v":1,"id":"<uuid>","type":"room.forget","room_id":"!r:hs","user_id":"@a:hs","ts":1700000000000}
 *   {"v":1,"id":"$event","type":"room.member_observed","room_id":"!r:hs","user_id":"@a:hs","membership":"join","sender":"@a:hs",
 *    "origin_server_ts":1700000000000,"replaces_state"?:"$previous","displayname"?:"Alice"|null,"avatar_url"?:"mxc://…"|null}
 * A `room.event` is a proposed room state event; the projector validates it against the room's
 * state in log order and records a rejection instead when the rules refuse it. A
 * `room.member_observed` (companion mode) is a member event the homeserver already accepted, seen
 * through the Application Service API: a fact, applied without room authorization when it is the
 * current member event of its (room, user).
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

export type ObservedMembershipValue = 'join' | 'invite' | 'leave' | 'ban' | 'knock';

const OBSERVED_MEMBERSHIPS: ReadonlySet<string> = new Set(['join', 'invite', 'leave', 'ban', 'knock']);

export interface RoomMemberObservedEntry {
  readonly v: 1;
  /** The homeserver's event ID. */
  readonly id: string;
  readonly type: 'room.member_observed';
  readonly room_id: string;
  /** The member (the event's state key). */
  readonly user_id: string;
  readonly membership: ObservedMembershipValue;
  readonly sender: string;
  readonly origin_server_ts: number;
  /** The member event this one replaced in the room's state, when the homeserver said so. */
  readonly replaces_state?: string;
  /** Present when the event's content held it (null: cleared). */
  readonly displayname?: string | null;
  readonly avatar_url?: string | null;
}

export type RoomLogEntry = RoomEventEntry | RoomForgetEntry | RoomMemberObservedEntry;

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
    if (type === 'room.member_observed') return decodeMemberObserved(raw, id, roomId);
    throw new UndecodableEventError(`unknown membership entry type ${JSON.stringify(type)}`);
  });
}

function optionalProfileValue(raw: Record<string, unknown>, key: string): string | null | undefined {
  if (!Object.hasOwn(raw, key)) return undefined;
  const value = raw[key];
  if (typeof value === 'string' || value === null) return value;
  throw new UndecodableEventError(`room.member_observed has a ${key} that is neither a string nor null`);
}

function decodeMemberObserved(raw: Record<string, unknown>, id: string, roomId: string): RoomMemberObservedEntry {
  const { user_id: userId, membership, sender, origin_server_ts: ts, replaces_state: replacesState } = raw;
  if (!id.startsWith('$') || !roomId.startsWith('!')) throw new UndecodableEventError('room.member_observed lacks an event or room ID');
  if (typeof userId !== 'string' || !userId.startsWith('@') || typeof sender !== 'string') {
    throw new UndecodableEventError('room.member_observed lacks user_id or sender');
  }
  if (typeof membership !== 'string' || !OBSERVED_MEMBERSHIPS.has(membership)) {
    throw new UndecodableEventError('room.member_observed has no known membership');
  }
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) throw new UndecodableEventError('room.member_observed lacks origin_server_ts');
  if (replacesState !== undefined && typeof replacesState !== 'string') {
    throw new UndecodableEventError('room.member_observed has a malformed replaces_state');
  }
  const displayname = optionalProfileValue(raw, 'displayname');
  const avatarUrl = optionalProfileValue(raw, 'avatar_url');
  return {
    v: 1,
    id,
    type: 'room.member_observed',
    room_id: roomId,
    user_id: userId,
    membership: membership as ObservedMembershipValue,
    sender,
    origin_server_ts: ts,
    ...(replacesState === undefined ? {} : { replaces_state: replacesState }),
    ...(displayname === undefined ? {} : { displayname }),
    ...(avatarUrl === undefined ? {} : { avatar_url: avatarUrl }),
  };
}
