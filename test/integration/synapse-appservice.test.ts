import { EventEmitter } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { request } from '../support/matrix-client.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { type OwnSynapse, startOwnSynapse, SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';
import { expectOk, registerOnHomeserver, shareAPublicRoom } from '../support/homeserver-users.js';

/**
 * The Synapse harness (test/support/synapse.ts over deploy/local/synapse.sh) with the project's appservice
 * registration: a Synapse 1.163.2 of the test's own sends room events to a tiny appservice played by this test, with
 * the hs_token, and answers an appservice ping made with the as_token. What companion mode will build on.
 */
interface ClientEvent {
  readonly type: string;
  readonly event_id: string;
  readonly room_id: string;
  readonly sender: string;
  readonly state_key?: string;
  readonly content: Record<string, unknown>;
  readonly unsigned?: { readonly prev_content?: Record<string, unknown>; readonly replaces_state?: string };
}

interface ReceivedRequest {
  readonly method: string;
  readonly path: string;
  readonly authorization: string | undefined;
  readonly body: Record<string, unknown>;
  /** What the appservice answered. */
  readonly status: number;
}

/** The appservice side: answers as the Application Service API asks, records everything, and lets the test wait. */
class TestAppservice {
  readonly requests: ReceivedRequest[] = [];
  readonly events: ClientEvent[] = [];
  private readonly changes = new EventEmitter();
  private hsToken: string | undefined;
  private readonly server = createServer((req, res) => void this.handle(req, res));

  async listen(port: number): Promise<string> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Until the token is known, every request is refused (Synapse would retry it). */
  expectToken(hsToken: string): void {
    this.hsToken = hsToken;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  /** Resolves with what `find` returns once it returns something; checked on every request received. */
  waitFor<T>(what: string, find: () => T | undefined, timeoutMs = 20_000): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const check = (): void => {
        const found = find();
        if (found === undefined) return;
        clearTimeout(timer);
        this.changes.off('request', check);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.changes.off('request', check);
        const seen = this.events.map((e) => `${e.type} ${e.state_key ?? ''} ${JSON.stringify(e.content)}`).join('\n  ');
        reject(new Error(`no ${what} within ${timeoutMs} ms; ${this.requests.length} requests, events:\n  ${seen}`));
      }, timeoutMs);
      this.changes.on('request', check);
      check();
    });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const body = (text ? JSON.parse(text) : {}) as Record<string, unknown>;
    const path = new URL(req.url ?? '/', 'http://appservice').pathname;
    const [status, json] = this.route(req, path, body);
    this.requests.push({ method: req.method ?? '', path, authorization: req.headers.authorization, body, status });
    res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(json));
    this.changes.emit('request');
  }

  /** Synapse counts a 2xx without a JSON body as a failure: always JSON. */
  private route(req: IncomingMessage, path: string, body: Record<string, unknown>): [number, Record<string, unknown>] {
    if (this.hsToken === undefined || req.headers.authorization !== `Bearer ${this.hsToken}`)
      return [403, { errcode: 'M_FORBIDDEN', error: 'Bad hs_token' }];
    if (req.method === 'PUT' && /^\/_matrix\/app\/v1\/transactions\/[^/]+$/.test(path)) {
      this.events.push(...((body['events'] ?? []) as ClientEvent[]));
      return [200, {}];
    }
    if (req.method === 'POST' && path === '/_matrix/app/v1/ping') return [200, {}];
    if (req.method === 'GET' && path.startsWith('/_matrix/app/v1/users/')) return [404, { errcode: 'M_NOT_FOUND', error: 'No such user' }];
    return [404, { errcode: 'M_UNRECOGNIZED', error: 'Unrecognized request' }];
  }
}

describe('a Synapse of the test’s own with the appservice registered (test/support/synapse.ts)', () => {
  const stack = inject('stack');
  const appservice = new TestAppservice();
  let synapse: OwnSynapse | undefined;
  const hs = (): OwnSynapse => synapse!;

  beforeAll(async () => {
    const appserviceUrl = await appservice.listen(stack.portBase + PORT_OFFSETS.synapseAppservice.appservice);
    synapse = await startOwnSynapse({ name: 'appservice', portOffset: PORT_OFFSETS.synapseAppservice.synapse, appserviceUrl });
    appservice.expectToken(synapse.appservice.hsToken);
    const { setupMs, startMs, adminMs } = synapse.timings;
    console.info(
      `[synapse] own Synapse on ${synapse.baseUrl}: database reset + setup ${Math.round(setupMs)} ms, ` +
        `start until /versions answered ${Math.round(startMs)} ms, admin user ${Math.round(adminMs)} ms`,
    );
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await synapse?.stop();
    await appservice.close();
  });

  it('answers /versions with its own MSC4429 off, and hands out a working admin token and as_token', async () => {
    const versions = expectOk(
      await request<{ unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions', { baseUrl: hs().baseUrl }),
      'versions',
    );
    expect(versions.unstable_features['org.matrix.msc4429']).toBe(false);

    const users = expectOk(
      await request<{ users: { name: string; admin: boolean }[] }>('GET', '/_synapse/admin/v2/users?limit=100', {
        baseUrl: hs().baseUrl,
        token: hs().admin.accessToken,
      }),
      'admin users list',
    );
    expect(users.users).toContainEqual(expect.objectContaining({ name: hs().admin.userId, admin: true }));

    const whoami = expectOk(
      await request('GET', '/_matrix/client/v3/account/whoami', { baseUrl: hs().baseUrl, token: hs().appservice.asToken }),
      'whoami',
    );
    expect(whoami['user_id']).toBe(hs().appservice.senderUserId);
    expect(hs().appservice).toMatchObject({ id: 'matrix-profile-sync', senderUserId: `@_mx_profile_sync:${hs().serverName}` });
  });

  it('sends the member events of a room (joins, a displayname change as a join) to the appservice with the hs_token', async () => {
    const register = (prefix: string) => registerOnHomeserver(hs().baseUrl, prefix);
    const alice = await register('alice');
    const bob = await register('bob');
    const roomId = await shareAPublicRoom(hs().baseUrl, alice, bob);
    expectOk(
      await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/displayname`, {
        baseUrl: hs().baseUrl,
        token: alice.access_token,
        body: { displayname: 'Alice Liddell' },
      }),
      'set displayname',
    );

    const member = (userId: string, match: (event: ClientEvent) => boolean) => () =>
      appservice.events.find((e) => e.type === 'm.room.member' && e.room_id === roomId && e.state_key === userId && match(e));
    const aliceJoined = await appservice.waitFor(
      "alice's join",
      member(alice.user_id, (e) => e.content['membership'] === 'join' && e.unsigned?.replaces_state === undefined),
    );
    const bobJoined = await appservice.waitFor(
      "bob's join",
      member(bob.user_id, (e) => e.content['membership'] === 'join'),
    );
    const renamed = await appservice.waitFor(
      "alice's new displayname",
      member(alice.user_id, (e) => e.content['displayname'] === 'Alice Liddell'),
    );

    expect(aliceJoined).toMatchObject({ sender: alice.user_id, content: { membership: 'join' } });
    expect(bobJoined).toMatchObject({ sender: bob.user_id, content: { membership: 'join' } });
    // A displayname change is a new join member event, chained to the one it replaces.
    expect(renamed).toMatchObject({
      sender: alice.user_id,
      content: { membership: 'join', displayname: 'Alice Liddell' },
      unsigned: { prev_content: { membership: 'join' }, replaces_state: aliceJoined.event_id },
    });
    expect(renamed.unsigned?.prev_content?.['displayname']).not.toBe('Alice Liddell');

    const transactions = appservice.requests.filter((r) => r.path.startsWith('/_matrix/app/v1/transactions/'));
    expect(transactions.length).toBeGreaterThan(0);
    for (const transaction of transactions)
      expect(transaction).toMatchObject({ method: 'PUT', authorization: `Bearer ${hs().appservice.hsToken}`, status: 200 });
    expect(appservice.requests.filter((r) => r.status === 403)).toEqual([]);
  });

  it('answers an appservice ping made with the as_token by pinging the appservice with the hs_token', async () => {
    const transactionId = `ping-${Date.now().toString(36)}`;
    const path = `/_matrix/client/v1/appservice/${encodeURIComponent(hs().appservice.id)}/ping`;
    const pong = expectOk(
      await request<{ duration_ms: number }>('POST', path, {
        baseUrl: hs().baseUrl,
        token: hs().appservice.asToken,
        body: { transaction_id: transactionId },
      }),
      'ping',
    );
    expect(pong.duration_ms).toBeGreaterThanOrEqual(0);
    const ping = await appservice.waitFor('the ping', () =>
      appservice.requests.find((r) => r.path === '/_matrix/app/v1/ping' && r.body['transaction_id'] === transactionId),
    );
    expect(ping).toMatchObject({ method: 'POST', authorization: `Bearer ${hs().appservice.hsToken}`, status: 200 });

    // Only the appservice may ping: a user's token is refused.
    const refused = await request('POST', path, { baseUrl: hs().baseUrl, token: hs().admin.accessToken, body: {} });
    expect(refused.status).toBe(403);
    expect(refused.body['errcode']).toBe('M_FORBIDDEN');
  });
});
