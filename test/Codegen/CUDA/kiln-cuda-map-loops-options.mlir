// RUN: kiln-opt %s -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-map-loops{threads-per-block=2048}))'
// RUN: not kiln-opt %s \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-map-loops{tile-width=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=WIDTH

// expected-error @+1 {{threads-per-block must be 1 to 1024, got 2048}}
func.func @f() {
  return
}
// WIDTH: error: tile-width must be positive, got 0
