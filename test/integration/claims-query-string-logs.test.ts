import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { CLIENT_V3, expectStatus, extraService } from '../support/accounts.js';
import { request, uniqueLocalpart } from '../support/matrix-client.js';
import { logFrom, logSize, until } from '../support/observe.js';
import { freshDatabase, psql, setUpFor } from '../support/own-infra.js';
import type { ServiceProcess } from '../support/service-process.js';
import { PORT_OFFSETS } from '../support/ports.js';

/**
 * README, Errors: access tokens are accepted from the `access_token` query parameter, and "query
 * strings are never logged". Requests carrying secrets in their query string go through the router
 * and straight to every service; then every log of the run (every service log in the run's log
 * directory, the router's access and error logs) is read: the secrets appear nowhere.
 *
 * What the logs hold of a request: the router logs every request (access log) and, at error level,
 * the request line of what it refuses itself (a body over its limit); the services log a request
 * only when it fails with a 5xx ("request failed", with its path). So the test makes requests fail
 * for real on services of its own (own database and topics): a writer whose broker is unreachable
 * (503), and a sync API whose `filters` and `profile_fields` tables are gone (5xx). Each request
 * that must be logged carries a marker in its path, and the test waits for every marker in its log
 * before searching, so the lines are written when the logs are read.
 */
const PORTS = PORT_OFFSETS.claimsQueryStringLogs;

/** Every regular file under `dir` (recursively), none when it does not exist. */
function filesUnder(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined) return [];
    return stat.isDirectory() ? filesUnder(path) : stat.isFile() ? [path] : [];
  });
}

/** The status of a request sent as headers only (declaring a body of `contentLength` bytes), on a connection of its own. */
function headOnlyStatus(port: number, method: string, path: string, contentLength: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let received = '';
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${method} ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Length: ${contentLength}\r\nConnection: close\r\n\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      const status = /^HTTP\/1\.1 (\d{3}) /.exec(received);
      if (status && received.includes('\r\n\r\n')) {
        socket.destroy();
        resolve(Number(status[1]));
      }
    });
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`${method} ${path}: closed without a status line: ${JSON.stringify(received)}`)));
  });
}

async function status(url: string, method = 'GET', body?: string): Promise<number> {
  const response = await fetch(url, { method, ...(body === undefined ? {} : { body, headers: { 'Content-Type': 'application/json' } }) });
  await response.arrayBuffer();
  return response.status;
}

describe('claim: query strings (access_token) never reach the logs', () => {
  const stack = inject('stack');
  const routerLogs = join(dirname(stack.logDir), 'nginx', 'logs');
  const routerPort = Number(new URL(stack.baseUrl).port);
  const database = `matrix_test_claims_logs_${stack.portBase}`;
  const env: Record<string, string> = {
    ...stack.env,
    MX_DATABASE_NAME: database,
    MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}.claims-logs`,
    MX_LOG_LEVEL: 'debug',
  };
  let writer: ServiceProcess;
  let sync: ServiceProcess;
  let writerNoBroker: ServiceProcess;

  beforeAll(async () => {
    await freshDatabase(database);
    await setUpFor(env);
    writer = extraService('writer', 'writer-claims-logs', PORTS.writer, env);
    sync = extraService('sync-api', 'sync-api-claims-logs', PORTS.syncApi, env);
    writerNoBroker = extraService('writer', 'writer-claims-logs-no-broker', PORTS.writerWithoutBroker, {
      ...env,
      MX_KAFKA_BROKERS: `127.0.0.1:${stack.portBase + PORTS.unreachableBroker}`,
      MX_KAFKA_ACK_TIMEOUT_MS: '100',
    });
    for (const service of [writer, sync, writerNoBroker]) service.start();
    await Promise.all([writer.waitReady(), sync.waitReady()]);
    // Never ready (its broker is unreachable), but serving.
    await until('the writer without a broker to serve', async () => {
      const live = await fetch(`${writerNoBroker.url}/health/live`).catch(() => undefined);
      return live?.ok === true ? true : undefined;
    });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([writer.stop(), sync.stop(), writerNoBroker.stop()]);
  }, 30_000);

  it('neither a valid nor an unknown token sent as ?access_token= appears in any log of the run', async () => {
    const registered = await request<{ user_id: string; access_token: string }>('POST', `${CLIENT_V3}/register`, {
      baseUrl: writer.url,
      body: { username: uniqueLocalpart('querylog'), password: 'pw', auth: { type: 'm.login.dummy' } },
    });
    expectStatus(registered, 200);
    const userId = registered.body.user_id;
    // From here on the valid token travels only in query strings; the unknown one is a recognisable secret.
    const secrets = { valid: registered.body.access_token, unknown: `claimsSecret${randomBytes(16).toString('hex')}` };
    const marker = () => uniqueLocalpart('claims-marker');
    const expectedMarkers = new Map<string, string[]>();
    const expectMarker = (file: string, value: string) => expectedMarkers.set(file, [...(expectedMarkers.get(file) ?? []), value]);
    const logOf = (name: string) => join(stack.logDir, `${name}.log`);
    const user = encodeURIComponent(userId);

    // The stack's services and this test's own: authenticated by the query (2xx), refused (401), unknown paths (404).
    for (const url of [stack.writerUrl, writer.url, writerNoBroker.url]) {
      for (const secret of Object.values(secrets)) {
        expect([200, 401]).toContain(await status(`${url}${CLIENT_V3}/account/whoami?access_token=${secret}`));
        expect(await status(`${url}${CLIENT_V3}/${marker()}?access_token=${secret}`)).toBe(404);
      }
    }
    for (const url of [stack.syncApiUrl, sync.url]) {
      for (const secret of Object.values(secrets)) {
        expect([200, 401]).toContain(await status(`${url}${CLIENT_V3}/sync?timeout=0&access_token=${secret}`));
        expect(await status(`${url}${CLIENT_V3}/${marker()}?access_token=${secret}`)).toBe(404);
      }
    }
    for (const secret of Object.values(secrets)) {
      expect(await status(`${stack.projectorUrl}/metrics?access_token=${secret}`)).toBe(200);
      expect(await status(`${stack.projectorUrl}/${marker()}?access_token=${secret}`)).toBe(404);
    }

    // Requests that fail with a 5xx, which the services do log: a write the unreachable broker never acknowledges (503) ...
    const noBrokerField = `com.example.${marker()}`;
    expect(
      await status(
        `${writerNoBroker.url}${CLIENT_V3}/profile/${user}/${noBrokerField}?access_token=${secrets.valid}`,
        'PUT',
        JSON.stringify({ [noBrokerField]: 1 }),
      ),
    ).toBe(503);
    expect(await status(`${writerNoBroker.url}/health/ready?access_token=${secrets.unknown}`)).toBeGreaterThanOrEqual(500);
    expectMarker(logOf('writer-claims-logs-no-broker'), noBrokerField);
    // ... and reads of tables that are gone.
    await psql('ALTER TABLE filters RENAME TO filters_gone; ALTER TABLE profile_fields RENAME TO profile_fields_gone', database);
    const filter = encodeURIComponent(JSON.stringify({ 'org.matrix.msc4429.profile_fields': { ids: ['m.tz'] } }));
    expect(await status(`${sync.url}${CLIENT_V3}/sync?filter=${filter}&access_token=${secrets.valid}`)).toBeGreaterThanOrEqual(500);
    const filterId = marker();
    expect(await status(`${sync.url}${CLIENT_V3}/user/${user}/filter/${filterId}?access_token=${secrets.valid}`)).toBeGreaterThanOrEqual(
      500,
    );
    expectMarker(logOf('sync-api-claims-logs'), filterId);

    // Through the router: what nginx answers itself (404; 413 for a body over 1 MiB, an error-level event for nginx),
    // then requests it passes to a writer and a sync API. The access log names what nginx answers itself by its
    // error page (`/_mx_error`), so those lines carry no marker: nginx's single worker writes them before it
    // completes the proxied requests sent after them, whose markers the test waits for.
    const accessLog = join(routerLogs, 'access.log');
    const accessLogStart = logSize(accessLog);
    for (const secret of Object.values(secrets)) {
      expect(await status(`${stack.baseUrl}/${marker()}?access_token=${secret}`)).toBe(404);
      expect(await headOnlyStatus(routerPort, 'PUT', `${CLIENT_V3}/profile/${marker()}/m.tz?access_token=${secret}`, 2 * 1024 * 1024)).toBe(
        413,
      );
    }
    for (const secret of Object.values(secrets)) {
      const toWriter = marker();
      expect(await status(`${stack.baseUrl}${CLIENT_V3}/${toWriter}?access_token=${secret}`)).toBe(404);
      expectMarker(accessLog, toWriter);
      const toSync = marker();
      expect([401, 404]).toContain(await status(`${stack.baseUrl}${CLIENT_V3}/user/${user}/filter/${toSync}?access_token=${secret}`));
      expectMarker(accessLog, toSync);
    }

    for (const [file, markers] of expectedMarkers) {
      await until(`${markers.join(', ')} in ${file}`, () => {
        const text = logFrom(file);
        return markers.every((mark) => text.includes(mark)) ? true : undefined;
      });
    }

    const routerAnswered = logFrom(accessLog, accessLogStart);
    // The router's own answers are in its access log (whatever path its format shows for them).
    expect(routerAnswered.match(/" 413 /g)?.length ?? 0).toBeGreaterThanOrEqual(2);

    const files = [...filesUnder(stack.logDir), ...filesUnder(routerLogs)];
    expect(files).toEqual(expect.arrayContaining([...expectedMarkers.keys()]));
    for (const file of files) {
      const text = logFrom(file);
      for (const [name, secret] of Object.entries(secrets)) expect(text.includes(secret), `the ${name} token in ${file}`).toBe(false);
    }
  }, 90_000);
});
