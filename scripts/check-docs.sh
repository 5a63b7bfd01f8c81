#!/usr/bin/env bash
# Checks that docs/generated matches what the .td files generate now.
set -uo pipefail
cd "$(dirname "$0")/.."
BUILD=${1:-build}
cmake --build "$BUILD" --target kiln-docs-build > /dev/null || {
  echo "suite-result: 0 passed, 1 failed"; exit 1; }
bad=0
for f in Dialects/KilnDialect.md Dialects/KilnRTDialect.md KilnConversionPasses.md \
         KilnTransformsPasses.md KilnCPUPasses.md KilnCUDAPasses.md; do
  name=$(basename "$f")
  if ! cmp -s "$BUILD/docs/$f" "docs/generated/$name"; then
    echo "docs: docs/generated/$name is stale (run: make docs)"
    bad=1
  fi
done
if [ $bad -eq 0 ]; then echo "suite-result: 1 passed, 0 failed"; else echo "suite-result: 0 passed, 1 failed"; fi
exit $bad
