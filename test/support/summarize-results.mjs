// Prints the runner's own counts from Vitest's JSON report as the plain line CI reads.
import { readFileSync } from 'node:fs';

const report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const skipped = report.numPendingTests + report.numTodoTests;
const failedSuites = report.testResults.filter((file) => file.status === 'failed' && file.assertionResults.length === 0).length;
process.stdout.write(
  `${report.numPassedTests} passed, ${report.numFailedTests + failedSuites} failed${skipped ? `, ${skipped} skipped` : ''}\n`,
);
