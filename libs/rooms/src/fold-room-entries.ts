import type { RoomLogEntry } from '@mx/events';
import { applyRoomEvent } from './apply-room-event.js';
import { authorizeRoomEvent } from './authorize-room-event.js';
import { type Membership, membershipOf, type RoomEvent } from './room-event.js';
import { emptyRoomState, type RoomState } from './room-state.js';

export interface AcceptedRoomEvent {
  readonly offset: number;
  readonly event: RoomEvent;
}

export interface MembershipChange {
  readonly roomId: string;
  readonly userId: string;
  readonly membership: Membership;
  readonly eventId: string;
  readonly offset: number;
}

export interface Forgotten {
  readonly roomId: string;
  readonly userId: string;
}

/** An entry the rules refused, with the Matrix error its writer answers (errcode and message kept apart). */
export interface RejectedRoomEntry {
  readonly eventId: string;
  readonly offset: number;
  readonly rejection: { readonly errcode: string; readonly message: string };
}

export interface RoomFold {
  readonly accepted: AcceptedRoomEvent[];
  /** The last membership per (room, user) in this batch. */
  readonly memberships: MembershipChange[];
  readonly forgotten: Forgotten[];
  readonly rejected: RejectedRoomEntry[];
  readonly createdRooms: { readonly roomId: string; readonly creator: string; readonly roomVersion: string; readonly ts: number }[];
}

/**
 * Validates a partition's entries in log order against each room's state and applies the
 * accepted ones. Pure and deterministic: a replay reaches the same verdicts. Each rejection carries
 * the errcode and message its writer answers with.
 */
export function foldRoomEntries(
  initial: ReadonlyMap<string, RoomState>,
  entries: readonly { readonly offset: number; readonly entry: RoomLogEntry }[],
): RoomFold {
  const states = new Map(initial);
  const fold: RoomFold = { accepted: [], memberships: [], forgotten: [], rejected: [], createdRooms: [] };
  const latestMembership = new Map<string, MembershipChange>();
  for (const { offset, entry } of entries) {
    // Facts observed from a homeserver (companion mode) are not proposals: the projector applies them apart.
    if (entry.type === 'room.member_observed') continue;
    const state = states.get(entry.room_id) ?? emptyRoomState();
    if (entry.type === 'room.forget') {
      const membership = state.memberships.get(entry.user_id) ?? 'leave';
      if (!state.exists || membership === 'join' || membership === 'invite') {
        fold.rejected.push({ eventId: entry.id, offset, rejection: { errcode: 'M_UNKNOWN', message: 'User is still in the room' } });
      } else {
        fold.forgotten.push({ roomId: entry.room_id, userId: entry.user_id });
      }
      continue;
    }
    const event: RoomEvent = entry.event;
    const refusal = authorizeRoomEvent(state, event);
    if (refusal) {
      fold.rejected.push({ eventId: entry.id, offset, rejection: { errcode: refusal.errcode, message: refusal.reason } });
      continue;
    }
    states.set(entry.room_id, applyRoomEvent(state, event));
    fold.accepted.push({ offset, event });
    if (event.type === 'm.room.create') {
      fold.createdRooms.push({
        roomId: event.room_id,
        creator: event.sender,
        roomVersion: typeof event.content['room_version'] === 'string' ? event.content['room_version'] : '1',
        ts: event.origin_server_ts,
      });
    }
    const membership = membershipOf(event);
    if (membership) {
      const key = JSON.stringify([event.room_id, event.state_key]);
      latestMembership.delete(key);
      latestMembership.set(key, { roomId: event.room_id, userId: event.state_key, membership, eventId: event.event_id, offset });
      // A new membership supersedes an earlier forget in the same batch.
      const forgottenIndex = fold.forgotten.findIndex((item) => item.roomId === event.room_id && item.userId === event.state_key);
      if (forgottenIndex >= 0) fold.forgotten.splice(forgottenIndex, 1);
    }
  }
  fold.memberships.push(...latestMembership.values());
  return fold;
}
