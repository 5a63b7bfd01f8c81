#!/usr/bin/env bash
# Adapts each test tool's output to one "suite-result: P passed, F failed" line.
set -uo pipefail
cd "$(dirname "$0")/.."
kind=$1; shift
case "$kind" in
  format)
    if "$@"; then echo "suite-result: 1 passed, 0 failed"
    else echo "suite-result: 0 passed, 1 failed"; fi ;;
  lit)
    BUILD=$1
    out=$(mktemp)
    /usr/lib/llvm-22/bin/lit -sv "$BUILD/test" 2>&1 | tee "$out"
    p=$(grep -Eo 'Passed *: *[0-9]+' "$out" | grep -Eo '[0-9]+' | head -1)
    f=$(grep -Eo '(Failed|Unresolved|Timed Out|Unexpectedly Passed) *: *[0-9]+' "$out" | grep -Eo '[0-9]+$' | awk '{s+=$1} END {print s+0}')
    rm -f "$out"
    echo "suite-result: ${p:-0} passed, ${f:-0} failed" ;;
  *) echo "unknown suite kind $kind"; exit 2 ;;
esac
