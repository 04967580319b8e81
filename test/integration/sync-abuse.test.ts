import { describe, expect, inject, it, vi } from 'vitest';
import { CLIENT_V3, expectMatrixError, expectStatus, extraService, profilePath, runDuringFile } from '../support/accounts.js';
import { type MatrixResponse, registerUser, request, type TestUser } from '../support/matrix-client.js';
import { psql } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';
import type { ServiceProcess } from '../support/service-process.js';

/**
 * Hostile use of the sync API (issue 12, parts 4 and 5): a long-poll parked before its token is
 * deleted (by a logout or by plain SQL) ends with 401 on every replica and never carries what was
 * written afterwards; a request carrying a token both in the Authorization header and in the
 * query is refused (as Synapse does); a filter beyond the size cap is refused; the stored-filter
 * cache stays within its byte bound however many large filters one user uploads.
 *
 * Two sync APIs of this file's own (nothing else sends them requests), so their parked-long-poll
 * gauges count only this file's long-polls; A runs with a small filter-cache bound.
 */
const FILTER_CACHE_BYTES = 256 * 1024;
const LONG_POLL_MS = 25_000; // below the test timeout: a long-poll that is never ended fails the test, not the run

describe('sync API under abuse', () => {
  const stack = inject('stack');
  const syncA = extraService('sync-api', 'sync-api-abuse-a', PORT_OFFSETS.syncAbuse.syncApiA, {
    MX_SYNC_FILTER_CACHE_BYTES: String(FILTER_CACHE_BYTES),
  });
  const syncB = extraService('sync-api', 'sync-api-abuse-b', PORT_OFFSETS.syncAbuse.syncApiB);
  runDuringFile(syncA, syncB);

  /** A metric's value at the service; `label` (e.g. `reason="token_deleted"`) picks one series. */
  async function metric(service: ServiceProcess, name: string, label?: string): Promise<number> {
    const text = await (await fetch(`${service.url}/metrics`)).text();
    for (const line of text.split('\n')) {
      const match = /^([a-z_]+)(?:\{([^}]*)\})? ([0-9.e+-]+)$/.exec(line);
      if (match?.[1] === name && (label === undefined || (match[2] ?? '').split(',').includes(label))) return Number(match[3]);
    }
    throw new Error(`${name}${label === undefined ? '' : `{${label}}`} missing from ${service.name}'s /metrics`);
  }

  /** Waits (condition, not time) until `count` long-polls are parked at the service. */
  async function expectParked(service: ServiceProcess, count: number): Promise<void> {
    await vi.waitFor(async () => expect(await metric(service, 'mx_sync_parked_long_polls')).toBe(count), { timeout: 10_000, interval: 20 });
  }

  const tzFilter = encodeURIComponent(JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } }));

  async function initialSync(user: TestUser, service: ServiceProcess): Promise<string> {
    const response = await request<{ next_batch: string }>('GET', `${CLIENT_V3}/sync?filter=${tzFilter}`, {
      token: user.accessToken,
      baseUrl: service.url,
    });
    expectStatus(response, 200);
    return response.body.next_batch;
  }

  function longPoll(user: TestUser, service: ServiceProcess, since: string): Promise<MatrixResponse> {
    return request('GET', `${CLIENT_V3}/sync?filter=${tzFilter}&since=${since}&timeout=${LONG_POLL_MS}`, {
      token: user.accessToken,
      baseUrl: service.url,
    });
  }

  it('ends long-polls parked on every replica with 401 M_UNKNOWN_TOKEN when the token is logged out, without what was written afterwards', async () => {
    const alice = await registerUser('abuse-logout');
    const bob = await registerUser('abuse-cowriter');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectStatus(await joinRoomById(bob, roomId), 200);
    const polls = [];
    for (const service of [syncA, syncB]) polls.push(longPoll(alice, service, await initialSync(alice, service)));
    await expectParked(syncA, 1);
    await expectParked(syncB, 1);
    const endedBefore = await metric(syncA, 'mx_sync_long_polls_ended_early_total', 'reason="token_deleted"').catch(() => 0);

    expectStatus(await request('POST', `${CLIENT_V3}/logout`, { token: alice.accessToken, body: {} }), 200);
    // Written after the logout, by someone sharing a room with alice: her long-polls would have woken for it.
    const written = `Pacific/Chatham`;
    expectStatus(await request('PUT', profilePath(bob.userId, 'm.tz'), { token: bob.accessToken, body: { 'm.tz': written } }), 200);

    for (const response of await Promise.all(polls)) {
      expectMatrixError(response, 401, 'M_UNKNOWN_TOKEN');
      expect(JSON.stringify(response.body)).not.toContain(written);
      expect(response.body).not.toHaveProperty('next_batch');
    }
    await expectParked(syncA, 0);
    await expectParked(syncB, 0);
    expect(await metric(syncA, 'mx_sync_long_polls_ended_early_total', 'reason="token_deleted"')).toBeGreaterThan(endedBefore);
  });

  it('stops holding a long-poll whose client went away, and still answers the next one', async () => {
    const alice = await registerUser('abuse-gone');
    const since = await initialSync(alice, syncB);
    const gone = new AbortController();
    const abandoned = fetch(`${syncB.url}${CLIENT_V3}/sync?filter=${tzFilter}&since=${since}&timeout=${LONG_POLL_MS}`, {
      headers: { authorization: `Bearer ${alice.accessToken}` },
      signal: gone.signal,
    }).catch((error: unknown) => error);
    await expectParked(syncB, 1);
    gone.abort();
    await abandoned;
    // Released at once, long before its timeout.
    await expectParked(syncB, 0);
    const next = await request('GET', `${CLIENT_V3}/sync?filter=${tzFilter}&since=${since}&timeout=0`, {
      token: alice.accessToken,
      baseUrl: syncB.url,
    });
    expectStatus(next, 200);
  });

  it('ends a long-poll whose token is deleted by plain SQL (no writer involved)', async () => {
    const alice = await registerUser('abuse-sql');
    const poll = longPoll(alice, syncB, await initialSync(alice, syncB));
    await expectParked(syncB, 1);
    await psql(`DELETE FROM access_tokens WHERE user_id = '${alice.userId}'`, stack.env['MX_DATABASE_NAME']);
    expectMatrixError(await poll, 401, 'M_UNKNOWN_TOKEN');
    await expectParked(syncB, 0);
  });

  it('keeps a long-poll of another token of the same user parked when one token is logged out', async () => {
    const alice = await registerUser('abuse-two-devices');
    const login = await request<{ access_token: string; device_id: string }>('POST', `${CLIENT_V3}/login`, {
      body: { type: 'm.login.password', identifier: { type: 'm.id.user', user: alice.username }, password: alice.password },
    });
    expectStatus(login, 200);
    const second: TestUser = { ...alice, accessToken: login.body.access_token, deviceId: login.body.device_id };
    const poll = longPoll(second, syncB, await initialSync(second, syncB));
    await expectParked(syncB, 1);
    expectStatus(await request('POST', `${CLIENT_V3}/logout`, { token: alice.accessToken, body: {} }), 200);
    // Still parked: a write of her own then answers it with the data.
    await expectParked(syncB, 1);
    expectStatus(
      await request('PUT', profilePath(alice.userId, 'm.tz'), { token: second.accessToken, body: { 'm.tz': 'Asia/Tokyo' } }),
      200,
    );
    const answered = await poll;
    expectStatus(answered, 200);
    expect(JSON.stringify(answered.body)).toContain('Asia/Tokyo');
  });

  it('refuses a token in both the Authorization header and the query (401 M_MISSING_TOKEN) on the sync API and the writer', async () => {
    const alice = await registerUser('abuse-mixed');
    const targets = [
      { name: 'sync-api', baseUrl: stack.syncApiUrl, path: `${CLIENT_V3}/sync?timeout=0` },
      { name: 'writer', baseUrl: stack.writerUrl, path: `${CLIENT_V3}/account/whoami?` },
      { name: 'router → sync-api', baseUrl: stack.baseUrl, path: `${CLIENT_V3}/sync?timeout=0` },
      { name: 'router → writer', baseUrl: stack.baseUrl, path: `${CLIENT_V3}/account/whoami?` },
    ];
    for (const target of targets) {
      const query = (token: string) => `${target.path}${target.path.endsWith('?') ? '' : '&'}access_token=${encodeURIComponent(token)}`;
      for (const queryToken of ['bogus', alice.accessToken, '']) {
        const mixed = await request('GET', query(queryToken), { token: alice.accessToken, baseUrl: target.baseUrl });
        expectMatrixError(mixed, 401, 'M_MISSING_TOKEN');
        expect(String(mixed.body['error']), target.name).toMatch(/Mixing Authorization headers and access_token query parameters/);
      }
      // Either alone is still accepted.
      expectStatus(await request('GET', target.path, { token: alice.accessToken, baseUrl: target.baseUrl }), 200);
      expectStatus(await request('GET', query(alice.accessToken), { baseUrl: target.baseUrl }), 200);
    }
    // A POST too (filter upload on the sync API).
    const upload = await request('POST', `${CLIENT_V3}/user/${encodeURIComponent(alice.userId)}/filter?access_token=bogus`, {
      token: alice.accessToken,
      body: {},
      baseUrl: stack.syncApiUrl,
    });
    expectMatrixError(upload, 401, 'M_MISSING_TOKEN');
  });

  /** A filter whose compact JSON is exactly `bytes` long. */
  function filterOfSize(bytes: number, tag: string): Record<string, unknown> {
    const base = { 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] }, 'com.example.tag': tag, 'com.example.pad': '' };
    return { ...base, 'com.example.pad': 'x'.repeat(bytes - JSON.stringify(base).length) };
  }

  it('refuses a filter over 64 KiB (400 M_TOO_LARGE) and accepts one of exactly 64 KiB', async () => {
    const alice = await registerUser('abuse-filter-size');
    const upload = (definition: unknown) =>
      request<{ filter_id: string }>('POST', `${CLIENT_V3}/user/${encodeURIComponent(alice.userId)}/filter`, {
        token: alice.accessToken,
        body: definition,
        baseUrl: syncA.url,
      });
    expectMatrixError(await upload(filterOfSize(64 * 1024 + 1, 'over')), 400, 'M_TOO_LARGE');
    expectMatrixError(await upload(filterOfSize(200 * 1024, 'far over')), 400, 'M_TOO_LARGE');
    const largest = filterOfSize(64 * 1024, 'largest');
    const accepted = await upload(largest);
    expectStatus(accepted, 200);
    const read = await request('GET', `${CLIENT_V3}/user/${encodeURIComponent(alice.userId)}/filter/${accepted.body.filter_id}`, {
      token: alice.accessToken,
      baseUrl: syncA.url,
    });
    expectStatus(read, 200);
    expect(read.body).toEqual(largest);
    expectStatus(
      await request('GET', `${CLIENT_V3}/sync?timeout=0&filter=${accepted.body.filter_id}`, {
        token: alice.accessToken,
        baseUrl: syncA.url,
      }),
      200,
    );
  });

  it('keeps the stored-filter cache within MX_SYNC_FILTER_CACHE_BYTES however many large filters one user uploads and uses', async () => {
    const alice = await registerUser('abuse-filter-cache');
    const user = encodeURIComponent(alice.userId);
    const ids: string[] = [];
    const definitions: Record<string, unknown>[] = [];
    let mostHeld = 0;
    for (let index = 0; index < 24; index++) {
      const definition = filterOfSize(40_000, `filter ${index}`);
      const created = await request<{ filter_id: string }>('POST', `${CLIENT_V3}/user/${user}/filter`, {
        token: alice.accessToken,
        body: definition,
        baseUrl: syncA.url,
      });
      expectStatus(created, 200);
      ids.push(created.body.filter_id);
      definitions.push(definition);
      // Use an older one too (read back from the database, then cached again).
      for (const id of [created.body.filter_id, ids[Math.floor(index / 2)]!]) {
        expectStatus(
          await request('GET', `${CLIENT_V3}/sync?timeout=0&filter=${id}`, { token: alice.accessToken, baseUrl: syncA.url }),
          200,
        );
      }
      const held = await metric(syncA, 'mx_sync_filter_cache_bytes');
      expect(held).toBeLessThanOrEqual(FILTER_CACHE_BYTES);
      mostHeld = Math.max(mostHeld, held);
    }
    // The cache was used (filters of 40 kB are cached while they fit), and every filter is still served whole.
    expect(mostHeld).toBeGreaterThan(40_000);
    expect(await metric(syncA, 'mx_sync_filter_cache_entries')).toBeGreaterThan(0);
    for (const [index, id] of ids.entries()) {
      const read = await request('GET', `${CLIENT_V3}/user/${user}/filter/${id}`, { token: alice.accessToken, baseUrl: syncA.url });
      expectStatus(read, 200);
      expect(read.body).toEqual(definitions[index]);
    }
    expect(await metric(syncA, 'mx_sync_filter_cache_bytes')).toBeLessThanOrEqual(FILTER_CACHE_BYTES);
  });
});
