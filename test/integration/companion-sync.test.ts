import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { decodeCompanionSyncToken } from '@mx/companion';
import { extraService } from '../support/accounts.js';
import { request, uniqueLocalpart, type MatrixResponse } from '../support/matrix-client.js';
import { metricValue } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * Companion mode's `/sync` (issue 14): a sync API of the test's own with MX_MODE=companion in front
 * of a Synapse 1.163.2 of the test's own. Tokens are Synapse's (checked with its whoami), rooms and
 * timelines are Synapse's (forwarded untouched), `next_batch` combines both positions, and the
 * users section comes from the project's projection (here its rows are written with SQL: the
 * appservice feed that fills it in production is another part of issue 14).
 */
const PORTS = PORT_OFFSETS.companionSync;
const PROFILE_FILTER = { 'org.matrix.msc4429.profile_fields': { ids: ['m.status'] } };

interface SyncBody {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline: { events: { type: string; content: Record<string, unknown> }[] } }> };
  'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }>;
  users?: unknown;
}

function ok<T>(response: MatrixResponse<T>, what: string): T {
  if (response.status !== 200) throw new Error(`${what}: ${response.status} ${JSON.stringify(response.body)}`);
  return response.body;
}

const messagesIn = (body: SyncBody, roomId: string): string[] =>
  (body.rooms?.join?.[roomId]?.timeline.events ?? []).filter((e) => e.type === 'm.room.message').map((e) => String(e.content['body']));

describe('companion mode: /sync in front of Synapse', () => {
  const stack = inject('stack');
  const database = `matrix_test_companion_sync_${stack.portBase}`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}.companion-sync`,
  };
  let synapse: OwnSynapse | undefined;
  let syncApi: ServiceProcess | undefined;
  const hs = () => synapse!;
  const via = () => ({ baseUrl: syncApi!.url });
  let alice: { user_id: string; access_token: string };
  let roomId: string;

  const send = async (body: string) =>
    ok(
      await request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${uniqueLocalpart('txn')}`, {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: { msgtype: 'm.text', body },
      }),
      'send',
    );
  /** What a projector commit does: the row at `offset` of profile partition 0, the partition's position and the NOTIFY. */
  const commitProfileRow = async (value: string, offset: number) => {
    const topic = `${env['MX_TOPIC_PREFIX']}.profile.v1`;
    const change = JSON.stringify({ topic, partition: 0, nextOffset: offset + 1, users: [alice.user_id] });
    await psql(
      `BEGIN;
       INSERT INTO profile_fields (user_id, field, value, is_set, log_partition, log_offset, updated_ts)
         VALUES ('${alice.user_id}', 'm.status', '${value}', true, 0, ${offset}, 0)
         ON CONFLICT (user_id, field) DO UPDATE SET value = EXCLUDED.value, is_set = true, log_partition = 0, log_offset = ${offset};
       INSERT INTO projection_positions (topic, log_partition, next_offset) VALUES ('${topic}', 0, ${offset + 1})
         ON CONFLICT (topic, log_partition) DO UPDATE SET next_offset = ${offset + 1};
       SELECT pg_notify('mx_projection', '${change}');
       COMMIT;`,
      database,
    );
  };
  const sync = (query: Record<string, string>, token = alice.access_token) =>
    request<SyncBody>('GET', `/_matrix/client/v3/sync?${new URLSearchParams(query).toString()}`, { ...via(), token });

  beforeAll(async () => {
    // Nothing listens at the appservice URL: this test needs no transactions (Synapse retries them in the background).
    synapse = await startOwnSynapse({
      name: 'companion_sync',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.syncApi}/unused`,
    });
    await freshDatabase(database);
    await setUpFor(env);
    syncApi = extraService('sync-api', 'sync-api-companion', PORTS.syncApi, {
      ...env,
      MX_MODE: 'companion',
      MX_UPSTREAM_URL: hs().baseUrl,
      MX_UPSTREAM_TIMEOUT_MS: '3000',
      MX_APPSERVICE_HS_TOKEN: hs().appservice.hsToken,
      MX_APPSERVICE_AS_TOKEN: hs().appservice.asToken,
    });
    syncApi.start();
    await syncApi.waitReady();

    alice = ok(
      await request<{ user_id: string; access_token: string }>('POST', '/_matrix/client/v3/register', {
        baseUrl: hs().baseUrl,
        body: { username: uniqueLocalpart('alice'), password: 'correct horse battery staple', auth: { type: 'm.login.dummy' } },
      }),
      'register',
    );
    roomId = ok(
      await request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: { preset: 'private_chat' },
      }),
      'createRoom',
    ).room_id;
    await send('hello from synapse');
    // The user's own m.status in the projection, as a projector commit leaves it (the row, the partition's position,
    // the NOTIFY, in one transaction); the appservice feed and the writer fill it in production.
    await commitProfileRow('{"text":"busy"}', 0);
  }, SYNAPSE_START_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await syncApi?.stop();
    await synapse?.stop();
  }, 60_000);

  it("/versions carries Synapse's versions and features plus org.matrix.msc4429", async () => {
    const direct = ok(
      await request<{ versions: string[]; unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions', {
        baseUrl: hs().baseUrl,
      }),
      'synapse versions',
    );
    const proxied = ok(
      await request<{ versions: string[]; unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions', via()),
      'versions',
    );
    expect(proxied.versions).toEqual(direct.versions);
    expect(proxied.unstable_features).toEqual({ ...direct.unstable_features, 'org.matrix.msc4429': true });
  });

  it("an initial sync with a Synapse token: Synapse's rooms and timeline, the project's users section, an mc1_ token", async () => {
    const body = ok(await sync({ filter: JSON.stringify(PROFILE_FILTER) }), 'initial sync');
    expect(messagesIn(body, roomId)).toContain('hello from synapse');
    expect(body.next_batch.startsWith('mc1_')).toBe(true);
    const token = decodeCompanionSyncToken(body.next_batch);
    expect(token.positions).toBeDefined();
    expect(token.homeserver).toMatch(/^s[0-9]/);
    expect(body['org.matrix.msc4429.users']).toEqual({ [alice.user_id]: { profile_updates: { 'm.status': { text: 'busy' } } } });
    expect(body.users).toBeUndefined();
  });

  it('an incremental sync (long-poll) with that token gets the new message and a new combined token', async () => {
    const first = ok(await sync({ filter: JSON.stringify(PROFILE_FILTER) }), 'initial sync');
    const started = Date.now();
    const polling = sync({ since: first.next_batch, timeout: '20000', filter: JSON.stringify(PROFILE_FILTER) });
    await new Promise((resolve) => setTimeout(resolve, 500));
    await send('second message');
    const body = ok(await polling, 'incremental sync');
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(messagesIn(body, roomId)).toEqual(['second message']);
    expect(body.next_batch.startsWith('mc1_')).toBe(true);
    expect(decodeCompanionSyncToken(body.next_batch).homeserver).not.toBe(decodeCompanionSyncToken(first.next_batch).homeserver);
    // Exactly one users section, ours (under the unstable name: MX_MSC4429_STABLE is off).
    expect(body.users).toBeUndefined();
  });

  it('a filter ID stored at Synapse is resolved there for the users section', async () => {
    const { filter_id: filterId } = ok(
      await request<{ filter_id: string }>('POST', `/_matrix/client/v3/user/${encodeURIComponent(alice.user_id)}/filter`, {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: PROFILE_FILTER,
      }),
      'upload filter',
    );
    const body = ok(await sync({ filter: filterId }), 'sync with a filter id');
    expect(body['org.matrix.msc4429.users']).toEqual({ [alice.user_id]: { profile_updates: { 'm.status': { text: 'busy' } } } });
    expect(messagesIn(body, roomId)).toContain('hello from synapse');
  });

  it("a plain Synapse token as since works: Synapse's part as is, the users section afresh", async () => {
    const direct = ok(
      await request<SyncBody>('GET', '/_matrix/client/v3/sync', { baseUrl: hs().baseUrl, token: alice.access_token }),
      'sync at synapse',
    );
    await send('after the plain token');
    const body = ok(await sync({ since: direct.next_batch, filter: JSON.stringify(PROFILE_FILTER) }), 'sync from a plain token');
    expect(messagesIn(body, roomId)).toEqual(['after the plain token']);
    expect(body.next_batch.startsWith('mc1_')).toBe(true);
    expect(body['org.matrix.msc4429.users']).toEqual({ [alice.user_id]: { profile_updates: { 'm.status': { text: 'busy' } } } });
  });

  it("a bad token gets Synapse's 401 M_UNKNOWN_TOKEN through the project", async () => {
    const refused = await sync({}, 'not-a-synapse-token');
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ errcode: 'M_UNKNOWN_TOKEN', soft_logout: false });
    const missing = await request('GET', '/_matrix/client/v3/sync', via());
    expect(missing.status).toBe(401);
    expect(missing.body).toMatchObject({ errcode: 'M_MISSING_TOKEN' });
  });

  it("a long-poll answers as soon as the projection has news, with Synapse's since kept as its part of the token", async () => {
    // A filter of its own: Synapse answers a repeated identical request from its response cache (2 minutes by default).
    const filter = JSON.stringify({ ...PROFILE_FILTER, room: { timeline: { limit: 9 } } });
    const first = ok(await sync({ filter }), 'initial sync');
    const started = Date.now();
    const polling = sync({ since: first.next_batch, timeout: '20000', filter });
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await commitProfileRow('{"text":"away"}', 5);
    const body = ok(await polling, 'long-poll');
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(body['org.matrix.msc4429.users']).toEqual({ [alice.user_id]: { profile_updates: { 'm.status': { text: 'away' } } } });
    expect(body.rooms).toBeUndefined();
    const before = decodeCompanionSyncToken(first.next_batch);
    const after = decodeCompanionSyncToken(body.next_batch);
    expect(after.homeserver).toBe(before.homeserver);
    expect(after.positions!.profile[0]).toBe(6);

    // The next long-poll continues from both positions: Synapse's messages still arrive, the change is not sent
    // again, and it joins the Synapse poll the first one left running (no new Synapse /sync for it).
    const joined = () => metricValue(syncApi!.url, 'mx_companion_upstream_syncs_total', 'kind="joined"').then((value) => value ?? 0);
    const joinedBefore = await joined();
    await send('after the profile change');
    const next = ok(await sync({ since: body.next_batch, filter, timeout: '20000' }), 'next sync');
    expect(messagesIn(next, roomId)).toEqual(['after the profile change']);
    expect(next['org.matrix.msc4429.users']).toBeUndefined();
    expect(await joined()).toBe(joinedBefore + 1);
  });

  it('an answer whose timeline holds a join waits at most a second for the feed (here: none), then answers; after that, answers do not wait', async () => {
    // No appservice feed runs in this file: the projection never hears of bob's join.
    const filter = JSON.stringify({ ...PROFILE_FILTER, room: { timeline: { limit: 6 } } });
    const behind = () => metricValue(syncApi!.url, 'mx_companion_feed_behind_total').then((value) => value ?? 0);
    const joinOfANewUser = async () => {
      const user = ok(
        await request<{ user_id: string; access_token: string }>('POST', '/_matrix/client/v3/register', {
          baseUrl: hs().baseUrl,
          body: { username: uniqueLocalpart('joiner'), password: 'correct horse battery staple', auth: { type: 'm.login.dummy' } },
        }),
        'register',
      );
      const via = { baseUrl: hs().baseUrl };
      ok(
        await request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/invite`, {
          ...via,
          token: alice.access_token,
          body: { user_id: user.user_id },
        }),
        'invite',
      );
      ok(
        await request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, { ...via, token: user.access_token, body: {} }),
        'join',
      );
      return user.user_id;
    };
    const joinsIn = (body: SyncBody, userId: string) =>
      (body.rooms?.join?.[roomId]?.timeline.events ?? []).filter(
        (e) => e.type === 'm.room.member' && (e as { state_key?: string }).state_key === userId,
      );
    const first = ok(await sync({ filter }), 'initial sync');
    const before = await behind();
    const bob = await joinOfANewUser();
    const body = ok(await sync({ since: first.next_batch, filter }), 'sync with the join');
    expect(joinsIn(body, bob).length).toBeGreaterThan(0);
    expect(await behind()).toBe(before + 1);
    // The feed was found behind: the next answers go without waiting for it (chat is never held up).
    const carol = await joinOfANewUser();
    const next = ok(await sync({ since: body.next_batch, filter }), 'sync with the next join');
    expect(joinsIn(next, carol).length).toBeGreaterThan(0);
    expect(await behind()).toBe(before + 1);
  });

  it("with the projection unreadable, /sync still returns Synapse's response, without a users section, the project's part kept", async () => {
    const filter = JSON.stringify({ ...PROFILE_FILTER, room: { timeline: { limit: 8 } } });
    const first = ok(await sync({ filter }), 'initial sync');
    // A change the users section would carry (and positions it would move to), then the projection's profile table
    // gone for a moment (as when its database fails for these queries).
    await commitProfileRow('{"text":"unseen"}', 10);
    await psql('ALTER TABLE profile_fields RENAME TO profile_fields_hidden', database);
    try {
      await send('while the projection is down');
      const body = ok(await sync({ since: first.next_batch, filter }), 'sync without the projection');
      expect(messagesIn(body, roomId)).toEqual(['while the projection is down']);
      expect(body['org.matrix.msc4429.users']).toBeUndefined();
      const before = decodeCompanionSyncToken(first.next_batch);
      const after = decodeCompanionSyncToken(body.next_batch);
      expect(after.positions).toEqual(before.positions);
      expect(after.homeserver).not.toBe(before.homeserver);
    } finally {
      await psql('ALTER TABLE profile_fields_hidden RENAME TO profile_fields', database);
    }
    // Back: the change arrives from the kept position.
    const caughtUp = ok(await sync({ since: first.next_batch, filter }), 'sync with the projection back');
    expect(caughtUp['org.matrix.msc4429.users']).toEqual({ [alice.user_id]: { profile_updates: { 'm.status': { text: 'unseen' } } } });
    expect(decodeCompanionSyncToken(caughtUp.next_batch).positions!.profile[0]).toBe(11);
  });

  it('with Synapse stopped, /sync answers a Matrix error quickly', async () => {
    const first = ok(await sync({}), 'sync before the stop');
    await hs().stop();
    const started = Date.now();
    const body = await sync({ since: first.next_batch, timeout: '30000' });
    expect(Date.now() - started).toBeLessThan(5000);
    expect([502, 504]).toContain(body.status);
    expect(body.body).toMatchObject({ errcode: 'M_UNKNOWN' });
    const versions = await request('GET', '/_matrix/client/versions', via());
    expect([502, 504]).toContain(versions.status);
    synapse = undefined;
  });
});
