#!/usr/bin/env bash
# make demo: compiles the bundled Llama-style model ahead of time, runs the
# artifact, checks its logits against PyTorch's (bundled, made by
# examples/demo/make_demo_model.py), times it, and runs it once more from a C
# program that links only the runtime.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
BIN=$BUILD/bin
DEMO=examples/demo
OUT=$BUILD/demo
mkdir -p "$OUT"

echo "== kiln-compile $DEMO/tiny_llama.onnx -o $OUT/tiny_llama.so"
start=$(date +%s.%N)
"$BIN/kiln-compile" "$DEMO/tiny_llama.onnx" -o "$OUT/tiny_llama.so"
end=$(date +%s.%N)
printf "compiled in %.2f s; artifact %s bytes, depends on: %s\n" \
  "$(awk "BEGIN {print $end - $start}")" "$(stat -c %s "$OUT/tiny_llama.so")" \
  "$(readelf -d "$OUT/tiny_llama.so" | grep NEEDED | sed -E 's/.*\[(.*)\]/\1/' | tr '\n' ' ')"

echo "== the graph kiln saw (kiln dialect, first lines)"
"$BIN/kiln-compile" "$DEMO/tiny_llama.onnx" --emit=kiln \
  --mlir-elide-resource-strings-if-larger=16 | grep -E "kiln\.(matmul|rms|softmax|attention|gather|rotary)" | head -8

echo "== kiln-run: logits against PyTorch, then latency (2 threads)"
"$BIN/kiln-run" "$OUT/tiny_llama.so" --input "$DEMO/input_ids.npy" \
  --expect "$DEMO/logits.npy" --atol 1e-4 --rtol 1e-3 --bench 20 --threads 2

echo "== the same artifact from a C host linking only libkiln_runtime"
"$BIN/kiln-example-c-host" "$OUT/tiny_llama.so" "$DEMO/input_ids.npy"
