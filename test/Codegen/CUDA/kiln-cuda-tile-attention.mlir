// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{block-rows=32 threads-per-row=8 block-keys=16}))' \
// RUN:   | FileCheck %s --check-prefix=SMALL
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{shared-memory=4096}))' \
// RUN:   | FileCheck %s --check-prefix=SHARED
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{tensor-cores=true}))' \
// RUN:   | FileCheck %s --check-prefix=MMA
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{tensor-cores=true block-rows=128}))' \
// RUN:   | FileCheck %s --check-prefix=MMA128
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{threads-per-row=3}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TPR
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{block-rows=12}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ROWS
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{block-keys=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=KEYS
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{shared-memory=100}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=TINY
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-attention{shared-memory=98304}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BIGSHARED
// BIGSHARED: error: shared-memory must be 1 to 49152 bytes (static shared memory), got 98304
// TPR: error: threads-per-row must be 0 (automatic) or a power of two from 1 to 32, got 3
// ROWS: error: block-rows x threads-per-row (12 x 4) must be a positive multiple of 32
// KEYS: error: block-keys must be positive, got 0
// TINY: error: a tile of one key and value (512 bytes) does not fit in shared-memory (100 bytes)

// Causal attention, grouped KV heads (4 query heads, 2 KV heads), 100
// queries of D = 64: two blocks of 64 queries per head (grid x), a head
// per grid y, 256 threads (4 per query), 32-key tiles of keys and values
// in shared memory. A thread keeps 16 query elements; per tile: the copies,
// a barrier, 32 partial dot products of 16 fused multiply-adds, two rounds
// of shuffles, the online softmax, 16 output columns, a barrier.
// CHECK-LABEL: func.func @causal
// CHECK: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c2{{[^,]*}}, {{[^=]*}}= %c4{{[^,]*}}, {{[^=]*}}= %c1{{[^)]*}})
// CHECK-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c256,
// CHECK-SAME: module(@kiln_kernels) function(@causal_attention0)
// CHECK-SAME: workgroup(%[[KS:.*]] : memref<32x64xf32, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<32x64xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-16: memref.load %arg0
// The causal limit of the block's last query: first + 64 + 100 - 100.
// CHECK: arith.maxsi
// CHECK: arith.minsi
// CHECK: %[[R:.*]]:18 = scf.for {{.*}} iter_args
// CHECK: memref.store %{{.*}}, %[[KS]]
// CHECK: memref.store %{{.*}}, %[[VS]]
// CHECK: gpu.barrier
// CHECK-COUNT-512: math.fma
// CHECK-COUNT-64: gpu.shuffle  xor
// CHECK: math.exp
// CHECK-COUNT-512: math.fma
// CHECK: gpu.barrier
// CHECK: scf.yield
// CHECK: arith.divf
// CHECK: scf.if
// CHECK-COUNT-16: memref.store %{{.*}}, %arg3
// CHECK: gpu.terminator
// CHECK-NOT: kiln_rt.ukernel
// SMALL-LABEL: func.func @causal
// SMALL: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c4{{[^,]*}},
// SMALL-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c256,
// SMALL-SAME: workgroup(%{{.*}} : memref<16x64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<16x64xf32, #gpu.address_space<workgroup>>)
// SMALL-COUNT-8: memref.load %arg0
// SMALL: scf.for
// SMALL-COUNT-48: gpu.shuffle  xor
// SHARED-LABEL: func.func @causal
// SHARED: workgroup(%{{.*}} : memref<8x64xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8x64xf32, #gpu.address_space<workgroup>>)
// With tensor-cores: 4 warps of 16 queries (128 threads), bf16 tiles of
// 32 keys; the queries as 4 A fragments; per tile 4 x 4 products for
// S = Q K^T (8 keys each), the rows' maxima over quads (2 x 2 shuffles),
// the weights packed as 2 A fragments, 8 x 2 products for O += P V; the
// rows' sums over quads after the loop.
// MMA-LABEL: func.func @causal
// MMA: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c2{{[^,]*}},
// MMA-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c128,
// MMA-SAME: workgroup(%[[KS:.*]] : memref<32x72xbf16, #gpu.address_space<workgroup>>, %[[VS:.*]] : memref<32x72xbf16, #gpu.address_space<workgroup>>)
// MMA-COUNT-32: memref.load %arg0
// MMA: %[[R:.*]]:12 = scf.for {{.*}} -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, f32, f32, f32, f32)
// MMA: arith.truncf %{{.*}} : f32 to bf16
// MMA: memref.store %{{.*}}, %[[KS]]
// MMA: gpu.barrier
// MMA-COUNT-16: nvgpu.mma.sync
// MMA-COUNT-4: gpu.shuffle  xor
// MMA: math.exp
// MMA-COUNT-16: nvgpu.mma.sync
// MMA: gpu.barrier
// MMA: scf.yield
// MMA-COUNT-4: gpu.shuffle  xor
// MMA-COUNT-32: memref.store %{{.*}}, %arg3
// MMA: gpu.terminator
// MMA128-LABEL: func.func @causal
// MMA128: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c1{{[^,]*}},
// MMA128-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c224,
func.func @causal(%q: memref<1x4x100x64xf32>, %k: memref<1x2x100x64xf32>, %v: memref<1x2x100x64xf32>, %o: memref<1x4x100x64xf32>) {
  %s = arith.constant 1.250000e-01 : f64
  %f = arith.constant 1 : i64
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %k, %v, %s, %f : memref<1x4x100x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32>, f64, i64) outs(%o : memref<1x4x100x64xf32>)
  return
}

// -----

// A float mask broadcast over the batch and heads ([1, 1, Sq, Skv]), 20
// queries (a block of 24 rows: whole warps), D = 6 and Dv = 5 (not
// multiples of the 4 threads of a row: the last query element and output
// column are guarded), 10 keys (one tile of 10). Not causal: every tile.
// CHECK-LABEL: func.func @masked
// CHECK: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %c1{{[^,]*}}, {{[^=]*}}= %c2{{[^,]*}}, {{[^=]*}}= %c3{{[^)]*}})
// CHECK-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c96,
// CHECK-SAME: workgroup(%{{.*}} : memref<10x8xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<10x8xf32, #gpu.address_space<workgroup>>)
// CHECK: memref.load %arg0
// CHECK: scf.if
// CHECK: memref.load %arg0
// CHECK-NOT: arith.maxsi
// CHECK: scf.for
// CHECK: memref.load %arg3[%c0{{[_0-9]*}}, %c0{{[_0-9]*}},
// CHECK: arith.addf
// MMA-LABEL: func.func @masked
// MMA-NOT: nvgpu.mma.sync
// MMA: gpu.shuffle
func.func @masked(%q: memref<3x2x20x6xf32>, %k: memref<3x2x10x6xf32>, %v: memref<3x2x10x5xf32>, %m: memref<1x1x20x10xf32>, %o: memref<3x2x20x5xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_attention_mask_f32" ins(%q, %k, %v, %m, %s, %f : memref<3x2x20x6xf32>, memref<3x2x10x6xf32>, memref<3x2x10x5xf32>, memref<1x1x20x10xf32>, f64, i64) outs(%o : memref<3x2x20x5xf32>)
  return
}

// -----

// Keys and values in two parts (a KV cache and new tokens) and a boolean
// mask: the copies read part 0 below its length 24 and part 1 after it.
// CHECK-LABEL: func.func @two_parts
// CHECK: gpu.launch
// CHECK: scf.for
// CHECK: arith.cmpi ult, %{{.*}}, %c24
// CHECK: memref.load %arg1
// CHECK: memref.load %arg2
// CHECK: memref.load %arg3
// CHECK: memref.load %arg4
// CHECK: gpu.barrier
// CHECK: memref.load %arg5
// CHECK: arith.xori
func.func @two_parts(%q: memref<1x2x16x8xf32>, %k1: memref<1x2x24x8xf32>, %k2: memref<1x2x16x8xf32>, %v1: memref<1x2x24x8xf32>, %v2: memref<1x2x16x8xf32>, %m: memref<1x2x16x40xi1>, %o: memref<1x2x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 1 : i64
  kiln_rt.ukernel "kiln_uk_attention_kv2_boolmask_f32" ins(%q, %k1, %k2, %v1, %v2, %m, %s, %f : memref<1x2x16x8xf32>, memref<1x2x24x8xf32>, memref<1x2x16x8xf32>, memref<1x2x24x8xf32>, memref<1x2x16x8xf32>, memref<1x2x16x40xi1>, f64, i64) outs(%o : memref<1x2x16x8xf32>)
  return
}

// -----

// Keys and values a dynamic prefix of a cache (a decoder's prefill): the
// length is read from the buffer on the host and bounds the causal limit,
// the copies and the scores; the tile keeps block-keys.
// CHECK-LABEL: func.func @prefix
// CHECK: %[[L:.*]] = memref.dim %arg1, %c2
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%{{.*}} : memref<32x8xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<32x8xf32, #gpu.address_space<workgroup>>)
// CHECK: arith.addi %{{.*}}, %[[L]]
// CHECK: scf.for
// CHECK: arith.cmpi ult, %{{.*}}, %[[L]]
func.func @prefix(%q: memref<1x2x16x8xf32>, %k: memref<1x2x?x8xf32, strided<[512, 256, 8, 1]>>, %v: memref<1x2x?x8xf32, strided<[512, 256, 8, 1]>>, %o: memref<1x2x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 1 : i64
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %k, %v, %s, %f : memref<1x2x16x8xf32>, memref<1x2x?x8xf32, strided<[512, 256, 8, 1]>>, memref<1x2x?x8xf32, strided<[512, 256, 8, 1]>>, f64, i64) outs(%o : memref<1x2x16x8xf32>)
  return
}

// -----

// A head of 320 (a UNet's single-head attention): 16 threads per query
// (20 elements each), 64 queries (1024 threads), 16-key tiles (32 keys
// would take 80 KiB), four rounds of shuffles.
// CHECK-LABEL: func.func @wide
// CHECK: gpu.launch
// CHECK-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c1024,
// CHECK-SAME: workgroup(%{{.*}} : memref<16x320xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<16x320xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-20: memref.load %arg0
// CHECK: scf.for
// CHECK-COUNT-64: gpu.shuffle  xor
// CHECK-NOT: gpu.shuffle
// CHECK: math.exp
func.func @wide(%q: memref<1x1x128x320xf32>, %o: memref<1x1x128x320xf32>) {
  %s = arith.constant 5.000000e-02 : f64
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %q, %q, %s, %f : memref<1x1x128x320xf32>, memref<1x1x128x320xf32>, memref<1x1x128x320xf32>, f64, i64) outs(%o : memref<1x1x128x320xf32>)
  return
}

// -----

// Nothing to compute: no query (the call goes); no key (a kernel whose
// tile loop runs no tile: zeros, as the contract says for a query that
// sees no key).
// CHECK-LABEL: func.func @empty
// CHECK-NOT: gpu.launch
// CHECK-NOT: kiln_rt.ukernel
// CHECK: return
// CHECK-LABEL: func.func @no_keys
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%{{.*}} : memref<1x8xf32, #gpu.address_space<workgroup>>
// CHECK: arith.divui %{{.*}}, %c1
func.func @empty(%q: memref<1x2x0x8xf32>, %k: memref<1x2x4x8xf32>, %o: memref<1x2x0x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %k, %k, %s, %f : memref<1x2x0x8xf32>, memref<1x2x4x8xf32>, memref<1x2x4x8xf32>, f64, i64) outs(%o : memref<1x2x0x8xf32>)
  return
}
func.func @no_keys(%q: memref<1x2x16x8xf32>, %k: memref<1x2x0x8xf32>, %o: memref<1x2x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %k, %k, %s, %f : memref<1x2x16x8xf32>, memref<1x2x0x8xf32>, memref<1x2x0x8xf32>, f64, i64) outs(%o : memref<1x2x16x8xf32>)
  return
}

// -----

// Near-misses: a micro-kernel with no CUDA kernel, and attention calls the
// contract does not allow.
func.func @matmul(%a: memref<4x4xf32>, %b: memref<4x4xf32>, %c: memref<4x4xf32>) {
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_matmul_f32' is CPU code and has no CUDA kernel (only flash attention and the selective scan have one)}}
  kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %b, %f : memref<4x4xf32>, memref<4x4xf32>, i64) outs(%c : memref<4x4xf32>)
  return
}

// -----

func.func @unknown(%q: memref<1x1x16x8xf32>, %o: memref<1x1x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_sparse_f32' is not a flash-attention kernel}}
  kiln_rt.ukernel "kiln_uk_attention_sparse_f32" ins(%q, %q, %q, %s, %f : memref<1x1x16x8xf32>, memref<1x1x16x8xf32>, memref<1x1x16x8xf32>, f64, i64) outs(%o : memref<1x1x16x8xf32>)
  return
}

// -----

func.func @arity(%q: memref<1x1x16x8xf32>, %o: memref<1x1x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_mask_f32' takes 6 inputs and one output, got 5 and 1}}
  kiln_rt.ukernel "kiln_uk_attention_mask_f32" ins(%q, %q, %q, %s, %f : memref<1x1x16x8xf32>, memref<1x1x16x8xf32>, memref<1x1x16x8xf32>, f64, i64) outs(%o : memref<1x1x16x8xf32>)
  return
}

// -----

func.func @dynamic_scale(%q: memref<1x1x16x8xf32>, %o: memref<1x1x16x8xf32>, %s: f64) {
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_f32' needs a constant scale and constant flags}}
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %q, %q, %s, %f : memref<1x1x16x8xf32>, memref<1x1x16x8xf32>, memref<1x1x16x8xf32>, f64, i64) outs(%o : memref<1x1x16x8xf32>)
  return
}

// -----

func.func @f16(%q: memref<1x1x16x8xf16>, %o: memref<1x1x16x8xf16>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_f32' needs rank-4 f32 buffers, static but for the keys' and values' length, got memref<1x1x16x8xf16>}}
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %q, %q, %s, %f : memref<1x1x16x8xf16>, memref<1x1x16x8xf16>, memref<1x1x16x8xf16>, f64, i64) outs(%o : memref<1x1x16x8xf16>)
  return
}

// -----

func.func @shapes(%q: memref<1x3x16x8xf32>, %k: memref<1x2x16x8xf32>, %o: memref<1x3x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_f32' has operand shapes that do not agree}}
  kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %k, %k, %s, %f : memref<1x3x16x8xf32>, memref<1x2x16x8xf32>, memref<1x2x16x8xf32>, f64, i64) outs(%o : memref<1x3x16x8xf32>)
  return
}

// -----

func.func @dynamic_mask(%q: memref<1x2x16x8xf32>, %k: memref<1x2x?x8xf32>, %m: memref<1x1x16x32xf32>, %o: memref<1x2x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_mask_f32' has operand shapes that do not agree}}
  kiln_rt.ukernel "kiln_uk_attention_mask_f32" ins(%q, %k, %k, %m, %s, %f : memref<1x2x16x8xf32>, memref<1x2x?x8xf32>, memref<1x2x?x8xf32>, memref<1x1x16x32xf32>, f64, i64) outs(%o : memref<1x2x16x8xf32>)
  return
}

// -----

func.func @mask_shape(%q: memref<1x2x16x8xf32>, %m: memref<1x1x16x8xf32>, %o: memref<1x2x16x8xf32>) {
  %s = arith.constant 5.000000e-01 : f64
  %f = arith.constant 0 : i64
  // expected-error @+1 {{micro-kernel 'kiln_uk_attention_mask_f32' has operand shapes that do not agree}}
  kiln_rt.ukernel "kiln_uk_attention_mask_f32" ins(%q, %q, %q, %m, %s, %f : memref<1x2x16x8xf32>, memref<1x2x16x8xf32>, memref<1x2x16x8xf32>, memref<1x1x16x8xf32>, f64, i64) outs(%o : memref<1x2x16x8xf32>)
  return
}
