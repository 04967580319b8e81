import { encodeCompanionSyncToken } from '@mx/companion';
import type { SyncEvent, SyncPositions } from '@mx/sync';
import type { ProfileUpdates } from '../sync/profile-updates.reader.js';
import { STABLE_USERS_SECTION, UNSTABLE_USERS_SECTION, type SyncResponse } from '../sync/sync.service.js';

/**
 * Companion mode's pure parts of `/sync`: what is forwarded to the homeserver, and how its answer
 * and the project's users section make one response.
 */

/**
 * The homeserver's query: the client's own, parameter for parameter (filter, timeout, full_state,
 * set_presence, and whatever else the client sent, such as `org.matrix.msc4222.use_state_after`),
 * with `since` replaced by the homeserver's part of the token and `timeout` by the capped one. The
 * token travels in the `Authorization` header, never in the query.
 */
export function homeserverSyncQuery(
  query: Readonly<Record<string, unknown>>,
  homeserverSince: string | undefined,
  timeoutMs: number | undefined,
): URLSearchParams {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    if (name === 'since' || name === 'access_token' || name === 'timeout') continue;
    for (const item of Array.isArray(value) ? value : [value]) {
      if (typeof item === 'string') params.append(name, item);
    }
  }
  if (homeserverSince !== undefined) params.set('since', homeserverSince);
  if (timeoutMs !== undefined) params.set('timeout', String(timeoutMs));
  return params;
}

/** Every key a users section may take: the homeserver's own (Synapse's MSC4429) is dropped, so the client gets exactly one, ours. */
const USERS_SECTIONS = [UNSTABLE_USERS_SECTION, STABLE_USERS_SECTION];

export type UsersSection = ReadonlyMap<string, ProfileUpdates | null>;

/**
 * The response: the homeserver's body untouched but for `next_batch` (both positions) and the users
 * section (ours, under `sectionName`, when it has entries). `positions` undefined (the projection
 * could not be read and the client's token had none): the homeserver's token alone, which a later
 * request takes as "users section afresh".
 */
export function mergeCompanionSync(
  homeserver: Readonly<Record<string, unknown>>,
  homeserverNextBatch: string,
  positions: SyncPositions | undefined,
  users: UsersSection | undefined,
  sectionName: string,
): Record<string, unknown> {
  const merged: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(homeserver)) if (!USERS_SECTIONS.includes(key)) merged[key] = value;
  merged['next_batch'] = positions === undefined ? homeserverNextBatch : encodeCompanionSyncToken(positions, homeserverNextBatch);
  if (users !== undefined && users.size > 0) merged[sectionName] = usersSectionBody(users);
  return merged;
}

/** The answer when the project has news before the homeserver: the homeserver's `since` kept, nothing of it fabricated. */
export function projectOnlySync(
  homeserverSince: string,
  positions: SyncPositions,
  users: UsersSection,
  sectionName: string,
): Record<string, unknown> {
  return { next_batch: encodeCompanionSyncToken(positions, homeserverSince), [sectionName]: usersSectionBody(users) };
}

function usersSectionBody(users: UsersSection): Record<string, { profile_updates: ProfileUpdates | null }> {
  return Object.fromEntries([...users].map(([user, updates]) => [user, { profile_updates: updates }]));
}

const asObject = (value: unknown): Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
const asEvents = (value: unknown): SyncEvent[] => {
  const events = asObject(value)['events'];
  return (Array.isArray(events) ? events : []).filter(
    (event): event is SyncEvent =>
      event !== null && typeof event === 'object' && typeof (event as Record<string, unknown>)['sender'] === 'string',
  );
};

/**
 * The homeserver's rooms section in the shape the users section's lazy-loading reads (the senders
 * and member events of its state and timelines); anything unexpected is left out.
 */
export function homeserverRooms(homeserver: Readonly<Record<string, unknown>>): SyncResponse['rooms'] {
  const rooms = asObject(homeserver['rooms']);
  const section = (name: string) =>
    Object.fromEntries(
      Object.entries(asObject(rooms[name])).map(([roomId, room]) => {
        const value = asObject(room);
        return [
          roomId,
          {
            timeline: { events: asEvents(value['timeline']), limited: false, prev_batch: '' },
            state: { events: [...asEvents(value['state']), ...asEvents(value['state_after'])] },
            ephemeral: { events: [] },
            account_data: { events: [] },
            unread_notifications: {},
          },
        ];
      }),
    ) as SyncResponse['rooms']['join'];
  return { join: section('join'), invite: {}, leave: section('leave'), knock: {} };
}

/** A member event the homeserver's answer shows as new (in a timeline): the projection should hold it before the users section is built. */
export interface TimelineMemberEvent {
  readonly eventId: string;
  readonly roomId: string;
  readonly userId: string;
  readonly originServerTs: number;
}

/**
 * The `m.room.member` events of the homeserver's joined and left rooms' timelines: the joins and
 * leaves this answer tells the client about (each once).
 */
export function timelineMemberEvents(rooms: SyncResponse['rooms']): TimelineMemberEvent[] {
  const found = new Map<string, TimelineMemberEvent>();
  for (const section of [rooms.join, rooms.leave]) {
    for (const [roomId, room] of Object.entries(section)) {
      for (const event of room.timeline.events) {
        if (event.type !== 'm.room.member' || typeof event.state_key !== 'string' || typeof event.event_id !== 'string') continue;
        const ts = typeof event.origin_server_ts === 'number' && Number.isSafeInteger(event.origin_server_ts) ? event.origin_server_ts : 0;
        found.set(event.event_id, { eventId: event.event_id, roomId, userId: event.state_key, originServerTs: ts });
      }
    }
  }
  return [...found.values()];
}

/** `/versions` in companion mode: the homeserver's, with the project's MSC4429 flags added. */
export function companionVersions(homeserver: Readonly<Record<string, unknown>>, stableNames: boolean): Record<string, unknown> {
  const unstable: Record<string, unknown> = { ...asObject(homeserver['unstable_features']), 'org.matrix.msc4429': true };
  if (stableNames) unstable['org.matrix.msc4429.stable'] = true;
  return { ...homeserver, unstable_features: unstable };
}
