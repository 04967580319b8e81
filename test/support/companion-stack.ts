import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';
import { extraService } from './accounts.js';
import { freshDatabase, setUpFor } from './own-infra.js';
import type { ServiceProcess } from './service-process.js';
import { type OwnSynapse, startOwnSynapse } from './synapse.js';

/**
 * The whole companion stack of a test's own, as deploy/local/companion.sh runs it: a Synapse 1.163.2
 * (test/support/synapse.ts) whose appservice registration points at the writer, the writer,
 * projector and sync API in companion mode (own database and topics on the shared PostgreSQL and
 * Kafka), and the local nginx router rendered by deploy/local/router.sh with MX_MODE=companion
 * (deploy/local/nginx/companion.conf.template) on its own port and MX_LOCAL_DIR. Give the hook that
 * starts it SYNAPSE_START_TIMEOUT_MS.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

export interface CompanionPorts {
  readonly router: number;
  readonly synapse: number;
  readonly writer: number;
  readonly projector: number;
  readonly syncApi: number;
}

/** Which process answered a request through the router, as the router's access log names it (`up=`). */
export type Backend = 'writer' | 'sync-api' | 'synapse' | 'projector' | 'none';

export interface CompanionStack {
  readonly synapse: OwnSynapse;
  readonly writer: ServiceProcess;
  readonly projector: ServiceProcess;
  readonly syncApi: ServiceProcess;
  /** The one URL clients use: the router. */
  readonly routerUrl: string;
  /**
   * Makes the request `method path` through `send` and returns the backends the router sent it to, in order, from
   * its line in the router's access log (`none` when nginx answered itself; two entries when /sync failed open).
   */
  routedTo<T>(method: string, path: string, send: () => Promise<T>): Promise<{ readonly result: T; readonly backends: readonly Backend[] }>;
  stop(): Promise<void>;
}

/**
 * The environment of the project's services in companion mode in front of `synapse`: the shared
 * stack's (Kafka, PostgreSQL), a database and topics of the test's own, Synapse as the upstream and
 * its appservice tokens. `overrides` win (a broker of the test's own, a longer whoami cache, ...).
 */
export function companionEnv(
  synapse: OwnSynapse,
  name: string,
  overrides: Readonly<Record<string, string>> = {},
): { readonly database: string; readonly env: Record<string, string> } {
  const stack = inject('stack');
  const database = `matrix_test_${name}_${stack.portBase}`;
  return {
    database,
    env: {
      ...stack.env,
      MX_SERVER_NAME: synapse.serverName,
      MX_DATABASE_NAME: database,
      MX_TOPIC_PREFIX: `mxtest-${Date.now().toString(36)}.${name}`,
      MX_MODE: 'companion',
      MX_UPSTREAM_URL: synapse.baseUrl,
      MX_UPSTREAM_TIMEOUT_MS: '5000',
      MX_APPSERVICE_HS_TOKEN: synapse.appservice.hsToken,
      MX_APPSERVICE_AS_TOKEN: synapse.appservice.asToken,
      ...overrides,
    },
  };
}

export async function startCompanionStack(name: string, ports: CompanionPorts): Promise<CompanionStack> {
  const stack = inject('stack');
  const port = (offset: number) => stack.portBase + offset;
  const writerUrl = `http://127.0.0.1:${port(ports.writer)}`;
  const synapse = await startOwnSynapse({ name, portOffset: ports.synapse, appserviceUrl: writerUrl });
  const { database, env } = companionEnv(synapse, name);
  const writer = extraService('writer', `writer-${name}`, ports.writer, env);
  const projector = extraService('projector', `projector-${name}`, ports.projector, env);
  const syncApi = extraService('sync-api', `sync-api-${name}`, ports.syncApi, env);
  const localDir = join(root, '.local', `test-${name}-${stack.portBase}`);
  const routerEnv = {
    ...process.env,
    MX_LOCAL_DIR: localDir,
    MX_MODE: 'companion',
    MX_UPSTREAM_URL: synapse.baseUrl,
    MX_ROUTER_PORT: String(port(ports.router)),
    MX_WRITER_PORT: String(port(ports.writer)),
    MX_SYNC_API_PORT: String(port(ports.syncApi)),
  };
  const router = (command: 'start' | 'stop') => run('bash', ['deploy/local/router.sh', command], { cwd: root, env: routerEnv });
  const stop = async () => {
    await router('stop').catch(() => undefined);
    await Promise.all([writer.stop(), projector.stop(), syncApi.stop()]);
    await synapse.stop();
  };

  try {
    await freshDatabase(database);
    await setUpFor(env);
    for (const service of [writer, projector, syncApi]) {
      service.killLeftover();
      service.start();
    }
    await Promise.all([writer.waitReady(), projector.waitReady(), syncApi.waitReady()]);
    await router('start');
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }

  const backendsByAddress = new Map<string, Backend>([
    [`127.0.0.1:${port(ports.writer)}`, 'writer'],
    [`127.0.0.1:${port(ports.syncApi)}`, 'sync-api'],
    [`127.0.0.1:${port(ports.projector)}`, 'projector'],
    [new URL(synapse.baseUrl).host, 'synapse'],
  ]);
  const accessLog = join(localDir, 'nginx', 'logs', 'access.log');
  const logLines = () =>
    existsSync(accessLog)
      ? readFileSync(accessLog, 'utf8')
          .split('\n')
          .filter((line) => line !== '')
      : [];

  return {
    synapse,
    writer,
    projector,
    syncApi,
    routerUrl: `http://127.0.0.1:${port(ports.router)}`,
    async routedTo(method, path, send) {
      const before = logLines().length;
      const result = await send();
      // The line nginx writes for this request: `"METHOD <decoded path> HTTP/1.1"`, or, when nginx answered itself
      // through error_page, its internal `/_mx_error` (as a GET). nginx writes it once the response is complete, a
      // moment after the client has it, and may write an earlier request's line after this one's snapshot.
      const decoded = decodeURIComponent(new URL(path, 'http://router').pathname);
      const ours = (line: string) =>
        line.includes(`"${method} ${decoded} HTTP/`) || (line.includes(' /_mx_error HTTP/') && line.includes(' up=- '));
      const deadline = Date.now() + 5000;
      let lines = logLines().slice(before).filter(ours);
      while (lines.length === 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
        lines = logLines().slice(before).filter(ours);
      }
      if (lines.length !== 1)
        throw new Error(`expected one access log line for ${method} ${decoded}, found ${lines.length}: ${lines.join('\n')}`);
      const upstreams = / up=(.*) ut=/.exec(lines[0]!)?.[1];
      if (upstreams === undefined) throw new Error(`no up= in the access log line: ${lines[0]}`);
      const backends = upstreams === '-' ? ['none' as const] : upstreams.split(/ : |, /).map((address) => backendsByAddress.get(address));
      if (backends.some((backend) => backend === undefined)) throw new Error(`unknown upstream in the access log line: ${lines[0]}`);
      return { result, backends: backends as Backend[] };
    },
    stop,
  };
}
