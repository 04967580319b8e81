#!/usr/bin/env bash
# Run the benchmark Synapse in the background on http://127.0.0.1:8448 (client API only).
#
#   synapse.sh start    run setup.sh first if it never ran; start Synapse, wait until
#                       GET /_matrix/client/versions answers 200, print the base URL
#   synapse.sh stop     SIGTERM (SIGKILL after 30 s) the Synapse of the pid file
#   synapse.sh status   exit 0 if running and answering; prints the base URL
#   synapse.sh url      print the base URL
#   synapse.sh rss      print the resident memory of the running Synapse (KiB)
#   synapse.sh reset    stop, drop and recreate the `synapse` database, empty the media store
#                       (a clean server for the next benchmark run; keys and config are kept)
#
# Env: see _env.sh (MX_SYNAPSE_PORT, MX_SYNAPSE_DIR, MX_SYNAPSE_VENV, MX_PG_PORT);
#      MX_SYNAPSE_START_TIMEOUT (seconds, default 180).
set -euo pipefail
# shellcheck source=test/bench/synapse/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"

cmd_start() {
  local t0 pid deadline timeout="${MX_SYNAPSE_START_TIMEOUT:-180}"
  t0=$(syn_now_ms)
  if pid="$(syn_pid)"; then
    syn_versions_ok || syn_die "Synapse (pid $pid) is running but $SYN_URL does not answer"
    syn_say "already running (pid $pid)"
    echo "$SYN_URL"
    return 0
  fi
  if [[ ! -f $SYN_MARKER || ! -f $SYN_CONFIG || ! -f $SYN_DIR/secrets.env ]]; then
    bash "$SYN_HERE/setup.sh"
  fi
  syn_port_open "$SYN_PORT" && syn_die "127.0.0.1:$SYN_PORT is already in use by another process"
  mkdir -p "$SYN_DIR/logs"
  # setsid: its own session, so a Ctrl-C in the caller's terminal does not reach it.
  (cd "$SYN_DIR" && exec setsid "$SYN_PY" -m synapse.app.homeserver -c "$SYN_CONFIG" \
     </dev/null >>"$SYN_DIR/logs/stdout.log" 2>&1) &
  pid=$!
  echo "$pid" >"$SYN_PIDFILE"
  deadline=$(( $(syn_now_ms) + timeout * 1000 ))
  until syn_versions_ok; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$SYN_PIDFILE"
      tail -n 30 "$SYN_DIR/logs/stdout.log" "$SYN_DIR/logs/homeserver.log" >&2 2>/dev/null || true
      syn_die "Synapse exited during startup (logs: $SYN_DIR/logs)"
    fi
    if (( $(syn_now_ms) >= deadline )); then
      cmd_stop >/dev/null || true
      syn_die "Synapse did not answer $SYN_URL/_matrix/client/versions within ${timeout}s (logs: $SYN_DIR/logs)"
    fi
    sleep 0.2
  done
  syn_say "ready on $SYN_URL (pid $pid) in $(syn_secs_since "$t0")"
  echo "$SYN_URL"
}

cmd_stop() {
  local pid t0 i
  if ! pid="$(syn_pid)"; then rm -f "$SYN_PIDFILE"; syn_say "not running"; return 0; fi
  t0=$(syn_now_ms)
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    syn_pid >/dev/null || break
    sleep 0.1
  done
  if syn_pid >/dev/null; then
    syn_warn "pid $pid did not exit within 30s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$SYN_PIDFILE"
  syn_say "stopped in $(syn_secs_since "$t0")"
}

cmd_status() {
  local pid
  if pid="$(syn_pid)"; then
    if syn_versions_ok; then syn_say "running (pid $pid) on $SYN_URL"; echo "$SYN_URL"; return 0; fi
    syn_say "running (pid $pid) but not answering on $SYN_URL"; return 1
  fi
  syn_say "not running"; return 1
}

cmd_rss() {
  local pid
  pid="$(syn_pid)" || syn_die "not running"
  awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}

cmd_reset() {
  cmd_stop
  [[ -x $SYN_PY ]] || syn_die "venv missing; run setup.sh"
  "$SYN_PY" - "$SYN_PG_HOST" "$SYN_PG_PORT" "$SYN_PG_USER" "$SYN_PG_PASS" "$SYN_DB" <<'PY'
import sys, psycopg2
from psycopg2 import sql
h, p, u, pw, db = sys.argv[1:]
if db in ("matrix", "matrix_test", "postgres"):
    sys.exit(f"[synapse] ERROR: refusing to drop {db}")
c = psycopg2.connect(host=h, port=int(p), user=u, password=pw, dbname="postgres", connect_timeout=5)
c.autocommit = True
c.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(db)))
print(f"[synapse] dropped database {db}")
PY
  rm -rf "$SYN_DIR/media_store" "$SYN_DIR"/.schema-*
  bash "$SYN_HERE/setup.sh"
}

case "${1:-}" in
  start)  cmd_start ;;
  stop)   cmd_stop ;;
  status) cmd_status ;;
  url)    echo "$SYN_URL" ;;
  rss)    cmd_rss ;;
  reset)  cmd_reset ;;
  *) echo "usage: $0 {start|stop|status|url|rss|reset}" >&2; exit 2 ;;
esac
