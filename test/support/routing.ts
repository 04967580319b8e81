import type { K8sObject } from './chart.js';

/**
 * Which backend a client path reaches through each of the project's routers, computed the way
 * each router decides: the chart's Ingress (networking.k8s.io path types), its Gateway API
 * HTTPRoute, and the nginx configurations of deploy/local and deploy/docker.
 */

/** Ingress path matching: an Exact path beats any Prefix; among Prefixes the longest wins; Prefix matches whole path elements. */
export function ingressBackend(ingress: K8sObject, path: string): string | undefined {
  const rules = (
    ingress.spec as { rules: { http: { paths: { path: string; pathType: string; backend: { service: { name: string } } }[] } }[] }
  ).rules;
  const paths = rules.flatMap((rule) => rule.http.paths);
  const exact = paths.find((entry) => entry.pathType === 'Exact' && entry.path === path);
  if (exact) return exact.backend.service.name;
  const prefixes = paths
    .filter((entry) => entry.pathType === 'Prefix' && elementPrefix(entry.path, path))
    .sort((a, b) => b.path.length - a.path.length);
  return prefixes[0]?.backend.service.name;
}

/** HTTPRoute matching (core support only): Exact beats PathPrefix; the longest prefix wins. */
export function httpRouteBackend(route: K8sObject, path: string): string | undefined {
  const rules = (route.spec as { rules: { matches: { path: { type: string; value: string } }[]; backendRefs: { name: string }[] }[] })
    .rules;
  const candidates = rules.flatMap((rule) => rule.matches.map((match) => ({ ...match.path, backend: rule.backendRefs[0]?.name })));
  const exact = candidates.find((candidate) => candidate.type === 'Exact' && candidate.value === path);
  if (exact) return exact.backend;
  for (const candidate of candidates) {
    if (candidate.type !== 'Exact' && candidate.type !== 'PathPrefix')
      throw new Error(`HTTPRoute uses a ${candidate.type} match (implementation-specific)`);
  }
  const prefixes = candidates
    .filter((candidate) => candidate.type === 'PathPrefix' && elementPrefix(candidate.value, path))
    .sort((a, b) => b.value.length - a.value.length);
  return prefixes[0]?.backend;
}

/** `/a/b` is an element-wise prefix of `/a/b` and `/a/b/c`, not of `/a/bc`. */
function elementPrefix(prefix: string, path: string): boolean {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed === '') return true;
  return path === trimmed || path.startsWith(`${trimmed}/`);
}

interface NginxLocation {
  readonly modifier: '=' | '~' | '~*' | '^~' | '';
  readonly pattern: string;
  /** The upstream name of `proxy_pass http://<name>`, or `return <status>`. */
  readonly target: string;
}

/** The `location` blocks of an nginx configuration's server (one server, flat locations, as ours are). */
export function nginxLocations(config: string): NginxLocation[] {
  const locations: NginxLocation[] = [];
  const pattern = /location\s+(=|~\*|~|\^~)?\s*(\S+)\s*\{([^}]*)\}/g;
  for (const match of config.matchAll(pattern)) {
    const body = match[3] ?? '';
    const proxy = /proxy_pass\s+http:\/\/([A-Za-z0-9_.-]+)/.exec(body);
    const ret = /return\s+(\d{3})/.exec(body);
    const target = proxy?.[1] ?? (ret ? `return ${ret[1] ?? ''}` : 'none');
    locations.push({ modifier: (match[1] ?? '') as NginxLocation['modifier'], pattern: match[2] ?? '', target });
  }
  return locations;
}

/**
 * nginx's location choice: an exact `=` match wins; otherwise the longest prefix is remembered
 * (and wins at once if it is `^~`); then regular expressions are tried in order and the first
 * match wins; otherwise the remembered prefix.
 */
export function nginxTarget(locations: readonly NginxLocation[], path: string): string | undefined {
  const exact = locations.find((location) => location.modifier === '=' && location.pattern === path);
  if (exact) return exact.target;
  const prefix = locations
    .filter((location) => (location.modifier === '' || location.modifier === '^~') && path.startsWith(location.pattern))
    .sort((a, b) => b.pattern.length - a.pattern.length)[0];
  if (prefix?.modifier === '^~') return prefix.target;
  for (const location of locations) {
    if (location.modifier !== '~' && location.modifier !== '~*') continue;
    if (new RegExp(location.pattern, location.modifier === '~*' ? 'i' : '').test(path)) return location.target;
  }
  return prefix?.target;
}

/** A concrete path for a route pattern as the services log it (`/rooms/:roomId/state/:eventType`). */
export function samplePath(routePattern: string): string {
  const samples: Record<string, string> = {
    userId: '%40alice%3Aexample.org',
    roomId: '!room%3Aexample.org',
    roomIdOrAlias: '%23room%3Aexample.org',
    keyName: 'm.status',
    filterId: '42',
    eventType: 'm.room.member',
    stateKey: '%40alice%3Aexample.org',
  };
  return routePattern.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const sample = samples[name];
    if (sample === undefined) throw new Error(`no sample value for route parameter :${name} (add one to samplePath)`);
    return sample;
  });
}
