import { supersedes } from '@mx/companion';
import type { RoomMemberObservedEntry } from '@mx/events';

/** What the projection knows of a (room, user)'s current member event (origin_server_ts null: not observed, 0 for the rule). */
export interface StoredMemberEvent {
  readonly eventId: string;
  readonly originServerTs: number | null;
}

export interface ObservedMembershipEdge {
  readonly roomId: string;
  readonly userId: string;
  readonly membership: RoomMemberObservedEntry['membership'];
  readonly eventId: string;
  readonly offset: number;
  readonly originServerTs: number;
}

export interface ObservedFold {
  /** The membership that ends current per (room, user), for the pairs that changed. */
  readonly memberships: ObservedMembershipEdge[];
  /** Entries that were not applied (a duplicate event ID, or an older event than the current one). */
  readonly ignored: number;
  /**
   * Every entry that took effect, in log order, as the member event it is: the room's membership
   * history (`room_events`), from which a sync window learns who joined or left in it.
   */
  readonly history: { readonly offset: number; readonly event: ObservedMemberEvent }[];
}

/** An observed member event as the membership history stores it. */
export interface ObservedMemberEvent {
  readonly event_id: string;
  readonly room_id: string;
  readonly type: 'm.room.member';
  readonly state_key: string;
  readonly sender: string;
  readonly origin_server_ts: number;
  readonly content: Record<string, unknown>;
}

function memberEventOf(entry: RoomMemberObservedEntry): ObservedMemberEvent {
  const content: Record<string, unknown> = { membership: entry.membership };
  if (entry.displayname !== undefined) content['displayname'] = entry.displayname;
  if (entry.avatar_url !== undefined) content['avatar_url'] = entry.avatar_url;
  return {
    event_id: entry.id,
    room_id: entry.room_id,
    type: 'm.room.member',
    state_key: entry.user_id,
    sender: entry.sender,
    origin_server_ts: entry.origin_server_ts,
    content,
  };
}

const pairKey = (roomId: string, userId: string) => JSON.stringify([roomId, userId]);

/**
 * Folds member events observed from the homeserver (companion mode) onto the stored current member
 * events, in log order: per (room, user), an event applies only when it supersedes the current one
 * (@mx/companion `supersedes`: a duplicate event ID never applies twice, an older event never wins).
 * These are facts the homeserver accepted: no room authorization runs. (The profile fields member
 * events carry travel on the profile topic: see fold-observed-fields.ts.) Pure and deterministic: a
 * replay reaches the same result.
 */
export function foldObservedMemberships(
  stored: ReadonlyMap<string, StoredMemberEvent>,
  entries: readonly { readonly offset: number; readonly entry: RoomMemberObservedEntry }[],
): ObservedFold {
  const current = new Map<string, { eventId: string; originServerTs: number }>();
  for (const [key, value] of stored) current.set(key, { eventId: value.eventId, originServerTs: value.originServerTs ?? 0 });
  const memberships = new Map<string, ObservedMembershipEdge>();
  const history: { offset: number; event: ObservedMemberEvent }[] = [];
  let ignored = 0;
  for (const { offset, entry } of entries) {
    const key = pairKey(entry.room_id, entry.user_id);
    const fact = { eventId: entry.id, originServerTs: entry.origin_server_ts, replacesState: entry.replaces_state };
    if (!supersedes(current.get(key), fact)) {
      ignored += 1;
      continue;
    }
    current.set(key, { eventId: entry.id, originServerTs: entry.origin_server_ts });
    history.push({ offset, event: memberEventOf(entry) });
    memberships.delete(key);
    memberships.set(key, {
      roomId: entry.room_id,
      userId: entry.user_id,
      membership: entry.membership,
      eventId: entry.id,
      offset,
      originServerTs: entry.origin_server_ts,
    });
  }
  return { memberships: [...memberships.values()], ignored, history };
}

export { pairKey as observedPairKey };
