#!/usr/bin/env bash
# Prints a directory holding a Node.js >= 22.12 `node` binary, for PATH:
#
#   export PATH="$(bash deploy/local/node.sh):$PATH"
#
# Uses the system `node` when it is new enough; otherwise installs the npm
# package node-linux-<arch>@24 (an official Node binary shipped through the npm
# registry) into ${MX_NODE_CACHE:-$HOME/.cache/mx-node} once and reuses it.
# Only the directory goes to stdout; messages go to stderr.
set -euo pipefail

MIN_MAJOR=22 MIN_MINOR=12
CACHE="${MX_NODE_CACHE:-$HOME/.cache/mx-node}"
NODE_MAJOR="${MX_NODE_MAJOR:-24}"

log() { printf '[node] %s\n' "$*" >&2; }

# new_enough /path/to/node -> exit 0 if its version >= 22.12
new_enough() {
  local v maj min
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  IFS=. read -r maj min _ <<<"$v"
  (( maj > MIN_MAJOR || (maj == MIN_MAJOR && min >= MIN_MINOR) ))
}

sys="$(command -v node 2>/dev/null || true)"
if [[ -n $sys ]] && new_enough "$sys"; then
  dirname "$sys"; exit 0
fi

case "$(uname -m)" in
  x86_64|amd64)  arch=x64 ;;
  aarch64|arm64) arch=arm64 ;;
  *) log "unsupported CPU $(uname -m)"; exit 1 ;;
esac
pkg="node-linux-$arch"
bin="$CACHE/node_modules/$pkg/bin"

if [[ -x $bin/node ]] && new_enough "$bin/node"; then
  echo "$bin"; exit 0
fi

command -v npm >/dev/null || { log "npm not found (needed once to fetch $pkg@$NODE_MAJOR)"; exit 1; }
log "system node is ${sys:+$("$sys" -v) }too old (< $MIN_MAJOR.$MIN_MINOR); installing $pkg@$NODE_MAJOR into $CACHE"
mkdir -p "$CACHE"
if ! npm install --prefix "$CACHE" --no-save --no-audit --no-fund --loglevel=error \
      "$pkg@$NODE_MAJOR" >"$CACHE/install.log" 2>&1; then
  tail -n 20 "$CACHE/install.log" >&2; log "npm install $pkg@$NODE_MAJOR failed"; exit 1
fi
if ! { [[ -x $bin/node ]] && new_enough "$bin/node"; }; then log "installed $pkg but $bin/node is unusable"; exit 1; fi
log "installed node $("$bin/node" -v)"
echo "$bin"
