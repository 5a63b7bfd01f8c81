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
