#!/usr/bin/env bash
# The three services (writer, projector, sync-api) as local background processes, built in dist/.
#
#   deploy/local/services.sh start    migrate + provision topics, start the services, wait until ready
#   deploy/local/services.sh stop     SIGTERM (graceful), then SIGKILL after 15 s
#   deploy/local/services.sh status   exit 0 if all three are running
#
# Ports: writer MX_WRITER_PORT (8101), sync-api MX_SYNC_API_PORT (8102), projector MX_PROJECTOR_PORT (8103).
# Logs: $MX_LOCAL_DIR/logs/<service>.log. Configuration: deploy/local/local.env (the environment wins).
# Mode: MX_MODE (standalone | companion, with MX_UPSTREAM_URL and the appservice tokens) passes
# through the environment to the services; `start` refuses to mix modes with services already running.
set -euo pipefail
MX_TAG=services
# shellcheck source=deploy/local/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

RUN="$MX_LOCAL_DIR/run"
LOGS="$MX_LOCAL_DIR/logs"
mkdir -p "$RUN" "$LOGS"
SERVICES=(writer projector sync-api)

load_env() {
  local line key
  # The cluster and broker infra.sh started (MX_PG_PORT, MX_KAFKA_PORT), unless set explicitly.
  [[ -z ${MX_PG_PORT:-} ]] || export MX_DATABASE_PORT="${MX_DATABASE_PORT:-$MX_PG_PORT}"
  [[ -z ${MX_KAFKA_PORT:-} ]] || export MX_KAFKA_BROKERS="${MX_KAFKA_BROKERS:-127.0.0.1:$MX_KAFKA_PORT}"
  while IFS= read -r line; do
    [[ $line =~ ^[[:space:]]*(#|$) ]] && continue
    key=${line%%=*}
    [[ -n ${!key:-} ]] || export "${line?}"
  done <"$MX_ROOT/deploy/local/local.env"
  export KAFKAJS_NO_PARTITIONER_WARNING=1
}

port_of() {
  case $1 in
    writer) echo "${MX_WRITER_PORT:-8101}" ;;
    sync-api) echo "${MX_SYNC_API_PORT:-8102}" ;;
    projector) echo "${MX_PROJECTOR_PORT:-8103}" ;;
  esac
}

pid_of() { pidfile_pid "$RUN/$1.pid" "dist/apps/$1/src/main.js"; }

wait_ready() {
  local service=$1 port deadline
  port=$(port_of "$service")
  deadline=$(($(now_ms) + 60000))
  until curl -fsS -o /dev/null "http://127.0.0.1:$port/health/ready" 2>/dev/null; do
    if ! pid_of "$service" >/dev/null; then
      tail -n 30 "$LOGS/$service.log" >&2 || true
      die "$service exited during start-up (log: $LOGS/$service.log)"
    fi
    (($(now_ms) < deadline)) || die "$service not ready after 60 s (log: $LOGS/$service.log)"
    sleep 0.1
  done
}

# The mode the running services were started in ($RUN/mode), standalone when not recorded.
running_mode() { cat "$RUN/mode" 2>/dev/null || echo standalone; }

cmd_start() {
  load_env
  [[ -f "$MX_ROOT/dist/apps/writer/src/main.js" ]] || die "not built: run 'npm run build' first"
  local t0 service mode="${MX_MODE:-standalone}"
  t0=$(now_ms)
  for service in "${SERVICES[@]}"; do
    if pid_of "$service" >/dev/null && [[ $(running_mode) != "$mode" ]]; then
      die "the services run in $(running_mode) mode, not $mode: stop them first (bash $0 stop)"
    fi
  done
  node "$MX_ROOT/dist/apps/ops/src/main.js" setup
  for service in "${SERVICES[@]}"; do
    if pid_of "$service" >/dev/null; then
      say "$service already running"
      continue
    fi
    MX_HTTP_PORT=$(port_of "$service") nohup node --enable-source-maps $(heap_limit_flag "$service") $(semi_space_flag) "$MX_ROOT/dist/apps/$service/src/main.js" \
      >>"$LOGS/$service.log" 2>&1 </dev/null &
    echo $! >"$RUN/$service.pid"
  done
  echo "$mode" >"$RUN/mode"
  for service in "${SERVICES[@]}"; do wait_ready "$service"; done
  say "$mode: writer :$(port_of writer), sync-api :$(port_of sync-api), projector :$(port_of projector) ready in $(secs_since "$t0")"
}

# The V8 heap ceiling each service gets: what Node gives itself in the chart's containers (about
# half the memory limit: 512 MiB for the sync API's 1Gi, 256 MiB for the others' 512Mi), instead of
# a quarter of this machine's memory, which lets the heap grow with garbage it has no reason to
# collect. MX_NODE_HEAP_MIB, or a --max-old-space-size in NODE_OPTIONS, overrides it.
heap_limit_flag() {
  local default=256
  [[ $1 == sync-api ]] && default=512
  [[ "${NODE_OPTIONS:-}" == *max-old-space-size* ]] || echo "--max-old-space-size=${MX_NODE_HEAP_MIB:-$default}"
}

# MX_NODE_SEMI_SPACE_MIB caps every service's V8 semi-space (as the chart's syncApi.maxSemiSpaceMiB
# does for the sync API): less memory for more garbage-collection CPU and a longer latency tail.
# Unset, Node chooses (64 MiB under the sync API's 512 MiB heap).
semi_space_flag() {
  [[ -n "${MX_NODE_SEMI_SPACE_MIB:-}" ]] && echo "--max-semi-space-size=$MX_NODE_SEMI_SPACE_MIB"
  return 0
}

cmd_stop() {
  local service pid
  for service in "${SERVICES[@]}"; do
    if pid=$(pid_of "$service"); then
      term_then_kill "$pid" 15 "$service"
      say "$service stopped"
    fi
    rm -f "$RUN/$service.pid"
  done
  rm -f "$RUN/mode"
}

cmd_status() {
  local service rc=0 pid
  for service in "${SERVICES[@]}"; do
    if pid=$(pid_of "$service"); then say "$service running (pid $pid, $(running_mode))"; else say "$service not running"; rc=1; fi
  done
  return $rc
}

case ${1:-} in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|stop|status}" >&2; exit 64 ;;
esac
