#!/usr/bin/env bash
# Synapse 1.163.2 (the reference Matrix homeserver, from PyPI, pinned) as a local component, no Docker and none of
# Synapse's code in the repo: the homeserver companion mode runs in front of, the integration tests' Synapse
# (test/support/synapse.ts) and the benchmark's (test/bench/synapse/). Details: deploy/local/synapse/README.md.
#
#   deploy/local/synapse.sh install    venv with matrix-synapse==1.163.2 (+ psycopg2) in the cache, once (a minute or
#                                      more on a fresh machine; concurrent callers wait for one install)
#   deploy/local/synapse.sh setup      install, database on the local PostgreSQL, config, keys, schema (idempotent)
#   deploy/local/synapse.sh start      setup, then start in the background and wait until GET
#                                      /_matrix/client/versions answers 200; prints the base URL
#   deploy/local/synapse.sh stop       SIGTERM (SIGKILL after 30 s)
#   deploy/local/synapse.sh restart    stop + start (settings are read at start only)
#   deploy/local/synapse.sh status     exit 0 when running and answering; prints the base URL
#   deploy/local/synapse.sh register-user [--admin] [--exists-ok] NAME PASSWORD
#                                      a user registered with the registration shared secret
#                                      (register_new_matrix_user); prints the user ID
#   deploy/local/synapse.sh appservice print the appservice registration's settings and tokens as KEY=VALUE lines
#   deploy/local/synapse.sh url | rss  the base URL | VmRSS of the running Synapse (KiB)
#   deploy/local/synapse.sh reset      stop, drop and recreate the database (only one named synapse*), empty the
#                                      media store (a clean server; keys, secrets and tokens are kept)
#
# Env (defaults in brackets):
#   MX_SYNAPSE_PORT [8448]            client listener on 127.0.0.1 (plain HTTP, no federation)
#   MX_SYNAPSE_DB [synapse]           database on the project's local PostgreSQL (a-z, 0-9, _)
#   MX_SYNAPSE_DIR [$MX_LOCAL_DIR/synapse]  config, keys, secrets, appservice tokens, logs, media, pid file
#   MX_SYNAPSE_VENV [~/.cache/mx-synapse/venv]  outside the repo
#   MX_PG_PORT [15432]                deploy/local/postgres.sh's cluster (started when down, never stopped here)
#   MX_SYNAPSE_MSC4429 [false]        Synapse's own MSC4429 (include_profile_updates_in_sync); the benchmark: true
#   MX_SYNAPSE_RATE_LIMITS [raised]   raised (every rc_* far above any local load) | default (Synapse's own)
#   MX_SYNAPSE_BCRYPT_ROUNDS [4]      MX_SYNAPSE_LOG_LEVEL [WARNING]   MX_SYNAPSE_START_TIMEOUT [180] (seconds)
#   MX_SYNAPSE_APPSERVICE_URL [unset] set (e.g. http://127.0.0.1:8105): the appservice registration
#                                     `matrix-profile-sync` is rendered and listed in app_service_config_files
#   MX_APPSERVICE_AS_TOKEN, MX_APPSERVICE_HS_TOKEN  its tokens [generated once, kept in $MX_SYNAPSE_DIR/appservice.env]
#   MX_SYNAPSE_SKIP_SCHEMA=1          leave the schema to Synapse's start instead of applying it in setup
# Settings are rendered on every setup/start; `start` refuses when the running Synapse was started with other ones.
set -euo pipefail
MX_TAG=synapse
# shellcheck source=deploy/local/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"

HERE="$MX_ROOT/deploy/local/synapse"
VERSION=1.163.2
PSYCOPG2_VERSION=2.9.13
VENV="${MX_SYNAPSE_VENV:-${HOME:-/root}/.cache/mx-synapse/venv}"
PY="$VENV/bin/python"
MARKER="$VENV/.mx-synapse-$VERSION"
SYNAPSE_DIR="${MX_SYNAPSE_DIR:-$MX_LOCAL_DIR/synapse}"
mkdir -p "$SYNAPSE_DIR"
SYNAPSE_DIR="$(cd "$SYNAPSE_DIR" && pwd)"
PORT="${MX_SYNAPSE_PORT:-8448}"
DB="${MX_SYNAPSE_DB:-synapse}"
PG_HOST=127.0.0.1 PG_PORT="${MX_PG_PORT:-15432}" PG_USER=matrix PG_PASS=matrix
CONFIG="$SYNAPSE_DIR/homeserver.yaml"
PIDFILE="$SYNAPSE_DIR/synapse.pid"
RUNNING_HASH="$SYNAPSE_DIR/synapse.confighash"
SECRETS="$SYNAPSE_DIR/secrets.env"
AS_ID=matrix-profile-sync
AS_SENDER=_mx_profile_sync
AS_FILE="$SYNAPSE_DIR/appservice-registration.yaml"
AS_TOKENS="$SYNAPSE_DIR/appservice.env"
URL="http://127.0.0.1:$PORT"
SERVER_NAME=localhost   # homeserver.template.yaml

[[ $DB =~ ^[a-z0-9_]+$ ]] || die "MX_SYNAPSE_DB may hold a-z, 0-9 and _ (got '$DB')"
[[ $PORT =~ ^[0-9]+$ ]] || die "MX_SYNAPSE_PORT must be a port number (got '$PORT')"
[[ $SYNAPSE_DIR != *"'"* ]] || die "MX_SYNAPSE_DIR must not contain a quote"

syn_pid() { pidfile_pid "$PIDFILE" "synapse.app.homeserver -c $CONFIG"; }
versions_ok() { [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$URL/_matrix/client/versions" 2>/dev/null)" == 200 ]]; }

# lock_instance: serialize setup/start/stop/reset of this Synapse dir (fd 9; Synapse itself gets 9>&-)
lock_instance() {
  command -v flock >/dev/null || return 0
  exec 9>"$SYNAPSE_DIR/.lock"
  flock -w "${MX_SYNAPSE_LOCK_TIMEOUT:-900}" 9 || die "another operation on $SYNAPSE_DIR is still running"
}

# ---- install ----------------------------------------------------------------------------------
venv_verified() {
  [[ -f $MARKER && -x $PY ]] &&
    "$PY" -c 'import synapse, psycopg2, sys; sys.exit(synapse.__version__ != sys.argv[1])' "$VERSION" 2>/dev/null
}

do_install() {
  local t0 t1
  t0=$(now_ms)
  command -v python3 >/dev/null || die "python3 (3.10+) not found"
  python3 -c 'import sys; sys.exit(sys.version_info < (3, 10))' || die "Synapse $VERSION needs Python 3.10+ ($(python3 --version))"
  say "installing matrix-synapse==$VERSION and psycopg2-binary==$PSYCOPG2_VERSION from PyPI into $VENV (once)"
  [[ -x $PY ]] || python3 -m venv "$VENV"
  "$PY" -m pip install -q --disable-pip-version-check --upgrade pip
  t1=$(now_ms)
  # The PostgreSQL driver as the psycopg2-binary wheel (the same module as the [postgres] extra's psycopg2, whose
  # source build costs 16 s of the 2 cores and needs pg_config, a C compiler and the Python headers); that source
  # build only when no wheel fits this machine.
  if ! "$PY" -m pip install -q --disable-pip-version-check "matrix-synapse==$VERSION" "psycopg2-binary==$PSYCOPG2_VERSION"; then
    warn "no psycopg2-binary wheel; installing matrix-synapse[postgres] (psycopg2 built from source)"
    "$PY" -m pip install -q --disable-pip-version-check "matrix-synapse[postgres]==$VERSION"
  fi
  touch "$MARKER"
  venv_verified || { rm -f "$MARKER"; die "matrix-synapse $VERSION did not install correctly in $VENV"; }
  say "venv installed in $(secs_since "$t0") (pip upgrade $(( (t1 - t0) / 1000 ))s, matrix-synapse $(secs_since "$t1"))"
}

# cmd_install [quick]: quick = trust the marker (setup/start); otherwise also import-check the venv.
# One install at a time per venv (flock on fd 8): a second caller waits, then finds it done.
cmd_install() {
  if [[ ${1:-} == quick && -f $MARKER && -x $PY ]] || venv_verified; then
    [[ ${1:-} == quick ]] || say "venv ok: $VENV (matrix-synapse $VERSION)"
    return 0
  fi
  mkdir -p "$(dirname "$VENV")"
  (
    if command -v flock >/dev/null; then
      exec 8>"$VENV.install.lock"
      if ! flock -n 8; then
        say "another process is installing Synapse into $VENV; waiting for it"
        flock -w "${MX_SYNAPSE_INSTALL_TIMEOUT:-900}" 8 || die "the install into $VENV did not finish in time"
      fi
    fi
    if venv_verified; then say "venv ok: $VENV (matrix-synapse $VERSION)"; exit 0; fi
    do_install
  )
}

# ---- PostgreSQL + database ----------------------------------------------------------------------
pg_py() { # pg_py SCRIPT [ARGS...]: Python with psycopg2 and the connection settings as argv[1:6]
  local script=$1; shift
  "$PY" -c "$script" "$PG_HOST" "$PG_PORT" "$PG_USER" "$PG_PASS" "$DB" "$@"
}

pg_reachable() {
  pg_py '
import sys, psycopg2
h, p, u, pw, _ = sys.argv[1:6]
psycopg2.connect(host=h, port=int(p), user=u, password=pw, dbname="postgres", connect_timeout=3).close()' 2>/dev/null
}

ensure_db() {
  if ! pg_reachable; then
    say "PostgreSQL not reachable on $PG_HOST:$PG_PORT; starting it with deploy/local/postgres.sh"
    bash "$MX_ROOT/deploy/local/postgres.sh" start 9>&-
    pg_reachable || die "PostgreSQL still not reachable on $PG_HOST:$PG_PORT as $PG_USER"
  fi
  # Created as `matrix` (it has CREATEDB); if it cannot, as the cluster's `postgres` superuser (trust auth in the
  # local dev cluster, see deploy/local/postgres.sh) with OWNER matrix. Synapse needs C collation.
  pg_py '
import sys, psycopg2
from psycopg2 import sql
h, p, u, pw, db = sys.argv[1:6]
def connect(user, password):
    c = psycopg2.connect(host=h, port=int(p), user=user, password=password, dbname="postgres", connect_timeout=5)
    c.autocommit = True
    return c
cur = connect(u, pw).cursor()
cur.execute("SELECT datcollate, datctype FROM pg_database WHERE datname = %s", (db,))
row = cur.fetchone()
if row:
    if tuple(row) != ("C", "C"):
        sys.exit(f"[synapse] ERROR: database {db} exists with LC_COLLATE/LC_CTYPE {row}, Synapse needs C/C; "
                 f"drop it (deploy/local/synapse.sh reset)")
    sys.exit(0)
create = sql.SQL("CREATE DATABASE {} OWNER {} ENCODING {} LC_COLLATE {} LC_CTYPE {} TEMPLATE template0").format(
    sql.Identifier(db), sql.Identifier(u), sql.Literal("UTF8"), sql.Literal("C"), sql.Literal("C"))
try:
    cur.execute(create)
except psycopg2.errors.InsufficientPrivilege:
    connect("postgres", None).cursor().execute(create)
print(f"[synapse] database {db} created (C collation, owner {u})")'
}

drop_db() {
  [[ $DB == synapse* ]] || die "refusing to drop database $DB: reset only drops databases named synapse*"
  pg_py '
import sys, psycopg2
from psycopg2 import sql
h, p, u, pw, db = sys.argv[1:6]
c = psycopg2.connect(host=h, port=int(p), user=u, password=pw, dbname="postgres", connect_timeout=5)
c.autocommit = True
c.cursor().execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
print(f"[synapse] dropped database {db}")'
}

# ---- config -------------------------------------------------------------------------------------
# gen_token PREFIX: a fresh random token (hex, safe in YAML, headers and URLs)
gen_token() { "$PY" -c 'import secrets, sys; print(sys.argv[1] + secrets.token_hex(24))' "$1"; }

ensure_secrets() {
  if [[ ! -f $SECRETS ]]; then
    (
      umask 077
      "$PY" -c '
import secrets
for k in ("SYN_MACAROON_SECRET", "SYN_REGISTRATION_SECRET", "SYN_FORM_SECRET"):
    print(f"{k}={secrets.token_urlsafe(32)}")' >"$SECRETS.tmp"
      mv "$SECRETS.tmp" "$SECRETS"
    )
    say "generated secrets -> $SECRETS"
  fi
  set -a
  # shellcheck disable=SC1090
  source "$SECRETS"
  set +a
}

# env_value FILE KEY: the value of KEY=... in FILE (empty when missing)
env_value() {
  if [[ -f $1 ]]; then sed -n "s/^$2=//p" "$1" | head -n1; fi
}

# ensure_appservice: sets SYN_APPSERVICE_FILES; renders the registration when MX_SYNAPSE_APPSERVICE_URL is set
ensure_appservice() {
  local url="${MX_SYNAPSE_APPSERVICE_URL:-}" as hs
  AS_URL=none
  if [[ -z $url ]]; then
    SYN_APPSERVICE_FILES='[]'
    rm -f "$AS_FILE"
    return 0
  fi
  local plain_url='^https?://[][A-Za-z0-9.:_~%/-]+$'
  [[ $url =~ $plain_url ]] || die "MX_SYNAPSE_APPSERVICE_URL is not a plain http(s) URL: '$url'"
  url="${url%/}"
  AS_URL="$url"
  as="${MX_APPSERVICE_AS_TOKEN:-$(env_value "$AS_TOKENS" MX_APPSERVICE_AS_TOKEN)}"
  hs="${MX_APPSERVICE_HS_TOKEN:-$(env_value "$AS_TOKENS" MX_APPSERVICE_HS_TOKEN)}"
  [[ -n $as ]] || as="$(gen_token as_)"
  [[ -n $hs ]] || hs="$(gen_token hs_)"
  [[ $as =~ ^[A-Za-z0-9._~+/=-]+$ && $hs =~ ^[A-Za-z0-9._~+/=-]+$ ]] ||
    die "MX_APPSERVICE_AS_TOKEN / MX_APPSERVICE_HS_TOKEN may hold letters, digits and ._~+/=- only"
  [[ $as != "$hs" ]] || die "the as_token and the hs_token must differ"
  (
    umask 077
    cat >"$AS_TOKENS.tmp" <<EOF
# The appservice registration of this Synapse ($AS_FILE), written by deploy/local/synapse.sh.
# Secret: the as_token acts as any local user, admins included.
MX_APPSERVICE_ID=$AS_ID
MX_APPSERVICE_SENDER=@$AS_SENDER:$SERVER_NAME
MX_SYNAPSE_APPSERVICE_URL=$url
MX_APPSERVICE_AS_TOKEN=$as
MX_APPSERVICE_HS_TOKEN=$hs
MX_SYNAPSE_URL=$URL
EOF
    mv "$AS_TOKENS.tmp" "$AS_TOKENS"
  )
  SYN_AS_ID="$AS_ID" SYN_AS_URL="$url" SYN_AS_TOKEN="$as" SYN_HS_TOKEN="$hs" SYN_AS_SENDER="$AS_SENDER" \
    "$PY" "$HERE/render.py" "$AS_FILE" "$HERE/appservice.template.yaml"
  SYN_APPSERVICE_FILES="['$AS_FILE']"
  say "appservice $AS_ID -> $url (registration $AS_FILE; tokens in $AS_TOKENS)"
}

# config_hash: what Synapse reads at start (config, logging, the registration when there is one)
config_hash() {
  local f
  for f in "$CONFIG" "$SYNAPSE_DIR/log.config" "$AS_FILE"; do [[ ! -f $f ]] || cat "$f"; done | sha256sum | cut -c1-16
}

ensure_config() {
  local msc4429="${MX_SYNAPSE_MSC4429:-false}" limits="${MX_SYNAPSE_RATE_LIMITS:-raised}"
  local level="${MX_SYNAPSE_LOG_LEVEL:-WARNING}" rounds="${MX_SYNAPSE_BCRYPT_ROUNDS:-4}"
  local -a templates=("$HERE/homeserver.template.yaml")
  case $msc4429 in true | false) ;; *) die "MX_SYNAPSE_MSC4429 must be true or false (got '$msc4429')" ;; esac
  case $limits in
    raised) templates+=("$HERE/ratelimits-raised.yaml") ;;
    default) ;;
    *) die "MX_SYNAPSE_RATE_LIMITS must be raised or default (got '$limits')" ;;
  esac
  [[ $level =~ ^(DEBUG|INFO|WARNING|ERROR)$ ]] || die "MX_SYNAPSE_LOG_LEVEL must be DEBUG, INFO, WARNING or ERROR"
  [[ $rounds =~ ^[0-9]+$ ]] || die "MX_SYNAPSE_BCRYPT_ROUNDS must be a number"
  mkdir -p "$SYNAPSE_DIR/logs" "$SYNAPSE_DIR/media_store"
  ensure_secrets
  ensure_appservice
  SYN_PORT="$PORT" SYN_DIR="$SYNAPSE_DIR" SYN_DB="$DB" SYN_PG_HOST="$PG_HOST" SYN_PG_PORT="$PG_PORT" \
    SYN_PG_USER="$PG_USER" SYN_PG_PASS="$PG_PASS" SYN_BCRYPT_ROUNDS="$rounds" SYN_MSC4429="$msc4429" \
    SYN_APPSERVICE_FILES="$SYN_APPSERVICE_FILES" SYN_LOG_LEVEL="$level" \
    "$PY" "$HERE/render.py" "$CONFIG" "${templates[@]}"
  SYN_DIR="$SYNAPSE_DIR" SYN_LOG_LEVEL="$level" "$PY" "$HERE/render.py" "$SYNAPSE_DIR/log.config" "$HERE/log.template.yaml"
  # Loading the whole config validates it and creates the signing key when missing (a few seconds of Python):
  # skipped when this exact config was validated before and the key is there.
  local hash; hash="$(config_hash)"
  if [[ ! -f $SYNAPSE_DIR/localhost.signing.key || "$(cat "$SYNAPSE_DIR/.validated" 2>/dev/null)" != "$hash" ]]; then
    (cd "$SYNAPSE_DIR" && "$PY" -m synapse.app.homeserver -c "$CONFIG" --generate-keys 9>&-) >"$SYNAPSE_DIR/logs/config-check.log" 2>&1 || {
      cat "$SYNAPSE_DIR/logs/config-check.log" >&2
      die "Synapse rejected $CONFIG"
    }
    echo "$hash" >"$SYNAPSE_DIR/.validated"
  fi
  CONFIG_SUMMARY="MSC4429 $msc4429, rate limits $limits, appservice $AS_URL"
}

ensure_schema() {
  [[ ${MX_SYNAPSE_SKIP_SCHEMA:-0} == 1 ]] && return 0
  if syn_pid >/dev/null; then return 0; fi
  # Once per (Synapse version, database): the marker, and the database still has Synapse's schema_version table
  # (it is gone after `reset` or a dropped database).
  local marker="$SYNAPSE_DIR/.schema-$VERSION-$DB"
  if [[ -f $marker ]] && pg_py '
import sys, psycopg2
h, p, u, pw, db = sys.argv[1:6]
c = psycopg2.connect(host=h, port=int(p), user=u, password=pw, dbname=db, connect_timeout=5)
c.cursor().execute("SELECT 1 FROM schema_version")' 2>/dev/null; then
    return 0
  fi
  rm -f "$marker"
  local t0; t0=$(now_ms)
  # Applies every pending schema delta and runs the background updates to completion, so `start` is quick and no
  # migration work runs while a benchmark or a test uses the server.
  (cd "$SYNAPSE_DIR" && "$PY" -m synapse._scripts.update_synapse_database \
    --database-config "$CONFIG" --run-background-updates 9>&-) >"$SYNAPSE_DIR/logs/update_database.log" 2>&1 || {
    tail -n 30 "$SYNAPSE_DIR/logs/update_database.log" >&2
    die "schema upgrade failed (see $SYNAPSE_DIR/logs/update_database.log)"
  }
  touch "$marker"
  say "schema of database $DB up to date ($(secs_since "$t0"))"
}

cmd_setup() {
  local t0; t0=$(now_ms)
  cmd_install quick
  ensure_db
  ensure_config
  ensure_schema
  [[ ${1:-} == quiet ]] || say "setup done in $(secs_since "$t0") ($CONFIG_SUMMARY); start with: bash $0 start"
}

# ---- run ----------------------------------------------------------------------------------------
cmd_start() {
  local t0 pid deadline timeout="${MX_SYNAPSE_START_TIMEOUT:-180}"
  t0=$(now_ms)
  cmd_setup quiet
  if pid="$(syn_pid)"; then
    versions_ok || die "Synapse (pid $pid) is running but $URL does not answer"
    [[ "$(cat "$RUNNING_HASH" 2>/dev/null)" == "$(config_hash)" ]] ||
      die "Synapse (pid $pid) runs with other settings than these ($CONFIG_SUMMARY): run '$0 restart' to apply them"
    say "already running (pid $pid) on $URL"
    echo "$URL"
    return 0
  fi
  tcp_open "$PORT" && die "127.0.0.1:$PORT is already in use by another process (set MX_SYNAPSE_PORT)"
  # setsid: its own session, so a Ctrl-C in the caller's terminal does not reach it.
  (cd "$SYNAPSE_DIR" && exec setsid "$PY" -m synapse.app.homeserver -c "$CONFIG" \
    </dev/null >>"$SYNAPSE_DIR/logs/stdout.log" 2>&1 9>&-) &
  pid=$!
  echo "$pid" >"$PIDFILE"
  config_hash >"$RUNNING_HASH"
  deadline=$(( $(now_ms) + timeout * 1000 ))
  until versions_ok; do
    # (an exited child of ours stays a zombie until reaped: it counts as gone)
    if ! kill -0 "$pid" 2>/dev/null || [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]]; then
      rm -f "$PIDFILE" "$RUNNING_HASH"
      tail -n 30 "$SYNAPSE_DIR/logs/stdout.log" "$SYNAPSE_DIR/logs/homeserver.log" >&2 2>/dev/null || true
      die "Synapse exited during start-up (logs: $SYNAPSE_DIR/logs)"
    fi
    if (( $(now_ms) >= deadline )); then
      cmd_stop >/dev/null || true
      die "Synapse did not answer $URL/_matrix/client/versions within ${timeout}s (logs: $SYNAPSE_DIR/logs)"
    fi
    sleep 0.1
  done
  say "ready on $URL (pid $pid, database $DB, $CONFIG_SUMMARY) in $(secs_since "$t0")"
  echo "$URL"
}

cmd_stop() {
  local pid t0
  if ! pid="$(syn_pid)"; then rm -f "$PIDFILE" "$RUNNING_HASH"; say "not running"; return 0; fi
  t0=$(now_ms)
  term_then_kill "$pid" 30 synapse
  rm -f "$PIDFILE" "$RUNNING_HASH"
  say "stopped in $(secs_since "$t0")"
}

cmd_status() {
  local pid
  if pid="$(syn_pid)"; then
    if versions_ok; then
      say "running (pid $pid) on $URL, database $DB$([[ -f $AS_FILE ]] && echo ", appservice $AS_ID (tokens in $AS_TOKENS)")"
      echo "$URL"
      return 0
    fi
    say "running (pid $pid) but not answering on $URL"
    return 1
  fi
  say "not running"
  return 1
}

cmd_register_user() {
  local admin=--no-admin exists=() name password pwfile
  while (( $# )); do
    case $1 in
      --admin) admin=--admin ;;
      --exists-ok) exists=(--exists-ok) ;;
      --) shift; break ;;
      -*) die "unknown option $1 (usage: $0 register-user [--admin] [--exists-ok] NAME PASSWORD)" ;;
      *) break ;;
    esac
    shift
  done
  (( $# == 2 )) || die "usage: $0 register-user [--admin] [--exists-ok] NAME PASSWORD"
  name=$1 password=$2
  if ! syn_pid >/dev/null || ! versions_ok; then die "Synapse is not running on $URL (start it first)"; fi
  # The password goes through a private file, not the command line (visible in ps).
  pwfile="$(mktemp "$SYNAPSE_DIR/.password.XXXXXX")"
  printf '%s' "$password" >"$pwfile"
  if ! "$VENV/bin/register_new_matrix_user" -c "$CONFIG" -u "$name" --password-file "$pwfile" "$admin" \
    "${exists[@]}" "$URL" </dev/null >"$SYNAPSE_DIR/logs/register-user.log" 2>&1; then
    rm -f "$pwfile"
    cat "$SYNAPSE_DIR/logs/register-user.log" >&2
    die "could not register $name"
  fi
  rm -f "$pwfile"
  say "registered @$name:$SERVER_NAME$([[ $admin == --admin ]] && echo ' (server admin)')" >&2
  echo "@$name:$SERVER_NAME"
}

cmd_appservice() {
  [[ -f $AS_FILE && -f $AS_TOKENS ]] ||
    die "no appservice registration in $SYNAPSE_DIR: set MX_SYNAPSE_APPSERVICE_URL and run '$0 setup' or 'start'"
  say "registration $AS_FILE (listed in $CONFIG); tokens in $AS_TOKENS" >&2
  grep '^MX_' "$AS_TOKENS"
}

cmd_rss() {
  local pid
  pid="$(syn_pid)" || die "not running"
  awk '/^VmRSS:/ {print $2}' "/proc/$pid/status"
}

cmd_reset() {
  [[ $DB == synapse* ]] || die "refusing to drop database $DB: reset only drops databases named synapse*"
  cmd_stop
  cmd_install quick
  drop_db
  rm -rf "$SYNAPSE_DIR/media_store" "$SYNAPSE_DIR"/.schema-*
  cmd_setup
}

case "${1:-}" in
  install) cmd_install ;;
  setup) lock_instance; cmd_setup ;;
  start) lock_instance; cmd_start ;;
  stop) lock_instance; cmd_stop ;;
  restart) lock_instance; cmd_stop; cmd_start ;;
  status) cmd_status ;;
  register-user) shift; cmd_register_user "$@" ;;
  appservice) cmd_appservice ;;
  url) echo "$URL" ;;
  rss) cmd_rss ;;
  reset) lock_instance; cmd_reset ;;
  *) echo "usage: $0 {install|setup|start|stop|restart|status|register-user [--admin] NAME PASSWORD|appservice|url|rss|reset}" >&2; exit 2 ;;
esac
