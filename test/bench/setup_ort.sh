#!/usr/bin/env bash
# Installs ONNX Runtime for Node (the ORT peer of `make bench`) into DIR,
# idempotently, and prints the path of the package to require(). Exits 1,
# with the reason on stderr, when it cannot: then the benchmarks skip ORT.
#
#   test/bench/setup_ort.sh DIR
#
# `--ignore-scripts` is required: the package's install script downloads
# GPU binaries and fails offline; the CPU library ships inside the package.
# node and npm come from the NodeSource `nodejs` package on this machine (or
# Debian's nodejs + npm); they are detected, not installed, here.
set -euo pipefail

ORT_VERSION=1.30.0
DIR=$(realpath -m "${1:?usage: setup_ort.sh DIR}")
PKG="$DIR/node_modules/onnxruntime-node"

if ! command -v node >/dev/null 2>&1; then
  echo "bench: node not found: ONNX Runtime skipped" >&2
  exit 1
fi

have_version() {
  [ -f "$PKG/package.json" ] &&
    node -e "process.exit(require('$PKG/package.json').version === '$ORT_VERSION' ? 0 : 1)" \
      2>/dev/null
}

if ! have_version; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "bench: npm not found: ONNX Runtime skipped" >&2
    exit 1
  fi
  mkdir -p "$DIR"
  echo "bench: installing onnxruntime-node@$ORT_VERSION into $DIR" >&2
  if ! timeout 600 npm install --prefix "$DIR" --ignore-scripts --no-audit \
      --no-fund --save-exact --fetch-retries=1 --loglevel=error \
      "onnxruntime-node@$ORT_VERSION" >"$DIR/npm-install.log" 2>&1; then
    echo "bench: npm install onnxruntime-node@$ORT_VERSION failed" \
         "(registry unreachable?), see $DIR/npm-install.log:" \
         "ONNX Runtime skipped" >&2
    exit 1
  fi
fi

# The native binding must load (it bundles libonnxruntime.so for CPU).
if ! node -e "require('$PKG')" >/dev/null 2>&1; then
  echo "bench: onnxruntime-node is installed but does not load: ONNX Runtime skipped" >&2
  exit 1
fi
echo "$PKG"
