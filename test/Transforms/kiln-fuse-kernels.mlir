// RUN: kiln-opt %s -split-input-file -kiln-fuse-kernels | FileCheck %s

#id = affine_map<(d0) -> (d0)>

// Inside a region the chain fuses into one generic; the regions stay.
// Across regions nothing fuses, even with a single use.
// CHECK-LABEL: func @regions
// CHECK: %[[K:.*]] = kiln.kernel "elementwise"
// CHECK: linalg.generic
// CHECK: math.exp
// CHECK: arith.negf
// CHECK-NOT: linalg.generic
// CHECK: kiln.kernel "elementwise"
// CHECK: linalg.generic {{.*}} ins(%[[K]]
// CHECK: math.tanh
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @regions(%x: tensor<8xf32>) -> tensor<8xf32> {
  %0 = kiln.kernel "elementwise" -> tensor<8xf32> {
    %e = tensor.empty() : tensor<8xf32>
    %1 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.exp %a : f32
      linalg.yield %r : f32
    } -> tensor<8xf32>
    %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%1 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = arith.negf %a : f32
      linalg.yield %r : f32
    } -> tensor<8xf32>
    kiln.yield %2 : tensor<8xf32>
  }
  %3 = kiln.kernel "elementwise" -> tensor<8xf32> {
    %e = tensor.empty() : tensor<8xf32>
    %4 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%0 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
    ^bb0(%a: f32, %o: f32):
      %r = math.tanh %a : f32
      linalg.yield %r : f32
    } -> tensor<8xf32>
    kiln.yield %4 : tensor<8xf32>
  }
  return %3 : tensor<8xf32>
}

// -----

#id2 = affine_map<(d0) -> (d0)>

// Without regions (linalg input), single-use producers fuse everywhere.
// CHECK-LABEL: func @no_regions
// CHECK-COUNT-1: linalg.generic
// CHECK-NOT: linalg.generic
func.func @no_regions(%x: tensor<8xf32>) -> tensor<8xf32> {
  %e = tensor.empty() : tensor<8xf32>
  %1 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel"]} ins(%x : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.exp %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  %2 = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel"]} ins(%1 : tensor<8xf32>) outs(%e : tensor<8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = math.tanh %a : f32
    linalg.yield %r : f32
  } -> tensor<8xf32>
  return %2 : tensor<8xf32>
}

// -----

#m = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#bcast = affine_map<(d0, d1) -> (d0, 0)>

// A softmax as kiln-lower-pipeline emits it: keep-dims reductions whose
// results reach their consumers through expand_shape. No reshape is left:
// the consumers read the [4] statistics with (d0, d1) -> (d0), the exp
// fuses into the sum and is recomputed in the division, so the region is
// three generics over one [4, 16] iteration space, ready to tile as one.
// CHECK-LABEL: func @softmax
// CHECK: kiln.kernel "softmax"
// CHECK-NOT: tensor.expand_shape
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: outs(%{{.*}} : tensor<4xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
// CHECK-SAME: ins(%{{.*}}, %[[MAX]] : tensor<4x16xf32>, tensor<4xf32>)
// CHECK: math.exp
// CHECK: arith.addf
// CHECK: linalg.generic {{.*}}ins(%{{.*}}, %[[MAX]], %[[SUM]] : tensor<4x16xf32>, tensor<4xf32>, tensor<4xf32>)
// CHECK: math.exp
// CHECK: arith.divf
// CHECK-NOT: tensor.expand_shape
// CHECK: kiln.yield
func.func @softmax(%arg0: tensor<4x16xf32>) -> tensor<4x16xf32> {
  %cst = arith.constant 0.000000e+00 : f32
  %cst_0 = arith.constant 0xFF800000 : f32
  %0 = kiln.kernel "softmax" -> tensor<4x16xf32> {
    %1 = tensor.empty() : tensor<4xf32>
    %2 = linalg.fill ins(%cst_0 : f32) outs(%1 : tensor<4xf32>) -> tensor<4xf32>
    %3 = linalg.generic {indexing_maps = [#m, #row], iterator_types = ["parallel", "reduction"]} ins(%arg0 : tensor<4x16xf32>) outs(%2 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %9 = arith.maximumf %out, %in : f32
      linalg.yield %9 : f32
    } -> tensor<4xf32>
    %expanded = tensor.expand_shape %3 [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
    %4 = tensor.empty() : tensor<4x16xf32>
    %5 = linalg.generic {indexing_maps = [#m, #bcast, #m], iterator_types = ["parallel", "parallel"]} ins(%arg0, %expanded : tensor<4x16xf32>, tensor<4x1xf32>) outs(%4 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.subf %in, %in_2 : f32
      %10 = math.exp %9 : f32
      linalg.yield %10 : f32
    } -> tensor<4x16xf32>
    %6 = linalg.fill ins(%cst : f32) outs(%1 : tensor<4xf32>) -> tensor<4xf32>
    %7 = linalg.generic {indexing_maps = [#m, #row], iterator_types = ["parallel", "reduction"]} ins(%5 : tensor<4x16xf32>) outs(%6 : tensor<4xf32>) {
    ^bb0(%in: f32, %out: f32):
      %9 = arith.addf %out, %in : f32
      linalg.yield %9 : f32
    } -> tensor<4xf32>
    %expanded_1 = tensor.expand_shape %7 [[0, 1]] output_shape [4, 1] : tensor<4xf32> into tensor<4x1xf32>
    %8 = linalg.generic {indexing_maps = [#m, #bcast, #m], iterator_types = ["parallel", "parallel"]} ins(%5, %expanded_1 : tensor<4x16xf32>, tensor<4x1xf32>) outs(%4 : tensor<4x16xf32>) {
    ^bb0(%in: f32, %in_2: f32, %out: f32):
      %9 = arith.divf %in, %in_2 : f32
      linalg.yield %9 : f32
    } -> tensor<4x16xf32>
    kiln.yield %8 : tensor<4x16xf32>
  }
  return %0 : tensor<4x16xf32>
}
