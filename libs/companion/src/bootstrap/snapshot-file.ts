import { isValidUserId } from '@mx/matrix';
import { isJsonObject } from './homeserver-answer-error.js';

/**
 * What the companion bootstrap read from the homeserver, as a file (`companion-bootstrap
 * --save-snapshot <file>`, appended later with `--from-snapshot <file>`): each room's member
 * events as the admin API answered them and each local user's `GET /profile` answer. Reading and
 * appending apart lets an operator read at a quiet hour, look at it, and append later: the entries
 * are the same as a direct run's (same event IDs and ordering stamps), so appending a snapshot long
 * after it was read is as safe as appending it at once (see member-snapshot.ts, profile-snapshot.ts).
 */
export const SNAPSHOT_FORMAT = 'mx-companion-snapshot';
export const SNAPSHOT_VERSION = 1;

export interface SnapshotRoom {
  readonly roomId: string;
  /** The room's member events, as `GET /_synapse/admin/v1/rooms/{roomId}/state` answered them. */
  readonly memberEvents: readonly unknown[];
}

export interface SnapshotUser {
  readonly userId: string;
  /** The `GET /profile` answer (an empty object for a user without a profile). */
  readonly profile: Readonly<Record<string, unknown>>;
}

export interface HomeserverSnapshot {
  /** The homeserver's base URL it was read from. */
  readonly homeserver: string;
  /** When the read began (ms since the epoch). */
  readonly readAt: number;
  readonly rooms: readonly SnapshotRoom[];
  readonly users: readonly SnapshotUser[];
}

export class MalformedSnapshotFileError extends Error {
  constructor(problem: string) {
    super(`not a companion snapshot file: ${problem}`);
    this.name = 'MalformedSnapshotFileError';
  }
}

export function encodeSnapshotFile(snapshot: HomeserverSnapshot): string {
  return `${JSON.stringify({
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    homeserver: snapshot.homeserver,
    read_at: snapshot.readAt,
    rooms: snapshot.rooms.map((room) => ({ room_id: room.roomId, member_events: room.memberEvents })),
    users: snapshot.users.map((user) => ({ user_id: user.userId, profile: user.profile })),
  })}\n`;
}

export function decodeSnapshotFile(text: string): HomeserverSnapshot {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new MalformedSnapshotFileError(`not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  if (!isJsonObject(raw) || raw['format'] !== SNAPSHOT_FORMAT) throw new MalformedSnapshotFileError(`no "format": "${SNAPSHOT_FORMAT}"`);
  if (raw['version'] !== SNAPSHOT_VERSION) throw new MalformedSnapshotFileError(`unknown version ${JSON.stringify(raw['version'])}`);
  const { homeserver, read_at: readAt, rooms, users } = raw;
  if (typeof homeserver !== 'string' || typeof readAt !== 'number' || !Array.isArray(rooms) || !Array.isArray(users)) {
    throw new MalformedSnapshotFileError('lacks homeserver, read_at, rooms or users');
  }
  return {
    homeserver,
    readAt,
    rooms: rooms.map((room: unknown, index): SnapshotRoom => {
      if (
        !isJsonObject(room) ||
        typeof room['room_id'] !== 'string' ||
        !room['room_id'].startsWith('!') ||
        !Array.isArray(room['member_events'])
      ) {
        throw new MalformedSnapshotFileError(`rooms[${index}] lacks room_id or member_events`);
      }
      return { roomId: room['room_id'], memberEvents: room['member_events'] as unknown[] };
    }),
    users: users.map((user: unknown, index): SnapshotUser => {
      if (!isJsonObject(user) || typeof user['user_id'] !== 'string' || !isValidUserId(user['user_id']) || !isJsonObject(user['profile'])) {
        throw new MalformedSnapshotFileError(`users[${index}] lacks user_id or profile`);
      }
      return { userId: user['user_id'], profile: user['profile'] };
    }),
  };
}
