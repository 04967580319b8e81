import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The closing line of a test run (test/support/summarize-results.mjs), which CI reads: it must never say "0 failed"
 * for a run that failed. The fixtures in fixtures/vitest-runs are what Vitest 5.1.1 wrote for real runs of tiny test
 * files (the JSON report, and the outcome test/support/run-outcome-reporter.mjs writes next to it; paths shortened to
 * /project/); the last describe block makes such runs for real.
 */
const root = join(import.meta.dirname, '..', '..');
const summarizer = join(root, 'test/support/summarize-results.mjs');
const reporter = join(root, 'test/support/run-outcome-reporter.mjs');
const fixtures = join(import.meta.dirname, 'fixtures', 'vitest-runs');
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'mx-summarize-'));
afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

let runs = 0;
/** A copy of a fixture run in a directory of its own: the report, then (unless left out) the outcome written after it. */
function copyRun(fixture: string, { outcome = true } = {}): string {
  const dir = join(work, `run-${++runs}`);
  mkdirSync(dir);
  cpSync(join(fixtures, fixture, 'report.json'), join(dir, 'report.json'));
  if (outcome) cpSync(join(fixtures, fixture, 'report.outcome.json'), join(dir, 'report.outcome.json'));
  return dir;
}

/** The summarizer's output lines for `<dir>/report.json` (and the exit status, when given). */
async function summarize(dir: string, ...exitStatus: string[]): Promise<string[]> {
  const { stdout } = await run(process.execPath, [summarizer, join(dir, 'report.json'), ...exitStatus], { cwd: dir });
  return stdout.trimEnd().split('\n');
}

const last = (lines: string[]) => lines[lines.length - 1];

describe('the summary line of a run', () => {
  it.each([
    // fixture, the runner's exit status, the line, what the lines before it must say
    ['all-passing', '0', '2 passed, 0 failed', []],
    ['failed-test', '1', '1 passed, 1 failed', []],
    ['before-all-failed', '1', '1 passed, 1 failed, 2 skipped', [/failed outside a test: a\.test\.mjs: Error: setup boom/]],
    ['suite-before-all-failed', '1', '1 passed, 1 failed, 1 skipped', [/failed outside a test: a\.test\.mjs > s: Error: suite setup boom/]],
    ['after-all-failed', '1', '1 passed, 1 failed', [/failed outside a test: a\.test\.mjs: Error: teardown boom/]],
    ['import-failed', '1', '1 passed, 1 failed', [/failed outside a test: a\.test\.mjs: Error: import boom/]],
    [
      'unhandled-rejection',
      '1',
      '1 passed, 1 failed',
      [/unhandled error \(Unhandled Rejection\): Error: nobody caught me \(during a\.test\.mjs\)/],
    ],
    ['global-teardown-failed', '1', '1 passed, 1 failed', [/exited with status 1, yet no failed test.*counted as 1 failed/]],
    ['global-setup-failed', '1', '0 passed, 1 failed', [/the run failed before any test file ran.*counted as 1 failed/]],
    [
      'mixed',
      '1',
      '3 passed, 4 failed, 2 skipped',
      [/after-all\.test\.mjs: Error: teardown boom/, /before-all\.test\.mjs: Error: setup boom/, /nobody caught me/],
    ],
  ] as const)('%s (exit %s): %s', async (fixture, exitStatus, line, notes) => {
    const dir = copyRun(fixture);
    for (const lines of [await summarize(dir, exitStatus), await summarize(dir)]) {
      expect(last(lines)).toBe(line);
      const before = lines.slice(0, -1);
      expect(before).toHaveLength(notes.length);
      notes.forEach((note, index) => expect(before[index]).toMatch(note));
    }
  });

  it.each(['failed-test', 'before-all-failed', 'after-all-failed', 'unhandled-rejection', 'global-teardown-failed', 'global-setup-failed'])(
    'counts %s as failed from the JSON report and the exit status alone (no outcome file)',
    async (fixture) => {
      const lines = await summarize(copyRun(fixture, { outcome: false }), '1');
      expect(last(lines)).toMatch(/^\d+ passed, [1-9]\d* failed/);
    },
  );

  it('counts every file whose hook failed from the JSON report alone, beside the failed tests', async () => {
    expect(last(await summarize(copyRun('mixed', { outcome: false }), '1'))).toBe('3 passed, 3 failed, 2 skipped');
  });

  it('says 1 failed when there is no report at all', async () => {
    const dir = join(work, 'no-report');
    mkdirSync(dir);
    expect(await summarize(dir, '1')).toEqual([expect.stringMatching(/no test report.*counted as 1 failed/), '0 passed, 1 failed']);
    expect(last(await summarize(dir))).toBe('0 passed, 1 failed');
  });

  it('says failed when the run never reached its end (the outcome is the one written at start)', async () => {
    const dir = copyRun('all-passing', { outcome: false });
    writeFileSync(join(dir, 'report.outcome.json'), JSON.stringify({ version: 1, startedAt: Date.now(), finished: false }));
    expect(last(await summarize(dir))).toBe('2 passed, 1 failed');
  });

  it('counts a non-zero exit status even when everything else passed, and a status that is not one', async () => {
    expect(last(await summarize(copyRun('all-passing'), '137'))).toBe('2 passed, 1 failed');
    expect(last(await summarize(copyRun('all-passing'), 'unknown'))).toBe('2 passed, 1 failed');
  });

  it('ignores an outcome file written long before the report (another run)', async () => {
    const dir = copyRun('all-passing', { outcome: false });
    cpSync(join(fixtures, 'mixed', 'report.outcome.json'), join(dir, 'report.outcome.json'));
    const hourAgo = new Date(Date.now() - 3_600_000);
    utimesSync(join(dir, 'report.outcome.json'), hourAgo, hourAgo);
    const lines = await summarize(dir, '0');
    expect(lines[0]).toMatch(/^ignored .*report\.outcome\.json: written before this run/);
    expect(last(lines)).toBe('2 passed, 0 failed');
  });
});

/** Vitest's own variables: a Vitest started from a test must not take itself for one of this run's workers. */
function withoutVitestVariables(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST') && name !== 'TEST'));
}

/** Runs Vitest for real on `files` (test files using Vitest's globals) in a project of their own, with the reporters test/run.sh uses. */
async function runVitest(name: string, files: Record<string, string>, config = ''): Promise<{ dir: string; status: number }> {
  const dir = join(work, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'vitest.config.mjs'), `export default { test: { globals: true, include: ['*.test.mjs']${config} } };\n`);
  for (const [file, source] of Object.entries(files)) writeFileSync(join(dir, file), source);
  const args = [join(root, 'node_modules/vitest/vitest.mjs'), 'run', '--root', dir, '--config', join(dir, 'vitest.config.mjs')];
  args.push('--reporter=json', `--outputFile.json=${join(dir, 'report.json')}`, `--reporter=${reporter}`);
  try {
    await run(process.execPath, args, { cwd: dir, env: withoutVitestVariables() });
    return { dir, status: 0 };
  } catch (error) {
    return { dir, status: (error as { code: number }).code };
  }
}

describe('on real runs of Vitest', () => {
  it('counts a failing beforeAll, an unhandled rejection and a failing global teardown', { timeout: 60_000 }, async () => {
    const [mixed, teardown] = await Promise.all([
      runVitest('real-mixed', {
        'passes.test.mjs': "it('passes', () => {});\n",
        'before-all.test.mjs': "beforeAll(() => { throw new Error('setup boom'); });\nit('skipped', () => {});\n",
        'unhandled.test.mjs': "it('passes, then rejects', () => { Promise.reject(new Error('nobody caught me')); });\n",
      }),
      runVitest(
        'real-teardown',
        {
          'passes.test.mjs': "it('passes', () => {});\n",
          'setup.mjs': "export default () => async () => { throw new Error('global teardown boom'); };\n",
        },
        ", globalSetup: ['./setup.mjs']",
      ),
    ]);
    expect([mixed.status, teardown.status]).toEqual([1, 1]);
    expect(await summarize(mixed.dir)).toEqual([
      'failed outside a test: before-all.test.mjs: Error: setup boom',
      'unhandled error (Unhandled Rejection): Error: nobody caught me (during unhandled.test.mjs)',
      '2 passed, 2 failed, 1 skipped',
    ]);
    expect(last(await summarize(mixed.dir, String(mixed.status)))).toBe('2 passed, 2 failed, 1 skipped');
    // Neither the report nor the reporter's counts see a global teardown error: the runner's exit status does.
    expect(last(await summarize(teardown.dir))).toBe('1 passed, 1 failed');
    expect(last(await summarize(teardown.dir, String(teardown.status)))).toBe('1 passed, 1 failed');
  });
});
