#!/usr/bin/env bash
# kiln against its peers, side by side in one run (`make bench`).
#
#   test/bench/run.sh [BUILD_DIR] [BENCH...]     BENCH: matmul attention models quant
#                                                 mamba llm scaling
#                                                 bigmodel (only when named)
#
# Benchmarks are not tests: nothing here fails because the machine is slow or
# a peer is missing. Every implementation runs on the same thread count
# (KILN_BENCH_THREADS, default: all cores) and is timed the same way: one
# first run, max(2, N/5) warm-up runs, then the median of N timed runs, N
# chosen so that the timed runs take about KILN_BENCH_BUDGET seconds (default
# 4), between 3 and KILN_BENCH_MAX_RUNS (default 50). A kiln model whose
# single run takes KILN_BENCH_SLOW seconds or more (default 3) is measured
# by that one cold run instead, timed as kiln-run's process wall time.
#
# kiln models are compiled ahead of time (kiln-compile) and timed with
# `kiln-run MODEL.so --random-inputs --bench N --threads T`. Peers: numpy
# (system BLAS: OpenBLAS via libopenblas0-pthread), PyTorch, and ONNX Runtime
# (onnxruntime-node from npm, installed into BUILD_DIR/bench-deps on first
# use; skipped when npm or the registry is unavailable).
#
# Results go to BUILD_DIR/bench/results.tsv and, with the environment header,
# to BUILD_DIR/bench/report.md.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
HERE="$ROOT/test/bench"
BUILD_ARG=${1:-build}
BUILD_DIR=$(realpath -m "$BUILD_ARG")
shift || true
BENCHES=("$@")
if [ ${#BENCHES[@]} -eq 0 ] || [ "${BENCHES[0]}" = all ]; then
  BENCHES=(matmul attention models quant mamba llm scaling)
fi

PY=/usr/bin/python3
BIN="$BUILD_DIR/bin"
THREADS=${KILN_BENCH_THREADS:-$(nproc)}
BUDGET=${KILN_BENCH_BUDGET:-4}
MAX_RUNS=${KILN_BENCH_MAX_RUNS:-50}
SLOW=${KILN_BENCH_SLOW:-3}
WORK="$BUILD_DIR/bench"
RESULTS="$WORK/results.tsv"
REPORT="$WORK/report.md"
export OPENBLAS_NUM_THREADS=$THREADS OMP_NUM_THREADS=$THREADS
export PYTHONWARNINGS=ignore

for b in "${BENCHES[@]}"; do
  case "$b" in
    matmul | attention | models | quant | mamba | llm | scaling | bigmodel) ;;
    *) echo "run.sh: unknown benchmark '$b' (matmul, attention, models, quant, mamba, llm, scaling, bigmodel)" >&2
       exit 2 ;;
  esac
done
for t in kiln-compile kiln-run; do
  # The build dir may be shared with a build that is relinking: wait a bit.
  for _ in $(seq 30); do [ -x "$BIN/$t" ] && break; sleep 2; done
  if [ ! -x "$BIN/$t" ]; then
    echo "run.sh: $BIN/$t is missing: run \`make build\` first" >&2
    exit 2
  fi
done
mkdir -p "$WORK"
: >"$RESULTS"
: >"$REPORT"

say() { echo "$@" | tee -a "$REPORT"; }
now() { echo "$EPOCHREALTIME"; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }

# record BENCH CASE IMPL RUNS MEDIAN_MS FLOPS PEAK_KB NOTE
record() {
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$RESULTS"
}

# --------------------------------------------------------------- header
header() {
  local cpu blas ortv
  cpu=$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
  cpu="$cpu (family $(grep -m1 '^cpu family' /proc/cpuinfo | cut -d: -f2 | tr -d ' ')"
  cpu="$cpu model $(grep -m1 '^model[[:space:]]*:' /proc/cpuinfo | cut -d: -f2 | tr -d ' '))"
  blas=$("$PY" -c '
import numpy as np
a = np.ones((64, 64), np.float32); a @ a
libs = {"/".join(l.split()[-1].rsplit("/", 2)[-2:])
        for l in open("/proc/self/maps") if "libopenblas" in l or "libblas" in l}
print(",".join(sorted(libs)) or "?")' 2>/dev/null || echo "?")
  say "## kiln benchmarks"
  say ""
  say "- date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  say "- machine: $cpu, $(nproc) cores online, threads used: $THREADS" \
      "($(grep -o -m1 -w avx512f /proc/cpuinfo >/dev/null && echo AVX-512 || echo no AVX-512))"
  say "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  if awk '{ exit !($1 > 0.5) }' /proc/loadavg; then
    say "- warning: the machine is busy; other work slows every column, not all alike"
  fi
  say "- kiln: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')" \
      "$(git -C "$ROOT" diff --quiet HEAD -- lib include runtime tools 2>/dev/null \
         || echo '(with uncommitted changes in lib/include/runtime/tools)')"
  say "- numpy $("$PY" -c 'import numpy; print(numpy.__version__)') (BLAS: $blas)," \
      "PyTorch $("$PY" -c 'import torch; print(torch.__version__)' 2>/dev/null)," \
      "onnx $("$PY" -c 'import onnx; print(onnx.__version__)')"
  if [ -n "$ORT" ]; then
    ortv=$(node -p "require('$ORT/package.json').version")
    say "- ONNX Runtime $ortv (onnxruntime-node, CPU), node $(node --version)"
  else
    say "- ONNX Runtime: skipped (see the message above)"
  fi
  say "- timing: first run, max(2, N/5) warm-ups, median of N runs;" \
      "N fits ~${BUDGET}s of timed runs, 3..$MAX_RUNS; a kiln run of ≥${SLOW}s:" \
      "one cold run (process wall time)"
  say "- \`kiln ÷ impl\`: kiln's median over the impl's; above 1, the impl is faster than kiln"
  case "$blas" in
    *openblas-openmp*) ;;
    *openblas*) say "- warning: this OpenBLAS is not the OpenMP build: PyTorch's and" \
                    "OpenBLAS's thread pools oversubscribe the cores" ;;
    *) say "- warning: numpy is not using OpenBLAS (\`make deps\` installs libopenblas0-openmp)" ;;
  esac
}

# --------------------------------------------------------------- kiln
# kiln_bench BENCH CASE MODEL.onnx FLOPS NOTE [IMPL TAG KILN_COMPILE_FLAGS...]
# IMPL (default kiln) labels the row; TAG names the artifact MODEL.TAG.so.
kiln_bench() {
  local bench=$1 case=$2 onnx=$3 flops=$4 note=$5 impl=${6:-kiln} tag=${7:-}
  shift $(($# < 7 ? $# : 7))
  local base="${onnx%.onnx}${tag:+.$tag}"
  local so="$base.so" log="$base.kiln.log" tf="$WORK/time.out"
  local t0 t1 compile_s wall peak runs ms
  t0=$(now)
  if ! "$BIN/kiln-compile" "$onnx" "$@" -o "$so" >"$log" 2>&1; then
    echo "  $impl: $case: kiln-compile failed, see $log" >&2
    record "$bench" "$case" "$impl" - - "$flops" - "compile failed"
    return 0
  fi
  t1=$(now)
  compile_s=$(elapsed "$t0" "$t1")
  # One cold run: it picks N, or is the measurement when it is slow.
  t0=$(now)
  if ! /usr/bin/time -f %M -o "$tf" "$BIN/kiln-run" "$so" --random-inputs \
      --threads "$THREADS" >>"$log" 2>&1; then
    echo "  $impl: $case: kiln-run failed, see $log" >&2
    record "$bench" "$case" "$impl" - - "$flops" - "run failed"
    return 0
  fi
  t1=$(now)
  wall=$(elapsed "$t0" "$t1")
  peak=$(tail -n1 "$tf")
  note="$note${note:+, }compile ${compile_s%?}s"
  if awk -v w="$wall" -v s="$SLOW" 'BEGIN { exit !(w >= s) }'; then
    ms=$(awk -v w="$wall" 'BEGIN { printf "%.1f", w * 1000 }')
    record "$bench" "$case" "$impl" 1 "$ms" "$flops" "$peak" "$note, 1 cold run"
    printf '  %-10s %s: %s ms (1 cold run)\n' "$impl" "$case" "$ms"
    return 0
  fi
  runs=$(awk -v w="$wall" -v b="$BUDGET" -v m="$MAX_RUNS" \
    'BEGIN { n = int(b / w); if (n < 3) n = 3; if (n > m) n = m; print n }')
  if ! /usr/bin/time -f %M -o "$tf" "$BIN/kiln-run" "$so" --random-inputs \
      --threads "$THREADS" --bench "$runs" >"$log.bench" 2>&1; then
    echo "  $impl: $case: kiln-run --bench failed, see $log.bench" >&2
    record "$bench" "$case" "$impl" - - "$flops" - "run failed"
    return 0
  fi
  peak=$(tail -n1 "$tf")
  ms=$(sed -n 's/^bench: runs=[0-9]* median_ms=\([0-9.]*\).*/\1/p' "$log.bench")
  record "$bench" "$case" "$impl" "$runs" "$ms" "$flops" "$peak" "$note"
  printf '  %-10s %s: %s ms (%s runs)\n' "$impl" "$case" "$ms" "$runs"
}

# --------------------------------------------------------------- ORT
# ort_bench BENCH CASE MODEL.onnx FLOPS
ort_bench() {
  local bench=$1 case=$2 onnx=$3 flops=$4 tf="$WORK/time.out" out
  [ -n "$ORT" ] || return 0
  if ! out=$(/usr/bin/time -f %M -o "$tf" node "$HERE/ort_bench.js" --ort "$ORT" \
      "$onnx" --threads "$THREADS" --budget "$BUDGET" --max-runs "$MAX_RUNS" 2>&1); then
    echo "  ORT: $case failed: $(echo "$out" | tail -n1)" >&2
    record "$bench" "$case" "ONNX Runtime" - - "$flops" - "failed"
    return 0
  fi
  set -- $(echo "$out" | grep '^RESULT')
  record "$bench" "$case" "ONNX Runtime" "$2" "$3" "$flops" "$(tail -n1 "$tf")" ""
  echo "  ORT        $case: $3 ms ($2 runs)"
}

# --------------------------------------------------------------- Python peers
# py_bench BENCH IMPL LABEL FLOPS_OF_CASE_FILE -- PEERS_ARGS...
# Records each `RESULT case runs ms` line peers.py prints.
py_bench() {
  local bench=$1 impl=$2 label=$3 cases=$4 tf="$WORK/time.out" out peak flops
  shift 5
  if ! out=$(/usr/bin/time -f %M -o "$tf" "$PY" "$HERE/peers.py" "$@" \
      --impl "$impl" --threads "$THREADS" --budget "$BUDGET" \
      --max-runs "$MAX_RUNS" 2>&1); then
    echo "  $label failed: $(echo "$out" | tail -n3)" >&2
    return 0
  fi
  peak=$(tail -n1 "$tf")
  while read -r _ case runs ms; do
    flops=$(awk -v c="$case" '$2 == c { print $4 }' "$cases")
    record "$bench" "$case" "$label" "$runs" "$ms" "${flops:-0}" "$peak" ""
    printf '  %-10s %s: %s ms (%s runs)\n' "$label" "$case" "$ms" "$runs"
  done < <(echo "$out" | grep '^RESULT')
}

# Reorders results.tsv rows of a bench so each case's rows sit together,
# kiln first, and prints the table.
table() {
  local bench=$1 order=$2
  "$PY" - "$RESULTS" "$bench" "$order" <<'EOF'
import sys
path, bench, order = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
rows = [l for l in open(path)]
mine = [l for l in rows if l.split("\t")[0] == bench]
rest = [l for l in rows if l.split("\t")[0] != bench]
cases = []
for l in mine:
    c = l.split("\t")[1]
    if c not in cases:
        cases.append(c)
def key(l):
    p = l.split("\t")
    impl = p[2]
    return (cases.index(p[1]),
            order.index(impl) if impl in order else len(order))
open(path, "w").writelines(rest + sorted(mine, key=key))
EOF
  say ""
  "$PY" "$HERE/table.py" "$RESULTS" "$bench" | tee -a "$REPORT"
}

IMPL_ORDER="kiln,kiln bf16,numpy/OpenBLAS,PyTorch,ONNX Runtime"

# --------------------------------------------------------------- benchmarks
bench_matmul() {
  local cases="$WORK/matmul/cases.txt" name path flops note
  echo "== matmul (fp32, C[M,N] = A[M,K] B[K,N])"
  mkdir -p "$WORK/matmul"
  "$PY" "$HERE/models.py" matmul "$WORK/matmul" >"$cases"
  while read -r _ name path flops note; do
    kiln_bench matmul "$name" "$path" "$flops" "$note"
    # ONNX Runtime's CPU provider has no bf16 MatMul.
    case "$name" in bf16*) ;; *) ort_bench matmul "$name" "$path" "$flops" ;; esac
  done <"$cases"
  py_bench matmul numpy numpy/OpenBLAS "$cases" -- matmul
  py_bench matmul torch PyTorch "$cases" -- matmul
  say ""
  say "### matmul, fp32 (shape MxNxK; square: A and B are inputs; 128x3072x768" \
      "and 1x4096x4096: B is a weight initializer, the latter a decode GEMV;" \
      "bf16_*: bf16 A, B and C, fp32 accumulation)"
  table matmul "$IMPL_ORDER"
}

bench_attention() {
  local cases="$WORK/attention/cases.txt" name path flops note tf="$WORK/time.out"
  echo "== attention (naive ONNX spelling, fp32)"
  mkdir -p "$WORK/attention"
  "$PY" "$HERE/models.py" attention "$WORK/attention" >"$cases"
  while read -r _ name path flops note; do
    kiln_bench attention "$name" "$path" "$flops" "$note"
    ort_bench attention "$name" "$path" "$flops"
    py_bench attention torch PyTorch "$cases" -- attention --case "$name"
  done <"$cases"
  say ""
  say "### attention, fp32, B=1 H=8 S=2048 D=64: Q K^T → Mul scale → (Add causal" \
      "mask) → Softmax → MatMul V"
  say ""
  say "GFLOP/s counts 4·B·H·S²·D for both (causal not halved). Extra peak MiB: the" \
      "process's peak RSS minus its peak RSS on Q+K+V (same inputs and output);" \
      "one [8,2048,2048] fp32 score tensor is 128 MiB. PyTorch is the naive" \
      "spelling too (matmul, softmax, matmul)."
  table attention "$IMPL_ORDER"
}

bench_models() {
  local cases="$WORK/models/cases.txt" name path flops note
  echo "== models (test/e2e/models/families.py, larger sizes)"
  mkdir -p "$WORK/models"
  if ! "$PY" "$HERE/models.py" families "$WORK/models" >"$cases" 2>"$WORK/models/export.log"; then
    echo "  model export failed, see $WORK/models/export.log" >&2
    return 0
  fi
  while read -r _ name path flops note; do
    kiln_bench models "$name" "$path" 0 "$note"
    kiln_bench models "$name" "$path" 0 "" "kiln bf16" bf16 --dtype=bf16
    ort_bench models "$name" "$path" 0
  done <"$cases"
  py_bench models torch PyTorch "$cases" -- families
  say ""
  say "### models, fp32, batch 1 (families.py; sizes in test/bench/models.py)"
  say ""
  say "\`kiln bf16\`: the same model compiled with \`--dtype=bf16\` (bf16 weights" \
      "and matmul/conv inputs, fp32 accumulation); its \`kiln ÷ impl\` is its" \
      "speed-up over kiln's fp32."
  table models "$IMPL_ORDER"
  bf16_table "$cases"
}

# Issue 7: kiln --dtype=bf16 against ONNX Runtime's fp32, with the cosine
# of its outputs against kiln's fp32 outputs on the same random inputs
# (bf16_cosine.py).
bf16_table() {
  local cases=$1 name path fp bf ort cos ratio
  say ""
  say "### models: kiln --dtype=bf16 against ONNX Runtime fp32"
  say ""
  say "| case | kiln fp32 ms | kiln bf16 ms | ONNX Runtime fp32 ms | ORT ÷ kiln bf16 | cosine bf16 vs fp32 |"
  say "|---|---:|---:|---:|---:|---:|"
  while read -r _ name path _; do
    cos=$("$PY" "$HERE/bf16_cosine.py" "$BIN/kiln-run" "${path%.onnx}.so" \
          "${path%.onnx}.bf16.so" "$WORK/models/out-$name" 2>/dev/null || echo "—")
    read -r fp bf ort < <(awk -F'\t' -v c="$name" '
      $1 == "models" && $2 == c { m[$3] = $5 }
      END { printf "%s %s %s\n", m["kiln"] ? m["kiln"] : "—",
            m["kiln bf16"] ? m["kiln bf16"] : "—",
            m["ONNX Runtime"] ? m["ONNX Runtime"] : "—" }' "$RESULTS")
    ratio=$(awk -v o="$ort" -v b="$bf" \
      'BEGIN { if (o + 0 > 0 && b + 0 > 0) printf "%.2f", o / b; else print "—" }')
    say "| $name | $fp | $bf | $ort | $ratio | $cos |"
  done <"$cases"
}

# Issue 7: one decode step of a Llama-style decoder in fp32, bf16, int8 and
# int4 (quant_bench.py times the four side by side and prints its table).
bench_quant() {
  echo "== quant (test/bench/quant_bench.py)"
  mkdir -p "$WORK/quant"
  say ""
  say "### decode step, Llama-style (d=768, 12 layers, SwiGLU 2048, vocab" \
      "32000), batch 1, past KV 128: fp32, --dtype=bf16, --quantize=int8/int4"
  say ""
  say '```'
  if ! "$PY" "$HERE/quant_bench.py" --build "$BUILD_DIR" --threads "$THREADS" \
      --work "$WORK/quant" 2>"$WORK/quant/log" | tee -a "$REPORT"; then
    echo "  quant benchmark failed, see $WORK/quant/log" >&2
  fi
  say '```'
}

# Issue 8's Mamba block (d_model 768, d_inner 1536, d_state 16): prefill of
# 1024 tokens, the scan alone and a decode step against PyTorch eager
# (mamba_bench.py times both sides and prints its table).
bench_mamba() {
  echo "== mamba (test/bench/mamba_bench.py)"
  mkdir -p "$WORK/mamba"
  say ""
  say '```'
  if ! "$PY" "$HERE/mamba_bench.py" --build "$BUILD_DIR" --threads "$THREADS" \
      --work "$WORK/mamba" 2>"$WORK/mamba/log" | tee -a "$REPORT"; then
    echo "  mamba benchmark failed, see $WORK/mamba/log" >&2
  fi
  say '```'
}

# Issue 10's decoder: a random Llama-style checkpoint (d=768, 12 layers,
# vocab 32000) compiled from its directory; prefill and decode tokens/s
# against PyTorch eager with the same KV-cache algorithm (llm_bench.py
# checks that both generate the same greedy tokens, then times them).
bench_llm() {
  echo "== llm (test/bench/llm_bench.py)"
  mkdir -p "$WORK/llm"
  say ""
  say '```'
  if ! "$PY" "$HERE/llm_bench.py" --build "$BUILD_DIR" --threads "$THREADS" \
      --work "$WORK/llm" 2>"$WORK/llm/log" | tee -a "$REPORT"; then
    echo "  llm benchmark failed, see $WORK/llm/log" >&2
  fi
  say '```'
}

# Issue 6's thread scaling: the large cases (SGEMM 2048^3 and the model set)
# on 1 thread and on THREADS, same artifact, alternating, each the median of
# its runs. Compiles what the matmul and models benchmarks have not.
scaling_ms() { # scaling_ms MODEL.so THREADS RUNS
  "$BIN/kiln-run" "$1" --random-inputs --threads "$2" --bench "$3" 2>/dev/null |
    sed -n 's/^bench: runs=[0-9]* median_ms=\([0-9.]*\).*/\1/p'
}

bench_scaling() {
  echo "== scaling (kiln, 1 thread against $THREADS)"
  mkdir -p "$WORK/matmul" "$WORK/models"
  [ -f "$WORK/matmul/cases.txt" ] ||
    "$PY" "$HERE/models.py" matmul "$WORK/matmul" >"$WORK/matmul/cases.txt"
  [ -f "$WORK/models/cases.txt" ] ||
    "$PY" "$HERE/models.py" families "$WORK/models" >"$WORK/models/cases.txt" \
      2>"$WORK/models/export.log" || true
  local lines=() name path so one many
  while read -r _ name path _; do
    case "$name" in 2048x2048x2048 | llama | dit | unet | vit | mamba) ;; *) continue ;; esac
    so="${path%.onnx}.so"
    if [ ! -f "$so" ] && ! "$BIN/kiln-compile" "$path" -o "$so" \
        >"${path%.onnx}.scaling.log" 2>&1; then
      echo "  kiln: $name: kiln-compile failed" >&2
      continue
    fi
    scaling_ms "$so" 1 2 >/dev/null # warm-up: page in the weights
    one=$(scaling_ms "$so" 1 10)
    many=$(scaling_ms "$so" "$THREADS" 10)
    one=$(printf '%s\n%s\n' "$one" "$(scaling_ms "$so" 1 10)" | sort -g | head -n1)
    many=$(printf '%s\n%s\n' "$many" "$(scaling_ms "$so" "$THREADS" 10)" | sort -g | head -n1)
    [ -n "$one" ] && [ -n "$many" ] || { echo "  kiln: $name: run failed" >&2; continue; }
    lines+=("$(awk -v n="$name" -v a="$one" -v b="$many" \
      'BEGIN { printf "| %s | %.2f | %.2f | %.2fx |", n, a, b, a / b }')")
    echo "  $name: 1 thread $one ms, $THREADS threads $many ms"
  done < <(cat "$WORK/matmul/cases.txt" "$WORK/models/cases.txt")
  say ""
  say "### thread scaling, kiln (same artifact; better of two medians of 10 runs each)"
  say ""
  say "| case | 1 thread ms | $THREADS threads ms | speed-up |"
  say "|---|---:|---:|---:|"
  local l
  for l in "${lines[@]}"; do say "$l"; done
}

# Issue 12's bounded compile memory: a 1.1e9-parameter fp16 Llama compiled
# and decoded under GNU time -v (big_compile.sh). Minutes and ~11 GB of
# disk, so only when named: `test/bench/run.sh build bigmodel`.
bench_bigmodel() {
  echo "== bigmodel (test/bench/big_compile.sh)"
  if ! KILN_BIG_DIR="$WORK/bigmodel" "$HERE/big_compile.sh" "$BUILD_DIR"; then
    echo "  bigmodel failed (see $WORK/bigmodel/*.log)" >&2
    return 0
  fi
  say ""
  cat "$WORK/bigmodel/summary.txt" >>"$REPORT"
}

ORT=""
if ORT=$("$HERE/setup_ort.sh" "$BUILD_DIR/bench-deps"); then :; else ORT=""; fi
header
start=$(now)
for b in "${BENCHES[@]}"; do
  "bench_$b"
done
say ""
say "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
say "total time: $(awk -v s="$(elapsed "$start" "$(now)")" 'BEGIN { printf "%.0f", s }') s" \
    "(\`test/bench/run.sh $BUILD_ARG ${BENCHES[*]}\`, threads $THREADS); results: $RESULTS"
