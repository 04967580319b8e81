import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

// Every app and lib is described alike wherever the workspace lists them: the folders under
// apps/ and libs/, the `@mx/*` paths of tsconfig.base.json (used by tsc, Vitest and ESLint),
// the paths of .swcrc (the build) and the projects of nest-cli.json.

const root = join(import.meta.dirname, '..', '..');
const readJson = (path: string): unknown => JSON.parse(readFileSync(join(root, path), 'utf8'));
const folders = (dir: string): string[] =>
  readdirSync(join(root, dir), { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .map((entry) => entry.name)
    .sort();

interface NestProject {
  readonly type: string;
  readonly root: string;
  readonly entryFile: string;
  readonly sourceRoot: string;
  readonly compilerOptions?: { readonly tsConfigPath?: string };
}

const apps = folders('apps');
const libs = folders('libs');
const tsPaths = (readJson('tsconfig.base.json') as { compilerOptions: { paths: Record<string, string[]> } }).compilerOptions.paths;
const swcPaths = (readJson('.swcrc') as { jsc: { paths: Record<string, string[]> } }).jsc.paths;
const nestProjects = (readJson('nest-cli.json') as { projects: Record<string, NestProject> }).projects;

describe('workspace projects', () => {
  it('tsconfig.base.json has one `@mx/<lib>` path per lib folder, to its src/index.ts', () => {
    expect(tsPaths).toEqual(Object.fromEntries(libs.map((lib) => [`@mx/${lib}`, [`./libs/${lib}/src/index.ts`]])));
  });

  it('.swcrc resolves the same paths', () => {
    expect(swcPaths).toEqual(Object.fromEntries(libs.map((lib) => [`@mx/${lib}`, [`libs/${lib}/src/index.ts`]])));
  });

  it('nest-cli.json lists every app and every lib, each with its entry file and tsconfig', () => {
    const project = (type: 'application' | 'library', dir: string, entryFile: string): NestProject => ({
      type,
      root: dir,
      entryFile,
      sourceRoot: `${dir}/src`,
      compilerOptions: { tsConfigPath: `${dir}/tsconfig.json` },
    });
    expect(nestProjects).toEqual(
      Object.fromEntries([
        ...apps.map((app) => [app, project('application', `apps/${app}`, 'main')]),
        ...libs.map((lib) => [lib, project('library', `libs/${lib}`, 'index')]),
      ]),
    );
    for (const { sourceRoot, entryFile, compilerOptions } of Object.values(nestProjects)) {
      expect(existsSync(join(root, sourceRoot, `${entryFile}.ts`)), `${sourceRoot}/${entryFile}.ts`).toBe(true);
      expect(existsSync(join(root, compilerOptions!.tsConfigPath!)), compilerOptions!.tsConfigPath).toBe(true);
    }
  });
});
