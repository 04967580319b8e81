#!/usr/bin/env bash
# Provides schemathesis (the schema-driven API fuzzer the generated-input test runs against the
# local stack) without a network at test time: installed once from PyPI, pinned, into a virtualenv
# in a cache outside the checkout. Prints its path as a shell assignment:
#   MX_SCHEMATHESIS=/path/to/st
# MX_TOOLS_CACHE overrides the cache directory (default ~/.cache/mx-tools).
set -euo pipefail
SCHEMATHESIS_VERSION=4.32.5
CACHE=${MX_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mx-tools}
mkdir -p "$CACHE"

venv="$CACHE/schemathesis-$SCHEMATHESIS_VERSION"
if [[ ! -x $venv/bin/st ]]; then
  command -v python3 >/dev/null || { echo "[test-tools] python3 is needed for schemathesis" >&2; exit 1; }
  echo "[test-tools] installing schemathesis $SCHEMATHESIS_VERSION from PyPI (once)" >&2
  rm -rf "$venv"
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$SCHEMATHESIS_VERSION" >&2; then
    rm -rf "$venv"
    exit 1
  fi
fi

echo "MX_SCHEMATHESIS=$venv/bin/st"
