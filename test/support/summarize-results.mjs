// Prints the runner's own counts from Vitest's JSON report as the plain line CI reads.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
// Files that failed without running a test, and a run that failed before any file (global setup), count too.
const failedSuites = report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
const runFailed = report.success === false && report.numFailedTests + failedSuites === 0 ? 1 : 0;
process.stdout.write(
  `${report.numPassedTests} passed, ${report.numFailedTests + failedSuites + runFailed} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
);
