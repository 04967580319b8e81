import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CLIENT_V3, expectStatus, extraService } from '../support/accounts.js';
import { registerUser, request, type TestUser } from '../support/matrix-client.js';

/**
 * The local router (deploy/local/router.sh, nginx) holds two connections per proxied request
 * (client and upstream) for as long as a /sync long-poll is parked: it must carry well over a
 * thousand parked long-polls. A router and a sync API of this test's own, so the count at the
 * sync API is exactly this test's.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const PARKED = 1200;

describe('local router capacity', () => {
  const stack = inject('stack');
  const sync = extraService('sync-api', 'sync-api-router-capacity', 226);
  const routerPort = stack.portBase + 225;
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
    const users: { user: TestUser; since: string }[] = [];
    for (let index = 0; index < 20; index++) {
      const user = await registerUser('parked');
      const initial = await request<{ next_batch: string }>('GET', `${CLIENT_V3}/sync?timeout=0`, { token: user.accessToken, baseUrl });
      expectStatus(initial, 200);
      users.push({ user, since: initial.body.next_batch });
    }
    const polls = Array.from({ length: PARKED }, (_, index) => {
      const { user, since } = users[index % users.length]!;
      return request('GET', `${CLIENT_V3}/sync?since=${since}&timeout=8000`, { token: user.accessToken, baseUrl }).then(
        (response) => String(response.status),
        (error: unknown) => (error instanceof Error ? `${error.message} ${String(error.cause)}` : String(error)),
      );
    });
    let parked = 0;
    for (const deadline = Date.now() + 6000; Date.now() < deadline && parked < PARKED;) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      parked = Math.max(parked, await parkedAtSyncApi());
    }
    const outcomes: Record<string, number> = {};
    for (const outcome of await Promise.all(polls)) outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    expect({ parked, outcomes }).toEqual({ parked: PARKED, outcomes: { '200': PARKED } });
  }, 60_000);
});
