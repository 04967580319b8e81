#!/usr/bin/env bash
# The companion stack on one machine, no Docker: Synapse 1.163.2 (the homeserver, from PyPI) with the
# project in front of it (MX_MODE=companion). PostgreSQL + Kafka, Synapse with the project's appservice
# registered (open registration, its own MSC4429 off), the three services in companion mode and the nginx
# router in companion mode on one client-facing URL (http://127.0.0.1:8008): chat from Synapse, MSC4429
# profile updates in /sync from the project.
#
#   deploy/local/companion.sh up       provision Node 24 if needed, install, build, start everything
#   deploy/local/companion.sh down     stop everything (data is kept in .local/)
#   deploy/local/companion.sh status
#   deploy/local/companion.sh verify [--repair]   compare Synapse's profiles with the projection
#                                                 (ops companion-verify, with the stack's environment)
#
# Env (defaults in brackets), besides those of infra.sh, services.sh, router.sh and synapse.sh:
#   MX_ROUTER_PORT [8008]  MX_WRITER_PORT [8101]  MX_SYNC_API_PORT [8102]  MX_PROJECTOR_PORT [8103]
#   MX_SYNAPSE_PORT [8448]  MX_SYNAPSE_DIR [$MX_LOCAL_DIR/synapse]  MX_SYNAPSE_DB [synapse]
#   MX_COMPANION_DATABASE [matrix_companion]  the project's database (created when missing), apart from
#                                             the standalone stack's `matrix`
#   MX_COMPANION_TOPIC_PREFIX [mxc]           the project's topics, apart from the standalone stack's `mx`
# The appservice tokens are the ones synapse.sh generates once into $MX_SYNAPSE_DIR/appservice.env.
# The standalone stack (stack.sh) and this one share the ports: run one at a time.
set -euo pipefail
MX_TAG=companion
# shellcheck source=deploy/local/_common.sh
source "$(dirname "${BASH_SOURCE[0]}")/_common.sh"
HERE="$MX_ROOT/deploy/local"
OPS="$MX_ROOT/dist/apps/ops/src/main.js"

DATABASE="${MX_COMPANION_DATABASE:-matrix_companion}"
[[ $DATABASE =~ ^[a-z0-9_]+$ ]] || die "MX_COMPANION_DATABASE may hold a-z, 0-9 and _ (got '$DATABASE')"

# The environment synapse.sh and the services share: Synapse's appservice registration points at the writer.
companion_env() {
  export MX_MODE=companion
  export MX_SYNAPSE_APPSERVICE_URL="http://127.0.0.1:${MX_WRITER_PORT:-8101}"
  export MX_SYNAPSE_MSC4429=false        # the project serves MSC4429, Synapse's own stays off
  export MX_DATABASE_NAME="$DATABASE"
  export MX_TOPIC_PREFIX="${MX_COMPANION_TOPIC_PREFIX:-mxc}"
  export MX_SERVER_NAME=localhost        # Synapse's server_name (deploy/local/synapse/homeserver.template.yaml)
  # The cluster and broker infra.sh started (MX_PG_PORT, MX_KAFKA_PORT), unless set explicitly.
  export MX_DATABASE_PORT="${MX_DATABASE_PORT:-${MX_PG_PORT:-15432}}"
  export MX_KAFKA_BROKERS="${MX_KAFKA_BROKERS:-127.0.0.1:${MX_KAFKA_PORT:-19092}}"
}

# appservice_value KEY: a value of the registration synapse.sh rendered ($MX_SYNAPSE_DIR/appservice.env)
appservice_value() {
  local value
  value="$(bash "$HERE/synapse.sh" appservice 2>/dev/null | sed -n "s/^$1=//p" | head -n 1)"
  [[ -n $value ]] || die "no $1 in Synapse's appservice registration (bash deploy/local/synapse.sh appservice)"
  printf '%s\n' "$value"
}

ensure_database() {
  bash "$HERE/postgres.sh" psql -d postgres -v ON_ERROR_STOP=1 -qtA >/dev/null <<SQL
SELECT 'CREATE DATABASE $DATABASE' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$DATABASE') \gexec
SQL
}

# ---- BOOTSTRAP (issue 14, part 4: apps/ops `companion-bootstrap`, written separately) -----------------------------
# Appends what existed in Synapse before the project was installed (rooms, memberships, local profiles). Runs only
# when the built ops CLI lists the command in its usage output, so a build without it still comes up (with a note).
# It runs with the companion environment above (MX_MODE, MX_UPSTREAM_URL, the appservice tokens, database and
# topics) and a Synapse admin's token in MX_UPSTREAM_ADMIN_TOKEN (yours when set, else admin_token below).
# Idempotent: every `up` runs it; it appends only what the projection does not have yet.
ADMIN_USER=mx-companion-admin

# admin_token SYNAPSE_URL: the access token of a Synapse server admin, registered once with the registration shared
# secret; its password and token are kept in $MX_SYNAPSE_DIR/companion-admin.env (mode 600), the token reused
# while Synapse accepts it.
admin_token() {
  local url=$1 file password token
  file="${MX_SYNAPSE_DIR:-$MX_LOCAL_DIR/synapse}/companion-admin.env"
  password="$(sed -n 's/^PASSWORD=//p' "$file" 2>/dev/null || true)"
  token="$(sed -n 's/^TOKEN=//p' "$file" 2>/dev/null || true)"
  if [[ -n $token ]] && curl -fsS -o /dev/null -m 10 -H "Authorization: Bearer $token" "$url/_matrix/client/v3/account/whoami"; then
    printf '%s\n' "$token"
    return 0
  fi
  [[ -n $password ]] || password="$(node -e 'process.stdout.write(require("node:crypto").randomBytes(24).toString("hex"))')"
  bash "$HERE/synapse.sh" register-user --admin --exists-ok "$ADMIN_USER" "$password" >/dev/null
  token="$(curl -fsS -m 10 -X POST "$url/_matrix/client/v3/login" -H 'Content-Type: application/json' \
    -d "{\"type\":\"m.login.password\",\"identifier\":{\"type\":\"m.id.user\",\"user\":\"$ADMIN_USER\"},\"password\":\"$password\"}" |
    node -e 'let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => process.stdout.write(JSON.parse(s).access_token ?? ""))')" ||
    die "could not log in as the Synapse admin $ADMIN_USER (password in $file; remove the file and the user to start over)"
  [[ -n $token ]] || die "Synapse's login answer for $ADMIN_USER holds no access_token"
  (
    umask 077
    printf '# The Synapse admin deploy/local/companion.sh uses for the bootstrap.\nPASSWORD=%s\nTOKEN=%s\n' "$password" "$token" >"$file"
  )
  printf '%s\n' "$token"
}

# upstream_env: Synapse's URL and the appservice tokens synapse.sh rendered, exported for the services and ops.
upstream_env() {
  MX_UPSTREAM_URL="$(appservice_value MX_SYNAPSE_URL)"
  MX_APPSERVICE_AS_TOKEN="$(appservice_value MX_APPSERVICE_AS_TOKEN)"
  MX_APPSERVICE_HS_TOKEN="$(appservice_value MX_APPSERVICE_HS_TOKEN)"
  export MX_UPSTREAM_URL MX_APPSERVICE_AS_TOKEN MX_APPSERVICE_HS_TOKEN
}

run_bootstrap() {
  local usage url=$1 rc=0
  usage="$(node "$OPS" 2>&1 || true)"
  if [[ $usage != *companion-bootstrap* ]]; then
    say "bootstrap skipped: this build's ops CLI has no companion-bootstrap command ($(head -n 1 <<<"$usage"))"
    return 0
  fi
  MX_UPSTREAM_ADMIN_TOKEN="${MX_UPSTREAM_ADMIN_TOKEN:-$(admin_token "$url")}"
  export MX_UPSTREAM_ADMIN_TOKEN
  say "bootstrap: node dist/apps/ops/src/main.js companion-bootstrap"
  node "$OPS" companion-bootstrap || rc=$?
  ((rc == 0)) || die "companion-bootstrap exited with $rc (resumable: run '$0 up' again)"
}
# ---- end of BOOTSTRAP ------------------------------------------------------------------------------------------

cmd_up() {
  local t0 synapse_url
  t0=$(now_ms)
  node_install_build
  bash "$HERE/infra.sh" up
  companion_env
  ensure_database
  # setup first: it renders the appservice registration and generates its tokens, which the services need. Synapse
  # itself starts after the writer is ready, so its first transactions find the writer listening (a refused one is
  # retried with a growing back-off).
  bash "$HERE/synapse.sh" setup
  upstream_env
  synapse_url="$MX_UPSTREAM_URL"
  bash "$HERE/services.sh" start
  bash "$HERE/synapse.sh" start
  run_bootstrap "$synapse_url"
  bash "$HERE/router.sh" start
  say "companion stack up in $(secs_since "$t0"): clients use http://127.0.0.1:${MX_ROUTER_PORT:-8008} (homeserver $synapse_url)"
}

# verify [--repair]: ops companion-verify against the running stack (exit 0 equal, 2 different).
cmd_verify() {
  PATH="$(bash "$HERE/node.sh"):$PATH"
  export PATH
  cd "$MX_ROOT"
  companion_env
  upstream_env
  MX_UPSTREAM_ADMIN_TOKEN="${MX_UPSTREAM_ADMIN_TOKEN:-$(admin_token "$MX_UPSTREAM_URL")}"
  export MX_UPSTREAM_ADMIN_TOKEN
  node "$OPS" companion-verify "$@"
}

cmd_down() {
  local rc=0
  bash "$HERE/router.sh" stop || rc=1
  bash "$HERE/services.sh" stop || rc=1
  bash "$HERE/synapse.sh" stop || rc=1
  bash "$HERE/infra.sh" down || rc=1
  return $rc
}

cmd_status() {
  local rc=0
  bash "$HERE/infra.sh" status || rc=1
  bash "$HERE/synapse.sh" status || rc=1
  bash "$HERE/services.sh" status || rc=1
  bash "$HERE/router.sh" status || rc=1
  return $rc
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  verify) shift; cmd_verify "$@" ;;
  *) echo "usage: $0 {up|down|status|verify [--repair]}" >&2; exit 64 ;;
esac
