import { initialPowerLevels } from './power-levels.js';
import {
  CANONICAL_ALIAS,
  CREATE,
  GUEST_ACCESS,
  HISTORY_VISIBILITY,
  JOIN_RULES,
  MEMBER,
  NAME,
  POWER_LEVELS,
  type RoomEvent,
} from './room-event.js';
import { newEventId } from './identifiers.js';

export type RoomPreset = 'public_chat' | 'private_chat' | 'trusted_private_chat';

export interface CreateRoomPlan {
  readonly roomId: string;
  readonly creator: string;
  readonly creatorProfile: Readonly<Record<string, unknown>>;
  readonly roomVersion: string;
  readonly preset: RoomPreset;
  readonly name?: string;
  readonly alias?: string;
  readonly invite: readonly string[];
  readonly isDirect: boolean;
  readonly now: number;
}

const PRESETS: Record<RoomPreset, { joinRule: string; historyVisibility: string; guestAccess: string }> = {
  public_chat: { joinRule: 'public', historyVisibility: 'shared', guestAccess: 'forbidden' },
  private_chat: { joinRule: 'invite', historyVisibility: 'shared', guestAccess: 'can_join' },
  trusted_private_chat: { joinRule: 'invite', historyVisibility: 'shared', guestAccess: 'can_join' },
};

/**
 * The events `createRoom` produces, in the spec's order: create, the creator's join, power
 * levels, canonical alias, the preset's join rules, history visibility and guest access, name,
 * then one invite per invitee.
 */
export function createRoomEvents(plan: CreateRoomPlan): RoomEvent[] {
  const preset = PRESETS[plan.preset];
  let ts = plan.now;
  const event = (type: string, stateKey: string, content: Record<string, unknown>): RoomEvent => ({
    event_id: newEventId(),
    room_id: plan.roomId,
    type,
    state_key: stateKey,
    sender: plan.creator,
    origin_server_ts: ts++,
    content,
  });
  const admins = plan.preset === 'trusted_private_chat' ? plan.invite : [];
  const events = [
    event(CREATE, '', { creator: plan.creator, room_version: plan.roomVersion }),
    event(MEMBER, plan.creator, { ...plan.creatorProfile, membership: 'join' }),
    event(POWER_LEVELS, '', initialPowerLevels(plan.creator, admins)),
  ];
  if (plan.alias !== undefined) events.push(event(CANONICAL_ALIAS, '', { alias: plan.alias }));
  events.push(
    event(JOIN_RULES, '', { join_rule: preset.joinRule }),
    event(HISTORY_VISIBILITY, '', { history_visibility: preset.historyVisibility }),
    event(GUEST_ACCESS, '', { guest_access: preset.guestAccess }),
  );
  if (plan.name !== undefined) events.push(event(NAME, '', { name: plan.name }));
  for (const invitee of plan.invite) {
    events.push(event(MEMBER, invitee, { membership: 'invite', ...(plan.isDirect ? { is_direct: true } : {}) }));
  }
  return events;
}
