import { emptyRoomState, JOIN_RULES, type Membership, POWER_LEVELS, powerLevelsFrom, type RoomState } from '@mx/rooms';

type Query = (sql: string, parameters?: unknown[]) => Promise<unknown>;

/**
 * Loads, from the projection, what the room rules need about some rooms: existence, creator,
 * join rule, power levels, and the memberships of the given users only (a big room's member list
 * is never loaded whole).
 */
export async function loadRoomStates(
  query: Query,
  roomIds: readonly string[],
  userIds: readonly string[],
): Promise<Map<string, RoomState>> {
  const states = new Map<string, RoomState>();
  if (roomIds.length === 0) return states;
  const rooms = (await query('SELECT room_id, creator FROM rooms WHERE room_id = ANY($1)', [roomIds])) as {
    room_id: string;
    creator: string;
  }[];
  const state = (await query(
    `SELECT s.room_id, s.type, e.content FROM room_state s JOIN room_events e ON e.event_id = s.event_id
     WHERE s.room_id = ANY($1) AND s.state_key = '' AND s.type IN ($2, $3)`,
    [roomIds, JOIN_RULES, POWER_LEVELS],
  )) as { room_id: string; type: string; content: Record<string, unknown> }[];
  const members =
    userIds.length === 0
      ? []
      : ((await query('SELECT room_id, user_id, membership FROM memberships WHERE room_id = ANY($1) AND user_id = ANY($2)', [
          roomIds,
          userIds,
        ])) as {
          room_id: string;
          user_id: string;
          membership: Membership;
        }[]);
  for (const room of rooms) {
    const own = state.filter((row) => row.room_id === room.room_id);
    const joinRule = own.find((row) => row.type === JOIN_RULES)?.content['join_rule'];
    states.set(room.room_id, {
      ...emptyRoomState(),
      exists: true,
      creator: room.creator,
      joinRule: typeof joinRule === 'string' ? joinRule : 'invite',
      powerLevels: powerLevelsFrom(own.find((row) => row.type === POWER_LEVELS)?.content, room.creator),
      memberships: new Map(members.filter((row) => row.room_id === room.room_id).map((row) => [row.user_id, row.membership])),
    });
  }
  return states;
}
