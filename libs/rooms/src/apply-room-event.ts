import { powerLevelsFrom } from './power-levels.js';
import { CREATE, JOIN_RULES, MEMBER, membershipOf, POWER_LEVELS, type RoomEvent } from './room-event.js';
import type { RoomState } from './room-state.js';

/** The room state after an accepted event. */
export function applyRoomEvent(state: RoomState, event: RoomEvent): RoomState {
  switch (event.type) {
    case CREATE: {
      const creator = typeof event.content['creator'] === 'string' ? event.content['creator'] : event.sender;
      return { ...state, exists: true, creator, powerLevels: powerLevelsFrom(undefined, creator), awaitingCreatorJoin: true };
    }
    case MEMBER: {
      const membership = membershipOf(event);
      if (!membership) return state;
      const memberships = new Map(state.memberships);
      memberships.set(event.state_key, membership);
      return { ...state, memberships, awaitingCreatorJoin: false };
    }
    case POWER_LEVELS:
      return { ...state, powerLevels: powerLevelsFrom(event.content, state.creator) };
    case JOIN_RULES:
      return { ...state, joinRule: typeof event.content['join_rule'] === 'string' ? event.content['join_rule'] : state.joinRule };
    default:
      return state;
  }
}
