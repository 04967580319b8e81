import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { type MatrixResponse, request, uniqueLocalpart, USERS } from '../support/matrix-client.js';
import { logFrom, logSize, metricValue, until } from '../support/observe.js';
import type { ServiceProcess } from '../support/service-process.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * README: "Parked long-polls are woken by the projector's NOTIFY", and the listener "reconnects by
 * itself" when the database goes away. On a PostgreSQL cluster of this test's own: a long-poll is
 * parked (the parked-polls gauge says so), PostgreSQL restarts, the sync API logs its listener's
 * reconnection, the long-poll is still parked; then a write, and the long-poll answers with it,
 * counted as a wake-up by a projector commit (`mx_sync_wakeups_total`, which only a notification
 * increments). Without the listener, the long-poll would answer nothing at its timeout.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
/** The test's own PostgreSQL, writer, projector and sync API. */
const PORTS = PORT_OFFSETS.claimsNotifyReconnect;
const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } });

interface SyncBody {
  next_batch: string;
  [USERS]?: Record<string, { profile_updates: Record<string, unknown> | null }>;
}

describe('claim: the sync API’s NOTIFY listener reconnects after a database outage', () => {
  const stack = inject('stack');
  const pgPort = stack.portBase + PORTS.postgres;
  const pgEnv = { ...process.env, MX_LOCAL_DIR: join(root, '.local', `test-claims-notify-${stack.portBase}`), MX_PG_PORT: String(pgPort) };
  const postgres = (command: string) => run('bash', ['deploy/local/postgres.sh', command], { cwd: root, env: pgEnv, timeout: 60_000 });
  const env: Record<string, string> = {
    ...stack.env,
    MX_DATABASE_PORT: String(pgPort),
    MX_DATABASE_NAME: 'matrix',
    MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}.claims-notify`,
    // The write after the restart waits for the projector, which resumes by itself: no 503 from impatience.
    MX_READ_YOUR_WRITES_TIMEOUT_MS: '20000',
  };
  const services: ServiceProcess[] = [];
  let writer: ServiceProcess;
  let projector: ServiceProcess;
  let sync: ServiceProcess;
  const syncLog = join(stack.logDir, 'sync-api-claims-notify.log');

  beforeAll(async () => {
    await postgres('reset');
    await postgres('start');
    await run(process.execPath, ['dist/apps/ops/src/main.js', 'setup'], { cwd: root, env: { ...process.env, ...env } });
    writer = extraService('writer', 'writer-claims-notify', PORTS.writer, env);
    projector = extraService('projector', 'projector-claims-notify', PORTS.projector, env);
    sync = extraService('sync-api', 'sync-api-claims-notify', PORTS.syncApi, env);
    services.push(writer, projector, sync);
    for (const service of services) service.start();
    await Promise.all(services.map((service) => service.waitReady()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await postgres('stop');
  }, 60_000);

  it('a long-poll parked across a PostgreSQL restart is woken by the projector’s NOTIFY afterwards', async () => {
    const registered = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
      baseUrl: writer.url,
      body: { username: uniqueLocalpart('notify'), password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expectStatus(registered, 200);
    const { user_id: userId, access_token: token } = registered.body;
    const put = (zone: string) => request('PUT', profilePath(userId, 'm.tz'), { baseUrl: writer.url, token, body: { 'm.tz': zone } });
    expectStatus(await put('UTC'), 200);
    const syncQuery = (query: Record<string, string>) =>
      `${CLIENT_V3}/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`;
    const initial = await request<SyncBody>('GET', syncQuery({}), { baseUrl: sync.url, token });
    expectStatus(initial, 200);
    expect(initial.body[USERS]).toEqual({ [userId]: { profile_updates: { 'm.tz': 'UTC' } } });

    const parked = async () => (await metricValue(sync.url, 'mx_sync_parked_long_polls')) ?? 0;
    expect(await parked()).toBe(0);
    let answered = false;
    const longPoll = request<SyncBody>('GET', syncQuery({ since: initial.body.next_batch, timeout: '90000' }), {
      baseUrl: sync.url,
      token,
    }).finally(() => (answered = true));
    await until('the long-poll to park', async () => ((await parked()) === 1 ? true : undefined));

    // PostgreSQL goes away and comes back; the sync API says its listener is back.
    const logStart = logSize(syncLog);
    await postgres('stop');
    await postgres('start');
    const reconnected = await until('the sync API’s projection listener to reconnect', () => {
      const line = logFrom(syncLog, logStart)
        .split('\n')
        .find((text) => text.includes('"context":"CommitWakeups"') && text.includes('listener reconnected'));
      return line;
    });
    expect(reconnected).toMatch(/"channel":"[^"]+"/);
    // Writer and projector are back too (their readiness covers the database).
    await Promise.all([writer.waitReady(), projector.waitReady()]);

    // Still parked, still unanswered, right before the write.
    expect(answered).toBe(false);
    expect(await parked()).toBe(1);
    const wakeupsBefore = (await metricValue(sync.url, 'mx_sync_wakeups_total')) ?? 0;
    expectStatus(await put('Asia/Tokyo'), 200);

    const woken: MatrixResponse<SyncBody> = await longPoll;
    expectStatus(woken, 200);
    expect(woken.body[USERS]).toEqual({ [userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } } });
    expect((await metricValue(sync.url, 'mx_sync_wakeups_total')) ?? 0).toBeGreaterThan(wakeupsBefore);
    expect(await parked()).toBe(0);
  }, 180_000);
});
