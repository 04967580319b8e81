import type { ProfileEvent } from '@mx/events';
import { ProfileSize } from './profile-size.js';

/** The latest accepted change of one (user, field) within a batch, with where it came from. */
export interface ProfileFieldChange {
  readonly userId: string;
  readonly field: string;
  readonly isSet: boolean;
  readonly value: unknown;
  readonly offset: number;
  readonly ts: number;
}

export interface RejectedProfileEvent {
  readonly eventId: string;
  readonly offset: number;
  readonly reason: 'profile_too_large';
}

export interface ProfileFold {
  readonly changes: ProfileFieldChange[];
  readonly rejected: RejectedProfileEvent[];
}

/**
 * Applies a partition's events in log order to the users' current profiles, deterministically:
 * a set that would make the profile's canonical JSON larger than `maxBytes` is rejected (and
 * changes nothing), so a replay reaches the same verdicts. Returns the last accepted change per
 * (user, field) and the rejections.
 */
export function foldProfileEvents(
  current: ReadonlyMap<string, ReadonlyMap<string, unknown>>,
  events: readonly { readonly offset: number; readonly event: ProfileEvent }[],
  maxBytes: number,
): ProfileFold {
  const sizes = new Map<string, ProfileSize>();
  const sizeOf = (userId: string): ProfileSize => {
    let size = sizes.get(userId);
    if (!size) {
      size = new ProfileSize(current.get(userId) ?? []);
      sizes.set(userId, size);
    }
    return size;
  };
  const latest = new Map<string, ProfileFieldChange>();
  const rejected: RejectedProfileEvent[] = [];
  for (const { offset, event } of events) {
    const size = sizeOf(event.user_id);
    if (event.type === 'profile.field.set') {
      if (size.bytesWith(event.field, event.value) > maxBytes) {
        rejected.push({ eventId: event.id, offset, reason: 'profile_too_large' });
        continue;
      }
      size.set(event.field, event.value);
    } else {
      size.delete(event.field);
    }
    const key = JSON.stringify([event.user_id, event.field]);
    latest.delete(key);
    latest.set(key, {
      userId: event.user_id,
      field: event.field,
      isSet: event.type === 'profile.field.set',
      value: event.type === 'profile.field.set' ? event.value : null,
      offset,
      ts: event.ts,
    });
  }
  return { changes: [...latest.values()], rejected };
}
