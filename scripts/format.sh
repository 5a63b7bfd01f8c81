#!/usr/bin/env bash
# Checks (or, with `fix`, applies) clang-format's LLVM style on kiln's C/C++.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-check}
CF=$(command -v clang-format-14 || command -v clang-format || true)
if [ -z "$CF" ]; then
  echo "format: clang-format not found (run make deps)" >&2
  exit 1
fi
mapfile -t files < <(git ls-files -- '*.c' '*.cpp' '*.h' '*.hpp' | grep -v '^test/.*/Inputs/' || true)
if [ "$mode" = fix ]; then
  "$CF" -i "${files[@]}"
  exit 0
fi
bad=0
for f in "${files[@]}"; do
  if ! "$CF" --dry-run --Werror "$f" >/dev/null 2>&1; then
    echo "format: $f is not clang-formatted (run: make format)"
    bad=1
  fi
done
exit $bad
