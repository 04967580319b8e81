import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { extraService } from '../support/accounts.js';
import { companionEnv } from '../support/companion-stack.js';
import { expectOk, registerOnHomeserver, shareAPublicRoom, type HomeserverUser } from '../support/homeserver-users.js';
import { request, uniqueLocalpart } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';
import { decodeCompanionSyncToken } from '@mx/companion';

/**
 * Companion mode with the project's database down (issue 14, point 6; issue 15's readiness): the
 * projection lives on a PostgreSQL cluster of the test's own, Synapse on the shared one. While the
 * project's cluster is stopped, the companion sync API stays ready (so a Kubernetes Service keeps
 * sending it /sync) and answers with Synapse's messages, without a users section, its part of the
 * token kept; when the cluster is back, the users section resumes from that position.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const PORTS = PORT_OFFSETS.companionDatabaseOutage;
const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.status'] }, room: { timeline: { limit: 10 } } });

interface SyncBody {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline: { events: { type: string; content: Record<string, unknown> }[] } }> };
  'org.matrix.msc4429.users'?: Record<string, unknown>;
}

describe('companion mode: the projection’s database down', () => {
  const stack = inject('stack');
  const pgPort = stack.portBase + PORTS.postgres;
  const pgEnv = {
    ...process.env,
    MX_LOCAL_DIR: join(root, '.local', `test-companion-dbdown-${stack.portBase}`),
    MX_PG_PORT: String(pgPort),
  };
  const postgres = (command: string, ...args: string[]) =>
    run('bash', ['deploy/local/postgres.sh', command, ...args], { cwd: root, env: pgEnv, timeout: 60_000 });
  let synapse: OwnSynapse | undefined;
  let syncApi: ServiceProcess | undefined;
  let alice: HomeserverUser;
  let roomId: string;

  const sync = (query: Record<string, string> = {}) =>
    request<SyncBody>('GET', `/_matrix/client/v3/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`, {
      baseUrl: syncApi!.url,
      token: alice.access_token,
    });
  const ready = async () => (await fetch(`${syncApi!.url}/health/ready`)).status;

  beforeAll(async () => {
    await postgres('reset');
    await postgres('start');
    // Nothing listens at the appservice URL: this test needs no feed (Synapse retries in the background).
    synapse = await startOwnSynapse({
      name: 'companion_dbdown',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.syncApi}/unused`,
    });
    const { env } = companionEnv(synapse, 'companion_dbdown', { MX_DATABASE_PORT: String(pgPort), MX_DATABASE_NAME: 'matrix' });
    await run(process.execPath, ['dist/apps/ops/src/main.js', 'setup'], { cwd: root, env: { ...process.env, ...env } });
    syncApi = extraService('sync-api', 'sync-api-companion-dbdown', PORTS.syncApi, env);
    syncApi.start();
    await syncApi.waitReady();
    alice = await registerOnHomeserver(synapse.baseUrl, 'alice');
    const bob = await registerOnHomeserver(synapse.baseUrl, 'bob');
    roomId = await shareAPublicRoom(synapse.baseUrl, alice, bob);
  }, SYNAPSE_START_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await syncApi?.stop();
    await synapse?.stop();
    await postgres('stop').catch(() => undefined);
  }, 60_000);

  it('stays ready and serves Synapse’s messages without a users section, then resumes from the kept position', async () => {
    const first = expectOk(await sync(), 'sync before the outage');
    expect(await ready()).toBe(200);
    await postgres('stop');
    try {
      const say = async (body: string) =>
        expectOk(
          await request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${uniqueLocalpart('txn')}`, {
            baseUrl: synapse!.baseUrl,
            token: alice.access_token,
            body: { msgtype: 'm.text', body },
          }),
          'send',
        );
      await say('while the projection is down');
      const during = expectOk(await sync({ since: first.next_batch }), 'sync during the outage');
      const messages = (during.rooms?.join?.[roomId]?.timeline.events ?? []).filter((e) => e.type === 'm.room.message');
      expect(messages.map((e) => e.content['body'])).toEqual(['while the projection is down']);
      expect(during['org.matrix.msc4429.users']).toBeUndefined();
      expect(decodeCompanionSyncToken(during.next_batch).positions).toEqual(decodeCompanionSyncToken(first.next_batch).positions);
      expect(await ready()).toBe(200);
    } finally {
      await postgres('start');
    }
    // Back: the users section (alice's own profile changes, none here) is computed again from the kept position.
    const after = expectOk(await sync({ since: first.next_batch }), 'sync after the outage');
    expect(decodeCompanionSyncToken(after.next_batch).positions).toBeDefined();
    expect(await ready()).toBe(200);
  }, 120_000);
});
