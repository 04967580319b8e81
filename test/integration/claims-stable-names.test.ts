import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CLIENT_V3, expectStatus, extraService, profilePath } from '../support/accounts.js';
import { type MatrixResponse, registerUser, request, type TestUser, USERS as UNSTABLE_USERS } from '../support/matrix-client.js';
import { until, metricValue } from '../support/observe.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * README: `MX_MSC4429_STABLE=true` serves MSC4429's stable names (`users`, `profile_fields`) and
 * advertises `org.matrix.msc4429.stable` in /versions. A sync API of this test's own runs with it on,
 * beside the stack's (off), on the same database and topics.
 */
const UNSTABLE_FIELDS = 'org.matrix.msc4429.profile_fields';

type Users = Record<string, { profile_updates: Record<string, unknown> | null }>;
interface SyncBody {
  next_batch: string;
  users?: Users;
  [UNSTABLE_USERS]?: Users;
}

function syncAt(baseUrl: string, user: TestUser, query: Record<string, string>): Promise<MatrixResponse<SyncBody>> {
  return request<SyncBody>('GET', `${CLIENT_V3}/sync?${new URLSearchParams(query).toString()}`, { token: user.accessToken, baseUrl });
}

async function put(user: TestUser, key: string, value: unknown): Promise<void> {
  expectStatus(await request('PUT', profilePath(user.userId, key), { token: user.accessToken, body: { [key]: value } }), 200);
}

describe('claim: MX_MSC4429_STABLE=true serves the stable names', () => {
  const stack = inject('stack');
  const stable = extraService('sync-api', 'sync-api-claims-stable', PORT_OFFSETS.claimsStableNames.syncApi, { MX_MSC4429_STABLE: 'true' });

  beforeAll(async () => {
    stable.start();
    await stable.waitReady();
  }, 120_000);

  afterAll(async () => {
    await stable.stop();
  }, 30_000);

  it('advertises org.matrix.msc4429.stable in /versions (and the stack’s sync API, with it off, does not)', async () => {
    const on = await request<{ unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions', { baseUrl: stable.url });
    expectStatus(on, 200);
    expect(on.body.unstable_features).toMatchObject({ 'org.matrix.msc4429': true, 'org.matrix.msc4429.stable': true });
    const off = await request<{ unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions', {
      baseUrl: stack.syncApiUrl,
    });
    expectStatus(off, 200);
    expect(off.body.unstable_features['org.matrix.msc4429']).toBe(true);
    expect(off.body.unstable_features).not.toHaveProperty(['org.matrix.msc4429.stable']);
  });

  it('answers under `users` (never the unstable name) for the stable, the unstable and a stored filter, initial and incremental', async () => {
    const alice = await registerUser('stable-alice');
    const bob = await registerUser('stable-bob');
    await put(alice, 'm.tz', 'Europe/Paris');
    await put(bob, 'm.tz', 'Asia/Tokyo');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectStatus(await joinRoomById(bob, roomId), 200);
    const expected: Users = {
      [alice.userId]: { profile_updates: { 'm.tz': 'Europe/Paris' } },
      [bob.userId]: { profile_updates: { 'm.tz': 'Asia/Tokyo' } },
    };

    const stableKey = JSON.stringify({ profile_fields: { ids: ['m.tz'] } });
    const unstableKey = JSON.stringify({ [UNSTABLE_FIELDS]: { ids: ['m.tz'] } });
    const stored = await request<{ filter_id: string }>('POST', `${CLIENT_V3}/user/${encodeURIComponent(alice.userId)}/filter`, {
      token: alice.accessToken,
      baseUrl: stable.url,
      body: { profile_fields: { ids: ['m.tz'] } },
    });
    expectStatus(stored, 200);

    let since = '';
    for (const filter of [stableKey, unstableKey, stored.body.filter_id]) {
      const initial = await syncAt(stable.url, alice, { filter });
      expectStatus(initial, 200);
      expect(initial.body.users, filter).toEqual(expected);
      expect(initial.body, filter).not.toHaveProperty([UNSTABLE_USERS]);
      since = initial.body.next_batch;
    }

    // Incremental: a long-poll on the stable sync API, parked (its gauge says so) before bob's change.
    const parkedBefore = (await metricValue(stable.url, 'mx_sync_parked_long_polls')) ?? 0;
    const longPoll = syncAt(stable.url, alice, { filter: stableKey, since, timeout: '60000' });
    await until('the long-poll to park', async () => {
      const parked = await metricValue(stable.url, 'mx_sync_parked_long_polls');
      return parked !== undefined && parked > parkedBefore ? true : undefined;
    });
    await put(bob, 'm.tz', 'America/Lima');
    const incremental = await longPoll;
    expectStatus(incremental, 200);
    expect(incremental.body.users).toEqual({ [bob.userId]: { profile_updates: { 'm.tz': 'America/Lima' } } });
    expect(incremental.body).not.toHaveProperty([UNSTABLE_USERS]);

    // Control: the stack's sync API (stable names off) answers the same stable-key filter under the unstable name.
    const off = await syncAt(stack.syncApiUrl, alice, { filter: stableKey });
    expectStatus(off, 200);
    expect(off.body[UNSTABLE_USERS]).toEqual({ ...expected, [bob.userId]: { profile_updates: { 'm.tz': 'America/Lima' } } });
    expect(off.body).not.toHaveProperty(['users']);
  }, 90_000);
});
