import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentVariables, validateEnvironment } from '@mx/config';
import { getMetadataStorage } from 'class-validator';
import { parseDocument } from 'yaml';
import { HTTPRoute } from '@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  chartDir,
  chartTools,
  containerEnvironment,
  containerOf,
  findObject,
  type K8sObject,
  objectsOfKind,
  renderChart,
  repoRoot,
  routeTimeouts,
  runHelm,
} from '../support/chart.js';
import { readmeWithTable, valuesRows, valuesTable } from '../../deploy/helm/tools/values-table.mjs';

const valuesFiles = readdirSync(join(chartDir, 'ci'))
  .filter((file) => file.endsWith('-values.yaml'))
  .sort()
  .map((file) => `ci/${file}`);
const minimal = ['ci/minimal-values.yaml'];
const production = ['ci/production-values.yaml'];
const chartKubeVersion = '1.29.0'; // Chart.yaml kubeVersion floor
const latestKubeVersion = '1.37.0';

/** Every variable the services' configuration schema reads (libs/config), from class-validator's own metadata. */
const schemaVariables = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((metadata) => metadata.propertyName),
);
/** Read by the image or the Kafka client, not by our schema. */
const nonSchemaVariables = new Set<string>(['NODE_EXTRA_CA_CERTS']);

const workloads = (objects: readonly K8sObject[]): K8sObject[] => [
  ...objectsOfKind(objects, 'Deployment'),
  ...objectsOfKind(objects, 'Job'),
];
const podSpec = (workload: K8sObject): Record<string, any> => (workload.spec as { template: { spec: Record<string, any> } }).template.spec; // eslint-disable-line @typescript-eslint/no-explicit-any

beforeAll(() => {
  chartTools();
}, 600_000);

describe('the chart renders and validates', () => {
  it.each(valuesFiles)('%s: helm lint --strict passes', (file) => {
    const result = runHelm('lint', { valuesFiles: [file] });
    expect(result.stderr + result.stdout).toContain('0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it.each(valuesFiles)('%s: every object is valid against the Kubernetes API schemas (strict, offline)', (file) => {
    const { objects } = renderChart({ valuesFiles: [file] });
    const builtIn = objects.filter(
      (object) => !object.apiVersion.includes('.coreos.com') && !object.apiVersion.startsWith('gateway.networking.k8s.io'),
    );
    const dir = mkdtempSync(join(tmpdir(), 'mx-chart-'));
    const path = join(dir, 'rendered.json');
    // kubernetes-validate reads YAML/JSON documents; one JSON document per object, as a List would not be checked item by item.
    writeFileSync(path, builtIn.map((object) => JSON.stringify(object)).join('\n---\n'));
    for (const version of [chartKubeVersion, latestKubeVersion]) {
      const result = spawnSync(chartTools().kubeValidate, ['--strict', '--quiet', '-k', version, path], { encoding: 'utf8' });
      expect(`${result.stdout}${result.stderr}`).toBe('');
      expect(result.status).toBe(0);
    }
    for (const object of objects.filter((candidate) => !builtIn.includes(candidate))) {
      const model =
        object.kind === 'HTTPRoute'
          ? new HTTPRoute(object as never)
          : object.kind === 'ServiceMonitor'
            ? new ServiceMonitor(object as never)
            : object.kind === 'PrometheusRule'
              ? new PrometheusRule(object as never)
              : undefined;
      expect(model, `no schema for ${object.apiVersion} ${object.kind}`).toBeDefined();
      model?.validate();
    }
  });

  it('the strict validation does catch a bad manifest', () => {
    const { objects } = renderChart({ valuesFiles: minimal });
    const deployment = structuredClone(findObject(objects, 'Deployment', '-writer'));
    (podSpec(deployment)['containers'] as Record<string, unknown>[])[0]!['readinessprobe'] = {};
    const path = join(mkdtempSync(join(tmpdir(), 'mx-chart-')), 'bad.json');
    writeFileSync(path, JSON.stringify(deployment));
    const result = spawnSync(chartTools().kubeValidate, ['--strict', '--quiet', '-k', latestKubeVersion, path], { encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toContain('readinessprobe');
    const route = renderChart({ valuesFiles: production }).objects.find((object) => object.kind === 'HTTPRoute')!;
    expect(() => new HTTPRoute({ ...(route as object), spec: { rules: 'nope' } } as never).validate()).toThrow();
  });

  it('renders the objects each values file asks for', () => {
    const kinds = (files: string[]) => new Set(renderChart({ valuesFiles: files }).objects.map((object) => object.kind));
    expect([...kinds(minimal)].sort()).toEqual([
      'ConfigMap',
      'Deployment',
      'Job',
      'PodDisruptionBudget',
      'Secret',
      'Service',
      'ServiceAccount',
    ]);
    expect(kinds(production)).toEqual(
      new Set([...kinds(minimal), 'HorizontalPodAutoscaler', 'Ingress', 'HTTPRoute', 'ServiceMonitor', 'PrometheusRule']),
    );
    expect(kinds(['ci/network-policy-values.yaml']).has('NetworkPolicy')).toBe(true);
    const existing = renderChart({ valuesFiles: ['ci/existing-secret-values.yaml'] }).objects;
    expect(objectsOfKind(existing, 'Secret')).toEqual([]);
    expect(objectsOfKind(existing, 'ServiceAccount')).toEqual([]);
  });
});

describe('the values schema and the templates refuse bad values', () => {
  const refusals: [string, Record<string, string | number | boolean>, string][] = [
    ['an unknown key', { 'writer.replica': 3 }, "additional properties 'replica' not allowed"],
    ['a bad log level', { logLevel: 'verbose' }, '/logLevel'],
    ['a bad sslmode', { 'postgres.sslMode': 'allow' }, '/postgres/sslMode'],
    ['a broker without a port', { 'kafka.brokers[0]': 'kafka' }, '/kafka/brokers/0'],
    ['an unknown SASL mechanism', { 'kafka.sasl.mechanism': 'gssapi' }, '/kafka/sasl/mechanism'],
    ['a bad image digest', { 'image.digest': 'latest' }, '/image/digest'],
    ['more projectors than the schema allows', { 'projector.replicas': 65, 'kafka.topics.partitions': 100 }, '/projector/replicas'],
    ['more projectors than partitions', { 'projector.replicas': 9 }, 'exceeds kafka.topics.partitions (8)'],
    ['a grace period too short for shutdown', { terminationGracePeriodSeconds: 5 }, '/terminationGracePeriodSeconds'],
    ['token registration without a secret', { 'registration.mode': 'token' }, 'registration.mode token needs'],
    ['SASL without a user name', { 'kafka.sasl.mechanism': 'plain' }, 'kafka.sasl.username is required'],
    ['an Ingress without a host', { 'ingress.enabled': true }, 'ingress.host is required'],
    ['an HTTPRoute without a parent', { 'httpRoute.enabled': true }, 'httpRoute.parentRefs is required'],
    ['no server name', { serverName: '' }, 'serverName is required'],
    ['no route timeout margin', { 'sync.routeTimeoutMarginSeconds': 0 }, '/sync/routeTimeoutMarginSeconds'],
    ['an HTTPRoute timeout that is not a Gateway API duration', { 'httpRoute.requestTimeout': '2.5m' }, '/httpRoute/requestTimeout'],
    [
      'an HTTPRoute timeout not above the /sync cap',
      { 'httpRoute.requestTimeout': '2m' },
      'httpRoute.requestTimeout (2m) must exceed sync.maxTimeoutMs (120000 ms)',
    ],
    [
      'an HTTPRoute timeout below a raised /sync cap',
      { 'sync.maxTimeoutMs': 300000, 'httpRoute.requestTimeout': '4m59s' },
      'httpRoute.requestTimeout (4m59s) must exceed sync.maxTimeoutMs (300000 ms)',
    ],
    [
      'an Ingress read timeout not above the /sync cap',
      { 'ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-read-timeout': '120' },
      'ingress.annotations proxy-read-timeout (120 s) must exceed sync.maxTimeoutMs (120000 ms)',
    ],
    [
      'an Ingress send timeout not above the /sync cap',
      { 'ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-send-timeout': '60' },
      'ingress.annotations proxy-send-timeout (60 s) must exceed sync.maxTimeoutMs (120000 ms)',
    ],
    ['Matrix error interception of the services’ own 404s', { 'ingress.matrixErrors.codes[0]': 404 }, '/ingress/matrixErrors/codes/0'],
    [
      'an Ingress in companion mode (it would expose /_matrix/app/)',
      {
        'companion.mode': 'companion',
        'companion.upstreamUrl': 'http://synapse:8008',
        'secrets.appserviceHsToken': 'hs-token-0123456789abcdef',
        'secrets.appserviceAsToken': 'as-token-0123456789abcdef',
        'ingress.enabled': true,
        'ingress.host': 'matrix.example.org',
      },
      'companion.mode companion cannot render ingress or httpRoute yet',
    ],
  ];
  it.each(refusals)('refuses %s', (_, set, message) => {
    const result = runHelm('template', { valuesFiles: minimal, set });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it('refuses no postgres host and no brokers with the defaults alone', () => {
    const result = runHelm('template', { set: { serverName: 'example.org' } });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('kafka.brokers is required');
  });
});

describe('pods', () => {
  it.each(valuesFiles)('%s: every pod runs restricted (non-root, read-only root, no capabilities, seccomp, no token)', (file) => {
    const { objects } = renderChart({ valuesFiles: [file] });
    expect(workloads(objects)).toHaveLength(4);
    for (const workload of workloads(objects)) {
      const spec = podSpec(workload);
      expect(spec['securityContext'], workload.metadata.name).toMatchObject({
        runAsNonRoot: true,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(spec['automountServiceAccountToken']).toBe(false);
      expect(containerOf(workload).securityContext).toMatchObject({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        runAsNonRoot: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(containerOf(workload).command.slice(0, 4)).toEqual(['/usr/bin/tini', '--', 'node', '--enable-source-maps']);
    }
  });

  it('probes the services’ health endpoints on the container port', () => {
    const { objects } = renderChart({ valuesFiles: minimal });
    for (const deployment of objectsOfKind(objects, 'Deployment')) {
      const container = containerOf(deployment);
      expect(container.ports).toEqual([expect.objectContaining({ name: 'http' })]);
      expect(container.startupProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.livenessProbe?.httpGet).toEqual({ path: '/health/live', port: 'http' });
      expect(container.readinessProbe?.httpGet).toEqual({ path: '/health/ready', port: 'http' });
    }
  });

  it('autoscales the writer and the sync API only, leaving replicas to the HPA', () => {
    const { objects } = renderChart({ valuesFiles: production });
    const hpas = objectsOfKind(objects, 'HorizontalPodAutoscaler').map(
      (hpa) => (hpa.spec as { scaleTargetRef: { name: string } }).scaleTargetRef.name,
    );
    expect(hpas.sort()).toEqual(['mps-matrix-profile-sync-sync-api', 'mps-matrix-profile-sync-writer']);
    expect((findObject(objects, 'Deployment', '-writer').spec as Record<string, unknown>)['replicas']).toBeUndefined();
    expect((findObject(objects, 'Deployment', '-projector').spec as Record<string, unknown>)['replicas']).toBe(6);
    expect(objectsOfKind(objects, 'PodDisruptionBudget')).toHaveLength(3);
  });

  it('rolls the pods when the configuration or the Secret changes, not otherwise', () => {
    const annotations = (set: Record<string, string | number>) =>
      (
        findObject(renderChart({ valuesFiles: minimal, set }).objects, 'Deployment', '-sync-api').spec as {
          template: { metadata: { annotations: Record<string, string> } };
        }
      ).template.metadata.annotations;
    const base = annotations({});
    expect(annotations({ 'syncApi.replicas': 5 })).toEqual(base);
    expect(annotations({ logLevel: 'debug' })['checksum/config']).not.toBe(base['checksum/config']);
    expect(annotations({ 'secrets.databasePassword': 'rotated' })['checksum/secret']).not.toBe(base['checksum/secret']);
  });

  it('runs migrations and topic provisioning as an idempotent pre-install/pre-upgrade hook with its own copy of the configuration', () => {
    const { objects } = renderChart({ valuesFiles: minimal });
    const job = findObject(objects, 'Job', '-setup');
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade' });
    expect(job.spec).toMatchObject({ backoffLimit: 4, ttlSecondsAfterFinished: 3600, activeDeadlineSeconds: 600 });
    expect(containerOf(job).command.slice(-2)).toEqual(['dist/apps/ops/src/main.js', 'setup']);
    // Hooks run before the release's own ConfigMap/Secret exist: the Job reads hook copies made earlier.
    for (const kind of ['ConfigMap', 'Secret']) {
      const copy = findObject(objects, kind, '-setup');
      expect(copy.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'pre-install,pre-upgrade', 'helm.sh/hook-weight': '-10' });
    }
    const jobEnv = containerEnvironment(containerOf(job), objects);
    const writerEnv = containerEnvironment(containerOf(findObject(objects, 'Deployment', '-writer')), objects);
    const { MX_HTTP_PORT: _port, MX_DATABASE_POOL_SIZE: _pool, ...sharedWriterEnv } = writerEnv;
    expect(jobEnv).toEqual(sharedWriterEnv);
  });

  it('reads credentials from an existing Secret under the operator’s key names', () => {
    const { objects } = renderChart({ valuesFiles: ['ci/existing-secret-values.yaml'] });
    const env = containerOf(findObject(objects, 'Deployment', '-writer')).env ?? [];
    const refs = Object.fromEntries(env.filter((entry) => entry.valueFrom).map((entry) => [entry.name, entry.valueFrom?.secretKeyRef]));
    expect(refs).toEqual({
      MX_DATABASE_PASSWORD: { name: 'mps-credentials', key: 'PGPASSWORD' },
      MX_KAFKA_SASL_PASSWORD: { name: 'mps-credentials', key: 'KAFKA_PASSWORD' },
      MX_REGISTRATION_SHARED_SECRET: { name: 'mps-credentials', key: 'REGISTRATION_SECRET' },
    });
    const annotations = (
      findObject(objects, 'Deployment', '-writer').spec as { template: { metadata: { annotations: Record<string, string> } } }
    ).template.metadata.annotations;
    expect(Object.keys(annotations)).toEqual(['checksum/config']);
    expect(containerOf(findObject(objects, 'Job', '-setup')).env?.[0]?.valueFrom?.secretKeyRef?.name).toBe('mps-credentials');
  });

  it('lets only the router reach the client ports and the services reach only Kafka, PostgreSQL and DNS', () => {
    const { objects } = renderChart({ valuesFiles: ['ci/network-policy-values.yaml'] });
    const policies = objectsOfKind(objects, 'NetworkPolicy');
    expect(policies.map((policy) => policy.metadata.name.replace('mps-matrix-profile-sync-', '')).sort()).toEqual([
      'projector',
      'sync-api',
      'writer',
    ]);
    const projector = policies.find((policy) => policy.metadata.name.endsWith('-projector'))!;
    expect((projector.spec as { ingress: unknown[] }).ingress).toHaveLength(1); // metrics only: no client traffic
    const writer = policies.find((policy) => policy.metadata.name.endsWith('-writer'))!;
    const egressPorts = (writer.spec as { egress: { ports: { port: number }[] }[] }).egress.map((rule) =>
      rule.ports.map((port) => port.port),
    );
    expect(egressPorts).toEqual([[53, 53], [9092, 9093], [5432]]);
    expect(JSON.stringify((writer.spec as { egress: unknown[] }).egress[1])).toContain('"kafka"');
  });
});

describe('configuration', () => {
  it.each(valuesFiles)('%s: every container gets only variables the services’ config schema reads, and valid ones', (file) => {
    const { objects } = renderChart({ valuesFiles: [file] });
    const external = { 'mps-credentials': { PGPASSWORD: 'pw', KAFKA_PASSWORD: 'sasl', REGISTRATION_SECRET: 'registration-secret' } };
    for (const workload of workloads(objects)) {
      const env = containerEnvironment(containerOf(workload), objects, external);
      const unknown = Object.keys(env).filter((name) => !schemaVariables.has(name) && !nonSchemaVariables.has(name));
      expect(unknown, workload.metadata.name).toEqual([]);
      expect(() => validateEnvironment(env)).not.toThrow();
    }
  });

  it('every variable of the config schema is rendered by some values file (so none is unreachable from the chart)', () => {
    const rendered = new Set<string>();
    for (const file of valuesFiles) {
      const { objects } = renderChart({ valuesFiles: [file] });
      const external = { 'mps-credentials': { PGPASSWORD: 'pw', KAFKA_PASSWORD: 'sasl', REGISTRATION_SECRET: 'registration-secret' } };
      for (const workload of workloads(objects))
        for (const name of Object.keys(containerEnvironment(containerOf(workload), objects, external))) rendered.add(name);
    }
    expect([...schemaVariables].filter((name) => !rendered.has(name))).toEqual([]);
  });

  it('passes TLS, SASL and sslmode through to the services', () => {
    const { objects } = renderChart({ valuesFiles: production });
    const env = containerEnvironment(containerOf(findObject(objects, 'Deployment', '-projector')), objects);
    expect(env).toMatchObject({
      MX_KAFKA_SSL: 'true',
      MX_KAFKA_SASL_MECHANISM: 'scram-sha-512',
      MX_KAFKA_SASL_USERNAME: 'matrix-profile-sync',
      MX_KAFKA_SASL_PASSWORD: 'sasl-password',
      MX_DATABASE_SSLMODE: 'verify-full',
      MX_DATABASE_PASSWORD: 'db-password',
      MX_REGISTRATION_SHARED_SECRET: 'registration-secret',
      MX_KAFKA_BROKERS: 'kafka-0.kafka.svc:9093,kafka-1.kafka.svc:9093,kafka-2.kafka.svc:9093',
      MX_TOPIC_PARTITIONS: '12',
      MX_HTTP_PORT: '8103',
      NODE_EXTRA_CA_CERTS: '/etc/matrix-profile-sync/ca/ca.crt',
    });
  });

  it('gives Node the operator’s CA bundle, mounted read-only where NODE_EXTRA_CA_CERTS points, in every pod', () => {
    const { objects } = renderChart({ valuesFiles: production });
    for (const workload of workloads(objects)) {
      const spec = podSpec(workload);
      const container = containerOf(workload) as ReturnType<typeof containerOf> & {
        volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[];
      };
      const env = containerEnvironment(container, objects);
      const mount = container.volumeMounts.find((candidate) => candidate.name === 'extra-ca');
      expect(mount?.readOnly, workload.metadata.name).toBe(true);
      expect(env['NODE_EXTRA_CA_CERTS']).toBe(`${mount?.mountPath ?? 'unmounted'}/ca.crt`);
      expect(
        (spec['volumes'] as { name: string; configMap?: { name: string } }[]).find((volume) => volume.name === 'extra-ca')?.configMap?.name,
      ).toBe('internal-ca');
    }
    const plain = renderChart({ valuesFiles: minimal }).objects;
    for (const workload of workloads(plain))
      expect(containerEnvironment(containerOf(workload), plain)).not.toHaveProperty('NODE_EXTRA_CA_CERTS');
  });
});

describe('routing objects', () => {
  it('route to Services the chart renders, on their ports, with long-poll timeouts', () => {
    const { objects } = renderChart({ valuesFiles: production });
    const services = new Map(
      objectsOfKind(objects, 'Service').map((service) => [
        service.metadata.name,
        (service.spec as { ports: { port: number }[] }).ports[0]!.port,
      ]),
    );
    const ingress = findObject(objects, 'Ingress', 'matrix-profile-sync');
    for (const rule of (
      ingress.spec as { rules: { http: { paths: { backend: { service: { name: string; port: { name: string } } } }[] } }[] }
    ).rules)
      for (const path of rule.http.paths) {
        expect(services.has(path.backend.service.name)).toBe(true);
        expect(path.backend.service.port).toEqual({ name: 'http' });
      }
    expect(ingress.metadata.annotations?.['nginx.ingress.kubernetes.io/proxy-read-timeout']).toBe('150');
    const route = findObject(objects, 'HTTPRoute', 'matrix-profile-sync');
    for (const rule of (route.spec as { rules: { backendRefs: { name: string; port: number }[]; timeouts: { request: string } }[] })
      .rules) {
      expect(rule.backendRefs[0]!.port).toBe(services.get(rule.backendRefs[0]!.name));
      expect(rule.timeouts.request).toBe('150s');
    }
  });
});

describe('alerts', () => {
  it('the PrometheusRule alerts on a stalled partition, projection lag and dead letters, using only metrics the services export', () => {
    const rule = renderChart({ valuesFiles: production }).objects.find((object) => object.kind === 'PrometheusRule')!;
    const rules = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((group) => group.rules);
    expect(rules.map((candidate) => candidate.alert)).toEqual([
      'MatrixProfileSyncPartitionStalled',
      'MatrixProfileSyncProjectionLag',
      'MatrixProfileSyncDeadLetters',
    ]);
    // Every metric an alert reads is registered somewhere in the services' code (a renamed metric would silence its alert).
    const sources = execFileSync('grep', ['-rhoE', "name: 'mx_[a-z_]+'", 'apps', 'libs'], { cwd: repoRoot, encoding: 'utf8' });
    const registered = new Set([...sources.matchAll(/'(mx_[a-z_]+)'/g)].map((match) => match[1]));
    for (const { alert, expr } of rules) {
      const used = [...expr.matchAll(/\b(mx_[a-z_]+)\b/g)].map((match) => match[1]);
      expect(used.length, alert).toBeGreaterThan(0);
      for (const metric of used) expect(registered.has(metric), `${alert} reads ${metric}`).toBe(true);
      expect(expr, alert).toContain('namespace="matrix"');
    }
  });
});

describe('long-poll timeouts follow sync.maxTimeoutMs', () => {
  // The Ingress and the HTTPRoute must wait longer than the longest /sync long-poll the services
  // allow, or every long-poll at the cap ends in the router's 504.
  const external = { 'mps-credentials': { PGPASSWORD: 'pw', KAFKA_PASSWORD: 'sasl', REGISTRATION_SECRET: 'registration-secret' } };
  const syncCapMs = (objects: readonly K8sObject[]) =>
    Number(containerEnvironment(containerOf(findObject(objects, 'Deployment', '-sync-api')), objects, external)['MX_SYNC_MAX_TIMEOUT_MS']);

  it.each([
    [{}, 120_000, 150],
    [{ 'sync.maxTimeoutMs': 300000 }, 300_000, 330],
    [{ 'sync.maxTimeoutMs': 120500 }, 120_500, 151],
    [{ 'sync.maxTimeoutMs': 600000 }, 600_000, 630],
    [{ 'sync.maxTimeoutMs': 0 }, 0, 30],
    [{ 'sync.routeTimeoutMarginSeconds': 60 }, 120_000, 180],
  ])('%j: the services cap long-polls at %i ms, the routes wait %i s', (set, capMs, seconds) => {
    const { objects } = renderChart({ valuesFiles: production, set });
    expect(syncCapMs(objects)).toBe(capMs);
    const timeouts = routeTimeouts(objects);
    expect(timeouts).toEqual({ ingressRead: seconds, ingressSend: seconds, httpRouteRequests: [1, 2, 3, 4].map(() => seconds * 1000) });
    expect(timeouts.ingressRead! * 1000).toBeGreaterThan(capMs);
    for (const request of timeouts.httpRouteRequests) expect(request).toBeGreaterThan(capMs);
  });

  // Companion mode renders no Ingress or HTTPRoute yet (refused: see the refusals above).
  it.each(valuesFiles.filter((file) => !file.includes('companion')))(
    '%s: the routes wait longer than the cap its sync API runs with',
    (file) => {
      const { objects } = renderChart({
        valuesFiles: [file],
        set: {
          'ingress.enabled': true,
          'ingress.host': 'matrix.example.org',
          'httpRoute.enabled': true,
          'httpRoute.parentRefs[0].name': 'public',
        },
      });
      const capMs = syncCapMs(objects);
      const timeouts = routeTimeouts(objects);
      expect(timeouts.ingressRead! * 1000).toBeGreaterThan(capMs);
      expect(timeouts.ingressSend! * 1000).toBeGreaterThan(capMs);
      expect(timeouts.httpRouteRequests.length).toBeGreaterThan(0);
      for (const request of timeouts.httpRouteRequests) expect(request).toBeGreaterThan(capMs);
    },
  );

  it('an explicit HTTPRoute timeout above the cap, and the operator’s own Ingress timeout above it, are used as given', () => {
    const { objects } = renderChart({
      valuesFiles: production,
      set: {
        'httpRoute.requestTimeout': '3m30s',
        'ingress.annotations.nginx\\.ingress\\.kubernetes\\.io/proxy-read-timeout': '600',
      },
    });
    expect(routeTimeouts(objects)).toEqual({ ingressRead: 600, ingressSend: 150, httpRouteRequests: [210_000, 210_000, 210_000, 210_000] });
    expect(findObject(objects, 'Ingress', 'matrix-profile-sync').metadata.annotations).toMatchObject({
      'cert-manager.io/cluster-issuer': 'letsencrypt',
      'nginx.ingress.kubernetes.io/proxy-buffering': 'off',
    });
  });
});

describe('Matrix-shaped errors from ingress-nginx (ingress.matrixErrors)', () => {
  it('hands the controller’s own errors to the writer, which renders them (X-Code), when enabled', () => {
    const { objects } = renderChart({ valuesFiles: production, set: { 'ingress.matrixErrors.enabled': true } });
    const annotations = findObject(objects, 'Ingress', 'matrix-profile-sync').metadata.annotations ?? {};
    expect(annotations['nginx.ingress.kubernetes.io/custom-http-errors']).toBe('413,414,502,503,504');
    const writer = findObject(objects, 'Service', '-writer');
    expect(annotations['nginx.ingress.kubernetes.io/default-backend']).toBe(writer.metadata.name);
    // ingress-nginx sends the error request to the backend Service's first port: the writer's HTTP port.
    expect((writer.spec as { ports: { name: string }[] }).ports[0]?.name).toBe('http');
  });

  it('sets neither annotation by default, and takes the operator’s list of statuses', () => {
    const plain = findObject(renderChart({ valuesFiles: production }).objects, 'Ingress', 'matrix-profile-sync').metadata.annotations ?? {};
    expect(Object.keys(plain).filter((key) => /custom-http-errors|default-backend/.test(key))).toEqual([]);
    const { objects } = renderChart({
      valuesFiles: production,
      set: { 'ingress.matrixErrors.enabled': true, 'ingress.matrixErrors.codes[0]': 502, 'ingress.matrixErrors.codes[1]': 504 },
    });
    const annotations = findObject(objects, 'Ingress', 'matrix-profile-sync').metadata.annotations ?? {};
    expect(annotations['nginx.ingress.kubernetes.io/custom-http-errors']).toBe('502,504');
  });
});

describe('documentation', () => {
  const values = readFileSync(join(chartDir, 'values.yaml'), 'utf8');
  it('documents every key of values.yaml', () => {
    expect(valuesRows(values).missing).toEqual([]);
  });
  it('the chart README’s values table is the one values.yaml generates', () => {
    const readme = readFileSync(join(chartDir, 'README.md'), 'utf8');
    expect(readme).toBe(readmeWithTable(readme, valuesTable(values)));
  });
  it('NOTES.txt renders the client URL and the checks to run', () => {
    // helm prints NOTES only on install, which needs a cluster; render it through a copy of the chart instead.
    const copy = join(mkdtempSync(join(tmpdir(), 'mx-chart-')), 'chart');
    cpSync(chartDir, copy, { recursive: true });
    const probe =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  notes: |\n{{- include "matrix-profile-sync/templates/NOTES.txt" . | nindent 4 }}\n';
    writeFileSync(join(copy, 'templates', 'notes-probe.yaml'), probe);
    const output = execFileSync(
      chartTools().helm,
      ['template', 'mps', copy, '-f', join(copy, 'ci/production-values.yaml'), '--show-only', 'templates/notes-probe.yaml'],
      { encoding: 'utf8' },
    );
    const notes = (parseDocument(output).toJS() as { data: { notes: string } }).data.notes;
    expect(notes).toContain('Clients reach the Matrix client API at https://matrix.example.org/_matrix/client/versions');
    expect(notes).toContain('projector 6 (at most 12');
    expect(notes).toContain('logs job/mps-matrix-profile-sync-setup');
  });
});
