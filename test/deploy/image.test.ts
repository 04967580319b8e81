import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentVariables, validateEnvironment } from '@mx/config';
import { getMetadataStorage } from 'class-validator';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { containerOf, findObject, renderChart, repoRoot } from '../support/chart.js';

/**
 * The container image and the compose file, read offline (no Docker engine here): what they
 * run must exist in the build, and the configuration they pass must be what the services read.
 */
const dockerfile = readFileSync(join(repoRoot, 'deploy/docker/Dockerfile'), 'utf8');
const schemaVariables = new Set(
  getMetadataStorage()
    .getTargetValidationMetadatas(EnvironmentVariables, '', true, false)
    .map((metadata) => metadata.propertyName),
);

function instruction(name: string): string[] {
  return [...dockerfile.matchAll(new RegExp(`^${name}\\s+(.+)$`, 'gm'))].map((match) => match[1] ?? '');
}

describe('Dockerfile', () => {
  const entrypoint = JSON.parse(instruction('ENTRYPOINT')[0] ?? '[]') as string[];

  it('starts Node under tini, as the chart’s commands do', () => {
    expect(entrypoint).toEqual(['/usr/bin/tini', '--', 'node', '--enable-source-maps']);
    const { objects } = renderChart({ valuesFiles: ['ci/minimal-values.yaml'] });
    for (const service of ['writer', 'projector', 'sync-api']) {
      expect(containerOf(findObject(objects, 'Deployment', `-${service}`)).command).toEqual([
        ...entrypoint,
        `dist/apps/${service}/src/main.js`,
      ]);
    }
  });

  it('has one target per service whose command exists in the build', () => {
    const targets = Object.fromEntries(
      [...dockerfile.matchAll(/^FROM runtime AS (\S+)\nCMD (.+)$/gm)].map((match) => [
        match[1] ?? '',
        JSON.parse(match[2] ?? '[]') as string[],
      ]),
    );
    expect(Object.keys(targets).sort()).toEqual(['ops', 'projector', 'sync-api', 'writer']);
    for (const command of Object.values(targets)) expect(existsSync(join(repoRoot, command[0] ?? 'missing')), command[0]).toBe(true);
  });

  it('runs as the non-root user the chart expects', () => {
    const users = instruction('USER');
    expect(users).toEqual(['1000:1000']);
    const { objects } = renderChart({ valuesFiles: ['ci/minimal-values.yaml'] });
    const podSecurity = (
      findObject(objects, 'Deployment', '-writer').spec as { template: { spec: { securityContext: Record<string, unknown> } } }
    ).template.spec.securityContext;
    expect(podSecurity).toMatchObject({ runAsUser: 1000, runAsGroup: 1000 });
  });

  it('copies only what .dockerignore lets into the build context', () => {
    const allowed = readFileSync(join(repoRoot, '.dockerignore'), 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('!'))
      .map((line) => line.slice(1).replace(/\/$/, ''));
    const sources = instruction('COPY')
      .filter((args) => !args.startsWith('--from'))
      .flatMap((args) =>
        args
          .split(/\s+/)
          .filter((word) => !word.startsWith('--'))
          .slice(0, -1),
      );
    expect(sources.length).toBeGreaterThan(0);
    for (const source of sources) expect(allowed, source).toContain(source);
  });
});

describe('compose.yaml', () => {
  const compose = parse(readFileSync(join(repoRoot, 'deploy/docker/compose.yaml'), 'utf8'), { merge: true }) as {
    services: Record<string, { command?: string[]; environment?: Record<string, string>; volumes?: string[] }>;
  };

  it.each(['setup', 'writer', 'projector', 'sync-api'])('%s runs a built entry point with a configuration the services accept', (name) => {
    const service = compose.services[name];
    expect(service?.command?.[0]).toBeDefined();
    expect(existsSync(join(repoRoot, service?.command?.[0] ?? 'missing'))).toBe(true);
    const env = service?.environment ?? {};
    expect(Object.keys(env).filter((key) => !schemaVariables.has(key))).toEqual([]);
    expect(() => validateEnvironment(env)).not.toThrow();
  });

  it('mounts the router configuration that exists', () => {
    const mount = compose.services['router']?.volumes?.[0] ?? '';
    expect(existsSync(join(repoRoot, 'deploy/docker', mount.split(':')[0] ?? 'missing'))).toBe(true);
  });
});
