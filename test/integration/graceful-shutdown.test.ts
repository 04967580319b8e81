import { afterAll, describe, expect, it } from 'vitest';
import { CLIENT_V3, extraService } from '../support/accounts.js';
import { uniqueLocalpart } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { almostSentGet, holdRequest, untilNotListening } from '../support/raw-http.js';

/**
 * SIGTERM to a writer of this file's own while a request is in flight on a keep-alive connection
 * (as the router's upstream connections are). Synchronised on events, never on sleeps: the request
 * is in flight because the writer has routed it (it answered `100 Continue`) and waits for its
 * body, which the test sends only once the writer has stopped listening, so shutdown has begun.
 */
describe('graceful shutdown', () => {
  const writer = extraService('writer', 'writer-graceful', PORT_OFFSETS.gracefulShutdown.writer);

  afterAll(async () => {
    await writer.stop();
  }, 30_000);

  const registration = () => ({ username: uniqueLocalpart('graceful'), password: 'correct horse', auth: { type: 'm.login.dummy' } });

  it('answers a request in flight with Connection: close, closes its connection and exits by itself', async () => {
    writer.start();
    await writer.waitReady();
    const inFlight = await holdRequest(writer.url, 'POST', `${CLIENT_V3}/register`, registration());
    const exited = writer.stop(15_000);
    await untilNotListening(writer.url);
    const response = await inFlight.release();
    expect(response.status, response.body).toBe(200);
    expect(JSON.parse(response.body)).toHaveProperty('user_id');
    expect(response.headers['connection']).toBe('close');
    // The client never hangs up: the writer closes the connection itself ...
    await inFlight.connection.closedByServer;
    // ... and exits by itself, with 0: neither killed after stop()'s 15 s grace (null) nor ended by
    // its own 20 s shutdown deadline (1), which is where waiting for a keep-alive client would end.
    expect(await exited).toBe(0);
    inFlight.connection.destroy();
  }, 30_000);

  it('turns readiness false at SIGTERM while it still serves a request in flight', async () => {
    writer.start();
    await writer.waitReady();
    const inFlight = await holdRequest(writer.url, 'POST', `${CLIENT_V3}/register`, registration());
    // A readiness request whose head the writer has started reading (written before the next round
    // trip): the closing server keeps its connection, so it is answered after the signal.
    const probe = await almostSentGet(writer.url, '/health/ready');
    expect((await fetch(`${writer.url}/health/ready`)).status).toBe(200);
    const exited = writer.stop(15_000);
    await untilNotListening(writer.url);
    const ready = await probe.send();
    // A Kubernetes httpGet probe fails on any status outside 200-399 (here Fastify's 503 for a
    // closing server; the readiness check itself would say so too).
    expect(ready.status, ready.body).toBeGreaterThanOrEqual(400);
    // Not ready any more, and still serving: the request in flight, its body sent only now, is answered.
    const response = await inFlight.release();
    expect(response.status, response.body).toBe(200);
    expect(JSON.parse(response.body)).toHaveProperty('user_id');
    expect(await exited).toBe(0);
    for (const connection of [inFlight.connection, probe.connection]) connection.destroy();
  }, 30_000);
});
