# shellcheck shell=bash
# Shared helpers for deploy/local/*.sh (sourced, not executed).
#   MX_ROOT       repo root (two levels above deploy/local)
#   MX_LOCAL_DIR  all local state (default: $MX_ROOT/.local, git-ignored)

MX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
MX_LOCAL_DIR="${MX_LOCAL_DIR:-$MX_ROOT/.local}"
mkdir -p "$MX_LOCAL_DIR"
MX_LOCAL_DIR="$(cd "$MX_LOCAL_DIR" && pwd)"   # absolute, even if given relative
export MX_LOCAL_DIR

: "${MX_TAG:=local}"
say()  { printf '[%s] %s\n' "$MX_TAG" "$*"; }
warn() { printf '[%s] WARNING: %s\n' "$MX_TAG" "$*" >&2; }
die()  { printf '[%s] ERROR: %s\n' "$MX_TAG" "$*" >&2; exit 1; }

now_ms() { date +%s%3N; }
# secs_since START_MS -> "1.23s"
secs_since() { local d=$(( $(now_ms) - $1 )); printf '%d.%02ds' $((d / 1000)) $(((d % 1000) / 10)); }

# pid_matches PID PATTERN: process is alive and its command line contains PATTERN
pid_matches() {
  local pid=$1 pat=$2 cmd
  [[ -n "$pid" && "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  cmd="$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null)" || return 1
  [[ "$cmd" == *"$pat"* ]]
}

# pidfile_pid FILE PATTERN: print pid from FILE if that process is alive and matches
pidfile_pid() {
  local f=$1 pat=$2 pid
  [[ -f "$f" ]] || return 1
  pid="$(head -n1 "$f" 2>/dev/null || true)"
  pid_matches "$pid" "$pat" || return 1
  printf '%s\n' "$pid"
}

# wait_gone PID TIMEOUT_S: 0 when the process is gone, 1 on timeout
wait_gone() {
  local pid=$1 deadline=$(( $(now_ms) + $2 * 1000 ))
  while kill -0 "$pid" 2>/dev/null; do
    # a zombie child of ours counts as gone
    [[ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" == Z ]] && return 0
    (( $(now_ms) >= deadline )) && return 1
    sleep 0.1
  done
}

# term_then_kill PID TIMEOUT_S NAME: SIGTERM, wait, then SIGKILL
term_then_kill() {
  local pid=$1 t=$2 name=$3
  kill -TERM "$pid" 2>/dev/null || return 0
  if ! wait_gone "$pid" "$t"; then
    warn "$name (pid $pid) did not exit within ${t}s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    wait_gone "$pid" 5 || true
  fi
}

# take_lock NAME [TIMEOUT_S]: serialize start/stop of one component (fd 9).
# Anything long-lived started while holding it must get `9>&-` so it does not
# inherit (and keep holding) the lock.
take_lock() {
  command -v flock >/dev/null || return 0
  exec 9>"$MX_LOCAL_DIR/.$1.lock"
  flock -w "${2:-600}" 9 || die "another '$1' operation is still running (lock $MX_LOCAL_DIR/.$1.lock)"
}

# tcp_open PORT: something accepts TCP connections on 127.0.0.1:PORT
tcp_open() { timeout 1 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# apt_install PKG...: install Debian packages without starting their system services
apt_install() {
  [[ $(id -u) -eq 0 ]] || die "need root to apt-get install $* (or install it yourself)"
  command -v apt-get >/dev/null || die "apt-get not found; install $* manually"
  say "installing Debian package(s): $* (system services are NOT started)"
  local prc=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $prc ]]; then
    # policy-rc.d exit 101 = "do not start services" (stops the packages' postinst
    # from launching a system postgres on :5432 / nginx on :80)
    printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && created=1
  fi
  local rc=0
  { DEBIAN_FRONTEND=noninteractive apt-get update -qq -o DPkg::Lock::Timeout=600 &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends "$@"; } \
    >"$MX_LOCAL_DIR/apt-install.log" 2>&1 || rc=$?
  (( created )) && rm -f "$prc"
  if (( rc != 0 )); then
    tail -n 20 "$MX_LOCAL_DIR/apt-install.log" >&2
    die "apt-get install $* failed (full log: $MX_LOCAL_DIR/apt-install.log)"
  fi
}

# Node 24 on PATH (exported), the npm dependencies installed when the lockfile changed, and a fresh
# build; the shell is left in $MX_ROOT. The first steps of stack.sh up and companion.sh up.
node_install_build() {
  PATH="$(bash "$MX_ROOT/deploy/local/node.sh"):$PATH"
  export PATH
  cd "$MX_ROOT" || return
  if [[ ! -d node_modules || package-lock.json -nt node_modules/.package-lock.json ]]; then
    say "installing npm dependencies"
    npm ci --no-audit --no-fund --loglevel=error
  fi
  npm run build --silent
}
