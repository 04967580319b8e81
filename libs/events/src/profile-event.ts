import { decodeRecord } from './parse-record.js';
import { UndecodableEventError } from './undecodable-event.error.js';

/**
 * Events of the profile topic, keyed by user ID so that one user's changes stay in order.
 *
 * Version 1 wire format (JSON, UTF-8):
 *   {"v":1,"id":"<uuid>","type":"profile.field.set","user_id":"@a:b","field":"m.tz","value":"Europe/Paris","ts":1700000000000}
 *   {"v":1,"id":"<uuid>","type":"profile.field.deleted","user_id":"@a:b","field":"m.tz","ts":1700000000000}
 * `value` may be any JSON value, `null` included (a literal null is a value, not a deletion).
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
  return decodeRecord(bytes, 'profile event', (event) => {
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
  });
}
