#!/usr/bin/env node
// Prints the README's table of environment variables (Markdown) from the configuration class,
// libs/config/src/environment-variables.ts, or with --write replaces the table between the
// markers in the README. The variables are the properties class-validator validates, in the
// class's order; a variable's meaning is its doc comment; its default is the value a new instance
// holds (`unset` when none, `empty` for ""), or the doc comment's `@default` tag for a default
// the class does not hold (one per service, or derived from another variable).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { getMetadataStorage } from 'class-validator';
import ts from 'typescript';

const root = join(import.meta.dirname, '..', '..');
export const CLASS_SOURCE = join(root, 'libs', 'config', 'src', 'environment-variables.ts');
export const README = join(root, 'README.md');
const CLASS_NAME = 'EnvironmentVariables';
const START = '<!-- environment:start -->';
const END = '<!-- environment:end -->';

const oneLine = (text) => text?.replace(/\s+/g, ' ').trim() || undefined;

/** Each property of the class in declaration order, with its doc comment and `@default` tag. */
function documentedProperties(source) {
  const file = ts.createSourceFile('environment-variables.ts', source, ts.ScriptTarget.Latest, true);
  const declaration = file.statements.find((statement) => ts.isClassDeclaration(statement) && statement.name?.text === CLASS_NAME);
  if (!declaration) throw new Error(`${CLASS_NAME} is not declared in the source`);
  return declaration.members.filter(ts.isPropertyDeclaration).map((property) => {
    const doc = ts.getJSDocCommentsAndTags(property).filter(ts.isJSDoc).at(-1);
    const defaultTag = doc?.tags?.find((tag) => tag.tagName.text === 'default');
    return {
      name: property.name.getText(file),
      meaning: oneLine(ts.getTextOfJSDocComment(doc?.comment)),
      defaultTag: defaultTag ? oneLine(ts.getTextOfJSDocComment(defaultTag.comment)) : undefined,
    };
  });
}

function byteSize(value) {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ]) {
    if (value >= size && value % size === 0) return ` (${value / size} ${unit})`;
  }
  return '';
}

function defaultOf(name, value, defaultTag) {
  if (value !== undefined && defaultTag !== undefined) return { problem: `${name} holds a default and has a @default tag` };
  if (defaultTag !== undefined) return { text: defaultTag };
  if (value === undefined) return { text: 'unset' };
  if (value === '') return { text: 'empty' };
  const suffix = typeof value === 'number' && name.endsWith('_BYTES') ? byteSize(value) : '';
  return { text: `\`${String(value)}\`${suffix}` };
}

/**
 * Rows of [variable, default, meaning] from the class and its source; what keeps the table from
 * being complete (a variable without a doc comment, a property without a rule, …) comes back in `problems`.
 */
export function environmentRows(environmentClass, source) {
  const validated = new Set(
    getMetadataStorage()
      .getTargetValidationMetadatas(environmentClass, '', false, false)
      .map((rule) => rule.propertyName),
  );
  const instance = new environmentClass();
  const properties = documentedProperties(source);
  const problems = [];
  const rows = [];
  for (const { name, meaning, defaultTag } of properties) {
    if (!validated.has(name)) problems.push(`${name} has no validation rule`);
    if (meaning === undefined) problems.push(`${name} has no doc comment`);
    const { text, problem } = defaultOf(name, instance[name], defaultTag);
    if (problem) problems.push(problem);
    rows.push([name, text ?? '', meaning ?? '']);
  }
  const declared = new Set(properties.map(({ name }) => name));
  for (const name of validated) if (!declared.has(name)) problems.push(`${name} is validated but not declared in the source`);
  return { rows, problems };
}

/** The rows as a Markdown table, aligned the way Prettier aligns it. */
export function environmentTable(rows) {
  const escape = (text) => text.replace(/\|/g, '\\|');
  const cells = [
    ['variable', 'default', 'meaning'],
    ...rows.map(([name, value, meaning]) => [`\`${name}\``, escape(value), escape(meaning)]),
  ];
  const width = (text) => [...text].length;
  const widths = cells[0].map((_, column) => Math.max(3, ...cells.map((row) => width(row[column]))));
  const line = (row) => `| ${row.map((cell, column) => cell + ' '.repeat(widths[column] - width(cell))).join(' | ')} |`;
  return [line(cells[0]), `| ${widths.map((size) => '-'.repeat(size)).join(' | ')} |`, ...cells.slice(1).map(line)].join('\n');
}

export function readmeWithTable(readme, table) {
  const start = readme.indexOf(START);
  const end = readme.indexOf(END);
  if (start < 0 || end < start) throw new Error(`README lacks the ${START} / ${END} markers`);
  return `${readme.slice(0, start + START.length)}\n\n${table}\n\n${readme.slice(end)}`;
}

/** The class itself, compiled from its source with its decorators (no build needed). */
async function loadClass(source) {
  const { outputText } = ts.transpileModule(source, {
    compilerOptions: {
      module: ts.ModuleKind.ESNext,
      target: ts.ScriptTarget.ES2022,
      experimentalDecorators: true,
      emitDecoratorMetadata: true,
      useDefineForClassFields: false,
    },
  });
  // Inside the repository, so that its imports resolve to node_modules.
  const dir = join(root, '.local', 'tools');
  mkdirSync(dir, { recursive: true });
  const compiled = join(dir, `environment-variables.${process.pid}.mjs`);
  writeFileSync(compiled, outputText);
  try {
    return (await import(pathToFileURL(compiled).href))[CLASS_NAME];
  } finally {
    rmSync(compiled);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const source = readFileSync(CLASS_SOURCE, 'utf8');
  const { rows, problems } = environmentRows(await loadClass(source), source);
  if (problems.length > 0) {
    process.stderr.write(`${problems.join('\n')}\n`);
    process.exit(1);
  }
  const table = environmentTable(rows);
  if (process.argv.includes('--write')) writeFileSync(README, readmeWithTable(readFileSync(README, 'utf8'), table));
  else process.stdout.write(`${table}\n`);
}
