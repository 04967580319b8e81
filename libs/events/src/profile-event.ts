import { checkProfileKey } from '@mx/matrix';
import { decodeRecord } from './parse-record.js';
import { UndecodableEventError } from './undecodable-event.error.js';

/**
 * Events of the profile topic, keyed by user ID so that one user's changes stay in order.
 *
 * Version 1 wire format (JSON, UTF-8):
 *   {"v":1,"id":"<uuid>","type":"profile.field.set","user_id":"@a:b","field":"m.tz","value":"Europe/Paris","ts":1700000000000}
 *   {"v":1,"id":"<uuid>","type":"profile.field.deleted","user_id":"@a:b","field":"m.tz","ts":1700000000000}
 *   {"v":1,"id":"$event/displayname","type":"profile.field.observed","user_id":"@a:b","field":"displayname","value":"Alice"|null,
 *    "ts":<the member event's origin_server_ts>,"event_id":"$event","room_id":"!r:b"}
 * `value` may be any JSON value, `null` included (a literal null is a value, not a deletion).
 * A `profile.field.observed` (companion mode) is the `displayname` / `avatar_url` a member event
 * observed from the homeserver carried (null: cleared); it applies only when newer (by `ts`) than
 * the stored value, so a replayed old member event never takes effect again. Only the profile
 * projector reads the profile topic through decodeProfileTopicEvent, which knows it.
 * Without `event_id` / `room_id` it is a value read from the homeserver's `GET /profile` (the
 * companion bootstrap and `companion-verify --repair`, @mx/companion bootstrap/): any profile key,
 * any JSON value (null: cleared), the same "only when newer by `ts`" rule:
 *   {"v":1,"id":"bootstrap:<hash>","type":"profile.field.observed","user_id":"@a:b","field":"m.status","value":{...},"ts":0}
 * Readers must keep decoding every version ever written: topics are replayed into fresh projections.
 */
export const PROFILE_EVENT_VERSION = 1;

interface ProfileEventBase {
  readonly v: 1;
  /** Unique per event; makes consumption idempotent. */
  readonly id: string;
  readonly user_id: string;
  readonly field: string;
  /** Milliseconds since the epoch, when the writer accepted the change. */
  readonly ts: number;
}

export interface ProfileFieldSet extends ProfileEventBase {
  readonly type: 'profile.field.set';
  readonly value: unknown;
}

export interface ProfileFieldDeleted extends ProfileEventBase {
  readonly type: 'profile.field.deleted';
}

export type ProfileEvent = ProfileFieldSet | ProfileFieldDeleted;

export function encodeProfileEvent(event: ProfileEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

export function decodeProfileEvent(bytes: Buffer | null): ProfileEvent {
  return decodeRecord(bytes, 'profile event', decodeProfileEventFields);
}

function decodeProfileEventFields(event: Readonly<Record<string, unknown>>): ProfileEvent {
  if (event['v'] !== PROFILE_EVENT_VERSION) {
    throw new UndecodableEventError(`unknown profile event version ${JSON.stringify(event['v'])}`);
  }
  const { id, user_id: userId, field, ts, type } = event;
  if (typeof id !== 'string' || typeof userId !== 'string' || typeof field !== 'string' || typeof ts !== 'number') {
    throw new UndecodableEventError('profile event lacks id, user_id, field or ts');
  }
  if (type === 'profile.field.set') {
    if (!Object.hasOwn(event, 'value')) throw new UndecodableEventError('profile.field.set without value');
    return { v: 1, id, type, user_id: userId, field, value: event['value'], ts };
  }
  if (type === 'profile.field.deleted') return { v: 1, id, type, user_id: userId, field, ts };
  throw new UndecodableEventError(`unknown profile event type ${JSON.stringify(type)}`);
}

export interface ProfileFieldObserved {
  readonly v: 1;
  /** `<event_id>/<field>`: unique per member event and field (a profile read: the reader's own id). */
  readonly id: string;
  readonly type: 'profile.field.observed';
  readonly user_id: string;
  /** `displayname` / `avatar_url` from a member event; any profile key from a profile read. */
  readonly field: string;
  /** The content's value (a string from a member event); null clears the field. */
  readonly value: unknown;
  /** The member event's origin_server_ts (a profile read: the reader's ordering stamp). */
  readonly ts: number;
  /** The member event and its room; both absent for a value read from the homeserver's GET /profile. */
  readonly event_id?: string;
  readonly room_id?: string;
}

/** Everything the profile topic carries. */
export type ProfileTopicEvent = ProfileEvent | ProfileFieldObserved;

export function encodeProfileTopicEvent(event: ProfileTopicEvent): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

export function decodeProfileTopicEvent(bytes: Buffer | null): ProfileTopicEvent {
  return decodeRecord(bytes, 'profile event', (event) => {
    if (event['type'] !== 'profile.field.observed') return decodeProfileEventFields(event);
    const { v, id, user_id: userId, field, value, ts, event_id: eventId, room_id: roomId } = event;
    if (v !== PROFILE_EVENT_VERSION) throw new UndecodableEventError(`unknown profile event version ${JSON.stringify(v)}`);
    if (eventId === undefined && roomId === undefined) return decodeProfileRead(event);
    if (typeof id !== 'string' || typeof userId !== 'string' || typeof eventId !== 'string' || typeof roomId !== 'string') {
      throw new UndecodableEventError('profile.field.observed lacks id, user_id, event_id or room_id');
    }
    if (field !== 'displayname' && field !== 'avatar_url') throw new UndecodableEventError('profile.field.observed of another field');
    if (!(typeof value === 'string' || value === null))
      throw new UndecodableEventError('profile.field.observed value is not a string or null');
    if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) throw new UndecodableEventError('profile.field.observed lacks ts');
    return { v: 1, id, type: 'profile.field.observed', user_id: userId, field, value, ts, event_id: eventId, room_id: roomId };
  });
}

/** A `profile.field.observed` without a member event: a value read from the homeserver's GET /profile (any profile key and JSON value). */
function decodeProfileRead(event: Readonly<Record<string, unknown>>): ProfileFieldObserved {
  const { id, user_id: userId, field, ts } = event;
  if (typeof id !== 'string' || typeof userId !== 'string' || typeof field !== 'string') {
    throw new UndecodableEventError('profile.field.observed lacks id, user_id or field');
  }
  if (checkProfileKey(field) !== null) throw new UndecodableEventError('profile.field.observed names no valid profile key');
  if (!Object.hasOwn(event, 'value')) throw new UndecodableEventError('profile.field.observed without value');
  if (typeof ts !== 'number' || !Number.isSafeInteger(ts)) throw new UndecodableEventError('profile.field.observed lacks ts');
  return { v: 1, id, type: 'profile.field.observed', user_id: userId, field, value: event['value'], ts };
}
