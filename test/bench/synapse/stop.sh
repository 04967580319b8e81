#!/usr/bin/env bash
# Same as: bash test/bench/synapse/synapse.sh stop
set -euo pipefail
exec bash "$(dirname "${BASH_SOURCE[0]}")/synapse.sh" stop
