import type { ProfileFieldObserved, RoomMemberObservedEntry } from '@mx/events';
import type { ObservedMembership } from './appservice-transaction.js';

/**
 * How a member event the homeserver reported becomes log entries: the same encoding for the
 * Application Service feed (the writer) and the bootstrap's snapshot, so that one event read both
 * ways is the same entry, with the same ID (the projector applies it once).
 */

/** The membership-topic entry of one member event (key: room ID). */
export function memberObservedEntry(observed: ObservedMembership): RoomMemberObservedEntry {
  return {
    v: 1,
    id: observed.eventId,
    type: 'room.member_observed',
    room_id: observed.roomId,
    user_id: observed.userId,
    membership: observed.membership,
    sender: observed.sender,
    origin_server_ts: observed.originServerTs,
    ...(observed.replacesState === undefined ? {} : { replaces_state: observed.replacesState }),
    ...(observed.displayname === undefined ? {} : { displayname: observed.displayname }),
    ...(observed.avatarUrl === undefined ? {} : { avatar_url: observed.avatarUrl }),
  };
}

/**
 * The profile-topic entries of one member event: the `displayname` / `avatar_url` a join or invite
 * carries (its content's keys; null clears), stamped with the event's `origin_server_ts`.
 */
export function observedFieldEntries(observed: ObservedMembership): ProfileFieldObserved[] {
  if (observed.membership !== 'join' && observed.membership !== 'invite') return [];
  const fields = [
    ['displayname', observed.displayname],
    ['avatar_url', observed.avatarUrl],
  ] as const;
  return fields.flatMap(([field, value]) =>
    value === undefined
      ? []
      : [
          {
            v: 1 as const,
            id: `${observed.eventId}/${field}`,
            type: 'profile.field.observed' as const,
            user_id: observed.userId,
            field,
            value,
            ts: observed.originServerTs,
            event_id: observed.eventId,
            room_id: observed.roomId,
          },
        ],
  );
}
