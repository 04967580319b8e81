import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { request } from '../support/matrix-client.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * The replay command on a projection of its own (a fresh database and topics, a writer and a
 * projector of their own), so that the shared stack's traffic cannot move it: `verify` matches a
 * healthy projection and catches a tampered one; `rebuild` restores it from the topics.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

describe('projection replay', () => {
  const stack = inject('stack');
  const database = `matrix_test_replay_${stack.portBase}`;
  const env: Record<string, string> = { ...stack.env, MX_DATABASE_NAME: database, MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}` };
  let writer: ServiceProcess;
  let projector: ServiceProcess;

  const replay = async (mode: 'verify' | 'rebuild', ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> => {
    try {
      const { stdout, stderr } = await run(process.execPath, ['dist/apps/projector/src/replay/main.js', mode, ...args], {
        cwd: root,
        env: { ...process.env, ...env },
        timeout: 60_000,
      });
      return { code: 0, stdout, stderr };
    } catch (error) {
      const failed = error as { code?: number; stdout?: string; stderr?: string };
      return { code: failed.code ?? -1, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
    }
  };
  /** A warning Node prints on its own, e.g. `(node:123) TimeoutNegativeWarning: …`. */
  const NODE_WARNING = /\(node:\d+\) \w*Warning/;

  beforeAll(async () => {
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-replay', PORT_OFFSETS.replay.writer, env);
    projector = extraService('projector', 'projector-replay', PORT_OFFSETS.replay.projector, env);
    writer.start();
    projector.start();
    await Promise.all([writer.waitReady(), projector.waitReady()]);
  }, 90_000);

  afterAll(async () => {
    await Promise.all([writer.stop(), projector.stop()]);
  }, 30_000);

  it('verifies a healthy projection, detects a tampered one, and rebuilds it from the topics', async () => {
    const via = { baseUrl: writer.url };
    const users = [];
    for (const name of ['replay-a', 'replay-b']) {
      const response = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
        ...via,
        body: { username: `${name}-${Date.now().toString(36)}`, password: 'pw', auth: { type: 'm.login.dummy' } },
      });
      expectStatus(response, 200);
      users.push(response.body);
    }
    const [alice, bob] = users as [{ user_id: string; access_token: string }, { user_id: string; access_token: string }];
    for (const [field, value] of [
      ['m.tz', 'Europe/Paris'],
      ['com.example.a', { deep: [1, 2] }],
      ['com.example.b', null],
    ] as const) {
      expectStatus(
        await request('PUT', profilePath(alice.user_id, field), { ...via, token: alice.access_token, body: { [field]: value } }),
        200,
      );
    }
    expectStatus(await request('DELETE', profilePath(alice.user_id, 'com.example.b'), { ...via, token: alice.access_token }), 200);
    const room = await request<{ room_id: string }>('POST', `${CLIENT_V3}/createRoom`, {
      ...via,
      token: alice.access_token,
      body: { preset: 'public_chat' },
    });
    expectStatus(room, 200);
    expectStatus(
      await request('POST', `${CLIENT_V3}/rooms/${encodeURIComponent(room.body.room_id)}/join`, {
        ...via,
        token: bob.access_token,
        body: {},
      }),
      200,
    );
    // A rejected event is part of the projection too: bob may not ban alice.
    const ban = await request('POST', `${CLIENT_V3}/rooms/${encodeURIComponent(room.body.room_id)}/ban`, {
      ...via,
      token: bob.access_token,
      body: { user_id: alice.user_id },
    });
    expect(ban.status).toBe(403);

    const healthy = await replay('verify');
    expect(healthy.stdout).toContain('matches a replay');
    expect(healthy.code).toBe(0);
    expect(healthy.stderr).not.toMatch(NODE_WARNING);
    // Applied in this thread, or by more worker threads than partitions: the same projection.
    for (const workers of ['0', '9']) {
      const other = await replay('verify', '--workers', workers);
      expect(other.stdout, `--workers ${workers}`).toContain('matches a replay');
      expect(other.code, `--workers ${workers}`).toBe(0);
    }
    expect((await replay('verify', '--workers', 'many')).code).toBe(64);

    await psql(`UPDATE profile_fields SET value = '"tampered"' WHERE user_id = '${alice.user_id}' AND field = 'm.tz'`, database);
    const tampered = await replay('verify');
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toContain('DIFFERS profile_fields');

    await projector.stop();
    const rebuilt = await replay('rebuild');
    expect(rebuilt.code).toBe(0);
    projector.start();
    await projector.waitReady();
    const after = await request('GET', profilePath(alice.user_id, 'm.tz'), via);
    expect(after.body).toEqual({ 'm.tz': 'Europe/Paris' });
    expect((await replay('verify')).code).toBe(0);
  }, 120_000);

  it('operator commands print no Node warnings (setup, on a database and topics already set up)', async () => {
    const { stdout, stderr } = await run(process.execPath, ['dist/apps/ops/src/main.js', 'setup'], {
      cwd: root,
      env: { ...process.env, ...env },
      timeout: 60_000,
    });
    expect(stdout).toContain('database schema is up to date');
    expect(stderr).not.toMatch(NODE_WARNING);
  });
});
