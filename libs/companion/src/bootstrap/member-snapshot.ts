import type { ProfileFieldObserved, RoomMemberObservedEntry } from '@mx/events';
import { parseAppserviceTransaction } from '../appservice-transaction.js';
import { memberObservedEntry, observedFieldEntries } from '../observed-entries.js';

/**
 * A room's current member events (Synapse admin API `GET /_synapse/admin/v1/rooms/{roomId}/state`)
 * as the very entries the Application Service feed appends for the same events: a
 * `room.member_observed` per member (membership topic, key: room ID) and the `displayname` /
 * `avatar_url` of joins and invites as `profile.field.observed` (profile topic, key: user ID, id
 * `<event_id>/<field>`, ts the event's `origin_server_ts`).
 *
 * Ordering against live traffic needs nothing new: the snapshot carries the homeserver's own
 * event IDs and timestamps, so the projector's rule (`supersedes`) treats it like a feed event.
 * The same event again (a re-run, or the feed delivered it too) does nothing; an event the feed
 * delivered later for the same (room, user) — a leave after the snapshot was read — is newer, so
 * the snapshot appended after it never takes its place; a snapshot event newer than what the
 * projection holds (the feed missed it) repairs it.
 */
export interface MemberSnapshot {
  readonly memberships: readonly RoomMemberObservedEntry[];
  readonly fields: readonly ProfileFieldObserved[];
  /** Member events that could not be read, with why (logged by the caller; never appended). */
  readonly malformed: readonly { readonly eventId: string | undefined; readonly reason: string }[];
}

export function memberSnapshotEntries(roomId: string, stateEvents: readonly unknown[]): MemberSnapshot {
  const parsed = parseAppserviceTransaction({ events: stateEvents });
  const malformed = [...parsed.malformed];
  const members = parsed.memberships.filter((member) => {
    if (member.roomId === roomId) return true;
    malformed.push({ eventId: member.eventId, reason: `belongs to ${member.roomId}, not ${roomId}` });
    return false;
  });
  return { memberships: members.map(memberObservedEntry), fields: members.flatMap(observedFieldEntries), malformed };
}
