#!/usr/bin/env bash
# Runs every test suite against the build in $1 and ends with one summary line
# "N passed, N failed". Each suite prints its own details above it.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
PASSED=0
FAILED=0
FAILED_SUITES=()

# run_suite NAME COMMAND...: the command must print a line
# "suite-result: P passed, F failed" (its own counts); a crash or a missing
# line counts as one failure.
run_suite() {
  local name=$1; shift
  echo "=== $name"
  local log; log=$(mktemp)
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local line; line=$(grep -E '^suite-result: [0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  rm -f "$log"
  if [ -z "$line" ]; then
    echo "$name: no result line (exit $rc)"
    FAILED=$((FAILED + 1)); FAILED_SUITES+=("$name"); return
  fi
  local p f
  p=$(echo "$line" | sed -E 's/^suite-result: ([0-9]+) passed, ([0-9]+) failed.*/\1/')
  f=$(echo "$line" | sed -E 's/^suite-result: ([0-9]+) passed, ([0-9]+) failed.*/\2/')
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
  PASSED=$((PASSED + p)); FAILED=$((FAILED + f))
  if [ "$f" -ne 0 ]; then FAILED_SUITES+=("$name"); fi
}

export KILN_BUILD_DIR="$PWD/$BUILD"
run_suite format ./scripts/suite.sh format ./scripts/format.sh check
run_suite docs ./scripts/check-docs.sh "$BUILD"
run_suite lit ./scripts/suite.sh lit "$BUILD"
run_suite unit ./scripts/suite.sh gtest "$BUILD/bin/kiln-unit-tests"
run_suite e2e ./scripts/suite.sh pytest test/e2e
if [ "${KILN_SANITIZE:-0}" = 1 ]; then
  # python3 cannot load the instrumented libraries (test/python/conftest.py).
  echo "=== python: skipped under the sanitizers (the regular build runs it)"
else
  run_suite python ./scripts/suite.sh pytest test/python
fi
run_suite onnx-node /usr/bin/python3 test/onnx/run_node_tests.py "$BUILD/bin/kiln-run"
if [ "${KILN_SANITIZE:-0}" = 1 ]; then
  run_suite fuzz ./scripts/fuzz-smoke.sh "$BUILD"
else
  run_suite fuzz ./scripts/fuzz-smoke.sh build-sanitize
fi

echo
if [ ${#FAILED_SUITES[@]} -ne 0 ]; then echo "failing suites: ${FAILED_SUITES[*]}"; fi
echo "$PASSED passed, $FAILED failed"
[ "$FAILED" -eq 0 ]
