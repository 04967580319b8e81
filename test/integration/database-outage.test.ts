import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createKafkaClient } from '@mx/event-log';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { request } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Database failure, on a PostgreSQL cluster of this test's own: the services answer 503 while it
 * is down, the projector pauses (an event appended meanwhile is neither lost nor applied twice)
 * and everything resumes by itself when the database returns.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('database outage', () => {
  const stack = inject('stack');
  const pgPort = stack.portBase + PORT_OFFSETS.databaseOutage.postgres;
  const pgEnv = { ...process.env, MX_LOCAL_DIR: join(root, '.local', `test-dbdown-${stack.portBase}`), MX_PG_PORT: String(pgPort) };
  const postgres = (command: string, ...args: string[]) =>
    run('bash', ['deploy/local/postgres.sh', command, ...args], { cwd: root, env: pgEnv, timeout: 60_000 });
  const env: Record<string, string> = {
    ...stack.env,
    MX_DATABASE_PORT: String(pgPort),
    MX_DATABASE_NAME: 'matrix',
    MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}`,
  };
  const services: ServiceProcess[] = [];
  let writer: ServiceProcess;
  let sync: ServiceProcess;

  beforeAll(async () => {
    await postgres('reset');
    await postgres('start');
    await run(process.execPath, ['dist/apps/ops/src/main.js', 'setup'], { cwd: root, env: { ...process.env, ...env } });
    writer = extraService('writer', 'writer-dbdown', PORT_OFFSETS.databaseOutage.writer, env);
    sync = extraService('sync-api', 'sync-api-dbdown', PORT_OFFSETS.databaseOutage.syncApi, env);
    services.push(writer, extraService('projector', 'projector-dbdown', PORT_OFFSETS.databaseOutage.projector, env), sync);
    for (const service of services) service.start();
    await Promise.all(services.map((service) => service.waitReady()));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(services.map((service) => service.stop()));
    await postgres('stop');
  }, 60_000);

  it('answers 503 while the database is down, loses and repeats nothing, and recovers by itself', async () => {
    const via = { baseUrl: writer.url };
    const registered = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
      ...via,
      body: { username: `dbdown-${Date.now().toString(36)}`, password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expectStatus(registered, 200);
    const user = registered.body;
    expectStatus(
      await request('PUT', profilePath(user.user_id, 'm.tz'), { ...via, token: user.access_token, body: { 'm.tz': 'Europe/Paris' } }),
      200,
    );

    await postgres('stop');
    const put = await request('PUT', profilePath(user.user_id, 'm.tz'), {
      ...via,
      token: user.access_token,
      body: { 'm.tz': 'Asia/Tokyo' },
    });
    expect(put.status).toBe(503);
    expect(typeof put.body['errcode']).toBe('string');
    const syncDuring = await request('GET', `${CLIENT_V3}/sync`, { token: user.access_token, baseUrl: sync.url });
    expect(syncDuring.status).toBe(503);

    // An event reaches the log while the projector cannot write: it must wait, not be skipped.
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const kafka = createKafkaClient(
      {
        clientId: 'test-dbdown',
        brokers: env['MX_KAFKA_BROKERS']!.split(','),
        ssl: false,
        connectionTimeoutMs: 3000,
        requestTimeoutMs: 10_000,
      },
      quiet,
    );
    const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
    await producer.connect();
    const event = {
      v: 1,
      id: randomUUID(),
      type: 'profile.field.set',
      user_id: user.user_id,
      field: 'm.tz',
      value: 'America/Lima',
      ts: Date.now(),
    };
    await producer.send({
      topic: `${env['MX_TOPIC_PREFIX']}.profile.v1`,
      acks: -1,
      messages: [{ key: user.user_id, value: JSON.stringify(event) }],
    });
    await producer.disconnect();

    await postgres('start');
    let value: unknown;
    for (let attempt = 0; attempt < 60 && value !== 'America/Lima'; attempt++) {
      const response = await request('GET', profilePath(user.user_id, 'm.tz'), via);
      value = response.status === 200 ? response.body['m.tz'] : undefined;
      if (value !== 'America/Lima') await sleep(500);
    }
    expect(value).toBe('America/Lima');

    // Every record of the topic applied exactly once: the projection stands at the log's end.
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(`${env['MX_TOPIC_PREFIX']}.profile.v1`);
    await admin.disconnect();
    const { stdout } = await postgres(
      'psql',
      '-d',
      'matrix',
      '-qtA',
      '-c',
      `SELECT coalesce(sum(next_offset), 0) FROM projection_positions WHERE topic = '${env['MX_TOPIC_PREFIX']}.profile.v1'`,
    );
    expect(Number(stdout.trim())).toBe(ends.reduce((sum, partition) => sum + Number(partition.high), 0));

    expectStatus(
      await request('PUT', profilePath(user.user_id, 'm.tz'), { ...via, token: user.access_token, body: { 'm.tz': 'UTC' } }),
      200,
    );
    const synced = await request(
      'GET',
      `${CLIENT_V3}/sync?filter=${encodeURIComponent(JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } }))}`,
      {
        token: user.access_token,
        baseUrl: sync.url,
      },
    );
    expectStatus(synced, 200);
    expect(synced.body['org.matrix.msc4429.users']).toEqual({ [user.user_id]: { profile_updates: { 'm.tz': 'UTC' } } });
  }, 120_000);
});
