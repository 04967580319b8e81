import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * The Helm chart as the tests see it: rendered by a real `helm template` (built by
 * deploy/helm/tools/ensure-tools.sh), parsed into plain objects.
 */
export const repoRoot = join(import.meta.dirname, '..', '..');
export const chartDir = join(repoRoot, 'deploy', 'helm', 'matrix-profile-sync');

export interface ChartTools {
  readonly helm: string;
  readonly kubeValidate: string;
}

let tools: ChartTools | undefined;

/** helm and kubernetes-validate, built or installed once into a cache (never skipped: a missing tool fails the test). */
export function chartTools(): ChartTools {
  if (tools) return tools;
  const output = execFileSync('bash', [join(repoRoot, 'deploy/helm/tools/ensure-tools.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const vars = Object.fromEntries(
    output
      .trim()
      .split('\n')
      .map((line) => line.split('=', 2) as [string, string]),
  );
  const helm = vars['MX_HELM'];
  const kubeValidate = vars['MX_KUBE_VALIDATE'];
  if (!helm || !kubeValidate) throw new Error(`ensure-tools.sh printed no tool paths:\n${output}`);
  tools = { helm, kubeValidate };
  return tools;
}

/** A Kubernetes object as rendered (loosely typed: tests read what they check). */
export interface K8sObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  readonly spec?: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- arbitrary manifests
  readonly data?: Record<string, string>;
}

export interface RenderOptions {
  /** Values files, relative to the chart (e.g. `ci/minimal-values.yaml`). */
  readonly valuesFiles?: readonly string[];
  /** `--set` / `--set-string` pairs. */
  readonly set?: Readonly<Record<string, string | number | boolean>>;
  readonly release?: string;
  readonly namespace?: string;
}

function helmArgs(command: 'template' | 'lint', options: RenderOptions): string[] {
  const args =
    command === 'template'
      ? ['template', options.release ?? 'mps', chartDir, '--namespace', options.namespace ?? 'matrix']
      : ['lint', '--strict', chartDir];
  for (const file of options.valuesFiles ?? []) args.push('-f', join(chartDir, file));
  for (const [key, value] of Object.entries(options.set ?? {}))
    args.push(typeof value === 'string' ? '--set-string' : '--set', `${key}=${String(value)}`);
  return args;
}

export interface HelmResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function runHelm(command: 'template' | 'lint', options: RenderOptions): HelmResult {
  const result = spawnSync(chartTools().helm, helmArgs(command, options), { encoding: 'utf8' });
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

/** `helm template`; throws with helm's message when it refuses the values. */
export function renderChart(options: RenderOptions = {}): { text: string; objects: K8sObject[] } {
  const result = runHelm('template', options);
  if (result.status !== 0) throw new Error(`helm template failed (${result.status}):\n${result.stderr}`);
  const objects = parseAllDocuments(result.stdout)
    .map((document) => document.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
  return { text: result.stdout, objects };
}

export function objectsOfKind(objects: readonly K8sObject[], kind: string): K8sObject[] {
  return objects.filter((object) => object.kind === kind);
}

export function findObject(objects: readonly K8sObject[], kind: string, nameSuffix: string): K8sObject {
  const found = objects.find((object) => object.kind === kind && object.metadata.name.endsWith(nameSuffix));
  if (!found) throw new Error(`no ${kind} named *${nameSuffix} in ${objects.map((o) => `${o.kind}/${o.metadata.name}`).join(', ')}`);
  return found;
}

export interface Container {
  readonly name: string;
  readonly command: string[];
  readonly envFrom?: { configMapRef?: { name: string } }[];
  readonly env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string; optional?: boolean } } }[];
  readonly ports?: { name: string; containerPort: number }[];
  readonly startupProbe?: { httpGet?: { path: string; port: string | number } };
  readonly livenessProbe?: { httpGet?: { path: string; port: string | number } };
  readonly readinessProbe?: { httpGet?: { path: string; port: string | number } };
  readonly securityContext?: Record<string, unknown>;
}

/** The pod template spec of a Deployment, Job or CronJob. */
export function podTemplateSpec(workload: K8sObject): Record<string, unknown> {
  const spec: unknown =
    workload.kind === 'CronJob' ? (workload.spec as { jobTemplate: { spec: unknown } }).jobTemplate.spec : workload.spec;
  return (spec as { template: { spec: Record<string, unknown> } }).template.spec;
}

/** The (single) container of a Deployment, Job or CronJob. */
export function containerOf(workload: K8sObject): Container {
  const containers = podTemplateSpec(workload)['containers'] as Container[];
  if (containers.length !== 1 || !containers[0]) throw new Error(`${workload.metadata.name}: expected one container`);
  return containers[0];
}

/**
 * The environment a container gets, resolved as the kubelet would: ConfigMaps from envFrom,
 * then env entries (literal values, or keys of Secrets; rendered Secrets are decoded, others
 * are looked up in `externalSecrets`).
 */
export function containerEnvironment(
  container: Container,
  objects: readonly K8sObject[],
  externalSecrets: Readonly<Record<string, Record<string, string>>> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const source of container.envFrom ?? []) {
    const name = source.configMapRef?.name;
    const configMap = objects.find((object) => object.kind === 'ConfigMap' && object.metadata.name === name);
    if (!configMap?.data) throw new Error(`envFrom names ConfigMap ${String(name)}, which the chart does not render`);
    Object.assign(env, configMap.data);
  }
  for (const entry of container.env ?? []) {
    if (entry.value !== undefined) env[entry.name] = entry.value;
    const ref = entry.valueFrom?.secretKeyRef;
    if (!ref) continue;
    const secret = objects.find((object) => object.kind === 'Secret' && object.metadata.name === ref.name);
    const encoded = secret?.data?.[ref.key];
    const value = secret
      ? encoded === undefined
        ? undefined
        : Buffer.from(encoded, 'base64').toString('utf8')
      : externalSecrets[ref.name]?.[ref.key];
    if (value === undefined) {
      // An optional reference to a missing key leaves the variable unset, as the kubelet does.
      if (ref.optional === true) continue;
      throw new Error(`${entry.name} reads ${ref.name}/${ref.key}, which does not exist`);
    }
    env[entry.name] = value;
  }
  return env;
}

/** The timeouts the chart's routing objects put between a client and the services. */
export interface RouteTimeouts {
  /** ingress-nginx's proxy-read-timeout / proxy-send-timeout annotations of the Ingress, in seconds. */
  readonly ingressRead?: number;
  readonly ingressSend?: number;
  /** `timeouts.request` of every HTTPRoute rule, in milliseconds. */
  readonly httpRouteRequests: number[];
}

/** A Gateway API duration (`1h2m3s4ms`) in milliseconds. */
export function gatewayDurationMs(duration: string): number {
  const units: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1 };
  if (!/^([0-9]{1,5}(h|m|s|ms)){1,4}$/.test(duration)) throw new Error(`not a Gateway API duration: ${duration}`);
  return [...duration.matchAll(/([0-9]+)(h|ms|m|s)/g)].reduce((total, match) => total + Number(match[1]) * units[match[2]!]!, 0);
}

export function routeTimeouts(objects: readonly K8sObject[]): RouteTimeouts {
  const ingress = objects.find((object) => object.kind === 'Ingress');
  const annotation = (name: string) => {
    const value = ingress?.metadata.annotations?.[`nginx.ingress.kubernetes.io/${name}`];
    return value === undefined ? undefined : Number(value);
  };
  const rules = objects
    .filter((object) => object.kind === 'HTTPRoute')
    .flatMap((route) => (route.spec as { rules: { timeouts?: { request?: string } }[] }).rules);
  return {
    ...(ingress ? { ingressRead: annotation('proxy-read-timeout'), ingressSend: annotation('proxy-send-timeout') } : {}),
    httpRouteRequests: rules.map((rule) => gatewayDurationMs(rule.timeouts?.request ?? '0s')),
  };
}

/**
 * Which backend (Service name) a request reaches through an HTTPRoute, by the Gateway API's
 * matching and precedence rules for the match types the chart uses (Exact and PathPrefix paths,
 * methods): among the rules' matches that the request satisfies, an Exact path beats any prefix,
 * a longer prefix beats a shorter one, and a match with a method beats one without.
 */
export function httpRouteBackendFor(route: K8sObject, method: string, path: string): string | undefined {
  const rules = (
    route.spec as { rules: { matches: { path: { type: string; value: string }; method?: string }[]; backendRefs: { name: string }[] }[] }
  ).rules;
  const candidates = rules.flatMap((rule) =>
    rule.matches.map((match) => {
      if (match.path.type !== 'Exact' && match.path.type !== 'PathPrefix')
        throw new Error(`HTTPRoute uses a ${match.path.type} match (implementation-specific)`);
      return { ...match, backend: rule.backendRefs[0]?.name };
    }),
  );
  const satisfied = candidates.filter(
    (candidate) =>
      (candidate.method === undefined || candidate.method === method) &&
      (candidate.path.type === 'Exact' ? candidate.path.value === path : elementPrefix(candidate.path.value, path)),
  );
  const rank = (candidate: (typeof satisfied)[number]) => [
    candidate.path.type === 'Exact' ? 1 : 0,
    candidate.path.value.replace(/\/+$/, '').length,
    candidate.method === undefined ? 0 : 1,
  ];
  satisfied.sort((a, b) => {
    const [ra, rb] = [rank(a), rank(b)];
    for (let index = 0; index < ra.length; index += 1) if (ra[index] !== rb[index]) return rb[index]! - ra[index]!;
    return 0;
  });
  return satisfied[0]?.backend;
}

/** `/a/b` is an element-wise prefix of `/a/b` and `/a/b/c`, not of `/a/bc` (Ingress Prefix and HTTPRoute PathPrefix alike). */
function elementPrefix(prefix: string, path: string): boolean {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return true;
  return path === trimmed || path.startsWith(`${trimmed}/`);
}

/** The Ingress paths of every rendered Ingress (the chart may split one host over two Ingresses), with the Ingress each is in. */
export function ingressPaths(
  objects: readonly K8sObject[],
): { ingress: string; path: string; pathType: string; service: string; port: { name?: string; number?: number } }[] {
  return objects
    .filter((object) => object.kind === 'Ingress')
    .flatMap((ingress) =>
      (
        ingress.spec as {
          rules: {
            http: {
              paths: { path: string; pathType: string; backend: { service: { name: string; port: { name?: string; number?: number } } } }[];
            };
          }[];
        }
      ).rules.flatMap((rule) =>
        rule.http.paths.map((entry) => ({
          ingress: ingress.metadata.name,
          path: entry.path,
          pathType: entry.pathType,
          service: entry.backend.service.name,
          port: entry.backend.service.port,
        })),
      ),
    );
}

/** Ingress path matching over the paths of every Ingress of one host (as ingress-nginx merges them): Exact beats Prefix, the longest Prefix wins. */
export function ingressBackendFor(objects: readonly K8sObject[], path: string): string | undefined {
  const paths = ingressPaths(objects);
  const exact = paths.find((entry) => entry.pathType === 'Exact' && entry.path === path);
  if (exact) return exact.service;
  return paths
    .filter((entry) => entry.pathType === 'Prefix' && elementPrefix(entry.path, path))
    .sort((a, b) => b.path.length - a.path.length)[0]?.service;
}
