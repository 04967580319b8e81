#!/usr/bin/env bash
# Same as: bash deploy/local/synapse.sh stop
set -euo pipefail
# shellcheck source=test/bench/synapse/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec bash "$SYNAPSE_SH" stop
