#!/usr/bin/env bash
# The whole stack on one machine, no Docker: PostgreSQL + Kafka (KRaft), the three services,
# and the nginx router on one client-facing URL (http://127.0.0.1:8008).
#
#   deploy/local/stack.sh up       provision Node 24 if needed, install, build, start everything
#   deploy/local/stack.sh down     stop everything (data is kept in .local/)
#   deploy/local/stack.sh status
set -euo pipefail
MX_TAG=stack
# shellcheck source=deploy/local/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
HERE="$MX_ROOT/deploy/local"

cmd_up() {
  local t0
  t0=$(now_ms)
  node_install_build
  bash "$HERE/infra.sh" up
  bash "$HERE/services.sh" start
  bash "$HERE/router.sh" start
  say "stack up in $(secs_since "$t0"): clients use http://127.0.0.1:${MX_ROUTER_PORT:-8008}"
}

cmd_down() {
  bash "$HERE/router.sh" stop || true
  bash "$HERE/services.sh" stop || true
  bash "$HERE/infra.sh" down
}

cmd_status() {
  local rc=0
  bash "$HERE/infra.sh" status || rc=1
  bash "$HERE/services.sh" status || rc=1
  bash "$HERE/router.sh" status || rc=1
  return $rc
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 {up|down|status}" >&2; exit 64 ;;
esac
