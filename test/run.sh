#!/usr/bin/env bash
# Runs every test (unit, then integration against real Kafka, PostgreSQL and the three services).
# Works on a fresh machine: provisions Node 24 when the system Node is older, installs the npm
# dependencies when missing, builds, and lets the integration setup start Kafka and PostgreSQL.
# Extra arguments go to Vitest (e.g. `bash test/run.sh --project unit`).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PATH="$(bash deploy/local/node.sh):$PATH"
export PATH
# Synapse 1.163.2 from PyPI (the Synapse integration tests' homeserver) is installed once into a cache outside the
# checkout, in the background while the rest installs and builds (about 30 s on a fresh machine); the tests wait for
# it (deploy/local/synapse.sh install holds a lock). Not for a run of the unit or deploy tests only.
synapse_projects=() previous_arg=
for arg in "$@"; do
  if [[ $previous_arg == --project ]]; then synapse_projects+=("$arg"); fi
  if [[ $arg == --project=* ]]; then synapse_projects+=("${arg#--project=}"); fi
  previous_arg=$arg
done
if [[ ${#synapse_projects[@]} -eq 0 || " ${synapse_projects[*]} " == *" integration "* ]]; then
  mkdir -p .local
  bash deploy/local/synapse.sh install >.local/synapse-install.log 2>&1 &
  # Debian's chromium for the browser test (test/tools/ensure-chromium.sh; apt-get, about 20 s once), which waits for it.
  bash test/tools/ensure-chromium.sh >.local/chromium-install.log 2>&1 &
fi
if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
mkdir -p .local
npm run build --silent
# The chart tests need helm and kubernetes-validate, the generated-input test schemathesis (built/installed once into a cache).
bash deploy/helm/tools/ensure-tools.sh >/dev/null
bash test/tools/ensure-schemathesis.sh >/dev/null
# The JSON report and, next to it, what it leaves out (unhandled errors, errors outside tests, the exit status), for
# test/support/summarize-results.mjs.
exec npx vitest run --config test/vitest.config.mts --reporter=default --reporter=json --outputFile.json=.local/test-results.json \
  --reporter=./test/support/run-outcome-reporter.mjs "$@"
