#!/usr/bin/env bash
# Local HTTP router: our own nginx master in front of writer and sync-api
# (routing map: deploy/local/nginx/nginx.conf.template; with MX_MODE=companion
# deploy/local/nginx/companion.conf.template, in front of the homeserver too).
#
#   deploy/local/router.sh start    install Debian nginx if needed, render config, start
#                                   (or reload when already running)
#   deploy/local/router.sh render   render and check the config only (prints its path)
#   deploy/local/router.sh stop     graceful stop
#   deploy/local/router.sh status   exit 0 if running
#
# Env: MX_ROUTER_PORT (8008), MX_WRITER_PORT (8101), MX_SYNC_API_PORT (8102),
#      MX_ROUTER_ERROR_LOG_LEVEL (crit), MX_LOCAL_DIR,
#      MX_SYNC_MAX_TIMEOUT_MS (the services' /sync cap: the environment, else
#      deploy/local/local.env, else the services' default 120000),
#      MX_ROUTER_TIMEOUT_MARGIN_S (30): nginx's proxy timeouts are the cap plus this margin,
#      MX_MODE (standalone | companion, as the services), MX_UPSTREAM_URL (companion mode: the
#      homeserver, http://HOST:PORT, where everything the project does not serve goes).
# State: $MX_LOCAL_DIR/nginx/{nginx.conf,nginx.pid,logs/,temp/}
set -euo pipefail
MX_TAG=router
# shellcheck source=deploy/local/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

MODE="${MX_MODE:-standalone}"

# Sets TEMPLATE (and HOMESERVER in companion mode) from MX_MODE; only rendering needs them, so
# stop and status work whatever the mode variables say.
choose_template() {
  HOMESERVER=none
  case $MODE in
    standalone) TEMPLATE="$MX_ROOT/deploy/local/nginx/nginx.conf.template" ;;
    companion)
      TEMPLATE="$MX_ROOT/deploy/local/nginx/companion.conf.template"
      # nginx's upstream takes host:port: the homeserver's URL without a path (plain HTTP, as locally).
      [[ ${MX_UPSTREAM_URL:-} =~ ^http://([A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\])(:([0-9]+))?/?$ ]] ||
        die "MX_MODE=companion needs MX_UPSTREAM_URL=http://HOST[:PORT] (the homeserver; got '${MX_UPSTREAM_URL:-}')"
      HOMESERVER="${BASH_REMATCH[1]}:${BASH_REMATCH[3]:-80}"
      ;;
    *) die "MX_MODE must be standalone or companion (got '$MODE')" ;;
  esac
}

PREFIX="$MX_LOCAL_DIR/nginx"
CONF="$PREFIX/nginx.conf"
PIDFILE="$PREFIX/nginx.pid"
ERRLOG="$PREFIX/logs/error.log"
ROUTER_PORT="${MX_ROUTER_PORT:-8008}"
WRITER_PORT="${MX_WRITER_PORT:-8101}"
SYNC_API_PORT="${MX_SYNC_API_PORT:-8102}"
LEVEL="${MX_ROUTER_ERROR_LOG_LEVEL:-crit}"
# The services' default of MX_SYNC_MAX_TIMEOUT_MS (libs/config environment-variables.ts).
SYNC_MAX_TIMEOUT_MS_DEFAULT=120000
# File descriptors for nginx's worker: its 16384 worker_connections plus logs and listeners.
WANT_NOFILE=17000

# Raises this shell's soft open-files limit (inherited by nginx) as far as the hard limit allows;
# nginx's worker_rlimit_nofile asks for the same (and only root may go beyond the hard limit).
raise_nofile() {
  local hard
  hard="$(ulimit -Hn)"
  NOFILE=$WANT_NOFILE
  if [[ $hard != unlimited ]] && ((hard < WANT_NOFILE)) && ((EUID != 0)); then
    NOFILE=$hard
    say "warning: open-files hard limit is $hard; nginx can hold about $((hard / 2)) proxied requests (raise it to $WANT_NOFILE)"
  fi
  if [[ $(ulimit -Sn) != unlimited ]] && (($(ulimit -Sn) < NOFILE)); then ulimit -Sn "$NOFILE" 2>/dev/null || true; fi
}

find_nginx() {
  NGINX="$(command -v nginx 2>/dev/null || true)"
  [[ -n $NGINX ]] || { [[ -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx; }
  [[ -n $NGINX ]]
}

ensure_nginx() {
  find_nginx && return 0
  apt_install nginx
  find_nginx || die "nginx installed but not found"
}

running_pid() { pidfile_pid "$PIDFILE" "nginx: master"; }

# The value the services run with: the environment wins over local.env (as in services.sh).
sync_max_timeout_ms() {
  local value="${MX_SYNC_MAX_TIMEOUT_MS:-}"
  if [[ -z $value ]]; then
    value="$(sed -n 's/^[[:space:]]*MX_SYNC_MAX_TIMEOUT_MS=//p' "$MX_ROOT/deploy/local/local.env" | tail -n 1)"
  fi
  printf '%s\n' "${value:-$SYNC_MAX_TIMEOUT_MS_DEFAULT}"
}

# nginx's proxy read/send timeout in seconds: a /sync long-poll lasts up to the services' cap, so
# nginx must wait longer than that or every long-poll at the cap ends in nginx's 504.
proxy_timeout_s() {
  local max_ms margin
  max_ms="$(sync_max_timeout_ms)"
  margin="${MX_ROUTER_TIMEOUT_MARGIN_S:-30}"
  [[ $max_ms =~ ^[0-9]+$ ]] || die "MX_SYNC_MAX_TIMEOUT_MS must be a whole number of milliseconds (got '$max_ms')"
  [[ $margin =~ ^[0-9]+$ ]] && ((margin >= 1)) || die "MX_ROUTER_TIMEOUT_MARGIN_S must be a whole number of seconds, 1 or more (got '$margin')"
  printf '%s\n' $(((10#$max_ms + 999) / 1000 + 10#$margin))
}

render() {
  local proxy_timeout
  choose_template
  proxy_timeout="$(proxy_timeout_s)"
  mkdir -p "$PREFIX/logs" "$PREFIX/temp"
  sed -e "s|@@PREFIX@@|$PREFIX|g" \
      -e "s|@@PROXY_TIMEOUT_S@@|$proxy_timeout|g" \
      -e "s|@@ROUTER_PORT@@|$ROUTER_PORT|g" \
      -e "s|@@WRITER_PORT@@|$WRITER_PORT|g" \
      -e "s|@@SYNC_API_PORT@@|$SYNC_API_PORT|g" \
      -e "s|@@HOMESERVER@@|$HOMESERVER|g" \
      -e "s|@@ERROR_LOG_LEVEL@@|$LEVEL|g" \
      -e "s|@@NOFILE@@|$NOFILE|g" "$TEMPLATE" >"$CONF.new"
  ! grep -v '^ *#' "$CONF.new" | grep -q '@@[A-Z_]*@@' || die "unrendered placeholder in $TEMPLATE"
  # -e: nginx would otherwise try /var/log/nginx/error.log before reading the config
  if ! "$NGINX" -q -t -p "$PREFIX" -e "$ERRLOG" -c "$CONF.new" 2>"$PREFIX/logs/configtest.log"; then
    cat "$PREFIX/logs/configtest.log" >&2; rm -f "$CONF.new"
    die "nginx config test failed"
  fi
  mv "$CONF.new" "$CONF"
}

cmd_start() {
  local t0 pid; t0=$(now_ms)
  ensure_nginx
  raise_nofile
  render
  if pid="$(running_pid)"; then
    "$NGINX" -p "$PREFIX" -e "$ERRLOG" -c "$CONF" -s reload
    say "already running (pid $pid), config reloaded ($MODE); 127.0.0.1:$ROUTER_PORT"
    return 0
  fi
  rm -f "$PIDFILE"
  tcp_open "$ROUTER_PORT" && die "port 127.0.0.1:$ROUTER_PORT is already in use by another process (set MX_ROUTER_PORT)"
  if ! "$NGINX" -p "$PREFIX" -e "$ERRLOG" -c "$CONF" 2>"$PREFIX/logs/start.log" 9>&-; then
    cat "$PREFIX/logs/start.log" >&2; tail -n 10 "$ERRLOG" >&2 2>/dev/null || true
    die "nginx failed to start"
  fi
  local _
  # The listening socket is open before nginx daemonizes and writes its pid file (and names itself
  # "nginx: master"): wait for both, or a loaded machine reads the pid file too early.
  for _ in $(seq 50); do tcp_open "$ROUTER_PORT" && running_pid >/dev/null && break; sleep 0.1; done
  pid="$(running_pid)" || die "nginx did not stay up (see $ERRLOG)"
  tcp_open "$ROUTER_PORT" || { term_then_kill "$pid" 5 nginx; die "nginx not listening on $ROUTER_PORT"; }
  say "listening on 127.0.0.1:$ROUTER_PORT ($MODE: writer :$WRITER_PORT, sync-api :$SYNC_API_PORT$([[ $MODE == companion ]] && echo ", homeserver $HOMESERVER")) in $(secs_since "$t0")"
}

cmd_stop() {
  local pid
  if ! pid="$(running_pid)"; then rm -f "$PIDFILE"; say "not running"; return 0; fi
  kill -QUIT "$pid" 2>/dev/null || true      # graceful: finish in-flight requests
  if ! wait_gone "$pid" 10; then term_then_kill "$pid" 5 nginx; fi
  rm -f "$PIDFILE"
  say "stopped"
}

cmd_status() {
  local pid
  if pid="$(running_pid)"; then say "running (pid $pid) on 127.0.0.1:$ROUTER_PORT"; return 0; fi
  say "not running"; return 1
}

cmd_render() {
  ensure_nginx
  raise_nofile
  render
  printf '%s\n' "$CONF"
}

case "${1:-}" in
  start)  take_lock router 60; cmd_start ;;
  render) take_lock router 60; cmd_render ;;
  stop)   take_lock router 60; cmd_stop ;;
  status) cmd_status ;;
  *) echo "usage: $0 {start|render|stop|status}" >&2; exit 2 ;;
esac
