import { afterAll, describe, expect, it } from 'vitest';
import { CLIENT_V3, extraService } from '../support/accounts.js';
import { uniqueLocalpart } from '../support/matrix-client.js';

/**
 * SIGTERM while a request is in flight on a keep-alive connection (as the router's upstream
 * connections are): the request is answered, its connection closed with it, and the process
 * exits at once instead of waiting for the client to hang up.
 */
describe('graceful shutdown', () => {
  const writer = extraService('writer', 'writer-graceful', 227);

  afterAll(async () => {
    await writer.stop();
  }, 30_000);

  it('answers a request in flight with Connection: close and exits promptly', async () => {
    writer.start();
    await writer.waitReady();
    // A registration hashes a password (scrypt): it is still running when the signal arrives.
    const inFlight = fetch(`${writer.url}${CLIENT_V3}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ username: uniqueLocalpart('graceful'), password: 'correct horse', auth: { type: 'm.login.dummy' } }),
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    const started = Date.now();
    const [response, code] = await Promise.all([inFlight, writer.stop(15_000)]);
    expect(response.status).toBe(200);
    expect(response.headers.get('connection')).toBe('close');
    expect(code).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 30_000);
});
