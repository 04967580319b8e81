#!/usr/bin/env bash
# Install and configure Synapse (the reference Matrix homeserver) for the benchmark. Idempotent.
#
#   bash test/bench/synapse/setup.sh
#
# 1. venv $MX_SYNAPSE_VENV (default ~/.cache/mx-synapse/venv) with matrix-synapse[postgres]==1.163.2
#    (only when missing; nothing of Synapse is in the repo)
# 2. the project's local PostgreSQL on 127.0.0.1:15432 (started with deploy/local/postgres.sh
#    if it is not up; never stopped here) and a database `synapse` (C collation, template0)
# 3. $MX_SYNAPSE_DIR (default <repo>/.local/synapse, git-ignored): secrets.env (generated once),
#    homeserver.yaml + log.config rendered from the templates beside this script on every run,
#    signing key (generated once), schema applied to the database.
#
# Env: see _env.sh. MX_SYNAPSE_SKIP_SCHEMA=1 skips step 3's schema upgrade (Synapse does it at start).
set -euo pipefail
# shellcheck source=test/bench/synapse/_env.sh
source "$(dirname "${BASH_SOURCE[0]}")/_env.sh"

T0=$(syn_now_ms)

# ---- 1. venv -------------------------------------------------------------------------------
install_venv() {
  if [[ -f $SYN_MARKER && -x $SYN_PY ]] &&
     "$SYN_PY" -c 'import synapse, psycopg2, sys; sys.exit(synapse.__version__ != sys.argv[1])' \
       "$SYN_VERSION" 2>/dev/null; then
    syn_say "venv ok: $SYN_VENV (matrix-synapse $SYN_VERSION)"
    return 0
  fi
  local t0; t0=$(syn_now_ms)
  command -v python3 >/dev/null || syn_die "python3 not found"
  syn_say "creating venv $SYN_VENV and installing matrix-synapse[postgres]==$SYN_VERSION"
  mkdir -p "$(dirname "$SYN_VENV")"
  [[ -x $SYN_PY ]] || python3 -m venv "$SYN_VENV"
  "$SYN_PY" -m pip install -q --disable-pip-version-check --upgrade pip
  # psycopg2 (the [postgres] extra) is built from source: it needs pg_config, a C compiler and
  # the Python headers. If that build fails, psycopg2-binary provides the same module.
  if ! "$SYN_PY" -m pip install -q --disable-pip-version-check "matrix-synapse[postgres]==$SYN_VERSION"; then
    syn_warn "building psycopg2 failed; installing psycopg2-binary instead"
    "$SYN_PY" -m pip install -q --disable-pip-version-check \
      "matrix-synapse==$SYN_VERSION" "psycopg2-binary>=2.8"
  fi
  "$SYN_PY" -c 'import synapse, psycopg2, sys; sys.exit(synapse.__version__ != sys.argv[1])' "$SYN_VERSION" ||
    syn_die "matrix-synapse $SYN_VERSION did not install correctly in $SYN_VENV"
  touch "$SYN_MARKER"
  syn_say "venv installed in $(syn_secs_since "$t0")"
}

# ---- 2. PostgreSQL + database ----------------------------------------------------------------
pg_reachable() {
  "$SYN_PY" - "$SYN_PG_HOST" "$SYN_PG_PORT" "$SYN_PG_USER" "$SYN_PG_PASS" <<'PY' 2>/dev/null
import sys, psycopg2
h, p, u, pw = sys.argv[1:]
psycopg2.connect(host=h, port=int(p), user=u, password=pw, dbname="postgres", connect_timeout=3).close()
PY
}

ensure_db() {
  if ! pg_reachable; then
    syn_say "PostgreSQL not reachable on $SYN_PG_HOST:$SYN_PG_PORT; starting it with deploy/local/postgres.sh"
    bash "$SYN_ROOT/deploy/local/postgres.sh" start
    pg_reachable || syn_die "PostgreSQL still not reachable on $SYN_PG_HOST:$SYN_PG_PORT as $SYN_PG_USER"
  fi
  # Create the database as `matrix` (it has CREATEDB); if it cannot, as the cluster's `postgres`
  # superuser (trust auth in the local dev cluster, see deploy/local/postgres.sh) with OWNER matrix.
  "$SYN_PY" - "$SYN_PG_HOST" "$SYN_PG_PORT" "$SYN_PG_USER" "$SYN_PG_PASS" "$SYN_DB" <<'PY'
import sys, psycopg2
from psycopg2 import sql
h, p, u, pw, db = sys.argv[1:]

def connect(user, password):
    c = psycopg2.connect(host=h, port=int(p), user=user, password=password, dbname="postgres",
                         connect_timeout=5)
    c.autocommit = True
    return c

conn = connect(u, pw)
cur = conn.cursor()
cur.execute("SELECT datcollate, datctype FROM pg_database WHERE datname = %s", (db,))
row = cur.fetchone()
if row:
    if tuple(row) != ("C", "C"):
        sys.exit(f"[synapse] ERROR: database {db} exists with LC_COLLATE/LC_CTYPE {row}, Synapse needs C/C; "
                 f"drop it (bash test/bench/synapse/synapse.sh reset)")
    print(f"[synapse] database {db} ok")
    sys.exit(0)
create = sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' "
                 "TEMPLATE template0").format(sql.Identifier(db), sql.Identifier(u))
try:
    cur.execute(create)
except psycopg2.errors.InsufficientPrivilege:
    print(f"[synapse] {u} may not create databases; using the postgres superuser")
    connect("postgres", None).cursor().execute(create)
print(f"[synapse] database {db} created (C collation, owner {u})")
PY
}

# ---- 3. config dir ---------------------------------------------------------------------------
render() { # render TEMPLATE OUT: fill ${SYN_*} placeholders from the environment; fail on unset ones
  "$SYN_PY" - "$1" "$2" <<'PY'
import os, re, sys
src, out = sys.argv[1:]
def fill(m):
    if m.group(1) not in os.environ:
        sys.exit(f"[synapse] ERROR: {src}: no value for ${{{m.group(1)}}}")
    return os.environ[m.group(1)]
text = re.sub(r"\$\{(SYN_[A-Z0-9_]+)\}", fill, open(src, encoding="utf8").read())
tmp = out + ".tmp"
with open(tmp, "w", encoding="utf8") as f:
    f.write(f"# GENERATED by test/bench/synapse/setup.sh from {os.path.basename(src)} - edit the template.\n")
    f.write(text)
os.replace(tmp, out)
PY
}

ensure_config() {
  mkdir -p "$SYN_DIR" "$SYN_DIR/logs" "$SYN_DIR/media_store"
  local secrets="$SYN_DIR/secrets.env"
  if [[ ! -f $secrets ]]; then
    (
      umask 077
      "$SYN_PY" -c '
import secrets
for k in ("SYN_MACAROON_SECRET", "SYN_REGISTRATION_SECRET", "SYN_FORM_SECRET"):
    print(f"{k}={secrets.token_urlsafe(32)}")' >"$secrets.tmp"
      mv "$secrets.tmp" "$secrets"
    )
    syn_say "generated secrets -> $secrets"
  fi
  set -a
  # shellcheck disable=SC1090
  source "$secrets"
  set +a
  export SYN_PORT SYN_DIR SYN_DB SYN_PG_HOST SYN_PG_PORT SYN_PG_USER SYN_PG_PASS SYN_BCRYPT_ROUNDS
  render "$SYN_HERE/homeserver.template.yaml" "$SYN_CONFIG"
  render "$SYN_HERE/log.template.yaml" "$SYN_DIR/log.config"
  chmod 600 "$SYN_CONFIG"
  # Loads and validates the whole config; creates the signing key only if it is missing.
  (cd "$SYN_DIR" && "$SYN_PY" -m synapse.app.homeserver -c "$SYN_CONFIG" --generate-keys) ||
    syn_die "Synapse rejected $SYN_CONFIG"
  syn_say "config ok: $SYN_CONFIG"
}

ensure_schema() {
  [[ ${MX_SYNAPSE_SKIP_SCHEMA:-0} == 1 ]] && return 0
  if syn_pid >/dev/null; then syn_say "Synapse is running; schema left to it"; return 0; fi
  # Done once per (Synapse version, database): the marker, and the database still has Synapse's
  # schema_version table (it is gone after `synapse.sh reset` or a dropped database).
  local marker="$SYN_DIR/.schema-$SYN_VERSION-$SYN_DB"
  if [[ -f $marker ]] && "$SYN_PY" - "$SYN_PG_HOST" "$SYN_PG_PORT" "$SYN_PG_USER" "$SYN_PG_PASS" "$SYN_DB" <<'PY' 2>/dev/null
import sys, psycopg2
h, p, u, pw, db = sys.argv[1:]
c = psycopg2.connect(host=h, port=int(p), user=u, password=pw, dbname=db, connect_timeout=5)
c.cursor().execute("SELECT 1 FROM schema_version")
PY
  then
    syn_say "schema ok (applied earlier)"
    return 0
  fi
  rm -f "$marker"
  local t0; t0=$(syn_now_ms)
  # Applies pending schema deltas (all of them on a new database) and runs the background
  # updates to completion, so `start` is quick and no migration work runs during a benchmark.
  (cd "$SYN_DIR" && "$SYN_PY" -m synapse._scripts.update_synapse_database \
     --database-config "$SYN_CONFIG" --run-background-updates >"$SYN_DIR/logs/update_database.log" 2>&1) || {
    tail -n 30 "$SYN_DIR/logs/update_database.log" >&2
    syn_die "schema upgrade failed (see $SYN_DIR/logs/update_database.log)"
  }
  touch "$marker"
  syn_say "schema up to date ($(syn_secs_since "$t0"))"
}

install_venv
ensure_db
ensure_config
ensure_schema
syn_say "setup done in $(syn_secs_since "$T0"); start with: bash $SYN_HERE/synapse.sh start"
