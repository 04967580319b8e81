import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createKafkaClient } from '@mx/event-log';
import { CLIENT_V3, expectMatrixError, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { request, uniqueLocalpart } from '../support/matrix-client.js';
import { metricValue, until } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import type { ServiceProcess } from '../support/service-process.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * README: the writer "answers only after the projector's decision (bounded by
 * `MX_READ_YOUR_WRITES_TIMEOUT_MS`; 503 when the outcome is not known in time)", and a 503 from the
 * writer means "The change was accepted, but its outcome is not known yet; retry or check its
 * effect". A writer of this test's own, with a small timeout, on its own database and topics, runs
 * with no projector: the write is on the log, unapplied, and answered 503 with that meaning. Once a
 * projector runs, the change takes effect, exactly once.
 */
/** The writer with the small timeout, and the projector started later. */
const PORTS = PORT_OFFSETS.claimsReadYourWritesTimeout;

describe('claim: the read-your-writes timeout answers 503, and the change is applied once a projector runs', () => {
  const stack = inject('stack');
  const database = `matrix_test_claims_ryw_${stack.portBase}`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}.claims-ryw`,
    MX_READ_YOUR_WRITES_TIMEOUT_MS: '300',
  };
  const profileTopic = `${env['MX_TOPIC_PREFIX']}.profile.v1`;
  let writer: ServiceProcess;
  let projector: ServiceProcess;

  beforeAll(async () => {
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-claims-ryw', PORTS.writer, env);
    projector = extraService('projector', 'projector-claims-ryw', PORTS.projector, env);
    writer.start();
    await writer.waitReady();
  }, 120_000);

  afterAll(async () => {
    await Promise.all([writer.stop(), projector.stop()]);
  }, 30_000);

  it('503 M_UNKNOWN "accepted, outcome not known yet" without a projector; applied once a projector runs', async () => {
    const via = { baseUrl: writer.url };
    const registered = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
      ...via,
      body: { username: uniqueLocalpart('ryw'), password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expectStatus(registered, 200);
    const { user_id: userId, access_token: token } = registered.body;

    const put = await request('PUT', profilePath(userId, 'm.tz'), { ...via, token, body: { 'm.tz': 'Europe/Paris' } });
    expectMatrixError(put, 503, 'M_UNKNOWN');
    // The documented meaning: the log took the change; whether it is applied is not known yet.
    expect(put.body['error']).toMatch(/accepted.*outcome is not known/i);

    // Accepted: the record is on the topic (the broker's end offsets count it) ...
    const quiet = { debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined };
    const kafka = createKafkaClient(
      {
        clientId: 'test-claims-ryw',
        brokers: env['MX_KAFKA_BROKERS']!.split(','),
        ssl: false,
        connectionTimeoutMs: 3000,
        requestTimeoutMs: 10_000,
      },
      quiet,
    );
    const admin = kafka.admin();
    await admin.connect();
    const recordsOnTopic = async () =>
      (await admin.fetchTopicOffsets(profileTopic)).reduce((sum, partition) => sum + Number(partition.high), 0);
    try {
      expect(await recordsOnTopic()).toBe(1);
      // ... and not applied: nothing projected, the profile has no m.tz.
      expectMatrixError(await request('GET', profilePath(userId, 'm.tz'), via), 404, 'M_NOT_FOUND');
      expect((await psql('SELECT count(*) FROM profile_fields', database)).stdout.trim()).toBe('0');

      // A projector runs: the change takes effect (its metric counts it applied), once.
      projector.start();
      await projector.waitReady();
      await until('the projector to apply the pending event', async () => {
        const applied = await metricValue(projector.url, 'mx_projector_events_applied_total', `topic="${profileTopic}"`);
        return applied !== undefined && applied >= 1 ? applied : undefined;
      });
      const read = await until('the writer to read the applied value', async () => {
        const response = await request('GET', profilePath(userId, 'm.tz'), via);
        return response.status === 200 ? response : undefined;
      });
      expect(read.body).toEqual({ 'm.tz': 'Europe/Paris' });
      expect(await metricValue(projector.url, 'mx_projector_events_applied_total', `topic="${profileTopic}"`)).toBe(1);
      expect((await psql(`SELECT count(*) FROM profile_fields WHERE user_id = '${userId}'`, database)).stdout.trim()).toBe('1');
      const positions = await psql(
        `SELECT coalesce(sum(next_offset), 0) FROM projection_positions WHERE topic = '${profileTopic}'`,
        database,
      );
      expect(Number(positions.stdout.trim())).toBe(await recordsOnTopic());
    } finally {
      await admin.disconnect();
    }
  }, 90_000);
});
