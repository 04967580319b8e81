import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { EnvironmentVariables } from '@mx/config';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * Every error a client can get is a Matrix error (`{"errcode","error"}`, application/json, the
 * right status), including the ones the router (nginx) and Fastify answer themselves before any
 * of our code runs; a 405 says which methods the path takes; a plain OPTIONS is answered like a
 * CORS preflight. And the router never cuts off a /sync long-poll the services allow: its proxy
 * timeouts are rendered from the configured maximum, with a margin.
 *
 * Requests are written byte for byte on a socket: fetch refuses TRACE and may normalise paths.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);
const stack = inject('stack');
const routerPort = Number(new URL(stack.baseUrl).port);
const writerPort = Number(new URL(stack.writerUrl).port);
const userPath = (userId: string) => `/_matrix/client/v3/profile/${encodeURIComponent(userId)}/displayname`;

interface RawResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

function decodeChunked(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = data.indexOf('\r\n', offset);
    if (lineEnd === -1) break;
    const size = parseInt(data.subarray(offset, lineEnd).toString('latin1'), 16);
    if (!Number.isFinite(size) || size === 0) break;
    parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
    offset = lineEnd + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

function parseResponse(data: Buffer): RawResponse {
  const headEnd = data.indexOf('\r\n\r\n');
  if (headEnd === -1) throw new Error(`no HTTP response: ${JSON.stringify(data.toString('latin1'))}`);
  const [statusLine = '', ...lines] = data.subarray(0, headEnd).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = data.subarray(headEnd + 4);
  if (headers['transfer-encoding']?.toLowerCase() === 'chunked') body = decodeChunked(body);
  else if (headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(statusLine.split(' ')[1]), headers, body: body.toString('utf8') };
}

/**
 * One request on a fresh connection, exactly as given, read until the server ends the
 * connection. A server may answer before reading the whole body (nginx's 413) and close: the
 * answer received counts, a reset while still sending does not.
 */
function exchange(
  port: number,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string | Buffer } = {},
): Promise<RawResponse> {
  const body = options.body ?? '';
  const headers: Record<string, string> = { Host: 'localhost', Connection: 'close', ...options.headers };
  if (body.length > 0) headers['Content-Length'] ??= String(Buffer.byteLength(body));
  const head = `${method} ${path} HTTP/1.1\r\n${Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('')}\r\n`;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (chunks.length === 0) reject(error ?? new Error(`${method} ${path}: connection closed without an answer`));
      else {
        try {
          resolve(parseResponse(Buffer.concat(chunks)));
        } catch (parseError) {
          reject(parseError instanceof Error ? parseError : new Error(String(parseError)));
        }
      }
    };
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(head);
      if (body.length > 0) socket.write(body);
    });
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('end', () => finish());
    socket.on('close', () => finish());
    socket.on('error', (error) => finish(error));
  });
}

/** A Matrix error: the status, JSON content type, `errcode` and a string `error`. */
function expectMatrixError(response: RawResponse, status: number, errcode: string): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(response.body) as Record<string, unknown>;
  } catch {
    // reported by the assertion below, with the body as it came
  }
  expect(
    { status: response.status, contentType: response.headers['content-type']?.split(';')[0], errcode: body['errcode'] },
    response.body,
  ).toEqual({
    status,
    contentType: 'application/json',
    errcode,
  });
  expect(typeof body['error'], response.body).toBe('string');
  return body;
}

describe('errors nginx answers itself are Matrix errors', () => {
  it('413 for a body over the router’s 1 MiB limit', async () => {
    const response = await exchange(routerPort, 'PUT', userPath('@someone:test.local'), {
      headers: { 'Content-Type': 'application/json' },
      body: Buffer.alloc(1536 * 1024, 0x20),
    });
    expectMatrixError(response, 413, 'M_TOO_LARGE');
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('414 for a request URI over nginx’s buffers', async () => {
    expectMatrixError(await exchange(routerPort, 'GET', `/_matrix/client/v3/profile/${'a'.repeat(10_000)}`), 414, 'M_TOO_LARGE');
  });

  it('431 for a request header too large (nginx’s bare 400 otherwise)', async () => {
    const response = await exchange(routerPort, 'GET', '/_matrix/client/versions', { headers: { 'X-Big': 'a'.repeat(10_000) } });
    expectMatrixError(response, 431, 'M_TOO_LARGE');
  });

  it('400 for %00 in the path, refused by nginx before any location', async () => {
    expectMatrixError(await exchange(routerPort, 'GET', '/_matrix/client/v3/profile/a%00b'), 400, 'M_UNRECOGNIZED');
  });

  it('400 for a malformed request line', async () => {
    expectMatrixError(await exchange(routerPort, 'G@T', '/_matrix/client/versions'), 400, 'M_UNRECOGNIZED');
  });

  it('405 for TRACE, with an Allow header', async () => {
    const response = await exchange(routerPort, 'TRACE', '/_matrix/client/versions');
    expectMatrixError(response, 405, 'M_UNRECOGNIZED');
    expect(response.headers['allow']).toBe('GET, HEAD, POST, PUT, DELETE, OPTIONS');
  });

  it('404 for paths outside the API, and for the router’s internal error location', async () => {
    for (const path of ['/', '/index.html', '/_mx_error']) {
      const response = await exchange(routerPort, 'GET', path);
      expectMatrixError(response, 404, 'M_UNRECOGNIZED');
      expect(response.headers['allow'], path).toBeUndefined();
    }
  });

  it('lets the services’ own errors through unchanged (they are not replaced by the router’s)', async () => {
    const notJson = await exchange(routerPort, 'PUT', userPath('@someone:test.local'), { body: '{"displayname":' });
    expectMatrixError(notJson, 400, 'M_NOT_JSON');
    expectMatrixError(await exchange(routerPort, 'GET', '/_matrix/client/v3/sync'), 401, 'M_MISSING_TOKEN');
  });
});

describe('errors Fastify and Node answer themselves are Matrix errors (through the router)', () => {
  it('400 M_INVALID_PARAM for a path that is not percent-encoded UTF-8, not Fastify’s FST_ERR_BAD_URL', async () => {
    const response = await exchange(routerPort, 'GET', '/_matrix/client/v3/profile/%40%FF:localhost');
    const body = expectMatrixError(response, 400, 'M_INVALID_PARAM');
    expect(body).not.toHaveProperty('code');
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('414 M_TOO_LARGE for a path parameter over 2,048 characters, not Fastify’s own 414', async () => {
    const response = await exchange(routerPort, 'GET', `/_matrix/client/v3/profile/%40${'a'.repeat(2100)}%3Atest.local`);
    const body = expectMatrixError(response, 414, 'M_TOO_LARGE');
    expect(body).not.toHaveProperty('statusCode');
  });

  it('400 for a method Node’s HTTP parser does not know', async () => {
    expectMatrixError(await exchange(routerPort, 'BREW', '/_matrix/client/versions'), 400, 'M_UNRECOGNIZED');
  });
});

describe('405 answers carry Allow', () => {
  it('on the sync API', async () => {
    const response = await exchange(routerPort, 'DELETE', '/_matrix/client/versions');
    expectMatrixError(response, 405, 'M_UNRECOGNIZED');
    expect(response.headers['allow']).toBe('GET, HEAD, OPTIONS');
  });

  it('on the writer', async () => {
    const response = await exchange(routerPort, 'POST', userPath('@someone:test.local'), { body: '{}' });
    expectMatrixError(response, 405, 'M_UNRECOGNIZED');
    const allowed = (response.headers['allow'] ?? '').split(', ');
    expect(allowed).toEqual(expect.arrayContaining(['GET', 'PUT', 'OPTIONS']));
    expect(allowed).not.toContain('POST');
  });

  it('with the method that failed and the path’s own methods only, also with PATCH', async () => {
    const response = await exchange(routerPort, 'PATCH', '/_matrix/client/v3/sync');
    expectMatrixError(response, 405, 'M_UNRECOGNIZED');
    expect(response.headers['allow']).toBe('GET, HEAD, OPTIONS');
  });
});

describe('a plain OPTIONS (no CORS preflight headers)', () => {
  it.each([
    ['the sync API', '/_matrix/client/versions'],
    ['the writer', userPath('@someone:test.local')],
    ['an unknown Matrix path', '/_matrix/client/v3/nothing-here'],
  ])('on %s is answered like a preflight, not with a text/plain 400', async (_, path) => {
    const response = await exchange(routerPort, 'OPTIONS', path);
    expect([200, 204], response.body).toContain(response.status);
    expect(response.headers['content-type'] ?? 'none').not.toContain('text/plain');
    expect(['', '{}']).toContain(response.body);
    expect(response.headers['access-control-allow-origin']).toBe('*');
    expect(response.headers['access-control-allow-methods']).toContain('GET');
    expect(response.headers['access-control-allow-headers']).toContain('Authorization');
  });

  it('and a real preflight still is', async () => {
    const response = await exchange(routerPort, 'OPTIONS', '/_matrix/client/versions', {
      headers: { Origin: 'https://app.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });
});

describe('the writer as an Ingress controller’s custom error backend (ingress-nginx custom-http-errors)', () => {
  it.each([
    [413, 413, 'M_TOO_LARGE'],
    [414, 414, 'M_TOO_LARGE'],
    [494, 431, 'M_TOO_LARGE'],
    [502, 502, 'M_UNKNOWN'],
    [503, 503, 'M_UNKNOWN'],
    [504, 504, 'M_UNKNOWN'],
  ])('answers X-Code %i on / (as the controller sends it) with %i %s', async (code, status, errcode) => {
    expectMatrixError(await exchange(writerPort, 'PUT', '/?x=1', { headers: { 'X-Code': String(code) } }), status, errcode);
  });

  it('leaves / without X-Code (or with a code that is no error) a 404', async () => {
    expectMatrixError(await exchange(writerPort, 'GET', '/'), 404, 'M_UNRECOGNIZED');
    expectMatrixError(await exchange(writerPort, 'GET', '/', { headers: { 'X-Code': '200' } }), 404, 'M_UNRECOGNIZED');
  });
});

describe('502 and 504 from a router of this test’s own, in front of upstreams that fail', () => {
  // The routing needs no real service: the "writer" drops every connection (502), the "sync API"
  // accepts and never answers (504 once the proxy read timeout, rendered from a 1 s cap plus a 1 s
  // margin, runs out).
  const ownRouterPort = stack.portBase + PORT_OFFSETS.routerErrors.router;
  const closingPort = stack.portBase + PORT_OFFSETS.routerErrors.closingUpstream;
  const silentPort = stack.portBase + PORT_OFFSETS.routerErrors.silentUpstream;
  const localDir = join(root, '.local', `test-router-errors-${stack.portBase}`);
  const routerEnv = {
    ...process.env,
    MX_LOCAL_DIR: localDir,
    MX_ROUTER_PORT: String(ownRouterPort),
    MX_WRITER_PORT: String(closingPort),
    MX_SYNC_API_PORT: String(silentPort),
    MX_SYNC_MAX_TIMEOUT_MS: '1000',
    MX_ROUTER_TIMEOUT_MARGIN_S: '1',
  };
  const held = new Set<Socket>();
  const servers: Server[] = [
    createServer((socket) => socket.destroy()),
    createServer((socket) => {
      held.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => held.delete(socket));
    }),
  ];

  beforeAll(async () => {
    await Promise.all(
      servers.map(
        (server, index) =>
          new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen(index === 0 ? closingPort : silentPort, '127.0.0.1', () => resolve());
          }),
      ),
    );
    await run('bash', ['deploy/local/router.sh', 'start'], { cwd: root, env: routerEnv });
  }, 60_000);

  afterAll(async () => {
    await run('bash', ['deploy/local/router.sh', 'stop'], { cwd: root, env: routerEnv }).catch(() => undefined);
    for (const socket of held) socket.destroy();
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }, 30_000);

  it('renders its proxy timeouts from the cap it was given', () => {
    const config = readFileSync(join(localDir, 'nginx', 'nginx.conf'), 'utf8');
    expect(proxyTimeouts(config)).toEqual({ read: 2, send: 2 });
  });

  it('502 when the upstream drops the connection', async () => {
    const response = await exchange(ownRouterPort, 'GET', '/_matrix/client/v3/capabilities');
    expectMatrixError(response, 502, 'M_UNKNOWN');
    expect(response.headers['access-control-allow-origin']).toBe('*');
  });

  it('504 when the upstream does not answer within the proxy read timeout', async () => {
    expectMatrixError(await exchange(ownRouterPort, 'GET', '/_matrix/client/v3/sync?timeout=0'), 504, 'M_UNKNOWN');
  });
});

/** `proxy_read_timeout` and `proxy_send_timeout` of a rendered nginx configuration, in seconds. */
function proxyTimeouts(config: string): { read: number; send: number } {
  const seconds = (directive: string) => {
    const values = [...config.matchAll(new RegExp(`^\\s*${directive}\\s+(\\d+)s;`, 'gm'))].map((match) => Number(match[1]));
    expect(values, `${directive} set once, in seconds`).toHaveLength(1);
    return values[0]!;
  };
  return { read: seconds('proxy_read_timeout'), send: seconds('proxy_send_timeout') };
}

describe('the routers’ proxy timeouts follow the /sync cap (MX_SYNC_MAX_TIMEOUT_MS) with a margin', () => {
  const defaultCapMs = new EnvironmentVariables().MX_SYNC_MAX_TIMEOUT_MS;
  const scratch = mkdtempSync(join(tmpdir(), 'mx-router-render-'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('the stack’s own router waits longer than the cap its sync API runs with', () => {
    const capMs = Number(stack.env['MX_SYNC_MAX_TIMEOUT_MS'] ?? process.env['MX_SYNC_MAX_TIMEOUT_MS'] ?? defaultCapMs);
    const config = readFileSync(join(dirname(stack.logDir), 'nginx', 'nginx.conf'), 'utf8');
    const { read, send } = proxyTimeouts(config);
    expect(read * 1000).toBeGreaterThan(capMs);
    expect(send * 1000).toBeGreaterThan(capMs);
  });

  it.each([
    [{}, defaultCapMs / 1000 + 30],
    [{ MX_SYNC_MAX_TIMEOUT_MS: '300000' }, 330],
    [{ MX_SYNC_MAX_TIMEOUT_MS: '120500' }, 151],
    [{ MX_SYNC_MAX_TIMEOUT_MS: '600000', MX_ROUTER_TIMEOUT_MARGIN_S: '60' }, 660],
  ])('router.sh renders %j as %i s', async (settings, expected) => {
    const localDir = mkdtempSync(join(scratch, 'local-'));
    // Only what the case sets: neither variable may come from the environment of the test run.
    const { MX_SYNC_MAX_TIMEOUT_MS: _cap, MX_ROUTER_TIMEOUT_MARGIN_S: _margin, ...inherited } = process.env;
    const env = { ...inherited, MX_LOCAL_DIR: localDir, ...settings };
    const { stdout } = await run('bash', ['deploy/local/router.sh', 'render'], { cwd: root, env });
    const config = readFileSync(stdout.trim(), 'utf8');
    expect(proxyTimeouts(config)).toEqual({ read: expected, send: expected });
    expect(config).not.toMatch(/@@[A-Z_]+@@/);
  });

  it('router.sh refuses a margin of 0 (the bug: nginx timing out exactly at the cap)', async () => {
    const localDir = mkdtempSync(join(scratch, 'local-'));
    const env = { ...process.env, MX_LOCAL_DIR: localDir, MX_ROUTER_TIMEOUT_MARGIN_S: '0' };
    await expect(run('bash', ['deploy/local/router.sh', 'render'], { cwd: root, env })).rejects.toThrow(/MX_ROUTER_TIMEOUT_MARGIN_S/);
  });

  it('the compose router renders its timeouts from the cap the compose services run with', async () => {
    const composeDir = join(root, 'deploy', 'docker');
    const compose = parse(readFileSync(join(composeDir, 'compose.yaml'), 'utf8'), { merge: true }) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
    };
    const router = compose.services['router']!;
    const caps = ['writer', 'sync-api', 'projector'].map((name) => compose.services[name]?.environment?.['MX_SYNC_MAX_TIMEOUT_MS']);
    const capMs = Number(router.environment?.['MX_SYNC_MAX_TIMEOUT_MS']);
    expect(caps).toEqual([String(capMs), String(capMs), String(capMs)]);

    // Run the router's own command as the container would, its paths mapped onto this machine and
    // nginx replaced by a stand-in that records how it was started.
    const [shell, flags, script] = router.command ?? [];
    expect([shell, flags]).toEqual(['/bin/sh', '-ec']);
    const dir = mkdtempSync(join(scratch, 'compose-'));
    // The container's /tmp first: the checkout itself may live under /tmp (a CI clone).
    let local = (script ?? '').replaceAll('$$', '$').replaceAll('/tmp/', `${dir}/`);
    for (const volume of router.volumes ?? []) {
      const [host = '', container = ''] = volume.split(':');
      local = local.replaceAll(container, join(composeDir, host));
    }
    mkdirSync(join(dir, 'bin'));
    writeFileSync(join(dir, 'bin', 'nginx'), `#!/bin/sh\necho "$@" >"${dir}/nginx-args"\n`);
    chmodSync(join(dir, 'bin', 'nginx'), 0o755);
    await run('sh', ['-ec', local], { env: { PATH: `${dir}/bin:${process.env['PATH'] ?? ''}`, ...router.environment } });

    expect(readFileSync(join(dir, 'nginx-args'), 'utf8').trim()).toBe(`-c ${dir}/nginx.conf -g daemon off;`);
    const config = readFileSync(join(dir, 'nginx.conf'), 'utf8');
    expect(config).not.toMatch(/@@[A-Z_]+@@/);
    const { read, send } = proxyTimeouts(config);
    expect(read * 1000).toBeGreaterThan(capMs);
    expect(send * 1000).toBeGreaterThan(capMs);
  });
});

describe('the local and the compose router handle errors alike', () => {
  /** The error handling of an nginx configuration: the error maps, error_page rules and the error location, comments and spacing aside. */
  function errorHandling(path: string): string[] {
    const config = readFileSync(join(root, path), 'utf8')
      .split('\n')
      .map((line) => line.replace(/#.*$/, '').trim().replace(/\s+/g, ' '))
      .filter((line) => line !== '')
      .join('\n');
    const blocks = [
      /map \$status \$mx_error \{\n[\s\S]*?\n\}/.exec(config)?.[0],
      /map \$status \$mx_error_allow \{\n[\s\S]*?\n\}/.exec(config)?.[0],
      /location = \/_mx_error \{[^}]*\}/.exec(config)?.[0],
      ...config.split('\n').filter((line) => line.startsWith('error_page ')),
      ...config.split('\n').filter((line) => /^proxy_(read|send)_timeout /.test(line)),
    ];
    expect(blocks.every((block) => block !== undefined)).toBe(true);
    return blocks as string[];
  }

  it('same error bodies, error_page rules and timeout placeholders', () => {
    const local = errorHandling('deploy/local/nginx/nginx.conf.template');
    expect(local.join('\n')).toContain('M_TOO_LARGE');
    expect(local.join('\n')).toContain('@@PROXY_TIMEOUT_S@@');
    expect(errorHandling('deploy/docker/nginx.conf')).toEqual(local);
  });
});
