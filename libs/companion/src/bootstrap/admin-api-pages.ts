import { isValidUserId } from '@mx/matrix';
import { isJsonObject, UnexpectedHomeserverAnswerError } from './homeserver-answer-error.js';

/**
 * The pages of Synapse's admin API the companion bootstrap and verify list (docs/admin_api/rooms.md,
 * user_admin_api.md): `GET /_synapse/admin/v1/rooms?from=&limit=` (`rooms[].room_id`,
 * `total_rooms`, `next_batch` an offset while more follow) and `GET /_synapse/admin/v2/users?from=
 * &limit=` (`users[].name`, `total`, `next_token` a string while more follow). Both page by offset
 * over an ordering that new rooms and users can shift, so callers list everything first and
 * de-duplicate (a room or user created meanwhile reaches the project through the appservice feed).
 */

export const ROOMS_PATH = '/_synapse/admin/v1/rooms';
export const USERS_PATH = '/_synapse/admin/v2/users';

export interface RoomsPage {
  readonly roomIds: readonly string[];
  readonly total: number;
  /** Where the next page starts; undefined on the last page. */
  readonly next: string | undefined;
}

export function parseRoomsPage(body: unknown): RoomsPage {
  const request = `GET ${ROOMS_PATH}`;
  if (!isJsonObject(body) || !Array.isArray(body['rooms'])) throw new UnexpectedHomeserverAnswerError(request, 'no `rooms` array');
  const roomIds = body['rooms'].map((room: unknown, index) => {
    const roomId = isJsonObject(room) ? room['room_id'] : undefined;
    if (typeof roomId !== 'string' || !roomId.startsWith('!')) {
      throw new UnexpectedHomeserverAnswerError(request, `rooms[${index}] has no room_id`);
    }
    return roomId;
  });
  const total = body['total_rooms'];
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
    throw new UnexpectedHomeserverAnswerError(request, 'no `total_rooms` count');
  }
  return { roomIds, total, next: pageToken(body['next_batch'], request, 'next_batch') };
}

export interface LocalUser {
  readonly userId: string;
  readonly deactivated: boolean;
}

export interface UsersPage {
  readonly users: readonly LocalUser[];
  readonly total: number;
  readonly next: string | undefined;
}

export function parseUsersPage(body: unknown): UsersPage {
  const request = `GET ${USERS_PATH}`;
  if (!isJsonObject(body) || !Array.isArray(body['users'])) throw new UnexpectedHomeserverAnswerError(request, 'no `users` array');
  const users = body['users'].map((user: unknown, index): LocalUser => {
    const userId = isJsonObject(user) ? user['name'] : undefined;
    if (typeof userId !== 'string' || !isValidUserId(userId)) {
      throw new UnexpectedHomeserverAnswerError(request, `users[${index}] has no valid user ID in \`name\``);
    }
    // Synapse answers 0/1 or false/true depending on the database.
    const deactivated = isJsonObject(user) && (user['deactivated'] === true || user['deactivated'] === 1);
    return { userId, deactivated };
  });
  const total = body['total'];
  if (typeof total !== 'number' || !Number.isSafeInteger(total) || total < 0) {
    throw new UnexpectedHomeserverAnswerError(request, 'no `total` count');
  }
  return { users, total, next: pageToken(body['next_token'], request, 'next_token') };
}

/** `next_batch` / `next_token`: a number or a string of digits, or absent on the last page. */
function pageToken(value: unknown, request: string, name: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if ((typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) || (typeof value === 'string' && /^\d+$/.test(value))) {
    return String(value);
  }
  throw new UnexpectedHomeserverAnswerError(request, `\`${name}\` is not an offset`);
}

/** The path of `GET /_synapse/admin/v1/rooms/{roomId}/state`, member events only. */
export function roomMemberStatePath(roomId: string): string {
  return `/_synapse/admin/v1/rooms/${encodeURIComponent(roomId)}/state?type=m.room.member`;
}

/** The `state` array of a room-state answer (its events are read as member events by memberSnapshotEntries). */
export function parseRoomState(roomId: string, body: unknown): readonly unknown[] {
  if (!isJsonObject(body) || !Array.isArray(body['state'])) {
    throw new UnexpectedHomeserverAnswerError(`GET /_synapse/admin/v1/rooms/${roomId}/state`, 'no `state` array');
  }
  return body['state'];
}
