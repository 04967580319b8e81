import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentVariables, validateEnvironment } from '@mx/config';
import { getMetadataStorage } from 'class-validator';
import { parse as parseYaml, parseDocument } from 'yaml';
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
  httpRouteBackendFor,
  ingressBackendFor,
  ingressPaths,
  type K8sObject,
  objectsOfKind,
  podTemplateSpec,
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
const companion = ['ci/companion-values.yaml'];
const chartKubeVersion = '1.29.0'; // Chart.yaml kubeVersion floor
const latestKubeVersion = '1.37.0';

/** Every variable the services' configuration schema reads (libs/config), from class-validator's own metadata. */
const schemaVariables = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((metadata) => metadata.propertyName),
);
/** Read by the image or the Kafka client, not by our schema. */
const nonSchemaVariables = new Set<string>(['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS']);

const workloads = (objects: readonly K8sObject[]): K8sObject[] => [
  ...objectsOfKind(objects, 'Deployment'),
  ...objectsOfKind(objects, 'Job'),
  ...objectsOfKind(objects, 'CronJob'),
];
const podSpec = (workload: K8sObject): Record<string, any> => podTemplateSpec(workload); // eslint-disable-line @typescript-eslint/no-explicit-any

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
    expect(kinds(companion)).toEqual(new Set([...kinds(minimal), 'CronJob', 'Ingress', 'HTTPRoute', 'NetworkPolicy']));
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
  ];
  it.each(refusals)('refuses %s', (_, set, message) => {
    const result = runHelm('template', { valuesFiles: minimal, set });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  const companionRefusals: [string, Record<string, string | number | boolean>, string][] = [
    ['no homeserver URL', { 'companion.upstreamUrl': '' }, 'companion.upstreamUrl is required in companion mode'],
    [
      'routes without the homeserver’s Service',
      { 'companion.homeserverService.name': '' },
      'companion.homeserverService.name is required when ingress or httpRoute is enabled in companion mode',
    ],
    [
      'an HTTPRoute alone without the homeserver’s Service',
      { 'companion.homeserverService.name': '', 'ingress.enabled': false },
      'companion.homeserverService.name is required',
    ],
    [
      'a homeserver Service name that is no Service name',
      { 'companion.homeserverService.name': 'Synapse_1' },
      '/companion/homeserverService/name',
    ],
    [
      'an Ingress to a homeserver in another namespace',
      { 'companion.homeserverService.namespace': 'synapse' },
      'an Ingress can only route to Services of its own namespace',
    ],
    ['an unknown Ingress profile route', { 'companion.ingressProfileRoute': 'sync-api' }, '/companion/ingressProfileRoute'],
    [
      'the same token both ways',
      { 'secrets.appserviceHsToken': 'same-token-0123456789', 'secrets.appserviceAsToken': 'same-token-0123456789' },
      'must differ',
    ],
    ['a token shorter than 16 characters', { 'secrets.appserviceHsToken': 'short-token' }, '/secrets/appserviceHsToken'],
    [
      'a token that would break the registration YAML',
      { 'secrets.appserviceAsToken': "as-token-0123456789'x" },
      '/secrets/appserviceAsToken',
    ],
    [
      'the ingress-nginx fallback without the Ingress',
      { 'companion.failOpen.ingressNginxDefaultBackend': true, 'ingress.enabled': false },
      'companion.failOpen.ingressNginxDefaultBackend needs ingress.enabled',
    ],
    [
      'the ingress-nginx fallback with Matrix errors (one default-backend for two uses)',
      { 'companion.failOpen.ingressNginxDefaultBackend': true, 'ingress.matrixErrors.enabled': true },
      'enable one of them',
    ],
    [
      'the bootstrap hook without an admin token',
      { 'companion.bootstrap.hook.enabled': true, 'secrets.upstreamAdminToken': '' },
      'companion.bootstrap.hook.enabled needs a homeserver admin',
    ],
  ];
  it.each(companionRefusals)('companion mode: refuses %s', (_, set, message) => {
    const result = runHelm('template', { valuesFiles: companion, set });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain(message);
  });

  it('companion mode: refuses NetworkPolicies that do not name the homeserver’s pods', () => {
    const set = { 'companion.mode': 'companion', 'companion.upstreamUrl': 'http://synapse:8008', 'networkPolicy.enabled': true };
    const result = runHelm('template', { valuesFiles: minimal, set });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('networkPolicy.homeserverPeers is required in companion mode');
    const given = runHelm('template', {
      valuesFiles: minimal,
      set: { ...set, 'networkPolicy.homeserverPeers[0].podSelector.matchLabels.app': 'synapse' },
    });
    expect(given.stderr).toBe('');
    expect(given.status).toBe(0);
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
    // Three Deployments and the setup Job; companion mode adds the bootstrap's CronJob.
    expect(workloads(objects)).toHaveLength(file.includes('companion') ? 5 : 4);
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

  it('caps the sync API’s V8 semi-space only when asked (NODE_OPTIONS), leaving Node’s choice by default', () => {
    const env = (set: Record<string, number>) =>
      workloads(renderChart({ valuesFiles: minimal, set }).objects).map((workload) => ({
        name: workload.metadata.name,
        options: (containerOf(workload).env ?? []).find((variable: { name: string }) => variable.name === 'NODE_OPTIONS')?.value,
      }));
    expect(env({}).filter((workload) => workload.options !== undefined)).toEqual([]);
    expect(env({ 'syncApi.maxSemiSpaceMiB': 16 }).filter((workload) => workload.options !== undefined)).toEqual([
      { name: 'mps-matrix-profile-sync-sync-api', options: '--max-semi-space-size=16' },
    ]);
    expect(runHelm('template', { valuesFiles: minimal, set: { 'syncApi.maxSemiSpaceMiB': 0 } }).status).not.toBe(0);
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

  it.each(valuesFiles)('%s: the routes wait longer than the cap its sync API runs with', (file) => {
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
  });

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

describe('companion mode', () => {
  const name = (component: string) => `mps-matrix-profile-sync-${component}`;
  const render = (set: Record<string, string | number | boolean> = {}) => renderChart({ valuesFiles: companion, set }).objects;
  const decode = (secret: K8sObject, key: string): string => Buffer.from(secret.data?.[key] ?? '', 'base64').toString('utf8');
  const backendName = (expected: string) => (expected === 'none' ? undefined : expected === 'homeserver' ? 'synapse' : name(expected));
  const alice = '%40alice%3Aexample.org';
  // The companion routing map, as deploy/local/nginx/companion.conf.template routes it: method, path, where.
  const routeTable: [string, string, string][] = [
    ['GET', '/_matrix/client/v3/sync', 'sync-api'],
    ['GET', '/_matrix/client/versions', 'sync-api'],
    ['PUT', `/_matrix/client/v3/profile/${alice}/m.status`, 'writer'],
    ['DELETE', `/_matrix/client/v3/profile/${alice}/m.status`, 'writer'],
    ['GET', `/_matrix/client/v3/profile/${alice}`, 'homeserver'],
    ['GET', `/_matrix/client/v3/profile/${alice}/displayname`, 'homeserver'],
    ['OPTIONS', `/_matrix/client/v3/profile/${alice}/displayname`, 'homeserver'],
    ['PUT', `/_matrix/client/unstable/uk.tcpip.msc4133/profile/${alice}/m.tz`, 'writer'],
    ['GET', `/_matrix/client/unstable/uk.tcpip.msc4133/profile/${alice}/m.tz`, 'homeserver'],
    ['POST', '/_matrix/client/v3/logout', 'writer'],
    ['POST', '/_matrix/client/v3/logout/all', 'writer'],
    ['POST', '/_matrix/client/v3/login', 'homeserver'],
    ['POST', '/_matrix/client/v3/register', 'homeserver'],
    ['POST', '/_matrix/client/v3/createRoom', 'homeserver'],
    ['POST', `/_matrix/client/v3/user/${alice}/filter`, 'homeserver'],
    ['GET', `/_matrix/client/v3/user/${alice}/filter/1`, 'homeserver'],
    ['GET', '/_matrix/client/v3/syncx', 'homeserver'],
    ['GET', '/_matrix/client/r0/sync', 'homeserver'],
    ['POST', '/_matrix/client/r0/logout', 'homeserver'],
    ['POST', '/_matrix/media/v3/upload', 'homeserver'],
    ['GET', '/_synapse/client/pick_idp', 'homeserver'],
    ['PUT', '/_matrix/app/v1/transactions/1', 'homeserver'],
    ['POST', '/_matrix/app/v1/ping', 'homeserver'],
    ['GET', '/_synapse/admin/v1/server_version', 'none'],
    ['GET', '/metrics', 'none'],
    ['GET', '/health/ready', 'none'],
  ];
  const profilePath = (path: string) => /^\/_matrix\/client\/(v3|unstable\/uk\.tcpip\.msc4133)\/profile\//.test(path);
  const projectServices = ['writer', 'sync-api', 'projector'].map(name);
  const methods = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'PATCH'];

  it.each(routeTable)('the HTTPRoute sends %s %s where the companion router does (%s)', (method, path, expected) => {
    const route = findObject(render(), 'HTTPRoute', 'matrix-profile-sync');
    expect(httpRouteBackendFor(route, method, path)).toBe(backendName(expected));
  });

  it('the Ingress, which cannot match methods, sends the profile prefix where companion.ingressProfileRoute says, the rest as the HTTPRoute', () => {
    for (const profileRoute of ['homeserver', 'writer']) {
      const objects = render({ 'companion.ingressProfileRoute': profileRoute });
      const wrong = routeTable
        .map(([method, path, expected]) => [method, path, profilePath(path) ? profileRoute : expected] as const)
        .filter(([, path, expected]) => ingressBackendFor(objects, path) !== backendName(expected))
        .map(([method, path, expected]) => `${method} ${path}: ${String(ingressBackendFor(objects, path))}, expected ${expected}`);
      expect(wrong, profileRoute).toEqual([]);
    }
  });

  it('never routes /_matrix/app/ (the Application Service API) to the project, for any method and any option', () => {
    const variants: Record<string, string | number | boolean>[] = [
      {},
      { 'companion.ingressProfileRoute': 'writer' },
      { 'companion.failOpen.ingressNginxDefaultBackend': true },
      { 'companion.homeserverService.namespace': 'synapse', 'ingress.enabled': false },
    ];
    for (const set of variants) {
      const objects = render(set);
      const route = findObject(objects, 'HTTPRoute', 'matrix-profile-sync');
      for (const path of ['/_matrix/app/v1/transactions/1', '/_matrix/app/v1/ping', '/_matrix/app/v1/users/%40a%3Ab', '/_matrix/app']) {
        for (const method of methods)
          expect(projectServices, `HTTPRoute ${method} ${path}`).not.toContain(httpRouteBackendFor(route, method, path));
        if (objects.some((object) => object.kind === 'Ingress'))
          expect(projectServices, `Ingress ${path}`).not.toContain(ingressBackendFor(objects, path));
      }
      const matchValues = (route.spec as { rules: { matches: { path: { value: string } }[] }[] }).rules.flatMap((rule) =>
        rule.matches.map((match) => match.path.value),
      );
      for (const value of [...matchValues, ...ingressPaths(objects).map((entry) => entry.path)])
        expect(value).not.toMatch(/^\/_matrix\/app/);
    }
  });

  it('routes the homeserver’s paths to its Service and port, across namespaces only through the HTTPRoute', () => {
    const objects = render({ 'companion.homeserverService.name': 'ess-synapse', 'companion.homeserverService.port': 8448 });
    const homeserverPaths = ingressPaths(objects).filter((entry) => entry.service === 'ess-synapse');
    expect(homeserverPaths.map((entry) => entry.path)).toEqual(expect.arrayContaining(['/_matrix', '/_synapse/client']));
    for (const entry of homeserverPaths) expect(entry.port).toEqual({ number: 8448 });
    for (const entry of ingressPaths(objects).filter((candidate) => candidate.service !== 'ess-synapse'))
      expect(entry.port).toEqual({ name: 'http' });
    const refs = (route: K8sObject) =>
      (route.spec as { rules: { backendRefs: { name: string; port: number; namespace?: string }[] }[] }).rules.map(
        (rule) => rule.backendRefs[0]!,
      );
    expect(refs(findObject(objects, 'HTTPRoute', 'matrix-profile-sync')).filter((ref) => ref.name === 'ess-synapse')).toEqual([
      { name: 'ess-synapse', port: 8448 },
      { name: 'ess-synapse', port: 8448 },
    ]);
    const elsewhere = render({ 'companion.homeserverService.namespace': 'chat', 'ingress.enabled': false });
    expect(refs(findObject(elsewhere, 'HTTPRoute', 'matrix-profile-sync')).filter((ref) => ref.name === 'synapse')).toEqual([
      { name: 'synapse', namespace: 'chat', port: 8008 },
      { name: 'synapse', namespace: 'chat', port: 8008 },
    ]);
    // The same namespace as the release is no cross-namespace reference: the Ingress takes it.
    expect(() => render({ 'companion.homeserverService.namespace': 'matrix' })).not.toThrow();
  });

  it('fails open on ingress-nginx only when asked: /sync and /versions in an Ingress of their own whose default-backend is the homeserver', () => {
    const plain = render();
    expect(objectsOfKind(plain, 'Ingress')).toHaveLength(1);
    expect(Object.keys(findObject(plain, 'Ingress', 'matrix-profile-sync').metadata.annotations ?? {})).not.toContain(
      'nginx.ingress.kubernetes.io/default-backend',
    );
    const objects = render({ 'companion.failOpen.ingressNginxDefaultBackend': true });
    const ingress = (ingressName: string) => objects.find((object) => object.kind === 'Ingress' && object.metadata.name === ingressName)!;
    const [main, sync] = [ingress('mps-matrix-profile-sync'), ingress('mps-matrix-profile-sync-sync')];
    expect(objectsOfKind(objects, 'Ingress')).toHaveLength(2);
    expect(sync.metadata.annotations?.['nginx.ingress.kubernetes.io/default-backend']).toBe('synapse');
    expect(main.metadata.annotations?.['nginx.ingress.kubernetes.io/default-backend']).toBeUndefined();
    // Only the sync API's paths fall back: a write never reaches the homeserver behind the project's back.
    const syncPaths = ingressPaths(objects).filter((entry) => entry.ingress === sync.metadata.name);
    expect(syncPaths.map((entry) => `${entry.pathType} ${entry.path} ${entry.service}`)).toEqual([
      `Exact /_matrix/client/v3/sync ${name('sync-api')}`,
      `Exact /_matrix/client/versions ${name('sync-api')}`,
    ]);
    // Same host, same timeouts, and together the same map as one Ingress.
    expect(sync.spec).toMatchObject({ rules: [{ host: 'matrix.example.org' }] });
    expect(routeTimeouts([sync]).ingressRead).toBe(routeTimeouts([main]).ingressRead);
    for (const [, path] of routeTable) expect(ingressBackendFor(objects, path), path).toBe(ingressBackendFor(plain, path));
  });

  it('lets the homeserver’s pods reach the writer (appservice transactions), and the writer and sync API reach the homeserver', () => {
    const policies = objectsOfKind(render(), 'NetworkPolicy');
    const policy = (component: string) =>
      policies.find((candidate) => candidate.metadata.name === name(component))!.spec as {
        ingress: { from: object[]; ports: { port: string }[] }[];
        egress: { to?: object[]; ports: { port: number }[] }[];
      };
    const synapsePods = [{ podSelector: { matchLabels: { 'app.kubernetes.io/name': 'synapse' } } }];
    const router = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ingress-nginx' } } }];
    const monitoring = [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } } }];
    expect(policy('writer').ingress.map((rule) => rule.from)).toEqual([router, synapsePods, monitoring]);
    expect(policy('sync-api').ingress.map((rule) => rule.from)).toEqual([router, monitoring]);
    expect(policy('projector').ingress.map((rule) => rule.from)).toEqual([monitoring]);
    for (const component of ['writer', 'sync-api']) {
      const egress = policy(component).egress;
      expect(egress.map((rule) => rule.ports.map((port) => port.port))).toEqual([[53, 53], [9092, 9093], [5432], [8008]]);
      expect(egress[3]?.to).toEqual(synapsePods);
    }
    expect(policy('projector').egress.map((rule) => rule.ports.map((port) => port.port))).toEqual([[53, 53], [9092, 9093], [5432]]);
  });

  it('renders the appservice registration (the shape deploy/local/synapse.sh renders) with the Secret’s tokens and the writer’s Service URL', () => {
    const objects = render();
    const secret = findObject(objects, 'Secret', '-secret');
    const registration = parseYaml(decode(findObject(objects, 'Secret', '-appservice-registration'), 'registration.yaml')) as Record<
      string,
      unknown
    >;
    const writerService = findObject(objects, 'Service', '-writer');
    const writerPort = (writerService.spec as { ports: { port: number }[] }).ports[0]!.port;
    const url = `http://${writerService.metadata.name}.matrix.svc:${writerPort}`;
    const template = readFileSync(join(repoRoot, 'deploy/local/synapse/appservice.template.yaml'), 'utf8');
    const local = parseYaml(
      template.replace(/\$\{(SYN_[A-Z_]+)\}/g, (_, variable: string) =>
        String(
          {
            SYN_AS_ID: 'matrix-profile-sync',
            SYN_AS_URL: url,
            SYN_AS_TOKEN: decode(secret, 'appservice-as-token'),
            SYN_HS_TOKEN: decode(secret, 'appservice-hs-token'),
            SYN_AS_SENDER: '_mx_profile_sync',
          }[variable],
        ),
      ),
    ) as Record<string, unknown>;
    expect(registration).toEqual(local);
    expect(registration).toMatchObject({
      url,
      rate_limited: false,
      namespaces: { users: [{ exclusive: false, regex: '@.*' }] },
    });
    expect(registration['as_token']).not.toBe(registration['hs_token']);
    // The services run with the same tokens.
    const env = containerEnvironment(containerOf(findObject(objects, 'Deployment', '-writer')), objects);
    expect(env).toMatchObject({ MX_APPSERVICE_AS_TOKEN: registration['as_token'], MX_APPSERVICE_HS_TOKEN: registration['hs_token'] });
    expect(
      render({ 'companion.registration.url': 'http://writer.example:8101' }).some((object) =>
        decode(object, 'registration.yaml').includes('url: "http://writer.example:8101"'),
      ),
    ).toBe(true);
    // Never in a ConfigMap.
    for (const configMap of objectsOfKind(objects, 'ConfigMap'))
      expect(JSON.stringify(configMap.data)).not.toContain(String(registration['as_token']));
  });

  it('renders no registration from an existing Secret (its tokens are unknown to the chart), or when disabled', () => {
    const existing = render({ 'secrets.existingSecret': 'mine' });
    expect(objectsOfKind(existing, 'Secret')).toEqual([]);
    expect(
      objectsOfKind(render({ 'companion.registration.enabled': false }), 'Secret').map((secret) => secret.metadata.name),
    ).not.toContain(name('appservice-registration'));
  });

  it('generates the tokens when not given, the same in every object of one rendering, and uses given ones as given', () => {
    const objects = render();
    const tokens = (secret: K8sObject) => [decode(secret, 'appservice-hs-token'), decode(secret, 'appservice-as-token')];
    const [hs, as] = tokens(findObject(objects, 'Secret', '-secret'));
    expect(hs).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(as).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(hs).not.toBe(as);
    expect(tokens(findObject(objects, 'Secret', '-setup'))).toEqual([hs, as]);
    const registration = parseYaml(decode(findObject(objects, 'Secret', '-appservice-registration'), 'registration.yaml')) as Record<
      string,
      string
    >;
    expect([registration['hs_token'], registration['as_token']]).toEqual([hs, as]);
    // Without a cluster, lookup finds no Secret: each rendering generates new tokens (documented).
    expect(tokens(findObject(render(), 'Secret', '-secret'))[0]).not.toBe(hs);
    const given = render({
      'secrets.appserviceHsToken': 'hs-token-0123456789abcdef',
      'secrets.appserviceAsToken': 'as-token-0123456789abcdef',
    });
    expect(tokens(findObject(given, 'Secret', '-secret'))).toEqual(['hs-token-0123456789abcdef', 'as-token-0123456789abcdef']);
  });

  it('keeps the tokens the release’s Secret already holds (lookup), given values still winning', () => {
    // helm template has no cluster to look up: a copy of the chart reads the lookup's answer from a file instead.
    const copy = join(mkdtempSync(join(tmpdir(), 'mx-chart-')), 'chart');
    cpSync(chartDir, copy, { recursive: true });
    const helpers = readFileSync(join(copy, 'templates/_helpers.tpl'), 'utf8');
    const lookup = '(lookup "v1" "Secret" .Release.Namespace (include "mps.secretName" .))';
    expect(helpers).toContain(lookup);
    writeFileSync(join(copy, 'templates/_helpers.tpl'), helpers.replace(lookup, '(.Files.Get "lookup-fixture.yaml" | fromYaml)'));
    const b64 = (text: string) => Buffer.from(text).toString('base64');
    writeFileSync(
      join(copy, 'lookup-fixture.yaml'),
      `apiVersion: v1\nkind: Secret\nmetadata: { name: mps-matrix-profile-sync-secret }\ndata:\n  appservice-hs-token: ${b64('kept-hs-token-0123456789')}\n  appservice-as-token: ${b64('kept-as-token-0123456789')}\n`,
    );
    const secretOf = (extra: string[]) => {
      const output = execFileSync(
        chartTools().helm,
        ['template', 'mps', copy, '--namespace', 'matrix', '-f', join(copy, 'ci/companion-values.yaml'), ...extra],
        { encoding: 'utf8' },
      );
      const objects = output
        .split(/^---$/m)
        .map((document) => parseYaml(document) as K8sObject | null)
        .filter((object): object is K8sObject => object !== null);
      return [findObject(objects, 'Secret', '-secret'), findObject(objects, 'Secret', '-appservice-registration')] as const;
    };
    const [secret, registration] = secretOf([]);
    expect([decode(secret, 'appservice-hs-token'), decode(secret, 'appservice-as-token')]).toEqual([
      'kept-hs-token-0123456789',
      'kept-as-token-0123456789',
    ]);
    expect(decode(registration, 'registration.yaml')).toContain('as_token: "kept-as-token-0123456789"');
    const [overridden] = secretOf(['--set-string', 'secrets.appserviceAsToken=new-as-token-0123456789']);
    expect([decode(overridden, 'appservice-hs-token'), decode(overridden, 'appservice-as-token')]).toEqual([
      'kept-hs-token-0123456789',
      'new-as-token-0123456789',
    ]);
  });

  it('runs the bootstrap as an opt-in post-install/post-upgrade hook, and keeps a suspended CronJob for one-off runs', () => {
    const objects = render({ 'companion.bootstrap.hook.enabled': true });
    const job = findObject(objects, 'Job', '-bootstrap');
    const cronJob = findObject(objects, 'CronJob', '-bootstrap');
    expect(job.metadata.annotations).toMatchObject({ 'helm.sh/hook': 'post-install,post-upgrade' });
    expect(cronJob.spec).toMatchObject({ suspend: true, schedule: '0 0 31 2 *', concurrencyPolicy: 'Forbid' });
    for (const workload of [job, cronJob]) {
      const container = containerOf(workload);
      expect(container.command.slice(-2)).toEqual(['dist/apps/ops/src/main.js', 'companion-bootstrap']);
      const admin = container.env?.find((entry) => entry.name === 'MX_UPSTREAM_ADMIN_TOKEN')?.valueFrom?.secretKeyRef;
      // Required here (a missing key stops the pod with its name), optional in the services.
      expect(admin).toEqual({ name: name('secret'), key: 'upstream-admin-token' });
      const env = containerEnvironment(container, objects);
      expect(env).toMatchObject({
        MX_MODE: 'companion',
        MX_UPSTREAM_URL: 'http://synapse.matrix.svc:8008',
        MX_UPSTREAM_ADMIN_TOKEN: 'admin-token-0123456789',
      });
      expect(() => validateEnvironment(env)).not.toThrow();
    }
    expect(containerOf(job)).toEqual(containerOf(cronJob));
    const writerAdmin = containerOf(findObject(objects, 'Deployment', '-writer')).env?.find(
      (entry) => entry.name === 'MX_UPSTREAM_ADMIN_TOKEN',
    );
    expect(writerAdmin?.valueFrom?.secretKeyRef?.optional).toBe(true);
    expect(objectsOfKind(render(), 'Job').map((candidate) => candidate.metadata.name)).toEqual([name('setup')]);
    expect(objectsOfKind(render({ 'companion.bootstrap.cronJob.enabled': false }), 'CronJob')).toEqual([]);
    // CronJob names may have 52 characters.
    const long = renderChart({ valuesFiles: companion, release: 'a-rather-long-release-name-for-a-companion-install' }).objects;
    expect(findObject(long, 'CronJob', '').metadata.name.length).toBeLessThanOrEqual(52);
  });

  it('NOTES.txt says how to mount the registration into Synapse and the Element Server Suite chart, and how to run the bootstrap', () => {
    const copy = join(mkdtempSync(join(tmpdir(), 'mx-chart-')), 'chart');
    cpSync(chartDir, copy, { recursive: true });
    const probe =
      'apiVersion: v1\nkind: ConfigMap\nmetadata: { name: notes }\ndata:\n  notes: |\n{{- include "matrix-profile-sync/templates/NOTES.txt" . | nindent 4 }}\n';
    writeFileSync(join(copy, 'templates', 'notes-probe.yaml'), probe);
    const output = execFileSync(
      chartTools().helm,
      ['template', 'mps', copy, '-n', 'matrix', '-f', join(copy, 'ci/companion-values.yaml'), '--show-only', 'templates/notes-probe.yaml'],
      { encoding: 'utf8' },
    );
    const notes = (parseDocument(output).toJS() as { data: { notes: string } }).data.notes;
    expect(notes).toContain('app_service_config_files:\n       - /appservices/matrix-profile-sync/registration.yaml');
    expect(notes).toContain('secret: { secretName: mps-matrix-profile-sync-appservice-registration }');
    expect(notes).toContain(
      'appservices:\n         - secret: mps-matrix-profile-sync-appservice-registration\n           secretKey: registration.yaml',
    );
    expect(notes).toContain('create job mps-matrix-profile-sync-bootstrap-$(date +%s) --from=cronjob/mps-matrix-profile-sync-bootstrap');
    expect(notes).toContain('http://mps-matrix-profile-sync-writer.matrix.svc:8101');
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
