// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-selective-scan))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-selective-scan{block-channels=64 chunk=8}))' \
// RUN:   | FileCheck %s --check-prefix=SMALL
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-selective-scan{block-channels=48}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHANNELS
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-selective-scan{chunk=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=CHUNK
// CHANNELS: error: block-channels must be a multiple of 32 from 32 to 1024, got 48
// CHUNK: error: chunk must be positive, got 0

// Every optional operand (flags 31: D, z, delta bias, initial state,
// softplus), 200 channels of state 4, 70 steps: two blocks of 128 channels
// (the second partial), a batch per grid y; the channel's A row, D, bias
// and initial state loaded once; chunks of 32 steps (the last of 6) whose B
// and C rows are copied into shared memory between barriers; per step the
// softplus, 4 state updates, D, silu(z) and a guarded store of y; the final
// state stored once.
// CHECK-LABEL: func.func @scan
// CHECK: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c2{{[^,]*}}, {{[^=]*}}= %c3{{[^,]*}}, {{[^=]*}}= %c1{{[^)]*}})
// CHECK-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c128,
// CHECK-SAME: module(@kiln_kernels) function(@scan_scan0)
// CHECK-SAME: workgroup(%[[BS:.*]] : memref<32x4xf32, #gpu.address_space<workgroup>>, %[[CS:.*]] : memref<32x4xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-8: memref.load %arg{{[28]}}[
// CHECK: memref.load %arg5
// CHECK: memref.load %arg7
// CHECK: %[[H:.*]]:4 = scf.for {{.*}} iter_args
// CHECK: memref.store %{{.*}}, %[[BS]]
// CHECK: memref.store %{{.*}}, %[[CS]]
// CHECK: gpu.barrier
// CHECK: scf.for {{.*}} iter_args
// CHECK: math.log1p
// CHECK-COUNT-4: math.exp
// CHECK: memref.load %arg6
// CHECK: memref.store %{{.*}}, %arg9
// CHECK: gpu.barrier
// CHECK-COUNT-4: memref.store %[[H]]#{{[0-3]}}, %arg10
// CHECK: gpu.terminator
// CHECK-NOT: kiln_rt.ukernel
// SMALL-LABEL: func.func @scan
// SMALL: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c4{{[^,]*}},
// SMALL-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c64,
// SMALL-SAME: workgroup(%{{.*}} : memref<8x4xf32, #gpu.address_space<workgroup>>
func.func @scan(%u: memref<3x70x200xf32>, %dt: memref<3x70x200xf32>, %A: memref<200x4xf32>, %B: memref<3x70x4xf32>, %C: memref<3x70x4xf32>, %D: memref<200xf32>, %z: memref<3x70x200xf32>, %bias: memref<200xf32>, %h0: memref<3x200x4xf32>, %y: memref<3x70x200xf32>, %hn: memref<3x200x4xf32>) {
  %f = arith.constant 31 : i64
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %dt, %A, %B, %C, %D, %z, %bias, %h0, %f : memref<3x70x200xf32>, memref<3x70x200xf32>, memref<200x4xf32>, memref<3x70x4xf32>, memref<3x70x4xf32>, memref<200xf32>, memref<3x70x200xf32>, memref<200xf32>, memref<3x200x4xf32>, i64) outs(%y, %hn : memref<3x70x200xf32>, memref<3x200x4xf32>)
  return
}

// -----

// No optional operand (flags 0: their placeholders are not read), 40
// channels: one block of 64 threads (whole warps), no softplus.
// CHECK-LABEL: func.func @plain
// CHECK: threads({{[^)]*}}) in ({{[^=]*}}= %c64,
// CHECK-NOT: memref.load %arg5
// CHECK-NOT: memref.load %arg8
// CHECK-NOT: math.log1p
// CHECK-NOT: memref.load %arg6
// CHECK: gpu.terminator
func.func @plain(%u: memref<1x5x40xf32>, %dt: memref<1x5x40xf32>, %A: memref<40x2xf32>, %B: memref<1x5x2xf32>, %C: memref<1x5x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %y: memref<1x5x40xf32>, %hn: memref<1x40x2xf32>) {
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %dt, %A, %B, %C, %p1, %p3, %p1, %p3, %f : memref<1x5x40xf32>, memref<1x5x40xf32>, memref<40x2xf32>, memref<1x5x2xf32>, memref<1x5x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%y, %hn : memref<1x5x40xf32>, memref<1x40x2xf32>)
  return
}

// -----

// Edge sizes: no channel (the call goes); no step (one kernel whose chunk
// loop runs no chunk: the final state is the initial one).
// CHECK-LABEL: func.func @no_channel
// CHECK-NOT: gpu.launch
// CHECK-NOT: kiln_rt.ukernel
// CHECK-LABEL: func.func @no_step
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%{{.*}} : memref<1x2xf32, #gpu.address_space<workgroup>>
// CHECK: memref.load %arg8
// CHECK: memref.store %{{.*}}, %arg10
func.func @no_channel(%u: memref<1x5x0xf32>, %A: memref<0x2xf32>, %B: memref<1x5x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %hn: memref<1x0x2xf32>) {
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %u, %A, %B, %B, %p1, %p3, %p1, %p3, %f : memref<1x5x0xf32>, memref<1x5x0xf32>, memref<0x2xf32>, memref<1x5x2xf32>, memref<1x5x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%u, %hn : memref<1x5x0xf32>, memref<1x0x2xf32>)
  return
}
func.func @no_step(%u: memref<1x0x40xf32>, %dt: memref<1x0x40xf32>, %A: memref<40x2xf32>, %B: memref<1x0x2xf32>, %C: memref<1x0x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %p1b: memref<1xf32>, %h0: memref<1x40x2xf32>, %y: memref<1x0x40xf32>, %hn: memref<1x40x2xf32>) {
  %f = arith.constant 8 : i64
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %dt, %A, %B, %C, %p1, %p3, %p1b, %h0, %f : memref<1x0x40xf32>, memref<1x0x40xf32>, memref<40x2xf32>, memref<1x0x2xf32>, memref<1x0x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x40x2xf32>, i64) outs(%y, %hn : memref<1x0x40xf32>, memref<1x40x2xf32>)
  return
}

// -----

// A state too large for a step's B and C rows in shared memory.
func.func @huge_state(%u: memref<1x5x32xf32>, %A: memref<32x6145xf32>, %B: memref<1x5x6145xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %hn: memref<1x32x6145xf32>) {
  %f = arith.constant 0 : i64
  // expected-error @+1 {{a state of 6145 elements leaves no room for a step's B and C rows in shared memory (48 KiB)}}
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %u, %A, %B, %B, %p1, %p3, %p1, %p3, %f : memref<1x5x32xf32>, memref<1x5x32xf32>, memref<32x6145xf32>, memref<1x5x6145xf32>, memref<1x5x6145xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%u, %hn : memref<1x5x32xf32>, memref<1x32x6145xf32>)
  return
}

// -----

func.func @big_batch(%u: memref<70000x1x32xf32>, %A: memref<32x2xf32>, %B: memref<70000x1x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %hn: memref<70000x32x2xf32>) {
  %f = arith.constant 0 : i64
  // expected-error @+1 {{a batch of 70000 exceeds the grid's 65535 blocks in y}}
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %u, %A, %B, %B, %p1, %p3, %p1, %p3, %f : memref<70000x1x32xf32>, memref<70000x1x32xf32>, memref<32x2xf32>, memref<70000x1x2xf32>, memref<70000x1x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%u, %hn : memref<70000x1x32xf32>, memref<70000x32x2xf32>)
  return
}

// -----

// Other micro-kernels are left (kiln-cuda-tile-attention reports them).
// CHECK-LABEL: func.func @other
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_f32"
func.func @other(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %b, %f : memref<4x4xf32>, memref<4x4xf32>, i64) outs(%c : memref<4x4xf32>)
  return
}

// -----

func.func @arity(%u: memref<1x5x40xf32>, %y: memref<1x5x40xf32>) {
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_selective_scan_f32' takes 10 inputs and 2 outputs, got 2 and 1}}
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %f : memref<1x5x40xf32>, i64) outs(%y : memref<1x5x40xf32>)
  return
}

// -----

func.func @dynamic_flags(%u: memref<1x5x40xf32>, %A: memref<40x2xf32>, %B: memref<1x5x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %y: memref<1x5x40xf32>, %hn: memref<1x40x2xf32>, %f: i64) {
  // expected-error @+1 {{micro-kernel 'kiln_uk_selective_scan_f32' needs constant flags}}
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %u, %A, %B, %B, %p1, %p3, %p1, %p3, %f : memref<1x5x40xf32>, memref<1x5x40xf32>, memref<40x2xf32>, memref<1x5x2xf32>, memref<1x5x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%y, %hn : memref<1x5x40xf32>, memref<1x40x2xf32>)
  return
}

// -----

// Flags say D is given, but its placeholder is not a [Di] vector.
func.func @shapes(%u: memref<1x5x40xf32>, %A: memref<40x2xf32>, %B: memref<1x5x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %y: memref<1x5x40xf32>, %hn: memref<1x40x2xf32>) {
  %f = arith.constant 1 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_selective_scan_f32' has operand shapes that do not agree}}
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %u, %A, %B, %B, %p1, %p3, %p1, %p3, %f : memref<1x5x40xf32>, memref<1x5x40xf32>, memref<40x2xf32>, memref<1x5x2xf32>, memref<1x5x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%y, %hn : memref<1x5x40xf32>, memref<1x40x2xf32>)
  return
}

// -----

func.func @dynamic(%u: memref<1x?x40xf32>, %A: memref<40x2xf32>, %B: memref<1x?x2xf32>, %p1: memref<1xf32>, %p3: memref<1x1x1xf32>, %y: memref<1x?x40xf32>, %hn: memref<1x40x2xf32>) {
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_selective_scan_f32' needs static f32 buffers}}
  kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %u, %A, %B, %B, %p1, %p3, %p1, %p3, %f : memref<1x?x40xf32>, memref<1x?x40xf32>, memref<40x2xf32>, memref<1x?x2xf32>, memref<1x?x2xf32>, memref<1xf32>, memref<1x1x1xf32>, memref<1xf32>, memref<1x1x1xf32>, i64) outs(%y, %hn : memref<1x?x40xf32>, memref<1x40x2xf32>)
  return
}
