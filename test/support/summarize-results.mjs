// Prints the runner's own counts as the plain line CI reads last: `N passed, N failed[, N skipped]`, after one line
// per failure that is not a failed test. Usage: node test/support/summarize-results.mjs <report.json> [<exit status>]
//
// Vitest's JSON report (<report.json>) leaves out unhandled errors and global setup/teardown errors, and reports a
// failing beforeAll only as skipped tests. So the failures also come from what run-outcome-reporter.mjs wrote next to
// it (<report>.outcome.json: errors outside tests, unhandled errors, the runner's exit status), and from the exit
// status of the runner: a failed run never reads "0 failed".
//   failed = failed tests + errors outside a test (each failing beforeAll/afterAll, import error) + unhandled errors
//            + failed files with none of these; at least 1 when the run failed in any other way (non-zero exit
//            status, no report, a run that never reached its end, the runner's own verdict).
import { readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { outcomePathFor } from './run-outcome-reporter.mjs';

/** An outcome written more than this before the report belongs to another run. */
const STALE_MS = 10_000;

const firstLine = (text) => String(text).split('\n')[0].trim();
const where = (file) => (file.startsWith('/') ? relative(process.cwd(), file) : file);

/**
 * @param {{ report?: any, outcome?: any, exitStatus?: number | string }} input the JSON report, the outcome (when
 *   present and of the same run), the runner's exit status (when known)
 * @returns {{ passed: number, failed: number, skipped: number, notes: string[], line: string }}
 */
export function summarize({ report, outcome, exitStatus }) {
  const notes = [];
  let passed = 0;
  let skipped = 0;
  let failed = 0;
  const runFailed = []; // evidence that the run failed, whatever the counts say

  if (report) {
    passed = report.numPassedTests;
    skipped = report.numPendingTests + report.numTodoTests;
    // A file whose beforeAll failed has only skipped tests, one whose afterAll failed only passed ones; it counts.
    const failedFiles = report.testResults.filter(
      (file) => file.status === 'failed' && !file.assertionResults.some((test) => test.status === 'failed'),
    );
    failed = report.numFailedTests + failedFiles.length;
    if (!outcome?.finished)
      for (const file of failedFiles)
        notes.push(`failed outside its tests: ${where(file.name)}${file.message ? `: ${firstLine(file.message)}` : ''}`);
  }

  if (!report) runFailed.push('no test report: the runner failed before writing one');
  if (outcome && !outcome.finished) runFailed.push('the run never reached its end');
  if (report && outcome?.finished) {
    const { tests, files, errorsOutsideTests, unhandledErrors } = outcome;
    passed = tests.passed;
    skipped = tests.skipped;
    for (const error of errorsOutsideTests)
      notes.push(`failed outside a test: ${error.file}${error.suite ? ` > ${error.suite}` : ''}: ${error.name}: ${error.message}`);
    for (const error of unhandledErrors)
      notes.push(
        `unhandled error${error.type ? ` (${error.type})` : ''}: ${error.name}: ${error.message}${error.file ? ` (during ${where(error.file)}${error.test ? ` > ${error.test}` : ''})` : ''}`,
      );
    const otherFailedFiles = files.filter((file) => file.state === 'failed' && file.failedTests === 0 && file.errors === 0);
    for (const file of otherFailedFiles) notes.push(`failed: ${file.file}`);
    // The report is a cross-check: whichever source saw more failures wins.
    failed = Math.max(failed, tests.failed + errorsOutsideTests.length + unhandledErrors.length + otherFailedFiles.length);
    if (outcome.reason !== 'passed')
      runFailed.push(files.length === 0 ? `the run failed before any test file ran` : `the runner ended the run as ${outcome.reason}`);
  }

  for (const [status, source] of [
    [exitStatus, 'the runner'],
    [outcome?.exitCode, 'the runner (as its reporter saw it)'],
  ]) {
    if (status === undefined || status === null || status === '') continue;
    if (!/^\d+$/.test(String(status))) runFailed.push(`${source} gave no exit status (${JSON.stringify(status)})`);
    else if (Number(status) !== 0) runFailed.push(`${source} exited with status ${status}`);
  }
  if (report?.success === false) runFailed.push('the report says the run failed');
  if (failed === 0 && runFailed.length > 0) {
    failed = 1;
    notes.push(
      `${runFailed[0]}, yet no failed test, hook or unhandled error was reported (global setup or teardown? see the log above): counted as 1 failed`,
    );
  }
  const line = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
  return { passed, failed, skipped, notes, line };
}

function readJson(path) {
  try {
    return { value: JSON.parse(readFileSync(path, 'utf8')), mtimeMs: statSync(path).mtimeMs };
  } catch (error) {
    return { error };
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const [reportPath, exitStatus] = process.argv.slice(2);
  if (!reportPath) {
    process.stderr.write('usage: node test/support/summarize-results.mjs <report.json> [<exit status>]\n');
    process.exit(2);
  }
  const report = readJson(reportPath);
  const outcomePath = outcomePathFor(reportPath);
  let outcome = readJson(outcomePath);
  const notes = [];
  if (report.error && report.error.code !== 'ENOENT') notes.push(`unreadable report ${reportPath}: ${firstLine(report.error.message)}`);
  if (outcome.value && report.value && outcome.mtimeMs < report.mtimeMs - STALE_MS) {
    notes.push(`ignored ${outcomePath}: written before this run (the run did not use test/support/run-outcome-reporter.mjs)`);
    outcome = {};
  }
  const summary = summarize({ report: report.value, outcome: outcome.value, exitStatus });
  process.stdout.write([...notes, ...summary.notes, summary.line].join('\n') + '\n');
}
