/** A room state event as clients see it (spec: ClientEvent, without `room_id` inside /sync). */
export interface RoomEvent {
  readonly event_id: string;
  readonly room_id: string;
  readonly type: string;
  readonly state_key: string;
  readonly sender: string;
  readonly origin_server_ts: number;
  readonly content: Readonly<Record<string, unknown>>;
}

export const CREATE = 'm.room.create';
export const MEMBER = 'm.room.member';
export const POWER_LEVELS = 'm.room.power_levels';
export const JOIN_RULES = 'm.room.join_rules';
export const NAME = 'm.room.name';
export const HISTORY_VISIBILITY = 'm.room.history_visibility';
export const GUEST_ACCESS = 'm.room.guest_access';
export const CANONICAL_ALIAS = 'm.room.canonical_alias';

export type Membership = 'join' | 'invite' | 'leave' | 'ban' | 'knock';

export function membershipOf(event: Pick<RoomEvent, 'type' | 'content'>): Membership | undefined {
  if (event.type !== MEMBER) return undefined;
  const membership = event.content['membership'];
  return membership === 'join' || membership === 'invite' || membership === 'leave' || membership === 'ban' || membership === 'knock'
    ? membership
    : undefined;
}
