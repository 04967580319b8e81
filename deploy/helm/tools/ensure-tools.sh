#!/usr/bin/env bash
# Provides the chart's test tools without a network at test time (builds/installs them once,
# into a cache outside the checkout) and prints their paths as shell assignments:
#   MX_HELM=/path/to/helm
#   MX_KUBE_VALIDATE=/path/to/kubernetes-validate
#
# helm: built from the Go module proxy (go install) with the version details the helm Makefile
# sets, so `helm lint/template` assume Kubernetes 1.37 rather than 1.20.
# kubernetes-validate: from PyPI in a virtualenv; carries the Kubernetes API JSON schemas for
# offline validation (strict: unknown fields are errors).
# MX_TOOLS_CACHE overrides the cache directory (default ~/.cache/mx-tools).
set -euo pipefail
HELM_VERSION=v3.22.0
K8S_MINOR=37
KUBE_VALIDATE_VERSION=1.37.0
CACHE=${MX_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mx-tools}
mkdir -p "$CACHE"

log() { printf '[chart-tools] %s\n' "$*" >&2; }

helm_bin="$CACHE/helm-$HELM_VERSION/helm"
if [[ ! -x $helm_bin ]]; then
  command -v go >/dev/null || { log "go is needed to build helm $HELM_VERSION"; exit 1; }
  log "building helm $HELM_VERSION from the Go module proxy (once; a few minutes)"
  started=$(date +%s)
  pkg=helm.sh/helm/v3
  ldflags="-w -s -X $pkg/internal/version.version=$HELM_VERSION -X $pkg/internal/version.gitTreeState=clean"
  ldflags+=" -X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR"
  ldflags+=" -X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$K8S_MINOR"
  GOBIN="$CACHE/helm-$HELM_VERSION.tmp" CGO_ENABLED=0 GOFLAGS=-mod=mod \
    go install -trimpath -ldflags "$ldflags" "$pkg/cmd/helm@$HELM_VERSION" >&2
  mv "$CACHE/helm-$HELM_VERSION.tmp" "$CACHE/helm-$HELM_VERSION"
  log "helm built in $(($(date +%s) - started)) s"
fi

venv="$CACHE/kubernetes-validate-$KUBE_VALIDATE_VERSION"
if [[ ! -x $venv/bin/kubernetes-validate ]]; then
  command -v python3 >/dev/null || { log "python3 is needed for kubernetes-validate"; exit 1; }
  log "installing kubernetes-validate $KUBE_VALIDATE_VERSION from PyPI (once)"
  rm -rf "$venv"
  python3 -m venv "$venv"
  if ! "$venv/bin/pip" install --quiet --disable-pip-version-check "kubernetes-validate==$KUBE_VALIDATE_VERSION" >&2; then
    rm -rf "$venv"
    exit 1
  fi
fi

echo "MX_HELM=$helm_bin"
echo "MX_KUBE_VALIDATE=$venv/bin/kubernetes-validate"
