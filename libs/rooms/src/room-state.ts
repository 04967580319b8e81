import { powerLevelsFrom, type PowerLevels } from './power-levels.js';
import type { Membership } from './room-event.js';

/** What the authorization rules need to know about a room before an event. */
export interface RoomState {
  readonly exists: boolean;
  readonly creator: string;
  readonly joinRule: string;
  readonly powerLevels: PowerLevels;
  /**
   * Memberships known for the users this batch concerns (not necessarily every member);
   * users absent here have never been in the room.
   */
  readonly memberships: ReadonlyMap<string, Membership>;
  /** Created and no member event yet: only the creator's own first join may follow. */
  readonly awaitingCreatorJoin: boolean;
}

export function emptyRoomState(): RoomState {
  return {
    exists: false,
    creator: '',
    joinRule: 'invite',
    powerLevels: powerLevelsFrom(undefined, ''),
    memberships: new Map(),
    awaitingCreatorJoin: false,
  };
}

export function membershipIn(state: RoomState, userId: string): Membership {
  return state.memberships.get(userId) ?? 'leave';
}
