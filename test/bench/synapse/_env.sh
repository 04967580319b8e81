# shellcheck shell=bash
# shellcheck disable=SC2034  # variables used by the scripts that source this file
# Shared settings for test/bench/synapse/*.sh (sourced, not executed).
#
#   MX_SYNAPSE_VENV   venv holding Synapse   (default ~/.cache/mx-synapse/venv, outside the repo)
#   MX_SYNAPSE_DIR    config, keys, logs, media, pid (default <repo>/.local/synapse, git-ignored)
#   MX_SYNAPSE_PORT   client listener on 127.0.0.1 (default 8448)
#   MX_SYNAPSE_DB     PostgreSQL database (default synapse)
#   MX_SYNAPSE_BCRYPT_ROUNDS  bcrypt cost for passwords (default 4; Synapse's own default is 12)
#   MX_PG_PORT        the project's local PostgreSQL (default 15432, user matrix/matrix)

SYN_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SYN_ROOT="$(cd "$SYN_HERE/../../.." && pwd)"
SYN_VERSION="1.163.2"
SYN_VENV="${MX_SYNAPSE_VENV:-${HOME:-/root}/.cache/mx-synapse/venv}"
SYN_DIR="${MX_SYNAPSE_DIR:-${MX_LOCAL_DIR:-$SYN_ROOT/.local}/synapse}"
SYN_PORT="${MX_SYNAPSE_PORT:-8448}"
SYN_DB="${MX_SYNAPSE_DB:-synapse}"
SYN_BCRYPT_ROUNDS="${MX_SYNAPSE_BCRYPT_ROUNDS:-4}"
SYN_PG_HOST=127.0.0.1
SYN_PG_PORT="${MX_PG_PORT:-15432}"
SYN_PG_USER=matrix
SYN_PG_PASS=matrix
SYN_PY="$SYN_VENV/bin/python"
SYN_CONFIG="$SYN_DIR/homeserver.yaml"
SYN_PIDFILE="$SYN_DIR/synapse.pid"
SYN_MARKER="$SYN_VENV/.mx-synapse-$SYN_VERSION"
SYN_URL="http://127.0.0.1:$SYN_PORT"

syn_say()  { printf '[synapse] %s\n' "$*"; }
syn_warn() { printf '[synapse] WARNING: %s\n' "$*" >&2; }
syn_die()  { printf '[synapse] ERROR: %s\n' "$*" >&2; exit 1; }
syn_now_ms() { date +%s%3N; }
syn_secs_since() { local d=$(( $(syn_now_ms) - $1 )); printf '%d.%02ds' $((d / 1000)) $(((d % 1000) / 10)); }

# syn_pid: print the pid from the pid file if that process is alive and is our Synapse
syn_pid() {
  local pid cmd
  [[ -f $SYN_PIDFILE ]] || return 1
  pid="$(head -n1 "$SYN_PIDFILE" 2>/dev/null || true)"
  [[ $pid =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]] || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ $cmd == *synapse.app.homeserver*"$SYN_CONFIG"* ]] || return 1
  printf '%s\n' "$pid"
}

# syn_port_open PORT: something accepts TCP connections on 127.0.0.1:PORT
syn_port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# syn_versions_ok: the client API answers GET /_matrix/client/versions with 200
syn_versions_ok() {
  [[ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$SYN_URL/_matrix/client/versions" 2>/dev/null)" == 200 ]]
}
