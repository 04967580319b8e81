import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { request } from '../support/matrix-client.js';
import { freshDatabase, type OwnBroker, setUpFor, startOwnBroker } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Broker failure, on a Kafka broker of this test's own (the shared one must stay up for the
 * other tests): writes fail fast with a Matrix 503 while it is down, nothing unacknowledged is
 * applied, and service resumes by itself when it returns.
 */

describe('broker outage', () => {
  const stack = inject('stack');
  const kafkaPort = stack.portBase + PORT_OFFSETS.brokerOutage.kafka;
  let broker: OwnBroker;
  const database = `matrix_test_outage_${stack.portBase}`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: 'mxoutage',
  };
  let writer: ServiceProcess;
  let projector: ServiceProcess;

  beforeAll(async () => {
    broker = await startOwnBroker('outage', PORT_OFFSETS.brokerOutage.kafka);
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-outage', PORT_OFFSETS.brokerOutage.writer, env);
    projector = extraService('projector', 'projector-outage', PORT_OFFSETS.brokerOutage.projector, env);
    writer.start();
    projector.start();
    await Promise.all([writer.waitReady(), projector.waitReady()]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all([writer.stop(), projector.stop()]);
    await broker.stop();
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

    await broker.stop();
    const during = await put('Asia/Tokyo');
    expect(during.status).toBe(503);
    expect(typeof during.body['errcode']).toBe('string');
    expect((await request('GET', profilePath(user.user_id, 'm.tz'), via)).body).toEqual({ 'm.tz': 'Europe/Paris' });

    await broker.start();
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
