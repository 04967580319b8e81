import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectStatus, extraService, profilePath } from '../support/accounts.js';
import { CLIENT_V3, PASSWORD, request, type TestUser, uniqueLocalpart } from '../support/matrix-client.js';
import { describeMsc4429Behaviours } from '../support/msc4429-behaviours.js';
import { type Msc4429Driver, type SyncBody, syncQuery } from '../support/msc4429-driver.js';
import { metricValue, until } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import { companionEnv } from '../support/companion-stack.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { joinRoomById, leaveRoom, membershipAction, type MembershipAction } from '../support/rooms.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * The MSC4429 behaviour table (test/support/msc4429-behaviours.ts, also run in standalone mode by
 * msc4429.test.ts) in companion mode: accounts, rooms and memberships at a Synapse 1.163.2 of the
 * test's own, which sends its member events to the project through the Application Service API;
 * profile writes and `/sync` through the project's writer and sync API in companion mode. A room
 * action at Synapse returns before the project hears of it (the feed's lag), so the driver waits
 * until the projection holds the membership, as a standalone writer's answer does.
 *
 * Differences from standalone mode, each with its reason (README "Companion mode"): Synapse names
 * every new account after its localpart (its member events carry that name); Synapse's lazy-loaded state also
 * carries the room's heroes, whose profiles the response then needs; a long-poll may answer with the
 * projection's news before the homeserver's timeline carries the join that caused it (the next
 * answer does). Stored filters, the `since` format and the filter-parameter errors are the
 * homeserver's, tested where they differ (companion-sync.test.ts), not here.
 */
const PORTS = PORT_OFFSETS.companionMsc4429;

describe('MSC4429 in companion mode', () => {
  const stack = inject('stack');
  let database = '';
  let synapse: OwnSynapse | undefined;
  let writer: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  let syncApi: ServiceProcess | undefined;
  const hs = () => ({ baseUrl: synapse!.baseUrl });

  /** Resolves once the projection holds `membership` for (room, user), as the feed delivers it. */
  const projected = (roomId: string, userId: string, membership: string) =>
    until(`${userId} ${membership} in ${roomId} projected`, async () => {
      const { stdout } = await psql(
        `SELECT membership FROM memberships WHERE room_id = '${roomId.replaceAll("'", "''")}' AND user_id = '${userId.replaceAll("'", "''")}'`,
        database,
      );
      return stdout.trim() === membership || undefined;
    });

  const ACTION_RESULT: Record<MembershipAction, string> = { invite: 'invite', kick: 'leave', ban: 'ban', unban: 'leave' };

  const driver: Msc4429Driver = {
    get syncApiUrl() {
      return syncApi!.url;
    },
    roomsFromHomeserver: true,
    defaultDisplayname: (user) => user.username,
    register: async (prefix) => {
      const username = uniqueLocalpart(prefix);
      const response = await request<{ user_id: string; access_token: string; device_id: string }>('POST', `${CLIENT_V3}/register`, {
        ...hs(),
        body: { username, password: PASSWORD, auth: { type: 'm.login.dummy' } },
      });
      expectStatus(response, 200);
      return {
        username,
        password: PASSWORD,
        userId: response.body.user_id,
        accessToken: response.body.access_token,
        deviceId: response.body.device_id,
      };
    },
    createPublicRoom: async (owner) => {
      const created = await request<{ room_id: string }>('POST', `${CLIENT_V3}/createRoom`, {
        ...hs(),
        token: owner.accessToken,
        body: { preset: 'public_chat' },
      });
      expectStatus(created, 200);
      const roomId = created.body.room_id;
      await projected(roomId, owner.userId, 'join');
      return roomId;
    },
    join: async (user, roomId) => {
      expectStatus(await joinRoomById(user, roomId, hs()), 200);
      await projected(roomId, user.userId, 'join');
    },
    leave: async (user, roomId) => {
      expectStatus(await leaveRoom(user, roomId, hs()), 200);
      await projected(roomId, user.userId, 'leave');
    },
    act: async (actor, action, roomId, target) => {
      expectStatus(await membershipAction(actor, action, roomId, target, hs()), 200);
      await projected(roomId, target, ACTION_RESULT[action]);
    },
    put: async (user: TestUser, key, value) =>
      expectStatus(
        await request('PUT', profilePath(user.userId, key), { baseUrl: writer!.url, token: user.accessToken, body: { [key]: value } }),
        200,
      ),
    del: async (user, key) =>
      expectStatus(await request('DELETE', profilePath(user.userId, key), { baseUrl: writer!.url, token: user.accessToken }), 200),
    syncRaw: (user, options = {}) =>
      request<SyncBody>('GET', `${CLIENT_V3}/sync?${syncQuery(options)}`, { baseUrl: syncApi!.url, token: user.accessToken }),
  };

  beforeAll(async () => {
    synapse = await startOwnSynapse({
      name: 'companion_msc4429',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.writer}`,
    });
    const companion = companionEnv(synapse, 'companion_msc4429');
    database = companion.database;
    const env = companion.env;
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-companion-msc4429', PORTS.writer, env);
    projector = extraService('projector', 'projector-companion-msc4429', PORTS.projector, env);
    syncApi = extraService('sync-api', 'sync-api-companion-msc4429', PORTS.syncApi, env);
    for (const service of [writer, projector, syncApi]) service.start();
    await Promise.all([writer.waitReady(), projector.waitReady(), syncApi.waitReady()]);
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([writer?.stop(), projector?.stop(), syncApi?.stop()]);
    await synapse?.stop();
  }, 60_000);

  it('runs against a Synapse that has its own MSC4429 off (the users section is the project’s)', async () => {
    const versions = await request<{ unstable_features?: Record<string, boolean> }>('GET', '/_matrix/client/versions', {
      baseUrl: syncApi!.url,
    });
    expect(versions.body.unstable_features?.['org.matrix.msc4429']).toBe(true);
  });

  describeMsc4429Behaviours('companion', () => driver);

  // Runs after the table: its woken long-polls (companion mode's half of /sync) were answered from memory, not only from the database.
  it('answered the table’s woken long-polls from memory', async () => {
    expect((await metricValue(syncApi!.url, 'mx_sync_memory_answers_total', 'outcome="answered"')) ?? 0).toBeGreaterThan(0);
  });
});
