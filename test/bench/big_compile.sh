#!/usr/bin/env bash
# Issue 12's bounded-compile-memory benchmark: a 1.1e9-parameter Llama-shaped
# checkpoint (TinyLlama's shapes, random fp16 weights, 2.2 GB) compiled to an
# artifact and run for a few decode steps, each under GNU time -v.
#
#   test/bench/big_compile.sh [BUILD_DIR] [-- KILN_COMPILE_ARGS...]
#
# BUILD_DIR defaults to build/. The checkpoint, artifact and logs go to
# KILN_BIG_DIR (default BUILD_DIR/bench/bigmodel); the checkpoint is written
# once by write_llama_ckpt.py and kept (about 2.5 minutes to write). Needs
# about 11 GB free there and in $TMPDIR: 2.2 GB checkpoint, 4.4 GB artifact
# (f32 weights), 4.4 GB of widened weights in an unlinked temporary file
# while compiling. KILN_BENCH_THREADS (default: all cores) threads decode.
# Extra arguments after `--` go to kiln-compile (e.g. `-- --dtype bf16`).
#
# Prints, and writes to KILN_BIG_DIR/summary.txt: compile wall time and peak
# RSS ("Maximum resident set size"), artifact size, the generation's peak RSS
# and decode ms/token, and whether the compile met issue 12's bounds (under
# 180 s, peak RSS under 3 GB). Not a test: it fails only when a step fails.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BUILD_DIR=build
if [ $# -gt 0 ] && [ "$1" != -- ]; then
  BUILD_DIR=$1
  shift
fi
[ "${1:-}" = -- ] && shift
EXTRA=("$@")
BUILD_DIR=$(realpath -m "$BUILD_DIR")
BIN="$BUILD_DIR/bin"
WORK=${KILN_BIG_DIR:-$BUILD_DIR/bench/bigmodel}
THREADS=${KILN_BENCH_THREADS:-$(nproc)}
PY=/usr/bin/python3
CKPT="$WORK/ckpt"
SO="$WORK/model.so"
SUMMARY="$WORK/summary.txt"

for t in kiln-compile kiln-run; do
  if [ ! -x "$BIN/$t" ]; then
    echo "big_compile.sh: $BIN/$t is missing: build first" >&2
    exit 2
  fi
done
if [ ! -x /usr/bin/time ]; then
  echo "big_compile.sh: /usr/bin/time (GNU time) is missing: apt-get install time" >&2
  exit 2
fi
mkdir -p "$WORK"
avail_gb=$(df -P -BG "$WORK" | awk 'NR == 2 { sub("G", "", $4); print $4 }')
if [ "$avail_gb" -lt 12 ] && [ ! -f "$CKPT/model.safetensors" ]; then
  echo "big_compile.sh: only ${avail_gb} GB free in $WORK (needs ~11)" >&2
  exit 2
fi

echo "== checkpoint: TinyLlama-1.1B shapes, random fp16 ($CKPT)"
"$PY" "$ROOT/test/bench/write_llama_ckpt.py" "$CKPT"

# timed LOG CMD...: runs CMD under GNU time -v, output and the time report
# to LOG; sets WALL (s) and PEAK_KB.
timed() {
  local log=$1 tv="$1.time"
  shift
  if ! /usr/bin/time -v -o "$tv" "$@" >"$log" 2>&1; then
    cat "$tv" >>"$log"
    echo "big_compile.sh: '$*' failed, see $log:" >&2
    tail -n 30 "$log" >&2
    exit 1
  fi
  WALL=$(awk -F': ' '/Elapsed \(wall clock\)/ {
    n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]
    printf "%.1f", s }' "$tv")
  PEAK_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$tv")
  CPU=$(awk -F': ' '/User time|System time/ { s += $2 } END { printf "%.1f", s }' "$tv")
}
mib() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

echo "== compile: kiln-compile ckpt -o model.so --max-context 256 ${EXTRA[*]}"
rm -f "$SO"
timed "$WORK/compile.log" "$BIN/kiln-compile" "$CKPT" -o "$SO" \
  --max-context 256 "${EXTRA[@]}"
compile_s=$WALL compile_kb=$PEAK_KB compile_cpu=$CPU
so_bytes=$(stat -c %s "$SO")

echo "== run: kiln-run model.so --generate 4 --prompt-ids 1,2,3 (3 decode steps)"
timed "$WORK/run.log" "$BIN/kiln-run" "$SO" --generate 4 --prompt-ids 1,2,3 \
  --threads "$THREADS"
run_s=$WALL run_kb=$PEAK_KB
decode_rate=$(sed -n 's/^decode: [0-9]* tokens, \([0-9.]*\) tokens\/s/\1/p' "$WORK/run.log")
decode_ms=$(awk -v r="${decode_rate:-0}" 'BEGIN { printf "%.0f", (r > 0) ? 1000 / r : 0 }')
tokens=$(sed -n 's/^tokens: //p' "$WORK/run.log")

verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print ((a < b) ? "yes" : "NO") }'; }
{
  echo "## 1.1e9-parameter Llama compile (issue 12)"
  echo ""
  echo "- kiln: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'), $BIN;" \
       "$(nproc) cores, load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- checkpoint: $(du -h --apparent-size "$CKPT/model.safetensors" | cut -f1) fp16," \
       "hidden 2048, 22 layers, 32 heads / 4 KV heads, SwiGLU 5632, vocab 32000, untied"
  echo "- compile: ${compile_s} s (CPU ${compile_cpu} s), peak RSS $(mib "$compile_kb") MiB" \
       "(bounds: < 180 s: $(verdict "$compile_s" 180)," \
       "< 3 GB: $(verdict "$compile_kb" 2929688))"
  echo "- artifact: $(awk -v b="$so_bytes" 'BEGIN { printf "%.2f GB", b / 1e9 }')"
  echo "- generation (3-token prompt, 1 prefill + 3 decode steps, $THREADS threads):" \
       "${run_s} s, peak RSS $(mib "$run_kb") MiB, decode ${decode_ms} ms/token," \
       "tokens $tokens"
} | tee "$SUMMARY"
