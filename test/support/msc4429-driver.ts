import { CLIENT_V3, expectStatus, profilePath } from './accounts.js';
import { type MatrixResponse, registerUser, request, type TestUser, type USERS } from './matrix-client.js';
import { createRoomOk, joinRoomById, leaveRoom, membershipAction, type MembershipAction } from './rooms.js';

/**
 * What the MSC4429 behaviour tests (test/support/msc4429-behaviours.ts) need from a deployment,
 * so that one table of behaviours runs in both modes: standalone (the project is the homeserver)
 * and companion (test/integration/companion-msc4429.test.ts: Synapse keeps accounts and rooms, the
 * project serves /sync and profile writes). Every action resolves once the project has applied it,
 * as the standalone writer's answers do (read-your-writes).
 */
export type Updates = Record<string, unknown> | null;
export type Users = Record<string, { profile_updates: Updates }>;

export interface SyncEvent {
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
}
export interface RoomSection {
  timeline: { events: SyncEvent[] };
  state: { events: SyncEvent[] };
}
export interface SyncBody {
  next_batch: string;
  /** Absent from a companion answer the projection made alone (the homeserver had nothing yet). */
  rooms: { join: Record<string, RoomSection>; leave: Record<string, RoomSection> };
  [USERS]?: Users;
}

export interface SyncOptions {
  since?: string;
  timeout?: number;
  /** A filter object (sent as inline JSON) or a raw string (a stored filter id or malformed text). */
  filter?: unknown;
  fullState?: boolean;
}

export interface Msc4429Driver {
  /** Where `/sync` is served (for parkLongPoll's proof of a parked long-poll). */
  readonly syncApiUrl: string;
  /**
   * Companion mode: rooms and timelines come from the homeserver, answered independently of the
   * users section (a long-poll answers with whichever side has news first).
   */
  readonly roomsFromHomeserver: boolean;
  /** The displayname the homeserver gives a new account (Synapse: its localpart), if any. */
  defaultDisplayname(user: TestUser): string | undefined;
  register(prefix: string): Promise<TestUser>;
  /** A `public_chat` room of `owner`'s (joined). */
  createPublicRoom(owner: TestUser): Promise<string>;
  join(user: TestUser, roomId: string): Promise<void>;
  leave(user: TestUser, roomId: string): Promise<void>;
  act(actor: TestUser, action: MembershipAction, roomId: string, target: string): Promise<void>;
  put(user: TestUser, key: string, value: unknown): Promise<void>;
  del(user: TestUser, key: string): Promise<void>;
  syncRaw(user: TestUser, options?: SyncOptions): Promise<MatrixResponse<SyncBody>>;
}

/** The query of a `/sync` with these options. */
export function syncQuery(options: SyncOptions): string {
  const query = new URLSearchParams();
  if (options.since !== undefined) query.set('since', options.since);
  if (options.timeout !== undefined) query.set('timeout', String(options.timeout));
  if (options.filter !== undefined)
    query.set('filter', typeof options.filter === 'string' ? options.filter : JSON.stringify(options.filter));
  if (options.fullState !== undefined) query.set('full_state', String(options.fullState));
  return query.toString();
}

/** Standalone mode on the shared test stack (through its router). */
export function standaloneDriver(syncApiUrl: string): Msc4429Driver {
  return {
    syncApiUrl,
    roomsFromHomeserver: false,
    defaultDisplayname: () => undefined,
    register: (prefix) => registerUser(prefix),
    createPublicRoom: (owner) => createRoomOk(owner, { preset: 'public_chat' }),
    join: async (user, roomId) => expectStatus(await joinRoomById(user, roomId), 200),
    leave: async (user, roomId) => expectStatus(await leaveRoom(user, roomId), 200),
    act: async (actor, action, roomId, target) => expectStatus(await membershipAction(actor, action, roomId, target), 200),
    put: async (user, key, value) =>
      expectStatus(await request('PUT', profilePath(user.userId, key), { token: user.accessToken, body: { [key]: value } }), 200),
    del: async (user, key) => expectStatus(await request('DELETE', profilePath(user.userId, key), { token: user.accessToken }), 200),
    syncRaw: (user, options = {}) => request<SyncBody>('GET', `${CLIENT_V3}/sync?${syncQuery(options)}`, { token: user.accessToken }),
  };
}
