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
  gtest)
    out=$(mktemp)
    "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    p=$(grep -Eo '^\[  PASSED  \] [0-9]+' "$out" | grep -Eo '[0-9]+$')
    f=$(grep -Eo '^\[  FAILED  \] [0-9]+ test' "$out" | grep -Eo '[0-9]+' | head -1)
    rm -f "$out"
    if [ -z "$p$f" ] && [ "$rc" -ne 0 ]; then f=1; fi
    echo "suite-result: ${p:-0} passed, ${f:-0} failed" ;;
  pytest)
    out=$(mktemp)
    /usr/bin/python3 -m pytest -q -p no:cacheprovider "$@" 2>&1 | tee "$out"
    rc=${PIPESTATUS[0]}
    line=$(grep -E '[0-9]+ (passed|failed)' "$out" | tail -1)
    p=$(echo "$line" | grep -Eo '[0-9]+ passed' | grep -Eo '[0-9]+')
    f=$(echo "$line" | grep -Eo '[0-9]+ (failed|error)' | grep -Eo '[0-9]+' | awk '{s+=$1} END {print s+0}')
    rm -f "$out"
    if [ -z "$line" ] && [ "$rc" -ne 0 ]; then f=1; fi
    echo "suite-result: ${p:-0} passed, ${f:-0} failed" ;;
  *) echo "unknown suite kind $kind"; exit 2 ;;
esac
