import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { chartTools, containerEnvironment, containerOf, findObject, type K8sObject, renderChart, repoRoot } from '../support/chart.js';
import { profileFilter, request } from '../support/matrix-client.js';
import { freshDatabase } from '../support/own-infra.js';
import { PORT_OFFSETS } from '../support/ports.js';
import { httpRouteBackend, ingressBackend, nginxLocations, nginxTarget, samplePath } from '../support/routing.js';
import { ServiceProcess } from '../support/service-process.js';

/**
 * The chart's wiring, without a cluster: the container command lines and environment the chart
 * renders for each service (and its setup Job) run as local processes against the local Kafka
 * and PostgreSQL; the probes it renders must answer; the stack must work through the router; and
 * every route the services serve must reach the service that serves it through every router we
 * ship (the chart's Ingress and HTTPRoute, the local and the compose nginx).
 */
const run = promisify(execFile);
const stack = inject('stack');
const ports = {
  router: stack.portBase + PORT_OFFSETS.chartWiring.router,
  writer: stack.portBase + PORT_OFFSETS.chartWiring.writer,
  syncApi: stack.portBase + PORT_OFFSETS.chartWiring.syncApi,
  projector: stack.portBase + PORT_OFFSETS.chartWiring.projector,
};
const database = `matrix_test_wiring_${stack.portBase}`;
const localDir = join(repoRoot, '.local', `test-wiring-${stack.portBase}`);
const registrationSecret = 'wiring-registration-secret';
const [kafkaHost, kafkaPort] = stack.env['MX_KAFKA_BROKERS']!.split(':');
const routerEnv = {
  ...process.env,
  MX_LOCAL_DIR: localDir,
  MX_ROUTER_PORT: String(ports.router),
  MX_WRITER_PORT: String(ports.writer),
  MX_SYNC_API_PORT: String(ports.syncApi),
};
const baseUrl = `http://127.0.0.1:${ports.router}`;
const components = ['writer', 'sync-api', 'projector'] as const;
type Component = (typeof components)[number];

let objects: K8sObject[];
const processes = new Map<Component, ServiceProcess>();

/** The rendered command without tini (the image's PID 1, absent here): `node <options> <entry>`. */
function localCommand(command: readonly string[]): { nodeOptions: string[]; entry: string } {
  expect(command.slice(0, 3)).toEqual(['/usr/bin/tini', '--', 'node']);
  const rest = command.slice(3);
  const entryIndex = rest.findIndex((argument) => argument.startsWith('dist/'));
  return { nodeOptions: rest.slice(0, entryIndex), entry: rest[entryIndex] ?? 'missing' };
}

beforeAll(async () => {
  chartTools();
  await freshDatabase(database);
  objects = renderChart({
    release: 'wiring',
    set: {
      serverName: 'wiring.local',
      'kafka.brokers[0]': `${kafkaHost ?? '127.0.0.1'}:${kafkaPort ?? '19092'}`,
      'kafka.topics.prefix': `mxwiring-${Date.now().toString(36)}`,
      'kafka.topics.partitions': 2,
      'kafka.topics.replicationFactor': 1,
      'postgres.host': stack.env['MX_DATABASE_HOST']!,
      'postgres.port': Number(stack.env['MX_DATABASE_PORT']),
      'postgres.database': database,
      'postgres.user': stack.env['MX_DATABASE_USER']!,
      'postgres.sslMode': 'disable',
      'secrets.databasePassword': stack.env['MX_DATABASE_PASSWORD']!,
      'registration.mode': 'token',
      'secrets.registrationSharedSecret': registrationSecret,
      'writer.port': ports.writer,
      'syncApi.port': ports.syncApi,
      'projector.port': ports.projector,
      'projector.replicas': 1,
      'ingress.enabled': true,
      'ingress.host': 'matrix.wiring.local',
      'httpRoute.enabled': true,
      'httpRoute.parentRefs[0].name': 'gateway',
    },
  }).objects;

  // The setup Job's command, twice: migrations and topic provisioning are idempotent.
  const job = containerOf(findObject(objects, 'Job', '-setup'));
  const setup = localCommand(job.command.slice(0, -1));
  const jobEnv = { ...process.env, ...containerEnvironment(job, objects) };
  for (let attempt = 0; attempt < 2; attempt += 1) {
    await run(process.execPath, [...setup.nodeOptions, setup.entry, ...job.command.slice(-1)], { cwd: repoRoot, env: jobEnv });
  }

  for (const component of components) {
    const container = containerOf(findObject(objects, 'Deployment', `-${component}`));
    const { nodeOptions, entry } = localCommand(container.command);
    const port = container.ports?.[0]?.containerPort;
    const service = new ServiceProcess(
      `wiring-${component}`,
      entry,
      { ...containerEnvironment(container, objects), KAFKAJS_NO_PARTITIONER_WARNING: '1' },
      join(localDir, 'logs', `${component}.log`),
      `http://127.0.0.1:${String(port)}`,
      nodeOptions,
    );
    service.killLeftover();
    service.start();
    processes.set(component, service);
  }
  await Promise.all([...processes.values()].map((service) => service.waitReady()));
  await run('bash', ['deploy/local/router.sh', 'start'], { cwd: repoRoot, env: routerEnv });
}, 120_000);

afterAll(async () => {
  await run('bash', ['deploy/local/router.sh', 'stop'], { cwd: repoRoot, env: routerEnv }).catch(() => undefined);
  await Promise.all([...processes.values()].map((service) => service.stop()));
});

/** The routes a process logged as mapped at start-up (`Mapped {/path, METHOD} route`). */
function servedRoutes(component: Component): { path: string; method: string }[] {
  const log = readFileSync(join(localDir, 'logs', `${component}.log`), 'utf8');
  const routes = [...log.matchAll(/Mapped \{([^,}]+), ([A-Z]+)\}/g)].map((match) => ({ path: match[1] ?? '', method: match[2] ?? '' }));
  return [...new Map(routes.map((route) => [`${route.method} ${route.path}`, route])).values()];
}

describe('the chart’s rendered commands and environment, run locally', () => {
  it('answer the probes the chart renders, on the port it renders', async () => {
    for (const component of components) {
      const container = containerOf(findObject(objects, 'Deployment', `-${component}`));
      const port = container.ports?.[0]?.containerPort;
      for (const probe of [container.startupProbe, container.livenessProbe, container.readinessProbe]) {
        expect(probe?.httpGet?.port).toBe('http');
        const response = await fetch(`http://127.0.0.1:${String(port)}${probe?.httpGet?.path ?? '/missing'}`);
        expect(response.status, `${component} ${probe?.httpGet?.path ?? ''}`).toBe(200);
      }
    }
  });

  it('work end to end through the router: token registration (the Secret), a room, a profile field in /sync', async () => {
    const register = async (username: string) => {
      const challenge = await request<{ session: string }>('POST', '/_matrix/client/v3/register', {
        baseUrl,
        body: { username, password: 'wiring password' },
      });
      expect(challenge.status).toBe(401);
      const done = await request<{ user_id: string; access_token: string }>('POST', '/_matrix/client/v3/register', {
        baseUrl,
        body: {
          username,
          password: 'wiring password',
          auth: { type: 'm.login.registration_token', token: registrationSecret, session: challenge.body.session },
        },
      });
      expect(done.status).toBe(200);
      return done.body;
    };
    const alice = await register(`alice${Date.now().toString(36)}`);
    const bob = await register(`bob${Date.now().toString(36)}`);
    expect(alice.user_id).toMatch(/:wiring\.local$/);
    const room = await request<{ room_id: string }>('POST', '/_matrix/client/v3/createRoom', {
      baseUrl,
      token: alice.access_token,
      body: { preset: 'public_chat' },
    });
    expect(room.status).toBe(200);
    expect(
      (
        await request('POST', `/_matrix/client/v3/join/${encodeURIComponent(room.body.room_id)}`, {
          baseUrl,
          token: bob.access_token,
          body: {},
        })
      ).status,
    ).toBe(200);
    const put = await request('PUT', `/_matrix/client/v3/profile/${encodeURIComponent(alice.user_id)}/m.status`, {
      baseUrl,
      token: alice.access_token,
      body: { 'm.status': { text: 'wired' } },
    });
    expect(put.status).toBe(200);
    const sync = await request<{ 'org.matrix.msc4429.users'?: Record<string, { profile_updates: Record<string, unknown> | null }> }>(
      'GET',
      `/_matrix/client/v3/sync?filter=${profileFilter('m.status')}`,
      { baseUrl, token: bob.access_token },
    );
    expect(sync.status).toBe(200);
    expect(sync.body['org.matrix.msc4429.users']?.[alice.user_id]).toEqual({ profile_updates: { 'm.status': { text: 'wired' } } });
  });
});

describe('routing', () => {
  const routers = (): [string, (path: string) => string | undefined, Record<Component, string | undefined>][] => {
    const name = (component: Component) => `wiring-matrix-profile-sync-${component}`;
    const ingress = findObject(objects, 'Ingress', 'matrix-profile-sync');
    const route = findObject(objects, 'HTTPRoute', 'matrix-profile-sync');
    const localNginx = nginxLocations(readFileSync(join(repoRoot, 'deploy/local/nginx/nginx.conf.template'), 'utf8'));
    const composeNginx = nginxLocations(readFileSync(join(repoRoot, 'deploy/docker/nginx.conf'), 'utf8'));
    const upstreams = { writer: 'writer', 'sync-api': 'sync_api', projector: undefined };
    return [
      [
        'Ingress',
        (path) => ingressBackend(ingress, path),
        { writer: name('writer'), 'sync-api': name('sync-api'), projector: name('projector') },
      ],
      [
        'HTTPRoute',
        (path) => httpRouteBackend(route, path),
        { writer: name('writer'), 'sync-api': name('sync-api'), projector: name('projector') },
      ],
      ['local nginx', (path) => nginxTarget(localNginx, path), upstreams],
      ['compose nginx', (path) => nginxTarget(composeNginx, path), upstreams],
    ];
  };

  it('sends every Matrix route the services serve to the service that serves it, through every router', () => {
    const matrixRoutes = components.flatMap((component) => servedRoutes(component).map((route) => ({ ...route, component })));
    expect(matrixRoutes.filter((route) => route.component === 'writer' && route.path.startsWith('/_matrix')).length).toBeGreaterThan(20);
    expect(matrixRoutes.filter((route) => route.component === 'sync-api' && route.path.startsWith('/_matrix')).length).toBeGreaterThan(2);
    const misrouted: string[] = [];
    for (const route of matrixRoutes.filter((candidate) => candidate.path.startsWith('/_matrix'))) {
      expect(route.component, `${route.path} is served by the projector`).not.toBe('projector');
      const path = samplePath(route.path);
      for (const [router, backendOf, names] of routers()) {
        if (backendOf(path) !== names[route.component])
          misrouted.push(`${router}: ${route.method} ${path} -> ${String(backendOf(path))}, served by ${route.component}`);
      }
    }
    expect(misrouted).toEqual([]);
  });

  it('does not expose /metrics or the health endpoints through the chart’s routes', () => {
    const internal = components.flatMap((component) => servedRoutes(component)).filter((route) => !route.path.startsWith('/_matrix'));
    expect(internal.map((route) => route.path).sort()).toEqual(expect.arrayContaining(['/health/live', '/health/ready', '/metrics']));
    for (const route of internal) {
      for (const [router, backendOf] of routers().slice(0, 2)) expect(backendOf(route.path), `${router} ${route.path}`).toBeUndefined();
    }
  });

  it('the local router really does what the simulation says', async () => {
    const versions = await fetch(`${baseUrl}/_matrix/client/versions`);
    expect(versions.status).toBe(200);
    const capabilities = await fetch(`${baseUrl}/_matrix/client/v3/capabilities`);
    expect(capabilities.status).toBe(401); // the writer's route, needing a token
    const nowhere = await fetch(`${baseUrl}/metrics`);
    expect(nowhere.status).toBe(404);
  });
});
