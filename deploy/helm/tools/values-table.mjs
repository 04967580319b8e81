#!/usr/bin/env node
// Prints the chart's values table (Markdown) from values.yaml's `# --` comments, or with
// --write replaces the table between the markers in the chart README. A key is documented by
// a `# --` comment right above it; a map without one is documented key by key.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, parseDocument } from 'yaml';

const chartDir = join(import.meta.dirname, '..', 'matrix-profile-sync');
const START = '<!-- values:start -->';
const END = '<!-- values:end -->';

/** Rows of [key, default, description]; undocumented leaves come back in `missing`. */
export function valuesRows(source) {
  const document = parseDocument(source);
  const rows = [];
  const missing = [];
  const visit = (map, prefix) => {
    map.items.forEach((pair, index) => {
      const key = `${prefix}${String(isScalar(pair.key) ? pair.key.value : pair.key)}`;
      // The yaml parser hangs the comment above a map's first key on the map itself.
      const comments = [index === 0 ? map.commentBefore : undefined, pair.key?.commentBefore, pair.commentBefore];
      const comment = comments.filter(Boolean).join('\n');
      const doc = /(?:^|\n)\s*-- ([\s\S]*)$/
        .exec(comment)?.[1]
        ?.replace(/\s*\n\s*/g, ' ')
        .trim();
      if (doc) {
        rows.push([key, JSON.stringify(pair.value?.toJSON?.() ?? pair.value ?? null), doc]);
      } else if (isMap(pair.value) && pair.value.items.length > 0) {
        visit(pair.value, `${key}.`);
      } else {
        missing.push(key);
      }
    });
  };
  if (!isMap(document.contents)) throw new Error('values.yaml is not a map');
  visit(document.contents, '');
  return { rows, missing };
}

export function valuesTable(source) {
  const { rows } = valuesRows(source);
  const escape = (text) => text.replace(/\|/g, '\\|');
  return [
    '| Key | Default | Description |',
    '|---|---|---|',
    ...rows.map(([key, value, doc]) => `| \`${key}\` | \`${escape(value)}\` | ${escape(doc)} |`),
  ].join('\n');
}

export function readmeWithTable(readme, table) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README lacks the ${START} / ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n${table}\n${readme.slice(end)}`;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const table = valuesTable(readFileSync(join(chartDir, 'values.yaml'), 'utf8'));
  if (process.argv.includes('--write')) {
    const readmePath = join(chartDir, 'README.md');
    writeFileSync(readmePath, readmeWithTable(readFileSync(readmePath, 'utf8'), table));
  } else {
    process.stdout.write(`${table}\n`);
  }
}
