import {
  ClientEvent,
  createClient,
  type ICreateClientOpts,
  type MatrixClient,
  type MatrixEvent,
  Preset,
  SyncState,
  type SyncStateData,
} from 'matrix-js-sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CompanionStack, startCompanionStack } from '../support/companion-stack.js';
import { PASSWORD, request, uniqueLocalpart } from '../support/matrix-client.js';
import { until } from '../support/observe.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * Issue 14's client test in companion mode: matrix-js-sdk clients, unchanged, that know one URL only,
 * the router (deploy/local/router.sh with MX_MODE=companion) in front of a Synapse 1.163.2 and the
 * project's services, all of the test's own. Accounts, rooms, invites and messages are Synapse's;
 * the clients started with `unstableMSC4429SyncUserProfileFields` receive profile changes as
 * `ClientEvent.UserProfileUpdate` from the project's users section of /sync: a co-member's m.status
 * and displayname, the members' fields for a late joiner, `null` after a leave, and the displayname
 * of a remote member whose member event reached the project through the Application Service API.
 */
const PORTS = PORT_OFFSETS.companionMatrixJsSdk;
const FIELDS = ['m.status', 'displayname'];
type Logger = NonNullable<ICreateClientOpts['logger']>;

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

interface Session {
  readonly username: string;
  readonly userId: string;
  readonly accessToken: string;
  readonly deviceId: string;
}

/** A started client, with every request it made (`METHOD origin+path -> status`) and every UserProfileUpdate it emitted. */
interface Client {
  readonly sdk: MatrixClient;
  readonly userId: string;
  readonly requests: string[];
  readonly origins: Set<string>;
  readonly profileUpdates: { readonly userId: string; readonly profile: Record<string, unknown> | null }[];
}

describe('matrix-js-sdk through the companion router only (chat from Synapse, MSC4429 from the project)', () => {
  let companion: CompanionStack | undefined;
  const stack = (): CompanionStack => companion!;
  const clients: Client[] = [];
  let alice: Client;
  let bob: Client;
  let roomId: string;
  const bobStatus = { text: 'Building', emoji: '🏗️' };
  const bobName = 'Bob the Builder';

  /** The global fetch, recording each request the SDK makes. */
  function recordingFetch(requests: string[], origins: Set<string>): typeof fetch {
    return async (input, init) => {
      const url = new URL(input instanceof Request ? input.url : input);
      const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
      origins.add(url.origin);
      try {
        const response = await fetch(input, init);
        requests.push(`${method} ${url.pathname} -> ${response.status}`);
        return response;
      } catch (error) {
        requests.push(`${method} ${url.pathname} -> ${String(error)}`);
        throw error;
      }
    };
  }

  /** Resolves at the first PREPARED; rejects at the first ERROR, naming every request made so far. */
  function firstSync(sdk: MatrixClient, requests: string[]): Promise<void> {
    return new Promise((resolve, reject) => {
      const onSync = (state: SyncState, _previous: SyncState | null, data?: SyncStateData): void => {
        if (state === SyncState.Prepared) {
          sdk.off(ClientEvent.Sync, onSync);
          resolve();
        } else if (state === SyncState.Error) {
          sdk.off(ClientEvent.Sync, onSync);
          reject(new Error(`matrix-js-sdk sync failed: ${data?.error?.message ?? 'no error'}; requests: ${requests.join(', ')}`));
        }
      };
      sdk.on(ClientEvent.Sync, onSync);
    });
  }

  /** Registers at Synapse through the router with the SDK (`m.login.dummy`), then logs in on a new device with the SDK. */
  async function registerAndLogIn(prefix: string): Promise<Session> {
    const requests: string[] = [];
    const origins = new Set<string>();
    const bare = createClient({ baseUrl: stack().routerUrl, fetchFn: recordingFetch(requests, origins), logger: quietLogger(prefix) });
    const username = uniqueLocalpart(prefix);
    const registered = await bare.registerRequest({ username, password: PASSWORD, auth: { type: 'm.login.dummy' } });
    const login = await bare.loginRequest({
      type: 'm.login.password',
      identifier: { type: 'm.id.user', user: username },
      password: PASSWORD,
    });
    expect(login.user_id).toBe(registered.user_id);
    expect(login.device_id).not.toBe(registered.device_id);
    expect([...origins]).toEqual([stack().routerUrl]);
    return { username, userId: login.user_id, accessToken: login.access_token, deviceId: login.device_id };
  }

  async function startClient(session: Session): Promise<Client> {
    const requests: string[] = [];
    const origins = new Set<string>();
    const sdk = createClient({
      baseUrl: stack().routerUrl,
      userId: session.userId,
      accessToken: session.accessToken,
      deviceId: session.deviceId,
      fetchFn: recordingFetch(requests, origins),
      logger: quietLogger(session.username),
    });
    const client: Client = { sdk, userId: session.userId, requests, origins, profileUpdates: [] };
    sdk.on(ClientEvent.UserProfileUpdate, (userId, profile) => client.profileUpdates.push({ userId, profile }));
    clients.push(client);
    const prepared = firstSync(sdk, requests);
    await sdk.startClient({ initialSyncLimit: 10, unstableMSC4429SyncUserProfileFields: FIELDS });
    await prepared;
    return client;
  }

  /** The first UserProfileUpdate `client` emitted for `userId` that `matches`, waiting for it (each one is recorded from the start). */
  async function profileUpdate(
    client: Client,
    userId: string,
    what: string,
    matches: (profile: Record<string, unknown> | null) => boolean,
    timeoutMs = 20_000,
  ): Promise<Record<string, unknown> | null> {
    const found = () => client.profileUpdates.find((update) => update.userId === userId && matches(update.profile));
    try {
      return (await until(`${client.userId} receiving ${what} of ${userId} as UserProfileUpdate`, found, timeoutMs)).profile;
    } catch (error) {
      throw new Error(
        `${String(error)}; updates: ${JSON.stringify(client.profileUpdates)}; requests: ${client.requests.slice(-20).join(', ')}`,
        {
          cause: error,
        },
      );
    }
  }

  /** Waits until `client`'s live timeline of the room holds a message with `body`; resolves its sender. */
  function messageArrives(client: Client, body: string): Promise<string> {
    return until(`${client.userId} receiving "${body}"`, () => {
      const events: MatrixEvent[] = client.sdk.getRoom(roomId)?.getLiveTimeline().getEvents() ?? [];
      return events.find((event) => event.getType() === 'm.room.message' && event.getContent()['body'] === body)?.getSender();
    });
  }

  const myMembership = (client: Client) => client.sdk.getRoom(roomId)?.getMyMembership();

  beforeAll(async () => {
    companion = await startCompanionStack('companion_js_sdk', PORTS);
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    for (const client of clients.splice(0)) client.sdk.stopClient();
    await companion?.stop();
  }, 60_000);

  it('registers and logs in at Synapse through the router, and syncs through the project', async () => {
    const aliceSession = await registerAndLogIn('alice');
    const bobSession = await registerAndLogIn('bob');
    expect(aliceSession.userId).toMatch(new RegExp(`:${stack().synapse.serverName}$`));
    alice = await startClient(aliceSession);
    bob = await startClient(bobSession);
    expect((await alice.sdk.whoami()).user_id).toBe(aliceSession.userId);
    // The SDK saw MSC4429 in /versions (the project's) and synced with a filter asking for the fields.
    expect(await alice.sdk.doesServerSupportUnstableFeature('org.matrix.msc4429')).toBe(true);
  });

  it('creates a room, invites, joins; messages both ways arrive in the timeline (Synapse’s)', async () => {
    ({ room_id: roomId } = await alice.sdk.createRoom({ preset: Preset.PrivateChat, invite: [bob.userId], name: 'companion' }));
    await until('bob’s invite', () => (myMembership(bob) === 'invite' ? true : undefined));
    await bob.sdk.joinRoom(roomId);
    await until('bob joined', () => (myMembership(bob) === 'join' ? true : undefined));

    const hello = `hello bob ${Date.now().toString(36)}`;
    await alice.sdk.sendTextMessage(roomId, hello);
    expect(await messageArrives(bob, hello)).toBe(alice.userId);
    const reply = `hello alice ${Date.now().toString(36)}`;
    await bob.sdk.sendTextMessage(roomId, reply);
    expect(await messageArrives(alice, reply)).toBe(bob.userId);
  });

  it('receives a co-member’s m.status and displayname as ClientEvent.UserProfileUpdate', async () => {
    await bob.sdk.setExtendedProfileProperty('m.status', bobStatus);
    expect(
      await profileUpdate(alice, bob.userId, 'm.status', (profile) => JSON.stringify(profile?.['m.status']) === JSON.stringify(bobStatus)),
    ).toMatchObject({ 'm.status': bobStatus });
    await bob.sdk.setDisplayName(bobName);
    expect(await profileUpdate(alice, bob.userId, 'displayname', (profile) => profile?.['displayname'] === bobName)).toMatchObject({
      displayname: bobName,
    });
    // Answered from the store the sync filled: alice's client asked for no profile.
    expect(await alice.sdk.getExtendedProfileProperty(bob.userId, 'm.status')).toEqual(bobStatus);
    expect(alice.requests.filter((line) => line.includes('/profile/'))).toEqual([]);
    // The writes went through the project's writer (PUT /profile through the router), and Synapse has them.
    const synapseProfile = await request('GET', `/_matrix/client/v3/profile/${encodeURIComponent(bob.userId)}`, {
      baseUrl: stack().synapse.baseUrl,
    });
    expect(synapseProfile.body).toMatchObject({ displayname: bobName, 'm.status': bobStatus });
  });

  /*
   * Joins and leaves observed from Synapse are kept in the membership history (room_events) as the project's own
   * are, so an incremental /sync sees a user become visible or depart (before that fix, these two tests failed).
   */
  it('gives a user who joins late the members’ fields', async () => {
    const carol = await startClient(await registerAndLogIn('carol'));
    await alice.sdk.invite(roomId, carol.userId);
    await until('carol’s invite', () => (myMembership(carol) === 'invite' ? true : undefined));
    // Nothing about bob before she shares a room with him.
    expect(carol.profileUpdates.filter((update) => update.userId === bob.userId)).toEqual([]);
    await carol.sdk.joinRoom(roomId);
    await until('carol joined', () => (myMembership(carol) === 'join' ? true : undefined));
    const fields = await profileUpdate(carol, bob.userId, 'bob’s fields', (profile) => profile?.['m.status'] !== undefined, 10_000);
    expect(fields).toEqual({ 'm.status': bobStatus, displayname: bobName });
  });

  it('updates a remote member’s displayname from a member event delivered through the appservice endpoint', async () => {
    const remote = '@remote:elsewhere.example';
    const now = Date.now();
    const join = {
      type: 'm.room.member',
      event_id: `$remote-join-${now.toString(36)}:elsewhere.example`,
      room_id: roomId,
      state_key: remote,
      sender: remote,
      origin_server_ts: now,
      content: { membership: 'join', displayname: 'Remote Rita' },
      unsigned: { age: 1 },
    };
    const rename = {
      ...join,
      event_id: `$remote-rename-${now.toString(36)}:elsewhere.example`,
      origin_server_ts: now + 1,
      content: { membership: 'join', displayname: 'Rita from afar' },
      unsigned: { age: 1, replaces_state: join.event_id },
    };
    // Synapse's side of the Application Service API, played straight at the writer's port (never through the router).
    const transaction = async (txnId: string, events: unknown[]) => {
      const answer = await request('PUT', `/_matrix/app/v1/transactions/${txnId}`, {
        baseUrl: stack().writer.url,
        token: stack().synapse.appservice.hsToken,
        body: { events },
      });
      expect([answer.status, answer.body]).toEqual([200, {}]);
    };
    await transaction(`remote-join-${now.toString(36)}`, [join]);
    expect(await profileUpdate(alice, remote, 'the remote join', (profile) => profile?.['displayname'] === 'Remote Rita')).toEqual({
      displayname: 'Remote Rita',
    });
    await transaction(`remote-rename-${now.toString(36)}`, [rename]);
    expect(await profileUpdate(alice, remote, 'the remote rename', (profile) => profile?.['displayname'] === 'Rita from afar')).toEqual({
      displayname: 'Rita from afar',
    });
    expect(await alice.sdk.store.getUserProfile(remote)).toMatchObject({
      displayname: 'Rita from afar',
    });
  });

  it('sends profile_updates null to the co-members when a member leaves', async () => {
    expect(alice.profileUpdates.filter((update) => update.userId === bob.userId && update.profile === null)).toEqual([]);
    await bob.sdk.leave(roomId);
    // Alice's client has the leave from Synapse's timeline; the users section must say `null` for bob by then.
    await until('bob’s leave in alice’s room', () =>
      alice.sdk.getRoom(roomId)?.getMember(bob.userId)?.membership === 'leave' ? true : undefined,
    );
    expect(await profileUpdate(alice, bob.userId, 'null after the leave', (profile) => profile === null, 10_000)).toBeNull();
    expect(await alice.sdk.store.getUserProfile(bob.userId)).toBeFalsy();
  });

  it('made every request of every client to the router, none to Synapse or the services directly', () => {
    for (const client of clients) expect([...client.origins], client.userId).toEqual([stack().routerUrl]);
  });
});
