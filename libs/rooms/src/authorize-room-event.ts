import { stateEventLevel, userLevel } from './power-levels.js';
import { CREATE, MEMBER, membershipOf, type RoomEvent } from './room-event.js';
import { membershipIn, type RoomState } from './room-state.js';

/** Why an event is refused; `null` when it is allowed. Mirrors the room authorization rules we implement. */
export type Refusal = { readonly errcode: 'M_FORBIDDEN' | 'M_NOT_FOUND' | 'M_BAD_STATE'; readonly reason: string } | null;

const forbidden = (reason: string): Refusal => ({ errcode: 'M_FORBIDDEN', reason });

/**
 * The subset of the Matrix authorization rules that membership needs: room creation, joins
 * (public join rule or a pending invite; never when banned), invites (members only, never a
 * banned or joined user), leaves, kicks and bans (power level at least the action's and above the
 * target's), unbans, and the initial state events. Pure and deterministic: the projector applies
 * it in log order, so a replay decides the same way.
 */
export function authorizeRoomEvent(state: RoomState, event: RoomEvent): Refusal {
  if (event.type === CREATE) return state.exists ? { errcode: 'M_BAD_STATE', reason: 'Room already exists' } : null;
  if (!state.exists) return { errcode: 'M_NOT_FOUND', reason: 'Unknown room' };
  const sender = event.sender;
  const senderMembership = membershipIn(state, sender);
  const senderLevel = userLevel(state.powerLevels, sender);

  if (event.type === MEMBER) {
    const target = event.state_key;
    const targetMembership = membershipIn(state, target);
    const targetLevel = userLevel(state.powerLevels, target);
    const membership = membershipOf(event);
    switch (membership) {
      case 'join':
        if (sender !== target) return forbidden('Cannot force another user to join');
        if (state.awaitingCreatorJoin) return sender === state.creator ? null : forbidden('The room is still being created');
        if (targetMembership === 'ban') return forbidden('You are banned from this room');
        if (targetMembership === 'join' || targetMembership === 'invite') return null;
        if (state.joinRule === 'public') return null;
        return forbidden('You are not invited to this room');
      case 'invite':
        if (state.awaitingCreatorJoin) return forbidden('The room is still being created');
        if (senderMembership !== 'join') return forbidden('You are not in this room');
        if (targetMembership === 'ban') return forbidden('The user is banned from this room');
        if (targetMembership === 'join') return forbidden('The user is already in this room');
        if (senderLevel < state.powerLevels.invite) return forbidden('Insufficient power level to invite');
        return null;
      case 'leave':
        if (sender === target) {
          return targetMembership === 'join' || targetMembership === 'invite' || targetMembership === 'knock'
            ? null
            : forbidden('You are not in this room');
        }
        if (senderMembership !== 'join') return forbidden('You are not in this room');
        if (targetMembership === 'ban') {
          return senderLevel >= state.powerLevels.ban ? null : forbidden('Insufficient power level to unban');
        }
        if (targetMembership !== 'join' && targetMembership !== 'invite') return forbidden('The user is not in this room');
        if (senderLevel < state.powerLevels.kick || senderLevel <= targetLevel) return forbidden('Insufficient power level to kick');
        return null;
      case 'ban':
        if (senderMembership !== 'join') return forbidden('You are not in this room');
        if (senderLevel < state.powerLevels.ban || senderLevel <= targetLevel) return forbidden('Insufficient power level to ban');
        return null;
      default:
        return forbidden('Unsupported membership');
    }
  }

  if (state.awaitingCreatorJoin) return forbidden('The room is still being created');
  if (senderMembership !== 'join') return forbidden('You are not in this room');
  // Other state events (power levels, join rules, name, …) need the event type's level.
  if (senderLevel < stateEventLevel(state.powerLevels, event.type)) return forbidden(`Insufficient power level to send ${event.type}`);
  return null;
}
