import { emptyRoomState, JOIN_RULES, POWER_LEVELS, powerLevelsFrom, type RoomState } from '@mx/rooms';
import type { Sql } from './sql.js';
import * as memberships from './tables/memberships.js';
import * as roomState from './tables/room-state.js';
import * as rooms from './tables/rooms.js';

/**
 * Loads, from the projection, what the room rules need about some rooms: existence, creator,
 * join rule, power levels, and the memberships of the given users only (a big room's member list
 * is never loaded whole). Rooms that do not exist are absent from the result. Reads through the
 * `rooms`, `room_state` and `memberships` modules; the projector folds batches onto these states
 * and the writer checks commands against them.
 */
export async function loadRoomStates(sql: Sql, roomIds: readonly string[], userIds: readonly string[]): Promise<Map<string, RoomState>> {
  const states = new Map<string, RoomState>();
  if (roomIds.length === 0) return states;
  const created = await rooms.creatorsOf(sql, roomIds);
  const state = await roomState.roomWideContents(sql, roomIds, [JOIN_RULES, POWER_LEVELS]);
  const members = userIds.length === 0 ? [] : await memberships.ofUsersInRooms(sql, roomIds, userIds);
  for (const room of created) {
    const own = state.filter((row) => row.roomId === room.roomId);
    const joinRule = own.find((row) => row.type === JOIN_RULES)?.content['join_rule'];
    states.set(room.roomId, {
      ...emptyRoomState(),
      exists: true,
      creator: room.creator,
      joinRule: typeof joinRule === 'string' ? joinRule : 'invite',
      powerLevels: powerLevelsFrom(own.find((row) => row.type === POWER_LEVELS)?.content, room.creator),
      memberships: new Map(members.filter((row) => row.roomId === room.roomId).map((row) => [row.userId, row.membership])),
    });
  }
  return states;
}
