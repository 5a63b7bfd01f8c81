// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions{tile-m=32 tile-n=16 tile-k=8 thread-tile=2}))' \
// RUN:   | FileCheck %s --check-prefix=SMALL
// RUN: kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions{tensor-cores=false}))' \
// RUN:   | FileCheck %s --check-prefix=SIMT
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions{thread-tile=3}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=BADTILE
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions{tile-m=128 tile-n=128 thread-tile=2}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=THREADS
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions{tile-k=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=ZERO
// RUN: not kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-tile-contractions{gemv-splits=0}))' 2>&1 \
// RUN:   | FileCheck %s --check-prefix=SPLITS
// SPLITS: error: gemv-splits must be 1 to 32, got 0
// BADTILE: error: tile-m and tile-n (64, 64) must be multiples of thread-tile (3)
// THREADS: error: a tile of 128 x 128 with thread-tile 2 needs 4096 threads per block (at most 1024)
// ZERO: error: tile-k must be positive, got 0

// A matmul: a block per 64 x 64 tile (grid x over N, y over M), 256
// threads, two padded 16-deep slices in shared memory, the K loop carrying
// the thread's 16 accumulators, a barrier after the copies and one after
// the products; the sub-tile is read from and written to the output once.
// CHECK-LABEL: func.func @matmul
// CHECK: %[[GX:.*]] = arith.maxsi %{{.*}}, %{{.*}} : index
// CHECK: %[[GY:.*]] = arith.maxsi %{{.*}}, %{{.*}} : index
// CHECK: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %[[GX]], {{[^=]*}}= %[[GY]], {{[^)]*}})
// CHECK-SAME: threads({{[^)]*}}) in ({{[^=]*}}= %c256,
// CHECK-SAME: module(@kiln_kernels) function(@matmul_matmul0)
// CHECK-SAME: workgroup(%[[TA:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>, %[[TB:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>)
// CHECK-COUNT-16: memref.load %arg2
// CHECK: %[[R:.*]]:16 = scf.for %[[K0:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args
// CHECK-COUNT-4: memref.store %{{.*}}, %[[TA]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[TB]]
// CHECK: gpu.barrier
// CHECK: arith.minsi
// CHECK: scf.for {{.*}} iter_args
// CHECK-COUNT-16: arith.mulf
// CHECK: scf.yield
// CHECK: gpu.barrier
// CHECK: scf.yield %{{.*}}#0
// CHECK-COUNT-16: memref.store %[[R]]#{{[0-9]+}}, %arg2
// CHECK: gpu.terminator
// CHECK-NOT: linalg.matmul
// SMALL-LABEL: func.func @matmul
// SMALL: threads({{[^)]*}}) in ({{[^=]*}}= %c128,
// SMALL-SAME: workgroup(%{{.*}} : memref<8x33xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8x17xf32, #gpu.address_space<workgroup>>)
// SMALL: scf.for
// SMALL-COUNT-4: arith.mulf
func.func @matmul(%a: memref<100x70xf32>, %b: memref<70x90xf32>, %c: memref<100x90xf32>) {
  linalg.matmul ins(%a, %b : memref<100x70xf32>, memref<70x90xf32>) outs(%c : memref<100x90xf32>)
  return
}

// -----

// Outputs just filled with a constant: the accumulators start from it (no
// read of the output) and the kernels replace the fill, and the copies of
// a fill two products share (as bufferization leaves them), the fill
// itself going with its last copy.
// CHECK-LABEL: func.func @filled
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.copy
// CHECK: gpu.launch
// CHECK-NOT: memref.load %arg2
// CHECK: scf.for
// CHECK: gpu.terminator
// CHECK-NOT: linalg.fill
// CHECK-NOT: linalg.copy
// CHECK: gpu.launch
// CHECK-NOT: memref.load %arg3
// CHECK: gpu.terminator
// CHECK-NOT: linalg.
// CHECK: return
func.func @filled(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %y: memref<64x64xf32>,
                  %z: memref<64x64xf32>, %t: memref<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%t : memref<64x64xf32>)
  linalg.copy ins(%t : memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  linalg.copy ins(%t : memref<64x64xf32>) outs(%z : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%z : memref<64x64xf32>)
  return
}

// -----

// Near miss: the filled buffer is written between the fill and the copy;
// the copy and the fill stay and the kernel reads its output.
// CHECK-LABEL: func.func @overwritten
// CHECK: linalg.fill
// CHECK: memref.store
// CHECK: linalg.copy
// CHECK: gpu.launch
// CHECK: memref.load %arg2
func.func @overwritten(%a: memref<64x64xf32>, %b: memref<64x64xf32>, %y: memref<64x64xf32>,
                       %t: memref<64x64xf32>) {
  %zero = arith.constant 0.0 : f32
  %one = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  linalg.fill ins(%zero : f32) outs(%t : memref<64x64xf32>)
  memref.store %one, %t[%c0, %c0] : memref<64x64xf32>
  linalg.copy ins(%t : memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  linalg.matmul ins(%a, %b : memref<64x64xf32>, memref<64x64xf32>) outs(%y : memref<64x64xf32>)
  return
}

// -----

// Batched, with dynamic sizes: the batch is grid z; the K loop's bound is
// the dynamic size.
// CHECK-LABEL: func.func @batch
// CHECK: %[[B:.*]] = memref.dim %arg0, %c0
// CHECK: %[[K:.*]] = memref.dim %arg0, %c2
// CHECK: %[[NB:.*]] = arith.muli %{{.*}}, %[[B]]
// CHECK: %[[BZ:.*]] = arith.maxsi %[[NB]],
// CHECK: gpu.launch blocks({{[^,]*}}, {{[^,]*}}, %[[Z:[^)]*]]) in ({{[^)]*}}= %[[BZ]])
// CHECK: %[[BI:.*]] = arith.remui %[[Z]], %{{.*}}
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[K]] step
// CHECK: memref.load %arg0[%[[BI]],
func.func @batch(%a: memref<?x?x?xf32>, %b: memref<?x?x?xf32>, %c: memref<?x?x?xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<?x?x?xf32>, memref<?x?x?xf32>) outs(%c : memref<?x?x?xf32>)
  return
}

// -----

// bf16 operands extended in the body (f32 accumulation, what --dtype=bf16
// makes) run on tensor cores: 4 warps (128 threads) per 64 x 64 tile, each
// 2 x 4 mma.sync m16n8k16 tiles per 16-deep slice, the 8 accumulator
// fragments carried through the K loop. The batch that only the left
// operand has ([B, M, K] x [K, N]) goes to grid z; the weight used
// transposed ([N, K]) is copied along its contiguous K. With
// tensor-cores=false the body is cloned per accumulator instead.
// CHECK-LABEL: func.func @bf16_broadcast
// CHECK: gpu.launch
// CHECK-SAME: in ({{[^=]*}}= %c128,
// CHECK-SAME: workgroup(%{{.*}} : memref<16x65xbf16, #gpu.address_space<workgroup>>, %{{.*}} : memref<16x65xbf16, #gpu.address_space<workgroup>>)
// CHECK: scf.for {{.*}} iter_args({{.*}}) -> (vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>, vector<2x2xf32>)
// CHECK: gpu.barrier
// CHECK-COUNT-8: nvgpu.mma.sync({{.*}}) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
// CHECK: gpu.barrier
// CHECK-COUNT-32: memref.store {{.*}} : memref<2x40x64xf32>
// CHECK-NOT: linalg.generic
// SIMT-LABEL: func.func @bf16_broadcast
// SIMT-NOT: nvgpu.mma.sync
// SIMT-COUNT-32: arith.extf
#lhs = affine_map<(b, m, n, k) -> (b, m, k)>
#rhs = affine_map<(b, m, n, k) -> (n, k)>
#out = affine_map<(b, m, n, k) -> (b, m, n)>
func.func @bf16_broadcast(%a: memref<2x40x20xbf16>, %w: memref<64x20xbf16>, %c: memref<2x40x64xf32>) {
  linalg.generic {indexing_maps = [#lhs, #rhs, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%a, %w : memref<2x40x20xbf16>, memref<64x20xbf16>) outs(%c : memref<2x40x64xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Near misses for tensor cores, tiled by threads: operands of two types,
// and a bf16 body that is not exactly a product added (a scaled one).
// CHECK-LABEL: func.func @mma_near_misses
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.barrier
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.terminator
// CHECK-NOT: nvgpu.mma.sync
// CHECK: gpu.barrier
// CHECK-NOT: nvgpu.mma.sync
// CHECK: return
#m0 = affine_map<(m, n, k) -> (m, k)>
#m1 = affine_map<(m, n, k) -> (k, n)>
#m2 = affine_map<(m, n, k) -> (m, n)>
func.func @mma_near_misses(%a: memref<64x64xf16>, %b: memref<64x64xbf16>, %c: memref<64x64xf32>,
                           %d: memref<64x64xbf16>) {
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%a, %b : memref<64x64xf16>, memref<64x64xbf16>) outs(%c : memref<64x64xf32>) {
  ^bb0(%x: f16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : f16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#m0, #m1, #m2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%d, %b : memref<64x64xbf16>, memref<64x64xbf16>) outs(%c : memref<64x64xf32>) {
  ^bb0(%x: bf16, %y: bf16, %acc: f32):
    %xf = arith.extf %x : bf16 to f32
    %yf = arith.extf %y : bf16 to f32
    %p = arith.mulf %xf, %yf : f32
    %h = arith.mulf %p, %p : f32
    %s = arith.addf %acc, %h : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A decoder step's product (M = 1): the split-K kernel, a block per 32
// columns of 8 warps (256 threads), each warp summing its range of K from
// zero, the partials in shared memory ([splits][rows][32]), a barrier,
// then the first warp adds them to the output in split order.
// CHECK-LABEL: func.func @gemv
// CHECK: %[[GX:.*]] = arith.maxsi
// CHECK: gpu.launch blocks({{[^)]*}}) in ({{[^=]*}}= %[[GX]],
// CHECK-SAME: in ({{[^=]*}}= %c256,
// CHECK-SAME: function(@gemv_matmul0) workgroup(%[[P:.*]] : memref<8x1x32xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[SPLIT:.*]] = arith.divui %{{.*}}, %c32
// CHECK: scf.if %{{.*}} -> (f32) {
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %cst) -> (f32)
// CHECK: memref.store %{{.*}}, %[[P]][%[[SPLIT]], %{{.*}}, %{{.*}}]
// CHECK: gpu.barrier
// CHECK: arith.cmpi eq, %[[SPLIT]], %c0
// CHECK-COUNT-8: arith.addf
// CHECK: memref.store %{{.*}}, %arg2
// SMALL-LABEL: func.func @gemv
// SMALL: gpu.launch
func.func @gemv(%x: memref<1x300xf32>, %w: memref<300x4096xf32>, %y: memref<1x4096xf32>) {
  linalg.matmul ins(%x, %w : memref<1x300xf32>, memref<300x4096xf32>) outs(%y : memref<1x4096xf32>)
  return
}

// -----

// A decoder step's int4 product (fuse-dequant: packed bytes indexed by
// k floordiv 2, group scales by k floordiv 64) also takes the split-K
// kernel: the weight's operands, which no row dimension indexes, are
// loaded once per k for both rows, through affine.apply; the body's
// linalg.index reads the thread's column.
// CHECK-LABEL: func.func @gemv_quantized
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%{{.*}} : memref<8x2x32xf32, #gpu.address_space<workgroup>>)
// CHECK: %[[LANE:.*]] = arith.remui %{{.*}}, %c32
// CHECK: %[[COL:.*]] = arith.addi %{{.*}}, %[[LANE]] : index
// CHECK: memref.load %arg0
// CHECK-COUNT-2: affine.apply
// CHECK: arith.index_cast %[[COL]] : index to i8
// CHECK: memref.load %arg0
// CHECK-NOT: affine.apply
// CHECK-NOT: linalg.index
// CHECK: gpu.barrier
#g0 = affine_map<(m, n, k) -> (m, k)>
#g1 = affine_map<(m, n, k) -> (k floordiv 2, n)>
#g2 = affine_map<(m, n, k) -> (k floordiv 64, n)>
#g3 = affine_map<(m, n, k) -> (m, n)>
func.func @gemv_quantized(%x: memref<2x256xf32>, %q: memref<128x64xi8>, %s: memref<4x64xf32>, %y: memref<2x64xf32>) {
  linalg.generic {indexing_maps = [#g0, #g1, #g2, #g3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %q, %s : memref<2x256xf32>, memref<128x64xi8>, memref<4x64xf32>) outs(%y : memref<2x64xf32>) {
  ^bb0(%a: f32, %b: i8, %sc: f32, %acc: f32):
    %n = linalg.index 1 : index
    %odd = arith.index_cast %n : index to i8
    %sh = arith.shrui %b, %odd : i8
    %bf = arith.sitofp %sh : i8 to f32
    %d = arith.mulf %bf, %sc : f32
    %p = arith.mulf %a, %d : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// A quantized product with many rows (a prefill: fuse-dequant's packed
// bytes and group scales) is tiled too: the copy into shared memory
// dequantizes the weight's elements (loads through the affine maps, the
// body's sitofp and scale), so the slice holds f32 and the inner loop is
// the body's last multiply-add only.
// CHECK-LABEL: func.func @tiled_quantized
// CHECK: gpu.launch
// CHECK-SAME: workgroup(%{{.*}} : memref<16x65xf32, #gpu.address_space<workgroup>>, %[[TB:.*]] : memref<16x65xf32, #gpu.address_space<workgroup>>)
// CHECK: scf.for
// CHECK: affine.apply
// CHECK: memref.load %arg1
// CHECK: arith.sitofp
// CHECK: memref.load %arg2
// CHECK: arith.mulf
// CHECK: memref.store %{{.*}}, %[[TB]]
// CHECK: gpu.barrier
// CHECK: scf.for
// CHECK-NOT: arith.sitofp
// CHECK-COUNT-16: arith.addf
// CHECK: gpu.barrier
#t0 = affine_map<(m, n, k) -> (m, k)>
#t1 = affine_map<(m, n, k) -> (n floordiv 64, k, n mod 64)>
#t2 = affine_map<(m, n, k) -> (k floordiv 64, n)>
#t3 = affine_map<(m, n, k) -> (m, n)>
func.func @tiled_quantized(%x: memref<64x64xf32>, %q: memref<2x64x64xi8>, %s: memref<1x128xf32>, %y: memref<64x128xf32>) {
  linalg.generic {indexing_maps = [#t0, #t1, #t2, #t3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %q, %s : memref<64x64xf32>, memref<2x64x64xi8>, memref<1x128xf32>) outs(%y : memref<64x128xf32>) {
  ^bb0(%a: f32, %b: i8, %sc: f32, %acc: f32):
    %bf = arith.sitofp %b : i8 to f32
    %d = arith.mulf %bf, %sc : f32
    %p = arith.mulf %a, %d : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  return
}

// -----

// Near misses, left to kiln-cuda-map-loops: a decoder row against too few
// columns (N = 16 < min-size), more rows than gemv-rows (M = 20), a
// product with a third input whose body is not a product with the weight
// (its scale applied to the activation too), one that reads the buffer it
// writes, one on tensors, and a reduction
// that does not add (a max).
// CHECK-LABEL: func.func @near_misses
// CHECK-NOT: gpu.launch
// CHECK: linalg.matmul
// CHECK: linalg.generic
// CHECK: linalg.matmul
// CHECK: linalg.matmul
// CHECK: linalg.generic
// CHECK-NOT: gpu.launch
#q0 = affine_map<(m, n, k) -> (m, k)>
#q1 = affine_map<(m, n, k) -> (k, n)>
#q2 = affine_map<(m, n, k) -> (n)>
#q3 = affine_map<(m, n, k) -> (m, n)>
#r0 = affine_map<(m, k) -> (m, k)>
#r1 = affine_map<(m, k) -> (m)>
func.func @near_misses(%x: memref<1x64xf32>, %w: memref<64x16xf32>, %y: memref<1x16xf32>,
                       %x12: memref<20x64xf32>, %y12: memref<20x64xf32>, %w64: memref<64x64xf32>,
                       %q: memref<64x64xi8>, %s: memref<64xf32>, %z: memref<64x64xf32>,
                       %t: tensor<64x64xf32>, %v: memref<64xf32>) -> tensor<64x64xf32> {
  linalg.matmul ins(%x, %w : memref<1x64xf32>, memref<64x16xf32>) outs(%y : memref<1x16xf32>)
  linalg.matmul ins(%x12, %z : memref<20x64xf32>, memref<64x64xf32>) outs(%y12 : memref<20x64xf32>)
  linalg.generic {indexing_maps = [#q0, #q1, #q2, #q3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%w64, %q, %s : memref<64x64xf32>, memref<64x64xi8>, memref<64xf32>) outs(%z : memref<64x64xf32>) {
  ^bb0(%a: f32, %b: i8, %sc: f32, %acc: f32):
    %bf = arith.sitofp %b : i8 to f32
    %as = arith.mulf %a, %sc : f32
    %p = arith.mulf %as, %bf : f32
    %r = arith.addf %acc, %p : f32
    linalg.yield %r : f32
  }
  linalg.matmul ins(%z, %w64 : memref<64x64xf32>, memref<64x64xf32>) outs(%z : memref<64x64xf32>)
  %e = tensor.empty() : tensor<64x64xf32>
  %m = linalg.matmul ins(%t, %t : tensor<64x64xf32>, tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  linalg.generic {indexing_maps = [#r0, #r1], iterator_types = ["parallel", "reduction"]}
      ins(%w64 : memref<64x64xf32>) outs(%v : memref<64xf32>) {
  ^bb0(%a: f32, %acc: f32):
    %r = arith.maximumf %acc, %a : f32
    linalg.yield %r : f32
  }
  return %m : tensor<64x64xf32>
}

// -----

// Near miss: a batch of more blocks than grid z takes (65535).
// CHECK-LABEL: func.func @huge_batch
// CHECK-NOT: gpu.launch
// CHECK: linalg.batch_matmul
func.func @huge_batch(%a: memref<70000x32x8xf32>, %b: memref<70000x8x32xf32>, %c: memref<70000x32x32xf32>) {
  linalg.batch_matmul ins(%a, %b : memref<70000x32x8xf32>, memref<70000x8x32xf32>) outs(%c : memref<70000x32x32xf32>)
  return
}
