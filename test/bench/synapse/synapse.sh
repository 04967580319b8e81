#!/usr/bin/env bash
# The benchmark's Synapse on http://127.0.0.1:8448: deploy/local/synapse.sh with MSC4429 on (see _env.sh).
#
#   synapse.sh {setup|start|stop|restart|status|url|rss|reset|register-user ...}   (deploy/local/synapse.sh's commands)
set -euo pipefail
# shellcheck source=test/bench/synapse/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"
exec bash "$SYNAPSE_SH" "$@"
