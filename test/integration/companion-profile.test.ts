import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { extraService, profilePath } from '../support/accounts.js';
import { request } from '../support/matrix-client.js';
import { until } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import { companionEnv } from '../support/companion-stack.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';
import { expectOk, registerOnHomeserver, shareAPublicRoom } from '../support/homeserver-users.js';

/**
 * Companion mode, profile writes (issue 14, part 5): `PUT`/`DELETE /profile/{me}/{key}` on a writer
 * of the test's own in companion mode, with the user's Synapse token (checked with Synapse's
 * whoami). The writer writes the change to Synapse first (as_token with `?user_id=`), then to its
 * log; Synapse's own `GET /profile` and a co-member's `/sync` through the project's companion sync
 * API both show it. The writer is also Synapse's appservice (membership edges), so the co-member
 * relation comes from Synapse's room.
 */
const PORTS = PORT_OFFSETS.companionProfile;
const FIELDS = ['m.status', 'com.example.x'];
const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: FIELDS } });

interface SyncBody {
  next_batch: string;
  'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }>;
}

describe('companion mode: profile writes go to the homeserver first, then to the log', () => {
  const stack = inject('stack');
  const database = `matrix_test_companion_profile_${stack.portBase}`;
  let synapse: OwnSynapse | undefined;
  let writer: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  let syncApi: ServiceProcess | undefined;
  const hs = (): OwnSynapse => synapse!;
  type User = { user_id: string; access_token: string };
  let alice: User;
  let bob: User;

  const register = (prefix: string): Promise<User> => registerOnHomeserver(hs().baseUrl, prefix);
  const synapseField = (userId: string, key: string) =>
    request('GET', profilePath(userId, key), { baseUrl: hs().baseUrl, token: hs().admin.accessToken });
  const bobSync = (query: Record<string, string>) =>
    request<SyncBody>('GET', `/_matrix/client/v3/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`, {
      baseUrl: syncApi!.url,
      token: bob.access_token,
    });
  const aliceUpdates = (body: SyncBody) => body['org.matrix.msc4429.users']?.[alice.user_id]?.profile_updates;

  beforeAll(async () => {
    synapse = await startOwnSynapse({
      name: 'companion_profile',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.writer}`,
    });
    const env = companionEnv(synapse, 'companion_profile').env;
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-companion-profile', PORTS.writer, env);
    projector = extraService('projector', 'projector-companion-profile', PORTS.projector, env);
    syncApi = extraService('sync-api', 'sync-api-companion-profile', PORTS.syncApi, env);
    writer.start();
    projector.start();
    syncApi.start();
    await Promise.all([writer.waitReady(), projector.waitReady(), syncApi.waitReady()]);

    alice = await register('alice');
    bob = await register('bob');
    await shareAPublicRoom(hs().baseUrl, alice, bob);
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await Promise.all([writer?.stop(), projector?.stop(), syncApi?.stop()]);
    await synapse?.stop();
  }, 60_000);

  it('sets m.status and com.example.x with the Synapse token: 200, Synapse stores them, a co-member’s /sync receives them', async () => {
    const status = { text: 'on a train', emoji: '🚆' };
    expectOk(
      await request('PUT', profilePath(alice.user_id, 'm.status'), {
        baseUrl: writer!.url,
        token: alice.access_token,
        body: { 'm.status': status },
      }),
      'PUT m.status',
    );
    expectOk(
      await request('PUT', profilePath(alice.user_id, 'com.example.x'), {
        baseUrl: writer!.url,
        token: alice.access_token,
        body: { 'com.example.x': 'x-value' },
      }),
      'PUT com.example.x',
    );

    // Synapse's own profile holds them.
    expect(expectOk(await synapseField(alice.user_id, 'm.status'), 'Synapse GET m.status')).toEqual({ 'm.status': status });
    expect(expectOk(await synapseField(alice.user_id, 'com.example.x'), 'Synapse GET com.example.x')).toEqual({
      'com.example.x': 'x-value',
    });
    const whole = expectOk(
      await request('GET', profilePath(alice.user_id), { baseUrl: hs().baseUrl, token: bob.access_token }),
      'Synapse GET profile',
    );
    expect(whole).toMatchObject({ 'm.status': status, 'com.example.x': 'x-value' });

    // Bob shares Synapse's room with alice (the membership edges arrive through the appservice transactions).
    const initial = await until('alice’s fields in bob’s initial /sync', async () => {
      const body = expectOk(await bobSync({}), 'bob initial /sync');
      const updates = aliceUpdates(body);
      return updates && updates['m.status'] !== undefined && updates['com.example.x'] !== undefined ? body : undefined;
    });
    expect(aliceUpdates(initial)).toEqual({ 'm.status': status, 'com.example.x': 'x-value' });
  });

  it('refuses a bad token with the homeserver’s 401 and another user’s profile with 403, leaving Synapse unchanged', async () => {
    const bad = await request('PUT', profilePath(alice.user_id, 'com.example.x'), {
      baseUrl: writer!.url,
      token: 'syt_not_a_token',
      body: { 'com.example.x': 'forged' },
    });
    expect([bad.status, bad.body['errcode']]).toEqual([401, 'M_UNKNOWN_TOKEN']);
    const none = await request('PUT', profilePath(alice.user_id, 'com.example.x'), {
      baseUrl: writer!.url,
      body: { 'com.example.x': 'forged' },
    });
    expect([none.status, none.body['errcode']]).toEqual([401, 'M_MISSING_TOKEN']);

    const other = await request('PUT', profilePath(bob.user_id, 'com.example.x'), {
      baseUrl: writer!.url,
      token: alice.access_token,
      body: { 'com.example.x': 'written by alice' },
    });
    expect([other.status, other.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);
    const otherDelete = await request('DELETE', profilePath(bob.user_id, 'displayname'), {
      baseUrl: writer!.url,
      token: alice.access_token,
    });
    expect([otherDelete.status, otherDelete.body['errcode']]).toEqual([403, 'M_FORBIDDEN']);

    expect((await synapseField(bob.user_id, 'com.example.x')).status).toBe(404);
    expect(expectOk(await synapseField(bob.user_id, 'displayname'), 'bob’s displayname at Synapse')['displayname']).toEqual(
      expect.any(String),
    );
    expect(expectOk(await synapseField(alice.user_id, 'com.example.x'), 'alice’s field at Synapse')).toEqual({
      'com.example.x': 'x-value',
    });

    // The local checks run before the homeserver is asked: a bad value never reaches it.
    const badTz = await request('PUT', profilePath(alice.user_id, 'm.tz'), {
      baseUrl: writer!.url,
      token: alice.access_token,
      body: { 'm.tz': 'Nowhere/City' },
    });
    expect([badTz.status, badTz.body['errcode']]).toEqual([400, 'M_INVALID_PARAM']);
    expect((await synapseField(alice.user_id, 'm.tz')).status).toBe(404);
  });

  it('answers the homeserver’s own refusal and appends nothing (a displayname over Synapse’s 256 characters)', async () => {
    const long = 'n'.repeat(300);
    const refused = await request('PUT', profilePath(alice.user_id, 'displayname'), {
      baseUrl: writer!.url,
      token: alice.access_token,
      body: { displayname: long },
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body['errcode']).toEqual(expect.stringMatching(/^M_/));
    expect(expectOk(await synapseField(alice.user_id, 'displayname'), 'Synapse displayname')['displayname']).not.toBe(long);
    // Nothing reached the log: the profile topic holds only the two writes of the first test (its projected fields).
    const rows = (
      await psql(`SELECT field FROM profile_fields WHERE user_id = '${alice.user_id}' AND value = to_jsonb('${long}'::text)`, database)
    ).stdout;
    expect(rows.trim()).toBe('');
  });

  it('DELETE removes the field at Synapse and in the co-member’s /sync', async () => {
    const before = expectOk(await bobSync({}), 'bob /sync before the delete');
    expectOk(
      await request('DELETE', profilePath(alice.user_id, 'com.example.x'), { baseUrl: writer!.url, token: alice.access_token }),
      'DELETE',
    );
    expect((await synapseField(alice.user_id, 'com.example.x')).status).toBe(404);
    expect(expectOk(await synapseField(alice.user_id, 'm.status'), 'm.status kept')['m.status']).toBeDefined();

    // Read-your-writes: the projection already has it, so an incremental sync from the earlier token carries the deletion.
    const incremental = expectOk(await bobSync({ since: before.next_batch, timeout: '10000' }), 'bob incremental /sync');
    expect(aliceUpdates(incremental)).toEqual({ 'com.example.x': null });
    const fresh = expectOk(await bobSync({}), 'bob initial /sync after the delete');
    expect(aliceUpdates(fresh)).toEqual({ 'm.status': { text: 'on a train', emoji: '🚆' } });
  });

  it('answers profile reads reaching the writer (an Ingress cannot split methods) with the homeserver’s own answers', async () => {
    // A user the project never heard of (no room, no write through it): Synapse names new accounts after their localpart.
    const carol = await register('carol');
    const localpart = carol.user_id.slice(1, carol.user_id.indexOf(':'));
    const viaWriter = (path: string) => request('GET', path, { baseUrl: writer!.url, token: carol.access_token });
    const viaSynapse = (path: string) => request('GET', path, { baseUrl: hs().baseUrl, token: carol.access_token });
    const unknownUser = profilePath('@nobody-here:localhost');
    for (const path of [profilePath(carol.user_id), profilePath(carol.user_id, 'displayname'), profilePath(alice.user_id), unknownUser]) {
      const [writerAnswer, synapseAnswer] = await Promise.all([viaWriter(path), viaSynapse(path)]);
      expect({ status: writerAnswer.status, body: writerAnswer.body }, path).toEqual({
        status: synapseAnswer.status,
        body: synapseAnswer.body,
      });
    }
    expect(expectOk(await viaWriter(profilePath(carol.user_id, 'displayname')), 'displayname')).toEqual({ displayname: localpart });
    // An unknown user is Synapse's 404 (with Synapse's own errcode), not the projection's.
    expect((await viaWriter(unknownUser)).status).toBe(404);
  });
});
