#!/usr/bin/env bash
# The benchmark's Synapse: same as `deploy/local/synapse.sh start` with MSC4429 on (see _env.sh).
set -euo pipefail
# shellcheck source=test/bench/synapse/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec bash "$SYNAPSE_SH" start
