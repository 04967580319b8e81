import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { profilePath } from '../support/accounts.js';
import { type Backend, type CompanionStack, startCompanionStack } from '../support/companion-stack.js';
import { expectOk, type HomeserverUser, registerOnHomeserver } from '../support/homeserver-users.js';
import { type MatrixResponse, request, USERS } from '../support/matrix-client.js';
import { until } from '../support/observe.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { SYNAPSE_START_TIMEOUT_MS } from '../support/synapse.js';

/**
 * The local router in companion mode (deploy/local/router.sh with MX_MODE=companion,
 * deploy/local/nginx/companion.conf.template), for real: nginx in front of a Synapse 1.163.2, the
 * writer, projector and sync API in companion mode, all of the test's own. Where each request went
 * is read from the router's access log (`up=`), so a route is checked even where two backends would
 * give the same answer; what the answer holds shows the backend's part (MSC4429 from the project,
 * chat from Synapse). Fail open: with the sync API stopped, /sync through the router is Synapse's,
 * continuing from the homeserver part of an `mc1_` token, and the plain token Synapse returns
 * continues through the project once the sync API is back.
 */
const root = join(import.meta.dirname, '..', '..');
const PORTS = PORT_OFFSETS.companionRouter;
const V3 = '/_matrix/client/v3';
const FILTER = JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.status'] } });

interface SyncBody {
  next_batch: string;
  rooms?: { join?: Record<string, { timeline: { events: { type: string; content: Record<string, unknown> }[] } }> };
  [USERS]?: Record<string, { profile_updates: Record<string, unknown> | null }>;
}

/** The parts of an nginx configuration both routers must share: error bodies and pages, limits, timeouts, proxy headers, logging. */
function sharedSettings(path: string): string[] {
  const config = readFileSync(join(root, path), 'utf8')
    .split('\n')
    .map((line) => line.replace(/#.*$/, '').trim().replace(/\s+/g, ' '))
    .filter((line) => line !== '')
    .join('\n');
  const beforeServer = config.slice(0, config.indexOf('\nserver {'));
  const settings = [
    /map \$status \$mx_error \{\n[\s\S]*?\n\}/.exec(config)?.[0],
    /map \$status \$mx_error_allow \{\n[\s\S]*?\n\}/.exec(config)?.[0],
    /location = \/_mx_error \{[^}]*\}/.exec(config)?.[0],
    ...config.split('\n').filter((line) => /^error_page .* \/_mx_error;$/.test(line) && !line.startsWith('error_page 502 503 504 ')),
    ...beforeServer
      .split('\n')
      .filter((line) =>
        /^(daemon|worker_processes|worker_rlimit_nofile|pid|error_log|worker_connections|log_format|'|access_log|client_\w+|proxy_\w+|server_tokens|default_type|keepalive_timeout) /.test(
          line,
        ),
      ),
  ];
  expect(settings.every((setting) => setting !== undefined)).toBe(true);
  return settings as string[];
}

describe('the companion router shares the standalone router’s error handling and limits', () => {
  it('same Matrix error bodies, error_page rules, body limits, timeouts and proxy headers as nginx.conf.template', () => {
    const standalone = sharedSettings('deploy/local/nginx/nginx.conf.template');
    expect(standalone.join('\n')).toContain('M_TOO_LARGE');
    expect(standalone.join('\n')).toContain('client_max_body_size 1m;');
    expect(standalone.join('\n')).toContain('proxy_read_timeout @@PROXY_TIMEOUT_S@@s;');
    expect(sharedSettings('deploy/local/nginx/companion.conf.template')).toEqual(standalone);
  });
});

describe('the local router in companion mode (nginx in front of Synapse and the project)', () => {
  let companion: CompanionStack | undefined;
  const stack = (): CompanionStack => companion!;
  let alice: HomeserverUser;
  let bob: HomeserverUser;
  let roomId: string;

  const viaRouter = <T = Record<string, unknown>>(method: string, path: string, options: { token?: string; body?: unknown } = {}) =>
    request<T>(method, path, { ...options, baseUrl: stack().routerUrl });
  const routed = async <T = Record<string, unknown>>(
    method: string,
    path: string,
    options: { token?: string; body?: unknown } = {},
  ): Promise<{ response: MatrixResponse<T>; backends: readonly Backend[] }> => {
    const { result, backends } = await stack().routedTo(method, path, () => viaRouter<T>(method, path, options));
    return { response: result, backends };
  };
  const syncPath = (query: Record<string, string>) => `${V3}/sync?${new URLSearchParams({ filter: FILTER, ...query }).toString()}`;

  beforeAll(async () => {
    companion = await startCompanionStack('companion_router', PORTS);
    alice = await registerOnHomeserver(stack().routerUrl, 'alice');
    bob = await registerOnHomeserver(stack().routerUrl, 'bob');
    const created = expectOk(
      await viaRouter<{ room_id: string }>('POST', `${V3}/createRoom`, { token: alice.access_token, body: { preset: 'public_chat' } }),
      'createRoom through the router',
    );
    roomId = created.room_id;
    expectOk(await viaRouter('POST', `${V3}/join/${encodeURIComponent(roomId)}`, { token: bob.access_token, body: {} }), 'join');
  }, SYNAPSE_START_TIMEOUT_MS);

  afterAll(async () => {
    await companion?.stop();
  }, 60_000);

  it('sends each path to the backend of the routing map', async () => {
    const token = alice.access_token;
    const me = alice.user_id;
    const unstableProfile = `/_matrix/client/unstable/uk.tcpip.msc4133/profile/${encodeURIComponent(me)}`;
    const rows: [method: string, path: string, expected: Backend[], body?: unknown][] = [
      ['GET', '/_matrix/client/versions', ['sync-api']],
      ['GET', `${V3}/sync?timeout=0`, ['sync-api']],
      // The services serve v3 only: r0 stays the homeserver's.
      ['GET', '/_matrix/client/r0/sync?timeout=0', ['synapse']],
      ['PUT', profilePath(me, 'com.example.routed'), ['writer'], { 'com.example.routed': 'yes' }],
      ['DELETE', profilePath(me, 'com.example.routed'), ['writer']],
      ['PUT', profilePath(me, 'displayname'), ['writer'], { displayname: 'Alice routed' }],
      ['GET', profilePath(me), ['synapse']],
      ['GET', profilePath(me, 'displayname'), ['synapse']],
      ['PUT', `${unstableProfile}/com.example.unstable`, ['writer'], { 'com.example.unstable': 'yes' }],
      ['DELETE', `${unstableProfile}/com.example.unstable`, ['writer']],
      ['GET', `${unstableProfile}/displayname`, ['synapse']],
      ['POST', `${V3}/logout`, ['writer']],
      ['POST', `${V3}/logout/all`, ['writer']],
      ['POST', '/_matrix/client/r0/logout', ['synapse']],
      ['PUT', '/_matrix/app/v1/transactions/routed-1', ['none'], { events: [] }],
      ['POST', '/_matrix/app/v1/ping', ['none'], {}],
      ['GET', '/health', ['writer']],
      ['GET', '/health/ready', ['writer']],
      ['POST', `${V3}/user/${encodeURIComponent(me)}/filter`, ['synapse'], { room: { timeline: { limit: 1 } } }],
      ['GET', `${V3}/account/whoami`, ['synapse']],
      ['GET', `${V3}/login`, ['synapse']],
      ['GET', `${V3}/joined_rooms`, ['synapse']],
      ['GET', `${V3}/rooms/${encodeURIComponent(roomId)}/joined_members`, ['synapse']],
      ['GET', '/_matrix/media/v3/config', ['synapse']],
      ['GET', '/_synapse/client/rendezvous', ['synapse']],
      ['GET', '/_synapse/admin/v1/server_version', ['none']],
      ['GET', '/.well-known/matrix/client', ['none']],
      ['GET', '/', ['none']],
    ];
    const seen: string[] = [];
    const expected: string[] = [];
    for (const [method, path, backends, body] of rows) {
      // Logouts with a token nobody holds: the route is the point, not the session.
      const rowToken = path.includes('/logout') ? 'syt_not_a_token_of_anyone' : token;
      const { response, backends: actual } = await routed(method, path, { token: rowToken, ...(body === undefined ? {} : { body }) });
      seen.push(`${method} ${path} -> ${actual.join(', ')} (${response.status})`);
      expected.push(`${method} ${path} -> ${backends.join(', ')} (${response.status})`);
    }
    expect(seen).toEqual(expected);
  });

  it('answers /versions from the project: Synapse’s versions plus org.matrix.msc4429 (Synapse’s own MSC4429 is off)', async () => {
    const { response, backends } = await routed<{ versions: string[]; unstable_features: Record<string, boolean> }>(
      'GET',
      '/_matrix/client/versions',
    );
    expect(backends).toEqual(['sync-api']);
    const synapseOwn = expectOk(
      await request<{ versions: string[]; unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions', {
        baseUrl: stack().synapse.baseUrl,
      }),
      'Synapse’s /versions',
    );
    expect(synapseOwn.unstable_features['org.matrix.msc4429']).not.toBe(true);
    const body = expectOk(response, '/versions through the router');
    expect(body.unstable_features['org.matrix.msc4429']).toBe(true);
    expect(body.versions).toEqual(synapseOwn.versions);
  });

  it('keeps the Application Service API internal: 404 M_UNRECOGNIZED through the router, answered by the writer’s own port', async () => {
    const txn = `router-${Date.now().toString(36)}`;
    const { response, backends } = await routed('PUT', `/_matrix/app/v1/transactions/${txn}`, {
      token: stack().synapse.appservice.hsToken,
      body: { events: [] },
    });
    expect(backends).toEqual(['none']);
    expect([response.status, response.body['errcode']]).toEqual([404, 'M_UNRECOGNIZED']);
    const direct = await request('PUT', `/_matrix/app/v1/transactions/${txn}`, {
      baseUrl: stack().writer.url,
      token: stack().synapse.appservice.hsToken,
      body: { events: [] },
    });
    expect([direct.status, direct.body]).toEqual([200, {}]);
  });

  it('writes a profile field through the writer (Synapse has it, GET through the router is Synapse’s) and a co-member’s /sync has it', async () => {
    const status = { text: 'routed', emoji: '🧭' };
    const put = await routed('PUT', profilePath(alice.user_id, 'm.status'), { token: alice.access_token, body: { 'm.status': status } });
    expect(put.backends).toEqual(['writer']);
    expectOk(put.response, 'PUT m.status through the router');
    const direct = expectOk(
      await request('GET', profilePath(alice.user_id, 'm.status'), { baseUrl: stack().synapse.baseUrl, token: bob.access_token }),
      'Synapse’s GET',
    );
    expect(direct).toEqual({ 'm.status': status });
    const get = await routed('GET', profilePath(alice.user_id, 'm.status'), { token: bob.access_token });
    expect(get.backends).toEqual(['synapse']);
    expect(expectOk(get.response, 'GET through the router')).toEqual({ 'm.status': status });

    const synced = await until('alice’s m.status in bob’s /sync through the router', async () => {
      const body = expectOk(await viaRouter<SyncBody>('GET', syncPath({ timeout: '0' }), { token: bob.access_token }), 'bob /sync');
      return body[USERS]?.[alice.user_id]?.profile_updates?.['m.status'] !== undefined ? body : undefined;
    });
    expect(synced.next_batch).toMatch(/^mc1_/);
    expect(synced[USERS]?.[alice.user_id]?.profile_updates).toEqual({ 'm.status': status });
  });

  it('sends a room message to Synapse; the co-member’s /sync through the router carries it in the timeline', async () => {
    const initial = expectOk(await viaRouter<SyncBody>('GET', syncPath({ timeout: '0' }), { token: bob.access_token }), 'bob initial');
    const text = `hello through the router ${Date.now().toString(36)}`;
    const send = await routed('PUT', `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/txn-${Date.now().toString(36)}`, {
      token: alice.access_token,
      body: { msgtype: 'm.text', body: text },
    });
    expect(send.backends).toEqual(['synapse']);
    expect(expectOk(send.response, 'send')['event_id']).toMatch(/^\$/);
    const incremental = await routed<SyncBody>('GET', syncPath({ since: initial.next_batch, timeout: '10000' }), {
      token: bob.access_token,
    });
    expect(incremental.backends).toEqual(['sync-api']);
    const events = expectOk(incremental.response, 'bob incremental').rooms?.join?.[roomId]?.timeline.events ?? [];
    expect(events.map((event) => event.content['body'])).toContain(text);
  });

  it('answers /health/ready from the writer (it names the writer’s pid)', async () => {
    const direct = expectOk(await request<{ pid: number }>('GET', '/health/ready', { baseUrl: stack().writer.url }), 'writer ready');
    const { response, backends } = await routed<{ pid: number }>('GET', '/health/ready');
    expect(backends).toEqual(['writer']);
    expect(expectOk(response, 'ready through the router').pid).toBe(direct.pid);
  });

  it('fails open: with the sync API stopped, /sync (mc1_ since) and /versions are Synapse’s; its plain token continues through the project', async () => {
    const aliceSync = (query: Record<string, string>) => routed<SyncBody>('GET', syncPath(query), { token: alice.access_token });
    const send = async (text: string) =>
      expectOk(
        await viaRouter('PUT', `${V3}/rooms/${encodeURIComponent(roomId)}/send/m.room.message/${encodeURIComponent(text)}`, {
          token: bob.access_token,
          body: { msgtype: 'm.text', body: text },
        }),
        `send ${text}`,
      );
    const texts = (body: SyncBody) =>
      (body.rooms?.join?.[roomId]?.timeline.events ?? [])
        .filter((event) => event.type === 'm.room.message')
        .map((event) => event.content['body']);
    const before = await aliceSync({ timeout: '0' });
    expect(before.backends).toEqual(['sync-api']);
    const combined = expectOk(before.response, 'alice /sync before').next_batch;
    expect(combined).toMatch(/^mc1_[^_]+_[^_]+_[^_]+_s/);

    await stack().syncApi.stop();
    try {
      const whileDown = `while the sync API is down ${Date.now().toString(36)}`;
      await send(whileDown);
      const fallback = await aliceSync({ since: combined, timeout: '10000' });
      // The router tried the sync API, then asked Synapse itself.
      expect(fallback.backends).toEqual(['sync-api', 'synapse']);
      const plain = expectOk(fallback.response, '/sync failed open');
      expect(plain.next_batch).toMatch(/^s/);
      expect(plain[USERS]).toBeUndefined();
      // Incremental from the homeserver part of the mc1_ token: only the new message, not the room's history.
      expect(texts(plain)).toEqual([whileDown]);
      expect(plain.rooms?.join?.[roomId]?.timeline.events.some((event) => event.type === 'm.room.create')).toBe(false);

      const versions = await routed<{ unstable_features: Record<string, boolean> }>('GET', '/_matrix/client/versions');
      expect(versions.backends).toEqual(['sync-api', 'synapse']);
      expect(expectOk(versions.response, '/versions failed open').unstable_features['org.matrix.msc4429']).not.toBe(true);

      // Back through the project: it continues from Synapse's plain token.
      stack().syncApi.start();
      await stack().syncApi.waitReady();
      const status = { text: 'back again', emoji: '🔁' };
      expectOk(
        await viaRouter('PUT', profilePath(bob.user_id, 'm.status'), { token: bob.access_token, body: { 'm.status': status } }),
        'bob PUT m.status',
      );
      const afterBack = `after the sync API is back ${Date.now().toString(36)}`;
      await send(afterBack);
      const resumed = await aliceSync({ since: plain.next_batch, timeout: '10000' });
      expect(resumed.backends).toEqual(['sync-api']);
      const body = expectOk(resumed.response, '/sync through the project again');
      expect(body.next_batch).toMatch(/^mc1_/);
      expect(texts(body)).toEqual([afterBack]);
      // A plain token starts the users section afresh: bob's current fields.
      expect(body[USERS]?.[bob.user_id]?.profile_updates).toEqual({ 'm.status': status });
    } finally {
      if (!(await fetch(`${stack().syncApi.url}/health/live`).catch(() => undefined))?.ok) {
        stack().syncApi.start();
        await stack().syncApi.waitReady();
      }
    }
  });
});
