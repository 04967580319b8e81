import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { PORT_OFFSETS } from './ports.js';
import { ServiceProcess } from './service-process.js';
import type { TestStack } from './test-stack.js';

/**
 * Starts everything the integration tests run against, for real: PostgreSQL and Kafka (through
 * the project's own scripts; started when not running), a fresh test database, topics with a
 * per-run prefix, the three services from dist/ as child processes, and the nginx router.
 */
const root = join(import.meta.dirname, '..', '..');
/** Two runs can share a machine when they use different MX_TEST_PORT_BASE and MX_TEST_DATABASE. */
const portBase = Number(process.env['MX_TEST_PORT_BASE'] ?? '18000');
const database = process.env['MX_TEST_DATABASE'] ?? 'matrix_test';
const localDir = join(root, '.local', portBase === 18000 ? 'test' : `test-${portBase}`);
const ports = {
  router: portBase + PORT_OFFSETS.stack.router,
  writer: portBase + PORT_OFFSETS.stack.writer,
  syncApi: portBase + PORT_OFFSETS.stack.syncApi,
  projector: portBase + PORT_OFFSETS.stack.projector,
};

function run(command: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync(command, args, {
    cwd: root,
    env: { ...process.env, ...env },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (!existsSync(join(root, 'dist/apps/writer/src/main.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  run('bash', ['deploy/local/infra.sh', 'up']);

  const runId = Date.now().toString(36);
  const env: Record<string, string> = {
    MX_SERVER_NAME: 'test.local',
    MX_REGISTRATION_MODE: 'open',
    MX_PROFILE_WRITE_RATE_LIMIT: '20',
    MX_PROFILE_WRITE_RATE_WINDOW_MS: '1000',
    // Every test reaches the writer from one address (the router's X-Forwarded-For is 127.0.0.1) and registers,
    // logs in and creates rooms quickly: generous limits here; test/integration/abuse-limits.test.ts starts its
    // own writer with small ones.
    MX_LOGIN_RATE_LIMIT_PER_ADDRESS: '1000000',
    MX_LOGIN_RATE_LIMIT_PER_ACCOUNT: '1000000',
    MX_REGISTRATION_RATE_LIMIT_PER_ADDRESS: '1000000',
    MX_CREATE_ROOM_RATE_LIMIT_PER_ADDRESS: '1000000',
    MX_CREATE_ROOM_RATE_LIMIT_PER_ACCOUNT: '1000000',
    MX_PROFILE_FIELDS_DISALLOWED: 'org.example.forbidden',
    MX_PROFILE_MAX_BYTES: '65536',
    MX_HTTP_HOST: '127.0.0.1',
    MX_LOG_LEVEL: 'info',
    MX_DATABASE_HOST: '127.0.0.1',
    MX_DATABASE_PORT: process.env['MX_PG_PORT'] ?? '15432',
    MX_DATABASE_NAME: database,
    MX_DATABASE_USER: 'matrix',
    MX_DATABASE_PASSWORD: 'matrix',
    MX_KAFKA_BROKERS: `127.0.0.1:${process.env['MX_KAFKA_PORT'] ?? '19092'}`,
    MX_TOPIC_PREFIX: `mxtest-${runId}`,
    MX_TOPIC_PARTITIONS: '4',
    MX_TOPIC_REPLICATION_FACTOR: '1',
    KAFKAJS_NO_PARTITIONER_WARNING: '1',
  };

  // A fresh schema every run (the database is created when missing); old runs' topics are dropped.
  if (!/^[a-z0-9_]+$/.test(database)) throw new Error('MX_TEST_DATABASE may hold a-z, 0-9 and _');
  const psql = (db: string, sql: string) =>
    run('bash', ['deploy/local/postgres.sh', 'psql', '-d', db, '-v', 'ON_ERROR_STOP=1', '-qtA', '-c', sql]);
  if (psql('matrix', `SELECT 1 FROM pg_database WHERE datname = '${database}'`).trim() !== '1')
    psql('matrix', `CREATE DATABASE ${database}`);
  psql(database, 'DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public AUTHORIZATION matrix;');
  run('node', ['dist/apps/ops/src/main.js', 'setup'], env);
  run('node', ['test/support/drop-old-test-topics.mjs', env['MX_TOPIC_PREFIX']!], env);

  const services = [
    new ServiceProcess(
      'writer',
      'dist/apps/writer/src/main.js',
      { ...env, MX_HTTP_PORT: String(ports.writer) },
      join(localDir, 'logs', 'writer.log'),
      `http://127.0.0.1:${ports.writer}`,
    ),
    new ServiceProcess(
      'projector',
      'dist/apps/projector/src/main.js',
      { ...env, MX_HTTP_PORT: String(ports.projector) },
      join(localDir, 'logs', 'projector.log'),
      `http://127.0.0.1:${ports.projector}`,
    ),
    new ServiceProcess(
      'sync-api',
      'dist/apps/sync-api/src/main.js',
      { ...env, MX_HTTP_PORT: String(ports.syncApi) },
      join(localDir, 'logs', 'sync-api.log'),
      `http://127.0.0.1:${ports.syncApi}`,
    ),
  ];
  for (const service of services) {
    service.killLeftover();
    service.start();
  }
  const routerEnv = {
    MX_LOCAL_DIR: localDir,
    MX_ROUTER_PORT: String(ports.router),
    MX_WRITER_PORT: String(ports.writer),
    MX_SYNC_API_PORT: String(ports.syncApi),
  };
  try {
    await Promise.all(services.map((service) => service.waitReady()));
    run('bash', ['deploy/local/router.sh', 'start'], routerEnv);
  } catch (error) {
    await Promise.all(services.map((service) => service.stop()));
    throw error;
  }

  const stack: TestStack = {
    baseUrl: `http://127.0.0.1:${ports.router}`,
    writerUrl: services[0]!.url,
    projectorUrl: services[1]!.url,
    syncApiUrl: services[2]!.url,
    serverName: env['MX_SERVER_NAME']!,
    portBase,
    logDir: join(localDir, 'logs'),
    env,
  };
  project.provide('stack', stack);

  return async () => {
    run('bash', ['deploy/local/router.sh', 'stop'], routerEnv);
    await Promise.all(services.map((service) => service.stop()));
  };
}
