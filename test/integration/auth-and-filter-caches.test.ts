import { describe, expect, inject, it } from 'vitest';
import { CLIENT_V3, expectMatrixError, expectStatus, extraService, passwordLogin, PASSWORD, runDuringFile } from '../support/accounts.js';
import { registerUser, request } from '../support/matrix-client.js';
import { psql } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { createRoomOk } from '../support/rooms.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Access tokens and stored filters are cached per replica, so an idle incremental sync (nothing
 * committed since the token, timeout=0) costs the database nothing. A token deleted by a logout,
 * a logout everywhere or a new login on the same device is refused by every replica as soon as
 * the writer answers (it waits until every listening replica has acknowledged the deletion); a
 * token deleted by plain SQL, as soon as the deletion's NOTIFY reaches each replica.
 *
 * A second writer and a second sync API of their own (nothing else sends them requests), next to
 * the stack's own processes.
 */
describe('access-token and filter caches', () => {
  const stack = inject('stack');
  const syncB = extraService('sync-api', 'sync-api-cache-b', PORT_OFFSETS.authAndFilterCaches.syncApiB);
  const writerB = extraService('writer', 'writer-cache-b', PORT_OFFSETS.authAndFilterCaches.writerB);
  runDuringFile(syncB, writerB);

  async function queriesSent(service: ServiceProcess): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    const match = /^mx_db_queries_total(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(text);
    if (!match) throw new Error('mx_db_queries_total missing from /metrics');
    return Number(match[1]);
  }

  /** Every service that may be asked about a token: both writers (whoami) and both sync APIs. */
  function everyService(): { name: string; path: string; baseUrl: string }[] {
    return [
      { name: 'writer', path: `${CLIENT_V3}/account/whoami`, baseUrl: stack.writerUrl },
      { name: 'writer B', path: `${CLIENT_V3}/account/whoami`, baseUrl: writerB.url },
      { name: 'sync-api', path: `${CLIENT_V3}/sync?timeout=0&filter={"room":{"rooms":[]}}`, baseUrl: stack.syncApiUrl },
      { name: 'sync-api B', path: `${CLIENT_V3}/sync?timeout=0&filter={"room":{"rooms":[]}}`, baseUrl: syncB.url },
    ];
  }

  async function expectAcceptedEverywhere(token: string): Promise<void> {
    for (const service of everyService()) {
      const response = await request('GET', service.path, { token, baseUrl: service.baseUrl });
      expect(response.status, `${service.name}: ${JSON.stringify(response.body)}`).toBe(200);
    }
  }

  /** Asked right after the deletion was acknowledged, with no wait: each replica must already know. */
  async function expectRefusedEverywhere(token: string): Promise<void> {
    const services = everyService();
    const responses = await Promise.all(services.map((service) => request('GET', service.path, { token, baseUrl: service.baseUrl })));
    expect(Object.fromEntries(services.map((service, index) => [service.name, responses[index]?.status]))).toEqual(
      Object.fromEntries(services.map((service) => [service.name, 401])),
    );
    for (const response of responses) expectMatrixError(response, 401, 'M_UNKNOWN_TOKEN');
  }

  it('answers idle incremental syncs with a stored filter without a single database query', async () => {
    const alice = await registerUser('idle');
    await createRoomOk(alice, { preset: 'public_chat' });
    const created = await request<{ filter_id: string }>('POST', `${CLIENT_V3}/user/${encodeURIComponent(alice.userId)}/filter`, {
      token: alice.accessToken,
      body: { 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] }, room: { timeline: { limit: 5 } } },
      baseUrl: syncB.url,
    });
    expectStatus(created, 200);
    const filter = created.body.filter_id;
    const sync = async (since: string) => {
      const response = await request<{ next_batch: string; rooms: { join: Record<string, unknown> } }>(
        'GET',
        `${CLIENT_V3}/sync?since=${since}&timeout=0&filter=${filter}`,
        { token: alice.accessToken, baseUrl: syncB.url },
      );
      expectStatus(response, 200);
      return response.body;
    };
    const initial = await request<{ next_batch: string }>('GET', `${CLIENT_V3}/sync?filter=${filter}`, {
      token: alice.accessToken,
      baseUrl: syncB.url,
    });
    expectStatus(initial, 200);
    let token = (await sync(initial.body.next_batch)).next_batch;

    // Other test files write meanwhile: a window in which some commit moved the positions (a new
    // next_batch) is not idle and is measured again.
    let measured: number | undefined;
    for (let attempt = 0; attempt < 20 && measured === undefined; attempt++) {
      const before = await queriesSent(syncB);
      let idle = true;
      for (let index = 0; index < 50; index++) {
        const body = await sync(token);
        if (body.next_batch !== token) idle = false;
        token = body.next_batch;
      }
      const after = await queriesSent(syncB);
      if (idle) measured = after - before;
    }
    expect(measured, 'no idle window of 50 syncs in 20 attempts').toBeDefined();
    expect(measured).toBe(0);
  });

  it('refuses a token on every replica right after logout', async () => {
    const alice = await registerUser('logout-cache');
    await expectAcceptedEverywhere(alice.accessToken);
    expectStatus(await request('POST', `${CLIENT_V3}/logout`, { token: alice.accessToken, body: {}, baseUrl: writerB.url }), 200);
    await expectRefusedEverywhere(alice.accessToken);
  });

  it('refuses every token of the user on every replica right after logout/all, and keeps other users’ tokens', async () => {
    const alice = await registerUser('logoutall-cache');
    const bob = await registerUser('bystander');
    const second = await passwordLogin(alice.username, PASSWORD);
    expectStatus(second, 200);
    const tokens = [alice.accessToken, second.body.access_token];
    for (const token of [...tokens, bob.accessToken]) await expectAcceptedEverywhere(token);
    expectStatus(await request('POST', `${CLIENT_V3}/logout/all`, { token: tokens[1], body: {}, baseUrl: stack.writerUrl }), 200);
    for (const token of tokens) await expectRefusedEverywhere(token);
    await expectAcceptedEverywhere(bob.accessToken);
  });

  it('refuses the old token of a device on every replica once the device logs in again', async () => {
    const alice = await registerUser('relogin-cache');
    await expectAcceptedEverywhere(alice.accessToken);
    const again = await passwordLogin(alice.username, PASSWORD, { device_id: alice.deviceId });
    expectStatus(again, 200);
    await expectRefusedEverywhere(alice.accessToken);
    await expectAcceptedEverywhere(again.body.access_token);
  });

  /** Asks until every replica refuses the token, for at most `withinMs`. */
  async function expectRefusedEverywhereWithin(token: string, withinMs: number): Promise<void> {
    const deadline = Date.now() + withinMs;
    for (;;) {
      const responses = await Promise.all(
        everyService().map((service) => request('GET', service.path, { token, baseUrl: service.baseUrl })),
      );
      if (responses.every((response) => response.status === 401) || Date.now() > deadline) {
        for (const response of responses) expectMatrixError(response, 401, 'M_UNKNOWN_TOKEN');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  it('refuses a token deleted by plain SQL on every replica, as soon as the notification arrives (well before the cache would expire)', async () => {
    const alice = await registerUser('sql-cache');
    await expectAcceptedEverywhere(alice.accessToken);
    await psql(`DELETE FROM access_tokens WHERE user_id = '${alice.userId}'`, stack.env['MX_DATABASE_NAME']);
    // No writer to wait for the replicas here: each hears the NOTIFY on its own connection.
    await expectRefusedEverywhereWithin(alice.accessToken, 2000);
  });

  it('forgets every cached token when its listener reconnects (notifications may have been missed)', async () => {
    const alice = await registerUser('reconnect-cache');
    await expectAcceptedEverywhere(alice.accessToken);
    const database = stack.env['MX_DATABASE_NAME']!;
    // Cut the replicas' listeners and delete the token in the same breath: the notification goes nowhere.
    const listeners = `SELECT pid FROM pg_stat_activity WHERE datname = '${database}' AND starts_with(application_name, 'mx_access_tokens ')`;
    expect(Number((await psql(`SELECT count(*) FROM (${listeners}) l`, database)).stdout.trim())).toBeGreaterThanOrEqual(4);
    await psql(
      `SELECT pg_terminate_backend(pid, 5000) FROM (${listeners}) l; DELETE FROM access_tokens WHERE user_id = '${alice.userId}'`,
      database,
    );
    // Within a reconnect (not the cache's time-to-live), every replica refuses the token.
    await expectRefusedEverywhereWithin(alice.accessToken, 5000);
  });
});
