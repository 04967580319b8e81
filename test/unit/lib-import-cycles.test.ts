import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

// The libs form a graph without cycles: a lib may use another only if that one does not use it
// back, directly or through others. Type-only imports count (a cycle of types still ties the two
// libs together). Edges are the `@mx/*` imports of each lib's sources (tsconfig.base.json's
// paths), and relative imports that leave the lib's folder.

const root = join(import.meta.dirname, '..', '..');
const libsDir = join(root, 'libs');

interface Edge {
  readonly from: string;
  readonly to: string;
  /** The files (relative to the repository) that make this edge. */
  readonly files: string[];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(path);
    return /\.(ts|mts|cts)$/.test(entry.name) && !entry.name.endsWith('.d.ts') ? [path] : [];
  });
}

/** The lib of each `@mx/*` alias, from tsconfig.base.json (whose paths the apps, swc and Vitest all use). */
function aliasLibs(): Map<string, string> {
  const tsconfig = JSON.parse(readFileSync(join(root, 'tsconfig.base.json'), 'utf8')) as {
    compilerOptions: { paths: Record<string, string[]> };
  };
  return new Map(
    Object.entries(tsconfig.compilerOptions.paths).flatMap(([alias, [target]]) => {
      const match = /^\.?\/?libs\/([^/]+)\//.exec(target ?? '');
      return match?.[1] ? [[alias, match[1]] as const] : [];
    }),
  );
}

/** The lib a path lies in, if any. */
function libOf(path: string): string | undefined {
  const inside = relative(libsDir, path);
  return inside.startsWith('..') ? undefined : inside.split(sep)[0];
}

function libImportGraph(): Edge[] {
  const aliases = aliasLibs();
  const edges = new Map<string, Edge>();
  const libs = readdirSync(libsDir, { withFileTypes: true }).filter((entry) => entry.isDirectory());
  for (const lib of libs) {
    for (const file of sourceFiles(join(libsDir, lib.name, 'src'))) {
      // preProcessFile finds every import, export-from, `import type`, `import()` and `require`, and skips comments and strings.
      const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
      for (const { fileName } of importedFiles) {
        const target = fileName.startsWith('.') ? libOf(resolve(dirname(file), fileName)) : aliases.get(fileName);
        if (target === undefined || target === lib.name) continue;
        const key = `${lib.name} -> ${target}`;
        const edge = edges.get(key) ?? { from: lib.name, to: target, files: [] };
        edge.files.push(relative(root, file));
        edges.set(key, edge);
      }
    }
  }
  return [...edges.values()];
}

/** Every cycle of the graph, as its strongly connected components of more than one lib (Tarjan). */
function cycles(edges: readonly Edge[]): string[][] {
  const next = new Map<string, string[]>();
  for (const { from, to } of edges) next.set(from, [...(next.get(from) ?? []), to]);
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (node: string): void => {
    index.set(node, index.size);
    low.set(node, index.get(node)!);
    stack.push(node);
    onStack.add(node);
    for (const target of next.get(node) ?? []) {
      if (!index.has(target)) {
        visit(target);
        low.set(node, Math.min(low.get(node)!, low.get(target)!));
      } else if (onStack.has(target)) {
        low.set(node, Math.min(low.get(node)!, index.get(target)!));
      }
    }
    if (low.get(node) === index.get(node)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop()!;
        onStack.delete(member);
        component.push(member);
      } while (member !== node);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const node of new Set(edges.flatMap(({ from, to }) => [from, to]))) if (!index.has(node)) visit(node);
  return found;
}

describe('imports between libs', () => {
  it('finds the finder’s own examples: a two-lib cycle, a three-lib cycle, and none in a chain', () => {
    const edge = (from: string, to: string): Edge => ({ from, to, files: [] });
    expect(cycles([edge('a', 'b'), edge('b', 'a'), edge('b', 'c')])).toEqual([['a', 'b']]);
    expect(cycles([edge('a', 'b'), edge('b', 'c'), edge('c', 'a'), edge('d', 'a')])).toEqual([['a', 'b', 'c']]);
    expect(cycles([edge('a', 'b'), edge('b', 'c'), edge('a', 'c')])).toEqual([]);
  });

  it('sees the libs’ imports (type-only ones too)', () => {
    const edges = libImportGraph().map(({ from, to }) => `${from} -> ${to}`);
    // event-log's Nest module reads APP_CONFIG.
    expect(edges).toContain('event-log -> config');
    expect(edges.length).toBeGreaterThan(5);
  });

  it('form no cycle', () => {
    const edges = libImportGraph();
    const found = cycles(edges).map((libs) =>
      edges
        .filter(({ from, to }) => libs.includes(from) && libs.includes(to))
        .map(({ from, to, files }) => `${from} -> ${to} (${files.join(', ')})`)
        .join('; '),
    );
    expect(found).toEqual([]);
  });
});
