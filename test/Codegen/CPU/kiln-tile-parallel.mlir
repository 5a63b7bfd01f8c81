// RUN: kiln-opt %s -kiln-tile-parallel -split-input-file | FileCheck %s
// RUN: kiln-opt %s -kiln-tile-parallel=tasks-per-op=2 -split-input-file | FileCheck %s --check-prefix=TWO
// RUN: kiln-opt %s -kiln-tile-parallel=min-task-elements=1024 -split-input-file | FileCheck %s --check-prefix=SMALL
// RUN: kiln-opt %s -kiln-tile-parallel=tasks-per-op=1 -split-input-file | FileCheck %s --check-prefix=ONE

#map = affine_map<(d0, d1) -> (d0, d1)>

// 65536 output elements: the default 16384-element minimum allows 4 tiles
// (of the 32 asked for), split along the outer dimension. tasks-per-op=2
// gives 2 tiles; min-task-elements=1024 allows the 32; tasks-per-op=1 none.
// CHECK-LABEL: func @elementwise
// CHECK-SAME: (%[[X:.*]]: tensor<64x1024xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<64x1024xf32>
// CHECK: %[[R:.*]] = scf.forall (%[[I:.*]]) = (0) to (64) step (16) shared_outs(%[[OUT:.*]] = %[[E]]) -> (tensor<64x1024xf32>)
// CHECK: %[[IN:.*]] = tensor.extract_slice %[[X]][%[[I]], 0] [16, 1024] [1, 1]
// CHECK: %[[INIT:.*]] = tensor.extract_slice %[[OUT]][%[[I]], 0] [16, 1024] [1, 1]
// CHECK: %[[T:.*]] = linalg.generic {{.*}} ins(%[[IN]] : tensor<16x1024xf32>) outs(%[[INIT]] : tensor<16x1024xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[T]] into %[[OUT]][%[[I]], 0] [16, 1024] [1, 1]
// CHECK: return %[[R]]
// TWO-LABEL: func @elementwise
// TWO: scf.forall (%{{.*}}) = (0) to (64) step (32)
// SMALL-LABEL: func @elementwise
// SMALL: scf.forall (%{{.*}}) = (0) to (64) step (2)
// ONE-LABEL: func @elementwise
// ONE-NOT: scf.forall
// ONE: linalg.generic {{.*}} ins(%{{.*}} : tensor<64x1024xf32>)
func.func @elementwise(%x: tensor<64x1024xf32>) -> tensor<64x1024xf32> {
  %e = tensor.empty() : tensor<64x1024xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<64x1024xf32>) outs(%e : tensor<64x1024xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<64x1024xf32>
  return %0 : tensor<64x1024xf32>
}

// -----

#map9 = affine_map<(d0, d1) -> (d0, d1)>

// 768 rows x 196 = 150528 elements allow 9 tasks of 16384; 768 rows split
// into 9 would leave a partial tile, so the nearest count that divides 768
// is taken: 12 tiles of 64 (all static). With 32 asked (SMALL), 32 divides:
// tiles of 24. Two tasks (TWO) split 768 in two halves.
// CHECK-LABEL: func @even_tiles
// CHECK: scf.forall (%{{.*}}) = (0) to (768) step (64)
// CHECK-NOT: affine.min
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<64x196xf32>)
// SMALL-LABEL: func @even_tiles
// SMALL: scf.forall (%{{.*}}) = (0) to (768) step (24)
// TWO-LABEL: func @even_tiles
// TWO: scf.forall (%{{.*}}) = (0) to (768) step (384)
func.func @even_tiles(%x: tensor<768x196xf32>) -> tensor<768x196xf32> {
  %e = tensor.empty() : tensor<768x196xf32>
  %0 = linalg.generic {indexing_maps = [#map9, #map9], iterator_types = ["parallel", "parallel"]}
      ins(%x : tensor<768x196xf32>) outs(%e : tensor<768x196xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.negf %in : f32
    linalg.yield %m : f32
  } -> tensor<768x196xf32>
  return %0 : tensor<768x196xf32>
}

// -----

// Outer dimensions are tiled first; an inner one only when the outer one
// runs out (4 x 8 tiles for 32 tasks).
// CHECK-LABEL: func @outer_first
// CHECK: scf.forall (%{{.*}}) in (4)
// CHECK: linalg.copy ins(%{{.*}} : tensor<1x64x256xf32>)
// SMALL-LABEL: func @outer_first
// SMALL: scf.forall (%{{.*}}, %{{.*}}) = (0, 0) to (4, 64) step (1, 8)
// SMALL: linalg.copy ins(%{{.*}} : tensor<1x8x256xf32>)
func.func @outer_first(%x: tensor<4x64x256xf32>) -> tensor<4x64x256xf32> {
  %e = tensor.empty() : tensor<4x64x256xf32>
  %0 = linalg.copy ins(%x : tensor<4x64x256xf32>) outs(%e : tensor<4x64x256xf32>) -> tensor<4x64x256xf32>
  return %0 : tensor<4x64x256xf32>
}

// -----

// Only parallel dimensions count and get tiled: the matmul's 256x256 output
// makes 4 tiles of rows; K stays whole.
// CHECK-LABEL: func @matmul
// CHECK: scf.forall (%[[I:.*]]) = (0) to (256) step (64)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<64x256xf32>, tensor<256x256xf32>) outs(%{{.*}} : tensor<64x256xf32>)
func.func @matmul(%a: tensor<256x256xf32>, %b: tensor<256x256xf32>, %c: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %0 = linalg.matmul ins(%a, %b : tensor<256x256xf32>, tensor<256x256xf32>) outs(%c : tensor<256x256xf32>) -> tensor<256x256xf32>
  return %0 : tensor<256x256xf32>
}

// -----

#map = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>

// A leading reduction dimension is skipped; the parallel one is tiled.
// CHECK-LABEL: func @reduction_outer
// CHECK: scf.forall (%{{.*}}) = (0) to (65536) step (16384)
// CHECK: linalg.generic {{.*}} iterator_types = ["reduction", "parallel"]} ins(%{{.*}} : tensor<8x16384xf32>) outs(%{{.*}} : tensor<16384xf32>)
func.func @reduction_outer(%x: tensor<8x65536xf32>, %acc: tensor<65536xf32>) -> tensor<65536xf32> {
  %0 = linalg.generic {indexing_maps = [#map, affine_map<(d0, d1) -> (d1)>], iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<8x65536xf32>) outs(%acc : tensor<65536xf32>) {
  ^bb0(%in: f32, %out: f32):
    %s = arith.addf %in, %out : f32
    linalg.yield %s : f32
  } -> tensor<65536xf32>
  return %0 : tensor<65536xf32>
}

// -----

// Near-misses: an op under the element threshold, an op on buffers, an op
// nested in a loop and an op with a dynamic shape all stay untiled (a
// smaller threshold tiles the small op).
// CHECK-LABEL: func @small
// CHECK-NOT: scf.forall
// CHECK: linalg.copy
// SMALL-LABEL: func @small
// SMALL: scf.forall (%{{.*}}) = (0) to (64) step (16)
func.func @small(%x: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %e = tensor.empty() : tensor<64x64xf32>
  %0 = linalg.copy ins(%x : tensor<64x64xf32>) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// CHECK-LABEL: func @buffers
// CHECK-NOT: scf.forall
// SMALL-LABEL: func @buffers
// SMALL-NOT: scf.forall
func.func @buffers(%x: memref<256x256xf32>, %y: memref<256x256xf32>) {
  linalg.copy ins(%x : memref<256x256xf32>) outs(%y : memref<256x256xf32>)
  return
}

// CHECK-LABEL: func @nested
// CHECK-NOT: scf.forall
// SMALL-LABEL: func @nested
// SMALL-NOT: scf.forall
func.func @nested(%x: tensor<256x256xf32>) -> tensor<256x256xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %r = scf.for %i = %c0 to %c2 step %c1 iter_args(%acc = %x) -> tensor<256x256xf32> {
    %e = tensor.empty() : tensor<256x256xf32>
    %0 = linalg.copy ins(%acc : tensor<256x256xf32>) outs(%e : tensor<256x256xf32>) -> tensor<256x256xf32>
    scf.yield %0 : tensor<256x256xf32>
  }
  return %r : tensor<256x256xf32>
}

// CHECK-LABEL: func @dynamic
// CHECK-NOT: scf.forall
// SMALL-LABEL: func @dynamic
// SMALL-NOT: scf.forall
func.func @dynamic(%x: tensor<?x1024xf32>, %y: tensor<?x1024xf32>) -> tensor<?x1024xf32> {
  %0 = linalg.copy ins(%x : tensor<?x1024xf32>) outs(%y : tensor<?x1024xf32>) -> tensor<?x1024xf32>
  return %0 : tensor<?x1024xf32>
}

// -----

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>

// A kernel region (a row sum, then each element divided by it): the root
// is tiled over rows (262144 elements: 16 tasks) and the reduction fused
// into the same task, so both run on a block of rows while it is in
// cache; nothing is left outside the loop. The region stays.
// CHECK-LABEL: func @kernel_region
// CHECK: kiln.kernel "norm"
// CHECK-NOT: linalg.generic
// CHECK: scf.forall (%[[I:.*]]) = (0) to (256) step (16)
// CHECK: linalg.fill {{.*}} -> tensor<16xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]{{.*}} outs(%{{.*}} : tensor<16xf32>)
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<16x1024xf32>)
// CHECK: scf.forall.in_parallel
// CHECK-NOT: linalg.generic
// CHECK: kiln.yield
// ONE-LABEL: func @kernel_region
// ONE-NOT: scf.forall
// SMALL-LABEL: func @kernel_region
// SMALL: scf.forall (%{{.*}}) = (0) to (256) step (8)
func.func @kernel_region(%x: tensor<256x1024xf32>) -> tensor<256x1024xf32> {
  %0 = kiln.kernel "norm" -> tensor<256x1024xf32> {
    %zero = arith.constant 0.0 : f32
    %e1 = tensor.empty() : tensor<256xf32>
    %acc = linalg.fill ins(%zero : f32) outs(%e1 : tensor<256xf32>) -> tensor<256xf32>
    %sum = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<256x1024xf32>) outs(%acc : tensor<256xf32>) {
    ^bb0(%a: f32, %s: f32):
      %r = arith.addf %s, %a : f32
      linalg.yield %r : f32
    } -> tensor<256xf32>
    %e2 = tensor.empty() : tensor<256x1024xf32>
    %y = linalg.generic {indexing_maps = [#id, #rows, #id], iterator_types = ["parallel", "parallel"]} ins(%x, %sum : tensor<256x1024xf32>, tensor<256xf32>) outs(%e2 : tensor<256x1024xf32>) {
    ^bb0(%a: f32, %s: f32, %o: f32):
      %r = arith.divf %a, %s : f32
      linalg.yield %r : f32
    } -> tensor<256x1024xf32>
    kiln.yield %y : tensor<256x1024xf32>
  }
  return %0 : tensor<256x1024xf32>
}
