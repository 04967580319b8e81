import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { profileFilter, registerUser, request, type TestUser, USERS } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * The local router (deploy/local/router.sh, nginx) holds two connections per proxied request
 * (client and upstream) for as long as a /sync long-poll is parked: it must carry well over a
 * thousand parked long-polls. A router and a sync API of this test's own, so the count at the
 * sync API is exactly this test's.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const PARKED = 1200;
const ZONE = 'Europe/Paris';
/** The users section a long-poll of `user` is woken with: its own new time zone. */
const woken = (user: TestUser) => ({ [user.userId]: { profile_updates: { 'm.tz': ZONE } } });

describe('local router capacity', () => {
  const stack = inject('stack');
  const sync = extraService('sync-api', 'sync-api-router-capacity', PORT_OFFSETS.routerCapacity.syncApi);
  const routerPort = stack.portBase + PORT_OFFSETS.routerCapacity.router;
  const routerEnv = {
    ...process.env,
    MX_LOCAL_DIR: join(root, '.local', `test-router-capacity-${stack.portBase}`),
    MX_ROUTER_PORT: String(routerPort),
    MX_WRITER_PORT: new URL(stack.writerUrl).port,
    MX_SYNC_API_PORT: new URL(sync.url).port,
  };
  const baseUrl = `http://127.0.0.1:${routerPort}`;

  beforeAll(async () => {
    sync.start();
    await sync.waitReady();
    await run('bash', ['deploy/local/router.sh', 'start'], { cwd: root, env: routerEnv });
  }, 90_000);

  afterAll(async () => {
    await run('bash', ['deploy/local/router.sh', 'stop'], { cwd: root, env: routerEnv }).catch(() => undefined);
    await sync.stop();
  }, 30_000);

  async function parkedAtSyncApi(): Promise<number> {
    const text = await (await fetch(`${sync.url}/metrics`)).text();
    return Number(/^mx_sync_parked_long_polls(?:\{[^}]*\})? ([0-9.e+]+)$/m.exec(text)?.[1] ?? NaN);
  }

  it(`parks ${PARKED} concurrent long-polls through the router and answers every one`, async () => {
    const filter = profileFilter('m.tz');
    const users: { user: TestUser; since: string }[] = [];
    for (let index = 0; index < 20; index++) {
      const user = await registerUser('parked');
      const initial = await request<{ next_batch: string }>('GET', `${CLIENT_V3}/sync?timeout=0&filter=${filter}`, {
        token: user.accessToken,
        baseUrl,
      });
      expectStatus(initial, 200);
      users.push({ user, since: initial.body.next_batch });
    }
    let answered = 0;
    const polls = Array.from({ length: PARKED }, (_, index) => {
      const { user, since } = users[index % users.length]!;
      // The sync API's longest timeout, longer than this test may run: nothing expires while the
      // test waits; only the writes below can answer them.
      return request('GET', `${CLIENT_V3}/sync?since=${since}&timeout=120000&filter=${filter}`, {
        token: user.accessToken,
        baseUrl,
      })
        .then(
          (response) =>
            response.status === 200 && JSON.stringify(response.body[USERS]) === JSON.stringify(woken(user))
              ? 'woken with its update'
              : `${response.status} ${JSON.stringify(response.body).slice(0, 200)}`,
          (error: unknown) => (error instanceof Error ? `${error.message} ${String(error.cause)}` : String(error)),
        )
        .finally(() => (answered += 1));
    });
    // Every one parked at the same time, as this sync API's own gauge shows (a condition, not a
    // time: the deadline only names a missing event; nothing may answer before it is reached).
    for (let parked = 0, deadline = Date.now() + 45_000; parked !== PARKED;) {
      if (answered > 0) throw new Error(`${answered} long-polls answered before all ${PARKED} were parked (${parked} parked)`);
      if (Date.now() > deadline) throw new Error(`only ${parked} of ${PARKED} long-polls parked after 45 s`);
      await new Promise((resolve) => setTimeout(resolve, 100));
      parked = await parkedAtSyncApi();
    }
    // One write per user wakes its long-polls with its update; one user's at a time, so the test
    // measures the router's parking, not how fast the database answers 1,200 woken syncs at once
    // (under a loaded CI machine that burst queued past the pool's 5 s wait: 503s, not a router fault).
    const outcomes: Record<string, number> = {};
    for (const [index, { user }] of users.entries()) {
      expectStatus(await request('PUT', profilePath(user.userId, 'm.tz'), { token: user.accessToken, body: { 'm.tz': ZONE } }), 200);
      const own = polls.filter((_, poll) => poll % users.length === index);
      for (const outcome of await Promise.all(own)) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    expect(outcomes).toEqual({ 'woken with its update': PARKED });
  }, 60_000);
});
