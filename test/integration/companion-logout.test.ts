import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { expectMatrixError, extraService } from '../support/accounts.js';
import { expectOk, registerOnHomeserver, type HomeserverUser } from '../support/homeserver-users.js';
import { parkLongPoll } from '../support/long-polls.js';
import { PASSWORD, request } from '../support/matrix-client.js';
import { freshDatabase, setUpFor } from '../support/own-infra.js';
import { companionEnv } from '../support/companion-stack.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * Companion mode, logout (issue 14, point 1): `POST /logout` and `/logout/all` go to the writer,
 * which forwards them to Synapse with the client's token and, once Synapse logged the token out,
 * tells every replica to forget it at once. A second writer stands for another replica: it writes
 * profiles to Synapse with the appservice's token, so only its whoami cache (set to ten minutes
 * here) stands between a logged-out token and a profile write; a write it refuses proves the
 * announcement reached it. Two companion sync APIs stand for sync replicas (their `/sync` also
 * asks Synapse with the client's token, which refuses a logged-out one by itself). A long-poll parked with the token on another replica
 * ends at once, long before its timeout: Synapse itself answers its part of it when the logout
 * deletes the device (its own `device_lists.changed`), usually before the announcement arrives,
 * and the replica answers that 200; otherwise the replica ends it with 401 itself. Either way the
 * token's next request on that replica is 401.
 */
const PORTS = PORT_OFFSETS.companionLogout;
const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.status'] } });
const LONG_POLL_TIMEOUT_MS = 90_000;

interface SyncBody {
  next_batch: string;
}

describe('companion mode: logout through the project drops the token on every replica', () => {
  const stack = inject('stack');
  let synapse: OwnSynapse | undefined;
  let writer: ServiceProcess | undefined;
  let syncApiA: ServiceProcess | undefined;
  let syncApiB: ServiceProcess | undefined;
  let writerB: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  const hs = (): OwnSynapse => synapse!;

  const sync = (replica: ServiceProcess, token: string, query: Record<string, string> = {}) =>
    request<SyncBody>('GET', `/_matrix/client/v3/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`, {
      baseUrl: replica.url,
      token,
    });
  const setStatus = (token: string, userId: string, text: string) =>
    request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/m.status`, {
      baseUrl: writerB!.url,
      token,
      body: { 'm.status': { text } },
    });
  /** A second device (and token) of the same account, logged in at Synapse. */
  const loginAgain = async (user: HomeserverUser): Promise<string> =>
    expectOk(
      await request<{ access_token: string }>('POST', '/_matrix/client/v3/login', {
        baseUrl: hs().baseUrl,
        body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: user.user_id }, password: PASSWORD },
      }),
      'login',
    ).access_token;
  /** The parked long-poll ended well before its timeout: with 401, or with Synapse's 200 after which the token is refused. */
  const expectEndedByLogout = async (answer: Promise<Awaited<ReturnType<typeof sync>>>, token: string, began: number) => {
    const ended = await answer;
    expect(Date.now() - began).toBeLessThan(LONG_POLL_TIMEOUT_MS / 2);
    if (ended.status === 401) expectMatrixError(ended, 401, 'M_UNKNOWN_TOKEN');
    else expectOk(ended, 'the parked long-poll (Synapse answered its part at the logout)');
    // B had the token in its ten-minute cache: only the announcement can make it refuse it now.
    expectMatrixError(await sync(syncApiB!, token), 401, 'M_UNKNOWN_TOKEN');
  };
  /** A long-poll parked on replica B with `token`, from a position of its own (so it waits on both sides). */
  const parkOnB = async (token: string) => {
    const since = expectOk(await sync(syncApiB!, token), 'initial sync on B').next_batch;
    return parkLongPoll(() => sync(syncApiB!, token, { since, timeout: String(LONG_POLL_TIMEOUT_MS) }), { syncApiUrl: syncApiB!.url });
  };

  beforeAll(async () => {
    synapse = await startOwnSynapse({
      name: 'companion_logout',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.writer}`,
    });
    const { database, env } = companionEnv(synapse, 'companion_logout', {
      // Ten minutes: only the logout's announcement can make a replica forget a token within this test.
      MX_WHOAMI_CACHE_MS: '600000',
    });
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-companion-logout', PORTS.writer, env);
    syncApiA = extraService('sync-api', 'sync-api-companion-logout-a', PORTS.syncApiA, env);
    syncApiB = extraService('sync-api', 'sync-api-companion-logout-b', PORTS.syncApiB, env);
    writerB = extraService('writer', 'writer-companion-logout-b', PORTS.writerB, env);
    // Profile writes answer once projected (read-your-writes).
    projector = extraService('projector', 'projector-companion-logout', PORTS.projector, env);
    const services = [writer, syncApiA, syncApiB, writerB, projector];
    for (const service of services) service.start();
    await Promise.all(services.map((service) => service.waitReady()));
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([writer?.stop(), syncApiA?.stop(), syncApiB?.stop(), writerB?.stop(), projector?.stop()]);
    await synapse?.stop();
  }, 60_000);

  it('POST /logout: Synapse logs the token out, replica A stops accepting it at once, B ends its parked long-poll with 401; the other device keeps working', async () => {
    const alice = await registerOnHomeserver(hs().baseUrl, 'alice');
    const other = await loginAgain(alice);
    // Both replicas have the token in their whoami cache (ten minutes).
    expectOk(await sync(syncApiA!, alice.access_token), 'sync on A');
    expectOk(await setStatus(alice.access_token, alice.user_id, 'before'), 'profile write on writer B');
    const parked = await parkOnB(alice.access_token);
    const began = Date.now();

    expectOk(await request('POST', '/_matrix/client/v3/logout', { baseUrl: writer!.url, token: alice.access_token, body: {} }), 'logout');

    await expectEndedByLogout(parked.answer, alice.access_token, began);
    expectMatrixError(await sync(syncApiA!, alice.access_token), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await setStatus(alice.access_token, alice.user_id, 'after'), 401, 'M_UNKNOWN_TOKEN');
    // Synapse itself no longer knows the token; the same account's other device is untouched.
    expectMatrixError(
      await request('GET', '/_matrix/client/v3/account/whoami', { baseUrl: hs().baseUrl, token: alice.access_token }),
      401,
      'M_UNKNOWN_TOKEN',
    );
    expectOk(await sync(syncApiA!, other), 'the other device on A');
    expectOk(await setStatus(other, alice.user_id, 'other device'), 'the other device writes on writer B');
  });

  it('POST /logout/all: every token of the user is dropped on every replica, a parked long-poll of another device included; other users are untouched', async () => {
    const bob = await registerOnHomeserver(hs().baseUrl, 'bob');
    const second = await loginAgain(bob);
    const carol = await registerOnHomeserver(hs().baseUrl, 'carol');
    expectOk(await sync(syncApiA!, second), 'sync on A');
    expectOk(await sync(syncApiA!, carol.access_token), 'carol on A');
    expectOk(await setStatus(second, bob.user_id, 'before'), 'profile write on writer B');
    expectOk(await setStatus(carol.access_token, carol.user_id, 'before'), 'carol writes on writer B');
    const parked = await parkOnB(second);
    const began = Date.now();

    expectOk(
      await request('POST', '/_matrix/client/v3/logout/all', { baseUrl: writer!.url, token: bob.access_token, body: {} }),
      'logout/all',
    );

    await expectEndedByLogout(parked.answer, second, began);
    expectMatrixError(await sync(syncApiA!, second), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await sync(syncApiB!, bob.access_token), 401, 'M_UNKNOWN_TOKEN');
    expectMatrixError(await setStatus(second, bob.user_id, 'after'), 401, 'M_UNKNOWN_TOKEN');
    expectOk(await sync(syncApiA!, carol.access_token), 'carol on A after bob logged out everywhere');
    expectOk(await setStatus(carol.access_token, carol.user_id, 'after'), 'carol still writes on writer B');
  });

  it("a logout Synapse refuses (an unknown token) answers Synapse's 401 and drops nothing", async () => {
    const dave = await registerOnHomeserver(hs().baseUrl, 'dave');
    expectOk(await sync(syncApiA!, dave.access_token), 'sync on A');
    expectMatrixError(
      await request('POST', '/_matrix/client/v3/logout', { baseUrl: writer!.url, token: 'syt_not_a_token', body: {} }),
      401,
      'M_UNKNOWN_TOKEN',
    );
    expectOk(await sync(syncApiA!, dave.access_token), 'dave still syncs');
  });
});
