#!/usr/bin/env bash
# Installs (idempotently) every Debian package kiln needs to build, test and
# benchmark. Safe to run repeatedly: it only calls apt-get for what is missing.
set -euo pipefail

PKGS=(
  # toolchain
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools clang-22 lld-22
  libclang-rt-22-dev
  cmake ninja-build ccache make
  # frontends and tests
  libonnx-dev libonnx-testdata libprotobuf-dev protobuf-compiler
  libgtest-dev
  python3 python3-numpy python3-torch python3-onnx python3-pytest
  # benchmarks: OpenBLAS for numpy/PyTorch (the OpenMP build shares PyTorch's
  # thread pool; the pthread build oversubscribes the cores)
  libopenblas0-openmp
  clang-format-14
  # runtime checks
  valgrind binutils time
)

missing=()
for p in "${PKGS[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "deps: all ${#PKGS[@]} packages present"
  exit 0
fi

echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
