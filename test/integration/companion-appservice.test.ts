import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { extraService } from '../support/accounts.js';
import { request } from '../support/matrix-client.js';
import { until } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import { companionEnv } from '../support/companion-stack.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';
import { expectOk, registerOnHomeserver, shareAPublicRoom } from '../support/homeserver-users.js';

/**
 * Companion mode, membership edges (issue 14, part 3): a Synapse 1.163.2 of the test's own sends its
 * Application Service transactions to a writer of the test's own in companion mode, which appends
 * the member events to the membership topic; a projector of the test's own applies them as facts
 * (no room authorization) into the membership edges and keeps the members' `displayname` current.
 * The writer and projector share the stack's Kafka and PostgreSQL with their own topic prefix and
 * database. The projection is checked through SQL (token checks against the homeserver are the
 * sync API's part).
 */
const PORTS = PORT_OFFSETS.companionAppservice;

describe('companion mode: membership edges from the homeserver through the Application Service API', () => {
  const stack = inject('stack');
  const database = `matrix_test_companion_as_${stack.portBase}`;
  let synapse: OwnSynapse | undefined;
  let writer: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  let syncApi: ServiceProcess | undefined;
  /** What the second test leaves for the third: alice (a Synapse user, renamed) and the room she shares. */
  let shared: { alice: { user_id: string; access_token: string }; bobId: string; roomId: string } | undefined;
  const hs = (): OwnSynapse => synapse!;
  let env: Record<string, string>;

  const sql = async (text: string): Promise<string[][]> =>
    (await psql(text, database)).stdout
      .trim()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => line.split('|'));
  const quote = (value: string) => `'${value.replace(/'/g, "''")}'`;
  const membershipRow = async (roomId: string, userId: string): Promise<string[] | undefined> =>
    (
      await sql(
        `SELECT membership, event_id, log_offset, origin_server_ts FROM memberships WHERE room_id = ${quote(roomId)} AND user_id = ${quote(userId)}`,
      )
    )[0];
  const displayname = async (userId: string) =>
    (await sql(`SELECT value #>> '{}' FROM profile_fields WHERE user_id = ${quote(userId)} AND field = 'displayname' AND is_set`))[0]?.[0];

  const transaction = (txnId: string, body: unknown, token = hs().appservice.hsToken) =>
    request('PUT', `/_matrix/app/v1/transactions/${encodeURIComponent(txnId)}`, { baseUrl: writer!.url, token, body });

  beforeAll(async () => {
    const writerPort = stack.portBase + PORTS.writer;
    synapse = await startOwnSynapse({ name: 'companion_as', portOffset: PORTS.synapse, appserviceUrl: `http://127.0.0.1:${writerPort}` });
    env = companionEnv(synapse, 'companion_as').env;
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-companion-as', PORTS.writer, env);
    projector = extraService('projector', 'projector-companion-as', PORTS.projector, env);
    writer.start();
    projector.start();
    await Promise.all([writer.waitReady(), projector.waitReady()]);
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([writer?.stop(), projector?.stop(), syncApi?.stop()]);
    await synapse?.stop();
  }, 60_000);

  it('answers the homeserver’s ping (hs_token checked): Synapse’s appservice ping with the as_token reaches the writer', async () => {
    const pong = expectOk(
      await request<{ duration_ms: number }>('POST', `/_matrix/client/v1/appservice/${encodeURIComponent(hs().appservice.id)}/ping`, {
        baseUrl: hs().baseUrl,
        token: hs().appservice.asToken,
        body: { transaction_id: `ping-${Date.now().toString(36)}` },
      }),
      'appservice ping through Synapse',
    );
    expect(pong.duration_ms).toBeGreaterThanOrEqual(0);
    expect(
      expectOk(await request('POST', '/_matrix/app/v1/ping', { baseUrl: writer!.url, token: hs().appservice.hsToken, body: {} }), 'ping'),
    ).toEqual({});
    const wrong = await request('POST', '/_matrix/app/v1/ping', { baseUrl: writer!.url, token: hs().appservice.asToken, body: {} });
    expect([wrong.status, wrong.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const none = await request('POST', '/_matrix/app/v1/ping', { baseUrl: writer!.url, body: {} });
    expect(none.status).toBe(401);
  });

  it('projects the membership edges of a Synapse room, a displayname change, a replayed transaction once; a wrong hs_token gets 403', async () => {
    const register = (prefix: string) => registerOnHomeserver(hs().baseUrl, prefix);
    const alice = await register('alice');
    const bob = await register('bob');
    const roomId = await shareAPublicRoom(hs().baseUrl, alice, bob);

    // The membership edges arrive in the projection: both joined, each with its Synapse event.
    const aliceJoin = await until('alice’s membership edge', async () =>
      (await membershipRow(roomId, alice.user_id))?.[0] === 'join' ? membershipRow(roomId, alice.user_id) : undefined,
    );
    const bobJoin = await until('bob’s membership edge', async () =>
      (await membershipRow(roomId, bob.user_id))?.[0] === 'join' ? membershipRow(roomId, bob.user_id) : undefined,
    );
    expect(aliceJoin[1]).toMatch(/^\$/);
    expect(bobJoin[1]).toMatch(/^\$/);
    expect(Number(aliceJoin[3])).toBeGreaterThan(0);
    // Who shares a room with whom, as /sync reads it.
    const sharing = await sql(
      `SELECT DISTINCT other.user_id FROM memberships mine JOIN memberships other ON other.room_id = mine.room_id AND other.membership = 'join'
       WHERE mine.user_id = ${quote(alice.user_id)} AND mine.membership = 'join' ORDER BY 1`,
    );
    expect(sharing.map(([user]) => user).sort()).toEqual([alice.user_id, bob.user_id].sort());

    // A displayname change on Synapse is a new join member event: the member's displayname field follows.
    expectOk(
      await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/displayname`, {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: { displayname: 'Alice Liddell' },
      }),
      'set displayname',
    );
    await until('alice’s displayname in the projection', async () =>
      (await displayname(alice.user_id)) === 'Alice Liddell' ? true : undefined,
    );
    const renamed = await membershipRow(roomId, alice.user_id);
    expect(renamed?.[0]).toBe('join');
    expect(renamed?.[1]).not.toBe(aliceJoin[1]);

    // Bob leaves on Synapse: his edge follows (no room authorization by the project, the homeserver decided).
    expectOk(
      await request('POST', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/leave`, {
        baseUrl: hs().baseUrl,
        token: bob.access_token,
        body: {},
      }),
      'leave',
    );
    await until('bob’s leave', async () => ((await membershipRow(roomId, bob.user_id))?.[0] === 'leave' ? true : undefined));

    // A transaction replayed by hand: a remote member (another server) joins, then renames; the first transaction again.
    shared = { alice, bobId: bob.user_id, roomId };
    const carol = '@carol:remote.example';
    const now = Date.now();
    const carolJoin = {
      type: 'm.room.member',
      event_id: `$carol-join-${now.toString(36)}`,
      room_id: roomId,
      state_key: carol,
      sender: carol,
      origin_server_ts: now,
      content: { membership: 'join', displayname: 'Carol' },
      unsigned: { age: 5 },
    };
    const carolRename = {
      ...carolJoin,
      event_id: `$carol-rename-${now.toString(36)}`,
      origin_server_ts: now + 1,
      content: { membership: 'join', displayname: 'Carol from afar' },
      unsigned: { age: 1, replaces_state: carolJoin.event_id },
    };
    const txnId = `replayed-${now.toString(36)}`;
    expect(expectOk(await transaction(txnId, { events: [carolJoin] }), 'first transaction')).toEqual({});
    const first = await until('carol’s edge', () => membershipRow(roomId, carol));
    expect(first.slice(0, 2)).toEqual(['join', carolJoin.event_id]);
    expect(await displayname(carol)).toBe('Carol');
    // The same transaction again (the homeserver's retry): answered 200, applied once (the edge still comes from the first record).
    expectOk(await transaction(txnId, { events: [{ ...carolJoin, unsigned: { age: 900 } }] }), 'the same transaction again');
    // A marker after it on the same room (same partition): once it is applied, so is the replay.
    const marker = '@marker:remote.example';
    const markerEvent = {
      ...carolJoin,
      event_id: `$marker-${now.toString(36)}`,
      state_key: marker,
      sender: marker,
      content: { membership: 'join' },
    };
    expectOk(await transaction(`marker-${now.toString(36)}`, { events: [markerEvent] }), 'marker');
    await until('the marker', () => membershipRow(roomId, marker));
    expect(await membershipRow(roomId, carol)).toEqual(first);

    // The rename, then the first transaction once more: the older event never takes effect again.
    expectOk(await transaction(`rename-${now.toString(36)}`, { events: [carolRename] }), 'rename');
    await until('carol’s new name', async () => ((await displayname(carol)) === 'Carol from afar' ? true : undefined));
    expectOk(await transaction(txnId, { events: [carolJoin] }), 'the first transaction once more');
    const marker2 = {
      ...markerEvent,
      event_id: `$marker2-${now.toString(36)}`,
      origin_server_ts: now + 2,
      unsigned: { replaces_state: markerEvent.event_id },
    };
    expectOk(await transaction(`marker2-${now.toString(36)}`, { events: [marker2] }), 'second marker');
    await until('the second marker', async () => ((await membershipRow(roomId, marker))?.[1] === marker2.event_id ? true : undefined));

    // Odd events of other types (nested 10,000 deep, a number beyond a double, NUL) and a member
    // event holding NUL do not refuse the transaction (the homeserver would retry it for ever): the
    // unstorable member event is skipped, the good one beside it applied.
    const dave = '@dave:remote.example';
    const daveJoin = { ...markerEvent, event_id: `$dave-${now.toString(36)}`, state_key: dave, sender: dave };
    const nulMember = {
      ...markerEvent,
      event_id: `$nul-${now.toString(36)}`,
      state_key: '@nul:remote.example',
      content: { membership: 'join', displayname: 'a\u0000b' },
    };
    const odd = (content: string) =>
      `{"type":"m.room.message","event_id":"$odd-${now.toString(36)}","room_id":${JSON.stringify(roomId)},"sender":${JSON.stringify(dave)},"origin_server_ts":${now},"content":${content}}`;
    const raw = `{"events":[${odd(`${'['.repeat(10_000)}${']'.repeat(10_000)}`)},${odd('{"n":1e400,"body":"a\\u0000b"}')},${JSON.stringify(nulMember)},${JSON.stringify(daveJoin)}]}`;
    const oddTransaction = await request('PUT', `/_matrix/app/v1/transactions/odd-${now.toString(36)}`, {
      baseUrl: writer!.url,
      token: hs().appservice.hsToken,
      rawBody: raw,
      headers: { 'Content-Type': 'application/json' },
    });
    expect(oddTransaction.status, JSON.stringify(oddTransaction.body)).toBe(200);
    await until('dave’s edge', () => membershipRow(roomId, dave));
    expect(await membershipRow(roomId, '@nul:remote.example')).toBeUndefined();
    expect((await membershipRow(roomId, carol))?.slice(0, 2)).toEqual(['join', carolRename.event_id]);
    expect(await displayname(carol)).toBe('Carol from afar');

    // A wrong hs_token (the as_token, say) is refused, and nothing is appended.
    const intruder = '@intruder:remote.example';
    const refused = await transaction(
      `intruder-${now.toString(36)}`,
      { events: [{ ...carolJoin, event_id: `$intruder-${now.toString(36)}`, state_key: intruder, sender: intruder }] },
      hs().appservice.asToken,
    );
    expect([refused.status, refused.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const anonymous = await request('PUT', `/_matrix/app/v1/transactions/anonymous-${now.toString(36)}`, {
      baseUrl: writer!.url,
      body: { events: [] },
    });
    expect(anonymous.status).toBe(401);
    expect(await membershipRow(roomId, intruder)).toBeUndefined();
    // Not a transaction at all: 400, so the homeserver's bug shows.
    expect((await transaction(`bad-${now.toString(36)}`, { nope: true })).status).toBe(400);
  });
  it('serves the observed edges and names through the project’s own /sync (companion sync API, the user’s Synapse token)', async () => {
    const { alice, bobId, roomId } = shared!;
    syncApi = extraService('sync-api', 'sync-api-companion-as', PORTS.syncApi, env);
    syncApi.start();
    await syncApi.waitReady();
    const filter = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['displayname'] } });
    const synced = await request<{
      rooms?: { join?: Record<string, unknown> };
      'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }>;
    }>('GET', `/_matrix/client/v3/sync?${new URLSearchParams({ filter }).toString()}`, {
      baseUrl: syncApi.url,
      token: alice.access_token,
    });
    const body = expectOk(synced, 'initial /sync through the companion sync API');
    expect(Object.keys(body.rooms?.join ?? {})).toContain(roomId);
    const users = body['org.matrix.msc4429.users'] ?? {};
    // Alice herself (renamed on Synapse) and the remote member observed through the feed; bob left, so he is not visible.
    expect(users[alice.user_id]?.profile_updates).toEqual({ displayname: 'Alice Liddell' });
    expect(users['@carol:remote.example']?.profile_updates).toEqual({ displayname: 'Carol from afar' });
    expect(Object.keys(users)).not.toContain(bobId);

    // Live: a rename on Synapse reaches an incremental /sync from that token (the profile topic's positions cover it).
    expectOk(
      await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/displayname`, {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: { displayname: 'Alice in Wonderland' },
      }),
      'rename',
    );
    let since = (body as { next_batch: string }).next_batch;
    const deadline = Date.now() + 30_000;
    let seen: Record<string, unknown> | null | undefined;
    while (seen?.['displayname'] !== 'Alice in Wonderland' && Date.now() < deadline) {
      const next = expectOk(
        await request<{
          next_batch: string;
          'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }>;
        }>('GET', `/_matrix/client/v3/sync?${new URLSearchParams({ filter, since, timeout: '5000' }).toString()}`, {
          baseUrl: syncApi.url,
          token: alice.access_token,
        }),
        'incremental /sync',
      );
      since = next.next_batch;
      seen = next['org.matrix.msc4429.users']?.[alice.user_id]?.profile_updates ?? seen;
    }
    expect(seen).toEqual({ displayname: 'Alice in Wonderland' });
  });
});
