import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';

/**
 * A Synapse 1.163.2 of a test's own (PyPI, pinned, from the cache venv), through the same deploy/local/synapse.sh the
 * local stack and the benchmark use: its own directory under .local/, its own database `synapse_<name>_<portBase>`
 * created fresh on the shared local PostgreSQL, its own port, and the project's appservice registration pointing at a
 * URL the test gives. Start-up returns once Synapse answers GET /_matrix/client/versions, with an admin user logged in.
 *
 * Timing on 2 shared cores (deploy/local/synapse/README.md): 5-9 s from nothing to an admin token (a fresh database
 * with its schema 3-4 s, start until /versions answers 1.5-2.7 s, the admin 0.5 s); on a fresh machine the venv install
 * first, about 30 s, which test/run.sh starts in the background and this waits for: give the hook that calls
 * startOwnSynapse SYNAPSE_START_TIMEOUT_MS.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** For the beforeAll hook that starts a Synapse: covers waiting for a venv install still running in the background. */
export const SYNAPSE_START_TIMEOUT_MS = 300_000;

export interface OwnSynapseOptions {
  /** Names the directory and the database (a-z, 0-9, _). */
  readonly name: string;
  /** The client listener: portBase + portOffset (an offset from test/support/ports.ts). */
  readonly portOffset: number;
  /** Where Synapse sends the appservice transactions (the registration's `url`). */
  readonly appserviceUrl: string;
  /** Synapse's own MSC4429 (include_profile_updates_in_sync); off by default, as in companion mode. */
  readonly msc4429?: boolean;
  /** Synapse's own rate limits instead of raised ones. */
  readonly defaultRateLimits?: boolean;
}

export interface OwnSynapse {
  /** http://127.0.0.1:<port>, the Client-Server API (and /_synapse/admin). */
  readonly baseUrl: string;
  readonly serverName: string;
  readonly database: string;
  /** Config, keys, tokens and logs (logs/homeserver.log). */
  readonly dir: string;
  readonly appservice: {
    readonly id: string;
    readonly url: string;
    /** What the project acts with (Authorization: Bearer <asToken>). */
    readonly asToken: string;
    /** What Synapse sends to the appservice (Authorization: Bearer <hsToken>). */
    readonly hsToken: string;
    /** The appservice's own user, `@_mx_profile_sync:<serverName>`. */
    readonly senderUserId: string;
  };
  /** A server admin registered with the registration shared secret, and logged in. */
  readonly admin: { readonly userId: string; readonly accessToken: string; readonly password: string };
  /** How long the steps took (ms): database reset and setup, start until /versions answered, admin user. */
  readonly timings: { readonly setupMs: number; readonly startMs: number; readonly adminMs: number };
  /** Stops Synapse and drops its database. */
  stop(): Promise<void>;
  /** Stops Synapse, keeping its database (an outage); `resume` starts it again. */
  pause(): Promise<void>;
  /** Starts a paused Synapse again; resolves once it answers /versions. */
  resume(): Promise<void>;
}

export async function startOwnSynapse(options: OwnSynapseOptions): Promise<OwnSynapse> {
  if (!/^[a-z0-9_]+$/.test(options.name)) throw new Error(`synapse name may hold a-z, 0-9 and _: ${options.name}`);
  const stack = inject('stack');
  const port = stack.portBase + options.portOffset;
  const dir = join(root, '.local', `test-synapse-${options.name}-${stack.portBase}`);
  const database = `synapse_${options.name}_${stack.portBase}`;
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MX_SYNAPSE_DIR: dir,
    MX_SYNAPSE_PORT: String(port),
    MX_SYNAPSE_DB: database,
    MX_SYNAPSE_APPSERVICE_URL: options.appserviceUrl,
    MX_SYNAPSE_MSC4429: options.msc4429 ? 'true' : 'false',
    MX_SYNAPSE_RATE_LIMITS: options.defaultRateLimits ? 'default' : 'raised',
  };
  // Tokens come from the Synapse dir (generated once there), never from the caller's environment.
  delete env['MX_APPSERVICE_AS_TOKEN'];
  delete env['MX_APPSERVICE_HS_TOKEN'];
  const synapse = async (...args: string[]): Promise<string> => {
    try {
      const { stdout } = await run('bash', ['deploy/local/synapse.sh', ...args], { cwd: root, env, timeout: SYNAPSE_START_TIMEOUT_MS });
      return stdout;
    } catch (error) {
      const failed = error as { stdout?: string; stderr?: string; message: string };
      throw new Error(`deploy/local/synapse.sh ${args[0]} failed: ${failed.message}\n${failed.stdout ?? ''}${failed.stderr ?? ''}`, {
        cause: error,
      });
    }
  };

  let t0 = performance.now();
  // A clean server: stops a leftover of an earlier run, drops and recreates the database, applies the schema.
  await synapse('reset');
  const setupMs = performance.now() - t0;
  t0 = performance.now();
  await synapse('start');
  const startMs = performance.now() - t0;
  const stop = async () => {
    await synapse('stop');
    await run(
      'bash',
      ['deploy/local/postgres.sh', 'psql', '-d', 'postgres', '-qtA', '-c', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`],
      {
        cwd: root,
      },
    );
  };

  try {
    const tokens = Object.fromEntries(
      readFileSync(join(dir, 'appservice.env'), 'utf8')
        .split('\n')
        .filter((line) => /^MX_[A-Z_]+=/.test(line))
        .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
    );
    t0 = performance.now();
    const password = `admin-${Date.now().toString(36)}`;
    const adminUserId = (await synapse('register-user', '--admin', 'admin', password)).trim();
    const baseUrl = `http://127.0.0.1:${port}`;
    const login = await fetch(`${baseUrl}/_matrix/client/v3/login`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ type: 'm.login.password', identifier: { type: 'm.id.user', user: 'admin' }, password }),
    });
    const session = (await login.json()) as { user_id?: string; access_token?: string };
    if (login.status !== 200 || !session.access_token || session.user_id !== adminUserId)
      throw new Error(`admin login on ${baseUrl} failed: ${login.status} ${JSON.stringify(session)}`);
    const adminMs = performance.now() - t0;
    return {
      baseUrl,
      serverName: adminUserId.slice(adminUserId.indexOf(':') + 1),
      database,
      dir,
      appservice: {
        id: tokens['MX_APPSERVICE_ID']!,
        url: tokens['MX_SYNAPSE_APPSERVICE_URL']!,
        asToken: tokens['MX_APPSERVICE_AS_TOKEN']!,
        hsToken: tokens['MX_APPSERVICE_HS_TOKEN']!,
        senderUserId: tokens['MX_APPSERVICE_SENDER']!,
      },
      admin: { userId: adminUserId, accessToken: session.access_token, password },
      timings: { setupMs, startMs, adminMs },
      stop,
      pause: async () => {
        await synapse('stop');
      },
      resume: async () => {
        await synapse('start');
      },
    };
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
}
