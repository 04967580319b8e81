import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { request } from '../support/matrix-client.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Broker failure, on a Kafka broker of this test's own (the shared one must stay up for the
 * other tests): writes fail fast with a Matrix 503 while it is down, nothing unacknowledged is
 * applied, and service resumes by itself when it returns.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('broker outage', () => {
  const stack = inject('stack');
  const localDir = join(root, '.local', `test-outage-${stack.portBase}`);
  const kafkaPort = stack.portBase + 171;
  const kafkaEnv = {
    ...process.env,
    MX_LOCAL_DIR: localDir,
    MX_KAFKA_PORT: String(kafkaPort),
    MX_KAFKA_CONTROLLER_PORT: String(stack.portBase + 172),
  };
  const kafka = (command: string) => run('bash', ['deploy/local/kafka.sh', command], { cwd: root, env: kafkaEnv, timeout: 60_000 });
  const database = `matrix_test_outage_${stack.portBase}`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: 'mxoutage',
  };
  let writer: ServiceProcess;
  let projector: ServiceProcess;
  const psql = (sql: string) =>
    run('bash', ['deploy/local/postgres.sh', 'psql', '-d', 'matrix', '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql], { cwd: root });

  beforeAll(async () => {
    // The jars of the shared broker, so this one starts without fetching anything.
    const libs = join(localDir, 'kafka', 'libs');
    if (!existsSync(libs)) {
      mkdirSync(join(localDir, 'kafka'), { recursive: true });
      cpSync(join(root, '.local', 'kafka', 'libs'), libs, { recursive: true });
    }
    await kafka('reset');
    await kafka('start');
    await psql(`DROP DATABASE IF EXISTS ${database}`);
    await psql(`CREATE DATABASE ${database}`);
    await run(process.execPath, ['dist/apps/ops/src/main.js', 'setup'], { cwd: root, env: { ...process.env, ...env } });
    writer = extraService('writer', 'writer-outage', 173, env);
    projector = extraService('projector', 'projector-outage', 174, env);
    writer.start();
    projector.start();
    await Promise.all([writer.waitReady(), projector.waitReady()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([writer.stop(), projector.stop()]);
    await kafka('stop');
  }, 60_000);

  it('answers writes with 503 while the broker is down, applies nothing unacknowledged, and recovers by itself', async () => {
    const via = { baseUrl: writer.url };
    const registered = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
      ...via,
      body: { username: `outage-${Date.now().toString(36)}`, password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expectStatus(registered, 200);
    const user = registered.body;
    const put = (value: string) =>
      request('PUT', profilePath(user.user_id, 'm.tz'), { ...via, token: user.access_token, body: { 'm.tz': value } });
    expectStatus(await put('Europe/Paris'), 200);

    await kafka('stop');
    const during = await put('Asia/Tokyo');
    expect(during.status).toBe(503);
    expect(typeof during.body['errcode']).toBe('string');
    expect((await request('GET', profilePath(user.user_id, 'm.tz'), via)).body).toEqual({ 'm.tz': 'Europe/Paris' });

    await kafka('start');
    // The writer reconnects on its own; the first writes after the return may still find it reconnecting.
    let status = 0;
    for (let attempt = 0; attempt < 30 && status !== 200; attempt++) {
      status = (await put('America/New_York')).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(status).toBe(200);
    expect((await request('GET', profilePath(user.user_id, 'm.tz'), via)).body).toEqual({ 'm.tz': 'America/New_York' });
  }, 120_000);
});
