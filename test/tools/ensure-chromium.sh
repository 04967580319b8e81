#!/usr/bin/env bash
# Provides the browser of the browser test (test/integration/browser-msc4429.test.ts): Debian's `chromium` package at
# /usr/bin/chromium, driven by playwright-core (a browser download of Playwright's own does not work on these
# machines). Installed with apt-get once when missing (root needed; its packages' system services are not started).
# Concurrent callers wait for one install (flock), then find it done. Prints the path as a shell assignment:
#   MX_CHROMIUM=/usr/bin/chromium
# MX_CHROMIUM overrides the path (a browser installed elsewhere; nothing is installed then).
set -euo pipefail
CHROMIUM=${MX_CHROMIUM:-/usr/bin/chromium}
PACKAGES=(chromium fonts-liberation)

works() { [[ -x $CHROMIUM ]] && "$CHROMIUM" --version >/dev/null 2>&1; }

if ! works; then
  [[ -z ${MX_CHROMIUM:-} ]] || { echo "[test-tools] MX_CHROMIUM=$MX_CHROMIUM does not run" >&2; exit 1; }
  [[ $(id -u) -eq 0 ]] || { echo "[test-tools] need root to apt-get install ${PACKAGES[*]} (or install them yourself)" >&2; exit 1; }
  command -v apt-get >/dev/null || { echo "[test-tools] apt-get not found; install Debian's chromium yourself" >&2; exit 1; }
  lock=/tmp/mx-ensure-chromium.lock
  exec 8>"$lock"
  if command -v flock >/dev/null && ! flock -n 8; then
    echo "[test-tools] another process is installing chromium; waiting for it" >&2
    flock -w "${MX_CHROMIUM_INSTALL_TIMEOUT:-900}" 8 || { echo "[test-tools] the chromium install did not finish in time" >&2; exit 1; }
  fi
  if ! works; then
    echo "[test-tools] installing Debian package(s) ${PACKAGES[*]} with apt-get (once)" >&2
    # policy-rc.d exit 101: the packages' postinst scripts start no system service.
    prc=/usr/sbin/policy-rc.d created=0
    if [[ ! -e $prc ]]; then printf '#!/bin/sh\nexit 101\n' >"$prc" && chmod 755 "$prc" && created=1; fi
    log=$(mktemp /tmp/mx-ensure-chromium.XXXXXX.log)
    rc=0
    # Waits for the dpkg lock when another install (PostgreSQL, nginx) holds it.
    { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${PACKAGES[@]}"; } \
      >"$log" 2>&1 || rc=$?
    ((created)) && rm -f "$prc"
    if ((rc != 0)) || ! works; then
      tail -n 20 "$log" >&2
      echo "[test-tools] apt-get install ${PACKAGES[*]} failed (full log: $log)" >&2
      exit 1
    fi
    rm -f "$log"
  fi
fi

echo "MX_CHROMIUM=$CHROMIUM"
