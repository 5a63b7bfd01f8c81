// RUN: kiln-opt %s -kiln-reassociate-reductions | FileCheck %s

#id = affine_map<(d0, d1) -> (d0, d1)>
#rows = affine_map<(d0, d1) -> (d0)>

// The float arithmetic of a reduction may be reassociated (and contracted);
// an elementwise op keeps strict semantics, as do integer reductions.
// CHECK-LABEL: func @reduction
// CHECK: arith.mulf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
// CHECK: arith.addf %{{.*}}, %{{.*}} fastmath<reassoc,contract> : f32
// CHECK: arith.addi %{{.*}}, %{{.*}} : i32
// CHECK: arith.mulf %{{.*}}, %{{.*}} : f32
func.func @reduction(%x: tensor<4x8xf32>, %acc: tensor<4xf32>, %xi: tensor<4x8xi32>, %acci: tensor<4xi32>) -> (tensor<4xf32>, tensor<4xi32>, tensor<4x8xf32>) {
  %0 = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]} ins(%x : tensor<4x8xf32>) outs(%acc : tensor<4xf32>) {
  ^bb0(%a: f32, %s: f32):
    %sq = arith.mulf %a, %a : f32
    %r = arith.addf %s, %sq : f32
    linalg.yield %r : f32
  } -> tensor<4xf32>
  %1 = linalg.generic {indexing_maps = [#id, #rows], iterator_types = ["parallel", "reduction"]} ins(%xi : tensor<4x8xi32>) outs(%acci : tensor<4xi32>) {
  ^bb0(%a: i32, %s: i32):
    %r = arith.addi %s, %a : i32
    linalg.yield %r : i32
  } -> tensor<4xi32>
  %e = tensor.empty() : tensor<4x8xf32>
  %2 = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]} ins(%x : tensor<4x8xf32>) outs(%e : tensor<4x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %r = arith.mulf %a, %a : f32
    linalg.yield %r : f32
  } -> tensor<4x8xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xi32>, tensor<4x8xf32>
}
