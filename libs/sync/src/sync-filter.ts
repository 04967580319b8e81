import { MatrixErrors } from '@mx/matrix';
import { requestedProfileFields } from './profile-field-filter.js';

/** What a `/sync` filter asks of this server (spec filter.yaml, MSC4429). */
export interface SyncFilter {
  readonly profileFields: readonly string[];
  /** Maximum timeline events per room. */
  readonly timelineLimit: number;
  /** `room.state.lazy_load_members`. */
  readonly lazyLoadMembers: boolean;
  /** `room.rooms`: when present, the only rooms the rooms section may carry. */
  readonly rooms: ReadonlySet<string> | undefined;
  /** `room.not_rooms`: rooms the rooms section never carries, even when listed in `rooms`. */
  readonly notRooms: ReadonlySet<string>;
}

/**
 * Whether the filter lets a room into the rooms section (join, invite, leave). Only the rooms
 * section: MSC4429's users section does not depend on it.
 */
export function includesRoom(filter: SyncFilter, roomId: string): boolean {
  return !filter.notRooms.has(roomId) && (filter.rooms === undefined || filter.rooms.has(roomId));
}

export const DEFAULT_TIMELINE_LIMIT = 10;
const MAX_TIMELINE_LIMIT = 100;

function roomIds(value: unknown, name: string): Set<string> | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string'))
    throw MatrixErrors.badJson(`${name} must be a list of room IDs`);
  return new Set(value);
}

function section(value: unknown, name: string): Record<string, unknown> {
  if (value === undefined) return {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw MatrixErrors.badJson(`${name} must be an object`);
  return value as Record<string, unknown>;
}

/** Reads a filter definition; a malformed part is 400 M_BAD_JSON. Unknown keys are ignored. */
export function parseSyncFilter(definition: Readonly<Record<string, unknown>>, maxProfileFields: number): SyncFilter {
  const room = section(definition['room'], 'room');
  const timeline = section(room['timeline'], 'room.timeline');
  const state = section(room['state'], 'room.state');
  const limit = timeline['limit'];
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < 0)) {
    throw MatrixErrors.badJson('room.timeline.limit must be a non-negative integer');
  }
  const lazy = state['lazy_load_members'];
  if (lazy !== undefined && typeof lazy !== 'boolean') throw MatrixErrors.badJson('room.state.lazy_load_members must be a boolean');
  return {
    profileFields: requestedProfileFields(definition, maxProfileFields),
    timelineLimit: Math.min(limit ?? DEFAULT_TIMELINE_LIMIT, MAX_TIMELINE_LIMIT),
    lazyLoadMembers: lazy === true,
    rooms: roomIds(room['rooms'], 'room.rooms'),
    notRooms: roomIds(room['not_rooms'], 'room.not_rooms') ?? new Set(),
  };
}
