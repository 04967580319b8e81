// A Vitest reporter that writes what the JSON report leaves out, next to it (`<report>.outcome.json` for
// `--outputFile.json=<report>.json`), for test/support/summarize-results.mjs: the runner's own test counts, every
// error of a file or suite outside a test (a failing beforeAll/afterAll, an import error), every unhandled error
// (an unhandled rejection after a test passed), why the run ended, and the runner's exit status (a failing global
// teardown shows only there). Used by test/run.sh: `--reporter=./test/support/run-outcome-reporter.mjs`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';

/** `<dir>/<name>.json` → `<dir>/<name>.outcome.json`: where the outcome of the run reported in `jsonReport` goes. */
export function outcomePathFor(jsonReport) {
  return `${jsonReport.replace(/\.json$/, '')}.outcome.json`;
}

/** An error as the outcome keeps it: its type (for unhandled errors), name, first line of message, and the test file when known. */
function describeError(error, root) {
  const message = String(error?.message ?? error ?? 'unknown error').split('\n')[0];
  return {
    ...(error?.type ? { type: String(error.type) } : {}),
    name: String(error?.name ?? 'Error'),
    message,
    ...(error?.VITEST_TEST_PATH ? { file: relative(root, String(error.VITEST_TEST_PATH)) } : {}),
    ...(error?.VITEST_TEST_NAME ? { test: String(error.VITEST_TEST_NAME) } : {}),
  };
}

export default class RunOutcomeReporter {
  /** @param {{ outputFile?: string }} [options] where to write (default: next to the JSON report). */
  constructor(options = {}) {
    this.options = options;
    this.outcome = undefined;
    this.file = undefined;
  }

  onInit(vitest) {
    this.root = vitest.config.root;
    const configured = vitest.config.outputFile;
    const jsonReport = typeof configured === 'string' ? configured : configured?.json;
    const file = this.options.outputFile ?? (jsonReport ? outcomePathFor(jsonReport) : undefined);
    if (!file) return;
    this.file = resolve(this.root, file);
    // Written at once, so a stale outcome of an earlier run never passes for this one, and a run that never gets
    // to its end is seen as unfinished.
    this.outcome = { version: 1, startedAt: Date.now(), finished: false };
    this.write();
    if (!this.listening) {
      this.listening = true;
      // The runner's own exit status, known only once it has closed (global teardown errors set it after the run ended).
      process.once('exit', (code) => {
        if (!this.outcome) return;
        this.outcome.exitCode = code;
        this.write();
      });
    }
  }

  onTestRunEnd(testModules, unhandledErrors, reason) {
    if (!this.file) return;
    const tests = { passed: 0, failed: 0, skipped: 0 };
    const files = [];
    const outsideTests = [];
    for (const module of testModules) {
      const file = relative(this.root, module.moduleId);
      let failedTests = 0;
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === 'passed') tests.passed += 1;
        else if (state === 'failed') {
          tests.failed += 1;
          failedTests += 1;
        } else tests.skipped += 1; // skipped, todo, or pending (never ran: the run was cut short)
      }
      const errors = module.errors().map((error) => ({ file, ...describeError(error, this.root) }));
      for (const suite of module.children.allSuites())
        errors.push(...suite.errors().map((error) => ({ file, suite: suite.fullName, ...describeError(error, this.root) })));
      outsideTests.push(...errors);
      files.push({ file, project: module.project.name, state: module.state(), failedTests, errors: errors.length });
    }
    this.outcome = {
      ...this.outcome,
      finished: true,
      reason,
      tests,
      files,
      errorsOutsideTests: outsideTests,
      unhandledErrors: unhandledErrors.map((error) => describeError(error, this.root)),
    };
    this.write();
  }

  write() {
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(this.file, `${JSON.stringify(this.outcome, null, 2)}\n`);
  }
}
