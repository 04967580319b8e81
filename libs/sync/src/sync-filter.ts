import { MatrixError, MatrixErrors } from '@mx/matrix';
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

/**
 * The largest filter accepted, stored or inline: 64 KiB as compact JSON in UTF-8 (the size of its
 * canonical JSON: the same bytes with the keys sorted). Synapse has no limit of its own beyond the
 * request size; a real filter is a few hundred bytes, and this keeps one user's filters from
 * filling a replica's memory.
 */
export const MAX_FILTER_BYTES = 64 * 1024;

/** 400 `M_TOO_LARGE`: the filter is larger than MAX_FILTER_BYTES. */
export function filterTooLarge(bytes: number, maxBytes = MAX_FILTER_BYTES): MatrixError {
  return new MatrixError(400, 'M_TOO_LARGE', `The filter is ${bytes} bytes as JSON; at most ${maxBytes} are accepted`);
}

/** Refuses (400 `M_TOO_LARGE`) a filter whose compact JSON text is larger than `maxBytes`. */
export function assertFilterTextSize(text: string, maxBytes = MAX_FILTER_BYTES): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit: short texts need no exact count.
  if (text.length * 3 <= maxBytes) return;
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) throw filterTooLarge(bytes, maxBytes);
}

/**
 * The compact JSON text of a filter definition (as stored), refused when larger than `maxBytes`
 * (400 `M_TOO_LARGE`) or when it cannot be written as JSON (400 `M_BAD_JSON`, e.g. nesting too
 * deep for the encoder).
 */
export function encodeFilter(definition: Readonly<Record<string, unknown>>, maxBytes = MAX_FILTER_BYTES): string {
  let text: string;
  try {
    text = JSON.stringify(definition);
  } catch {
    throw MatrixErrors.badJson('The filter cannot be encoded as JSON');
  }
  assertFilterTextSize(text, maxBytes);
  return text;
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
