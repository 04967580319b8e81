#!/usr/bin/env bash
# Local infrastructure for dev/tests: PostgreSQL + Kafka (+ the nginx router on demand).
#
#   deploy/local/infra.sh up       start postgres and kafka in parallel, wait until both are ready
#   deploy/local/infra.sh down     stop router (if running), kafka and postgres
#   deploy/local/infra.sh status   exit 0 if postgres and kafka are both running
#
# Ports: postgres 127.0.0.1:15432, kafka 127.0.0.1:19092 (controller 19093),
#        router 127.0.0.1:8008 (start it with deploy/local/router.sh start).
# All state: $MX_LOCAL_DIR (default <repo>/.local).
set -euo pipefail
MX_TAG=infra
# shellcheck source=deploy/local/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
HERE="$MX_ROOT/deploy/local"

PIDS=()
cleanup_children() {
  # Ctrl-C / kill: interrupt our sub-scripts; each one stops what it had started.
  local p
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}

# run_parallel "name:cmd args" ... -> runs each in the background, reports timings
run_parallel() {
  local spec name rc=0 t0 i
  local -a names=() starts=()
  t0=$(now_ms)
  trap 'cleanup_children; exit 130' INT TERM
  for spec in "$@"; do
    name=${spec%%:*}
    # shellcheck disable=SC2086
    bash ${spec#*:} &
    PIDS+=($!); names+=("$name"); starts+=("$(now_ms)")
  done
  for i in "${!PIDS[@]}"; do
    if wait "${PIDS[$i]}"; then
      say "${names[$i]}: ok ($(secs_since "${starts[$i]}"))"
    else
      say "${names[$i]}: FAILED ($(secs_since "${starts[$i]}"))"; rc=1
    fi
  done
  trap - INT TERM
  PIDS=()
  ELAPSED="$(secs_since "$t0")"
  return $rc
}

cmd_up() {
  if run_parallel "postgres:$HERE/postgres.sh start" "kafka:$HERE/kafka.sh start"; then
    say "up in $ELAPSED  (postgres 127.0.0.1:${MX_PG_PORT:-15432}, kafka 127.0.0.1:${MX_KAFKA_PORT:-19092})"
  else
    say "up FAILED after $ELAPSED (services that did start keep running; 'infra.sh down' stops them)"
    return 1
  fi
}

cmd_down() {
  local rc=0
  bash "$HERE/router.sh" status >/dev/null 2>&1 && { bash "$HERE/router.sh" stop || rc=1; }
  run_parallel "kafka:$HERE/kafka.sh stop" "postgres:$HERE/postgres.sh stop" || rc=1
  say "down in $ELAPSED"
  return $rc
}

cmd_status() {
  local rc=0
  bash "$HERE/postgres.sh" status || rc=1
  bash "$HERE/kafka.sh" status || rc=1
  bash "$HERE/router.sh" status || true   # optional component
  return $rc
}

case "${1:-}" in
  up)     cmd_up ;;
  down)   cmd_down ;;
  status) cmd_status ;;
  *) echo "usage: $0 {up|down|status}" >&2; exit 2 ;;
esac
