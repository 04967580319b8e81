import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { compareMarkdown } from './compare.js';
import { parseArgv, resolveOptions, USAGE } from './options.js';
import { type Report } from './report/model.js';
import { runBenchmark } from './run.js';

async function readReport(dir: string): Promise<Report> {
  const file = dir.endsWith('.json') ? dir : path.join(dir, 'report.json');
  const parsed = JSON.parse(await readFile(file, 'utf8')) as { schema?: unknown };
  if (parsed.schema !== 'mx-bench/1') throw new Error(`${file} is not a benchmark report`);
  return parsed as Report;
}

async function compare(positionals: string[], out: string | undefined): Promise<void> {
  const [a, b] = positionals;
  if (!a || !b) throw new Error('compare needs two report directories');
  const nameA = path.basename(path.resolve(a));
  const nameB = path.basename(path.resolve(b));
  const markdown = compareMarkdown(await readReport(a), await readReport(b), nameA, nameB);
  const file = out ?? path.join(path.dirname(path.resolve(a)), `compare-${nameA}-vs-${nameB}.md`);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, markdown);
  process.stdout.write(markdown);
  process.stderr.write(`[bench] comparison written to ${path.relative(process.cwd(), file)}\n`);
}

async function main(argv: string[]): Promise<number> {
  const { flags, positionals } = parseArgv(argv);
  if (flags.has('help')) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const command = positionals[0] === 'compare' || positionals[0] === 'run' ? positionals.shift() : 'run';
  if (command === 'compare') {
    const out = flags.get('out')?.at(-1);
    await compare(positionals, out);
    return 0;
  }
  if (positionals.length) throw new Error(`unexpected arguments: ${positionals.join(' ')} (see --help)`);
  const options = resolveOptions(flags, process.env);
  const dir = await runBenchmark(options);
  process.stdout.write(`report: ${path.relative(process.cwd(), dir)}/report.md\n`);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`[bench] error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
