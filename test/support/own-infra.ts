import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { inject } from 'vitest';

/**
 * Infrastructure of a test's own, for tests that break things (stop a broker, rebuild a
 * projection) without disturbing the shared stack the other test files use.
 */
const root = join(import.meta.dirname, '..', '..');
const run = promisify(execFile);

/** Runs SQL through the local PostgreSQL (as the `matrix` role), in database `db`. */
export function psql(sql: string, db = 'matrix'): Promise<{ stdout: string }> {
  return run('bash', ['deploy/local/postgres.sh', 'psql', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql], { cwd: root });
}

/** Drops and creates a database on the shared PostgreSQL. */
export async function freshDatabase(name: string): Promise<void> {
  await psql(`DROP DATABASE IF EXISTS ${name}`);
  await psql(`CREATE DATABASE ${name}`);
}

/** Applies the migrations and provisions the topics for services running with `env`. */
export async function setUpFor(env: Record<string, string>): Promise<void> {
  await run(process.execPath, ['dist/apps/ops/src/main.js', 'setup'], { cwd: root, env: { ...process.env, ...env } });
}

export interface OwnBroker {
  /** `host:port` for MX_KAFKA_BROKERS. */
  readonly brokers: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * A single-node Kafka broker of the test's own on portBase + portOffset (and + 1 for its
 * controller), with fresh data, started from the shared broker's jars (nothing is fetched).
 */
export async function startOwnBroker(name: string, portOffset: number): Promise<OwnBroker> {
  const stack = inject('stack');
  const localDir = join(root, '.local', `test-${name}-${stack.portBase}`);
  const port = stack.portBase + portOffset;
  const env = { ...process.env, MX_LOCAL_DIR: localDir, MX_KAFKA_PORT: String(port), MX_KAFKA_CONTROLLER_PORT: String(port + 1) };
  const kafka = async (command: string) => {
    await run('bash', ['deploy/local/kafka.sh', command], { cwd: root, env, timeout: 60_000 });
  };
  const libs = join(localDir, 'kafka', 'libs');
  if (!existsSync(libs)) {
    mkdirSync(join(localDir, 'kafka'), { recursive: true });
    cpSync(join(root, '.local', 'kafka', 'libs'), libs, { recursive: true });
  }
  await kafka('reset');
  await kafka('start');
  return { brokers: `127.0.0.1:${port}`, start: () => kafka('start'), stop: () => kafka('stop') };
}
