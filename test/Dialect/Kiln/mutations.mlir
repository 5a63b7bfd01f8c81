// Mutates every type and integer attribute of ops.mlir, one at a time, and
// checks that kiln-opt accepts each variant or rejects it with a located
// diagnostic: never a crash or an assertion failure.
// RUN: %python %S/Inputs/mutate_ir.py kiln-opt %S/ops.mlir | FileCheck %s
// CHECK: crashes or unlocated errors: 0
