#!/usr/bin/env bash
# Runs each libFuzzer target for a short budget over a copy of its corpus
# (test/fuzz/corpus/<name>) and prints one suite-result line. A crash, leak,
# hang (-timeout) or excessive memory (-rss_limit_mb) fails the target; its
# reproducer is kept in the printed artifact directory.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build-sanitize}
SECONDS_PER_TARGET=${2:-${KILN_FUZZ_SECONDS:-20}}
passed=0
failed=0
out=$(mktemp -d /tmp/kiln-fuzz.XXXXXX)
for pair in onnx:kiln-fuzz-onnx safetensors:kiln-fuzz-safetensors npy:kiln-fuzz-npy \
    artifact:kiln-fuzz-artifact; do
  corpus=${pair%%:*}
  target=${pair##*:}
  bin="$BUILD/bin/$target"
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is missing"
    failed=$((failed + 1))
    continue
  fi
  work="$out/$corpus"
  mkdir -p "$work/corpus" "$work/artifacts"
  cp test/fuzz/corpus/"$corpus"/* "$work/corpus/"
  if ASAN_OPTIONS=detect_leaks=1 "$bin" -max_total_time="$SECONDS_PER_TARGET" \
      -timeout=20 -rss_limit_mb=4096 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" > "$work/log" 2>&1; then
    runs=$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$work/log" | grep -Eo '[0-9]+$')
    echo "fuzz: $target ok (${runs:-?} inputs in ${SECONDS_PER_TARGET}s)"
    passed=$((passed + 1))
  else
    echo "fuzz: $target FAILED; reproducer in $work/artifacts:"
    tail -30 "$work/log"
    failed=$((failed + 1))
  fi
done
echo "suite-result: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
