import { ClientEvent, type ICreateClientOpts, type MatrixClient, type SyncStateData, SyncState, createClient } from 'matrix-js-sdk';
import { afterEach, describe, expect, inject, it, vi } from 'vitest';
import { expectStatus, profilePath } from '../support/accounts.js';
import { longPollParks, waitUntilParked } from '../support/long-polls.js';
import { type TestUser, registerUser, request } from '../support/matrix-client.js';
import { createRoomOk, joinRoomById } from '../support/rooms.js';

/**
 * A real client, unchanged: matrix-js-sdk started with `unstableMSC4429SyncUserProfileFields`
 * uploads an `org.matrix.msc4429.profile_fields` filter, reads `org.matrix.msc4429.users` from
 * /sync into its profile store, emits `ClientEvent.UserProfileUpdate`, and answers
 * `getExtendedProfileProperty` from that store.
 */
type Logger = NonNullable<ICreateClientOpts['logger']>;

/** Every request the SDK made, as `METHOD path -> status`, shown when a wait fails. */
type RequestLog = string[];

/** Drops the SDK's debug chatter; keeps warnings and errors, prefixed, on the console. */
function quietLogger(prefix: string): Logger {
  const tag = `[matrix-js-sdk ${prefix}]`;
  return {
    trace: () => undefined,
    debug: () => undefined,
    info: () => undefined,
    warn: (...msg: unknown[]) => console.warn(tag, ...msg),
    error: (...msg: unknown[]) => console.error(tag, ...msg),
    getChild: (namespace: string) => quietLogger(`${prefix} ${namespace}`),
  };
}

/** The SDK's /sync long-polls (a `since` and a non-zero `timeout`): how many it sent, and how many were answered. */
interface LongPolls {
  sent: number;
  answered: number;
}

/** The global fetch, recording each request the SDK makes, and counting its long-polls. */
function recordingFetch(log: RequestLog, longPolls: LongPolls): typeof fetch {
  return async (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const path = `${method} ${url.pathname}`;
    const longPoll = url.pathname.endsWith('/sync') && url.searchParams.has('since') && Number(url.searchParams.get('timeout') ?? 0) > 0;
    if (longPoll) longPolls.sent += 1;
    try {
      const response = await fetch(input, init);
      log.push(`${path} -> ${response.status}`);
      return response;
    } catch (error) {
      log.push(`${path} -> ${String(error)}`);
      throw error;
    } finally {
      if (longPoll) longPolls.answered += 1;
    }
  };
}

function describeError(error: Error | undefined): string {
  return error === undefined ? 'no error' : `${error.name}: ${error.message}`;
}

/**
 * Resolves at the first `PREPARED`; rejects at the first `ERROR` (the SDK would otherwise retry
 * its startup forever), naming the failing request and every request made so far.
 */
function firstSync(client: MatrixClient, log: RequestLog): Promise<void> {
  return new Promise((resolve, reject) => {
    const onSync = (state: SyncState, _previous: SyncState | null, data?: SyncStateData): void => {
      if (state === SyncState.Prepared) {
        client.off(ClientEvent.Sync, onSync);
        resolve();
      } else if (state === SyncState.Error) {
        client.off(ClientEvent.Sync, onSync);
        reject(new Error(`matrix-js-sdk sync failed: ${describeError(data?.error)}; requests: ${log.join(', ')}`));
      }
    };
    client.on(ClientEvent.Sync, onSync);
  });
}

/** Resolves with the first `UserProfileUpdate` for `userId` whose update carries `key`. */
function profileUpdate(client: MatrixClient, userId: string, key: string): Promise<Record<string, unknown>> {
  return new Promise((resolve) => {
    const onUpdate = (updatedUserId: string, profile: Record<string, unknown> | null): void => {
      if (updatedUserId !== userId || profile === null || !(key in profile)) return;
      client.off(ClientEvent.UserProfileUpdate, onUpdate);
      resolve(profile);
    };
    client.on(ClientEvent.UserProfileUpdate, onUpdate);
  });
}

describe('matrix-js-sdk (MSC4429 profile updates in /sync)', () => {
  const clients: MatrixClient[] = [];

  afterEach(() => {
    for (const client of clients.splice(0)) client.stopClient();
  });

  function startClient(user: TestUser, log: RequestLog, longPolls: LongPolls): MatrixClient {
    const client = createClient({
      baseUrl: inject('stack').baseUrl,
      userId: user.userId,
      accessToken: user.accessToken,
      deviceId: user.deviceId,
      fetchFn: recordingFetch(log, longPolls),
      logger: quietLogger(user.userId),
    });
    clients.push(client);
    return client;
  }

  it('emits UserProfileUpdate and reads m.status through getExtendedProfileProperty after another user changes it', async () => {
    const alice = await registerUser('alice');
    const bob = await registerUser('bob');
    const roomId = await createRoomOk(alice, { preset: 'public_chat' });
    expectStatus(await joinRoomById(bob, roomId), 200);

    const log: RequestLog = [];
    const longPolls: LongPolls = { sent: 0, answered: 0 };
    const client = startClient(alice, log, longPolls);
    const prepared = firstSync(client, log);
    // Read before the SDK can send a long-poll: a park counted after it may be the SDK's.
    const parksBefore = await longPollParks();
    await client.startClient({ initialSyncLimit: 1, unstableMSC4429SyncUserProfileFields: ['m.status'] });
    await prepared;
    // Bob writes only once the SDK's first long-poll is parked: only a wake-up can bring it the change.
    await vi.waitFor(() => expect(longPolls.sent, log.join(', ')).toBeGreaterThan(0), { timeout: 10_000, interval: 20 });
    await waitUntilParked(parksBefore, () =>
      longPolls.answered > 0 ? `the SDK's long-poll was answered before bob wrote; requests: ${log.join(', ')}` : undefined,
    );

    const status = { text: 'Swimming', emoji: '🏊' };
    const updated = profileUpdate(client, bob.userId, 'm.status');
    const put = await request('PUT', profilePath(bob.userId, 'm.status'), { token: bob.accessToken, body: { 'm.status': status } });
    expectStatus(put, 200);

    expect(await updated).toMatchObject({ 'm.status': status });
    expect(await client.getExtendedProfileProperty(bob.userId, 'm.status')).toEqual(status);
    // Answered from the store the sync filled: the SDK made no profile request of its own.
    expect(log.filter((line) => line.includes('/profile/'))).toEqual([]);
  });
});
