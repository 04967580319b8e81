import { describe, expect, inject, it } from 'vitest';
import { profileFilter, registerUser, request } from '../support/matrix-client.js';

/** Health endpoints and the Prometheus metrics every service exposes. */
describe('observability', () => {
  const stack = inject('stack');

  it('reports readiness with its dependencies on every service', async () => {
    for (const url of [stack.writerUrl, stack.projectorUrl, stack.syncApiUrl]) {
      const live = await fetch(`${url}/health/live`);
      expect(live.status).toBe(200);
      const ready = (await (await fetch(`${url}/health/ready`)).json()) as { status: string; details: Record<string, { status: string }> };
      expect(ready.status).toBe('ok');
      expect(ready.details['database']?.status).toBe('up');
    }
  });

  it('exposes HTTP latency by route, projection and long-poll metrics', async () => {
    const alice = await registerUser('alice');
    const put = await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.userId)}/m.tz`, {
      token: alice.accessToken,
      body: { 'm.tz': 'UTC' },
    });
    expect(put.status).toBe(200);
    await request('GET', `/_matrix/client/v3/sync?filter=${profileFilter('m.tz')}`, { token: alice.accessToken });
    const writer = await (await fetch(`${stack.writerUrl}/metrics`)).text();
    expect(writer).toMatch(
      /mx_http_request_duration_seconds_count\{[^}]*route="\/_matrix\/client\/v3\/profile\/:userId\/:keyName"[^}]*\} [1-9]/,
    );
    const projector = await (await fetch(`${stack.projectorUrl}/metrics`)).text();
    for (const name of [
      'mx_projector_events_applied_total',
      'mx_projector_consumer_lag',
      'mx_projector_latency_seconds_bucket',
      'mx_projector_batch_records_bucket',
    ]) {
      expect(projector).toContain(name);
    }
    const sync = await (await fetch(`${stack.syncApiUrl}/metrics`)).text();
    expect(sync).toMatch(/mx_sync_parked_long_polls(\{[^}]*\})? \d+/);
    expect(sync).toContain('mx_sync_wakeups_total');
    // The counter test/support/long-polls.ts proves a long-poll parked by.
    expect(sync).toMatch(/^mx_sync_long_poll_parks_total(\{[^}]*\})? \d+$/m);
  });
});
