import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { extraService, profilePath } from '../support/accounts.js';
import { expectOk, registerOnHomeserver, shareAPublicRoom, type HomeserverUser } from '../support/homeserver-users.js';
import { request, uniqueLocalpart } from '../support/matrix-client.js';
import { until } from '../support/observe.js';
import { freshDatabase, type OwnBroker, setUpFor, startOwnBroker } from '../support/own-infra.js';
import { companionEnv } from '../support/companion-stack.js';
import { PORT_OFFSETS } from '../support/ports.js';
import type { ServiceProcess } from '../support/service-process.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';
import { decodeCompanionSyncToken } from '@mx/companion';

/**
 * Companion mode under failure (issue 14, point 6), with a Synapse and a Kafka broker of the
 * test's own, both stopped and started again:
 * - the broker down: chat keeps flowing through the project's `/sync` (Synapse's messages, the
 *   project's part of the token kept); a profile write Synapse stored but the log could not take
 *   answers 503 and is repaired by the writer itself once the broker is back (the projection gets
 *   Synapse's value with no further write); Synapse's appservice transactions refused meanwhile are
 *   retried by Synapse and land (a join made during the outage reaches the users section);
 * - Synapse down: `/sync` and profile writes answer a Matrix error quickly, nothing is appended;
 *   back, the same tokens continue and the feed resumes.
 */
const PORTS = PORT_OFFSETS.companionOutages;
const FIELD = 'm.status';
const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: [FIELD] }, room: { timeline: { limit: 10 } } });

interface SyncBody {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline: { events: { type: string; content: Record<string, unknown> }[] } }> };
  'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }>;
}

describe('companion mode: the broker and the homeserver stopped and started', () => {
  const stack = inject('stack');
  let broker: OwnBroker | undefined;
  let synapse: OwnSynapse | undefined;
  let writer: ServiceProcess | undefined;
  let projector: ServiceProcess | undefined;
  let syncApi: ServiceProcess | undefined;
  const hs = (): OwnSynapse => synapse!;
  let alice: HomeserverUser;
  let bob: HomeserverUser;
  let roomId: string;

  const sync = (user: HomeserverUser, query: Record<string, string> = {}) =>
    request<SyncBody>('GET', `/_matrix/client/v3/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`, {
      baseUrl: syncApi!.url,
      token: user.access_token,
    });
  const setStatus = (user: HomeserverUser, text: string) =>
    request('PUT', profilePath(user.user_id, FIELD), { baseUrl: writer!.url, token: user.access_token, body: { [FIELD]: { text } } });
  const say = async (user: HomeserverUser, body: string) =>
    expectOk(
      await request('PUT', `/_matrix/client/v3/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${uniqueLocalpart('txn')}`, {
        baseUrl: hs().baseUrl,
        token: user.access_token,
        body: { msgtype: 'm.text', body },
      }),
      'send',
    );
  const messages = (body: SyncBody): string[] =>
    (body.rooms?.join?.[roomId]?.timeline.events ?? []).filter((e) => e.type === 'm.room.message').map((e) => String(e.content['body']));
  /** What bob's initial sync says `user`'s status is (undefined while not projected). */
  const statusSeenByBob = async (user: HomeserverUser): Promise<unknown> => {
    const body = expectOk(await sync(bob), 'bob initial sync');
    return body['org.matrix.msc4429.users']?.[user.user_id]?.profile_updates?.[FIELD];
  };
  const waitForStatus = (user: HomeserverUser, text: string, timeoutMs = 60_000) =>
    until(
      `bob to see ${user.user_id}'s status ${text}`,
      async () => ((await statusSeenByBob(user)) as { text?: string } | undefined)?.text === text || undefined,
      timeoutMs,
    );

  beforeAll(async () => {
    broker = await startOwnBroker('companion_outages', PORTS.kafka);
    synapse = await startOwnSynapse({
      name: 'companion_outages',
      portOffset: PORTS.synapse,
      appserviceUrl: `http://127.0.0.1:${stack.portBase + PORTS.writer}`,
    });
    const { database, env } = companionEnv(synapse, 'companion_outages', {
      MX_KAFKA_BROKERS: broker.brokers,
      MX_TOPIC_PREFIX: 'mxcompanionoutages',
      MX_UPSTREAM_TIMEOUT_MS: '3000',
    });
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-companion-outages', PORTS.writer, env);
    projector = extraService('projector', 'projector-companion-outages', PORTS.projector, env);
    syncApi = extraService('sync-api', 'sync-api-companion-outages', PORTS.syncApi, env);
    for (const service of [writer, projector, syncApi]) service.start();
    await Promise.all([writer.waitReady(), projector.waitReady(), syncApi.waitReady()]);

    alice = await registerOnHomeserver(hs().baseUrl, 'alice');
    bob = await registerOnHomeserver(hs().baseUrl, 'bob');
    roomId = await shareAPublicRoom(hs().baseUrl, alice, bob);
    expectOk(await setStatus(alice, 'before'), 'alice sets her status');
    await waitForStatus(alice, 'before');
  }, SYNAPSE_START_TIMEOUT_MS + 120_000);

  afterAll(async () => {
    await Promise.all([writer?.stop(), projector?.stop(), syncApi?.stop()]);
    await synapse?.stop();
    await broker?.stop();
  }, 60_000);

  it('the broker down: messages keep flowing, a profile write is 503 and repaired by itself afterwards, refused transactions land', async () => {
    const carol = await registerOnHomeserver(hs().baseUrl, 'carol');
    expectOk(await setStatus(carol, 'carol here'), 'carol sets her status (no shared room yet)');
    const first = expectOk(await sync(bob), 'bob before the outage');

    await broker!.stop();
    try {
      await say(alice, 'while the broker is down');
      const during = expectOk(await sync(bob, { since: first.next_batch, timeout: '10000' }), 'bob during the outage');
      expect(messages(during)).toContain('while the broker is down');
      expect(decodeCompanionSyncToken(during.next_batch).positions).toEqual(decodeCompanionSyncToken(first.next_batch).positions);

      // Synapse stores it; the log cannot take it.
      const write = await setStatus(alice, 'during');
      expect(write.status, JSON.stringify(write.body)).toBe(503);
      expect(typeof write.body['errcode']).toBe('string');
      const atSynapse = await request('GET', profilePath(alice.user_id, FIELD), { baseUrl: hs().baseUrl, token: alice.access_token });
      expect(atSynapse.body).toEqual({ [FIELD]: { text: 'during' } });

      // Carol joins at Synapse: the transaction carrying her join is refused while the log is down.
      expectOk(
        await request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
          baseUrl: hs().baseUrl,
          token: carol.access_token,
          body: {},
        }),
        'carol joins',
      );
    } finally {
      await broker!.start();
    }

    // No further write: the writer appends Synapse's value by itself.
    await waitForStatus(alice, 'during', 90_000);
    // Synapse retries the refused transaction: carol's join reaches the projection, and with it her status.
    await waitForStatus(carol, 'carol here', 120_000);
  }, 300_000);

  it('Synapse down: /sync and profile writes fail fast with Matrix errors, nothing is appended; back, the same tokens continue and the feed resumes', async () => {
    const first = expectOk(await sync(bob), 'bob before the stop');
    await hs().pause();
    try {
      let began = Date.now();
      const syncDown = await sync(bob, { since: first.next_batch, timeout: '20000' });
      // Answered before the long-poll's own timeout: the error, not a wait on the stopped homeserver.
      expect(Date.now() - began).toBeLessThan(20_000);
      expect([502, 504]).toContain(syncDown.status);
      expect(syncDown.body).toMatchObject({ errcode: 'M_UNKNOWN' });
      began = Date.now();
      // Whether the whoami is still cached or not, the homeserver is needed and fails.
      const writeDown = await setStatus(alice, 'not stored');
      expect(Date.now() - began).toBeLessThan(10_000);
      expect([502, 504]).toContain(writeDown.status);
      expect(writeDown.body).toMatchObject({ errcode: 'M_UNKNOWN' });
    } finally {
      await hs().resume();
    }
    expect(await statusSeenByBob(alice)).toEqual({ text: 'during' });

    await say(alice, 'after the restart');
    const after = expectOk(await sync(bob, { since: first.next_batch }), 'bob with his pre-outage token');
    expect(messages(after)).toContain('after the restart');
    // The feed resumes: a newcomer's join after the restart is projected, with her status.
    const dave = await registerOnHomeserver(hs().baseUrl, 'dave');
    expectOk(await setStatus(dave, 'dave here'), 'dave sets his status');
    expectOk(
      await request('POST', `/_matrix/client/v3/join/${encodeURIComponent(roomId)}`, {
        baseUrl: hs().baseUrl,
        token: dave.access_token,
        body: {},
      }),
      'dave joins',
    );
    await waitForStatus(dave, 'dave here');
  }, 300_000);
});
