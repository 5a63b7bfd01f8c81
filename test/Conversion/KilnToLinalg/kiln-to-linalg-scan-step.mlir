// RUN: kiln-opt %s -kiln-to-linalg -canonicalize | FileCheck %s

// One time step of the selective scan over a batch of 1 (a decoder's
// decode step): the loop of one iteration folds away and each column is
// read at offset 0. The column slices keep their rank and are reshaped
// after: a rank-reducing [1, 4, 1] -> [1, 4] slice would be re-inferred by
// LLVM 22's canonicalizer as dropping the leading unit dimensions, which
// is invalid IR ("slice along dimension 2 runs out-of-bounds").
// CHECK-LABEL: func @scan_one_step
// CHECK-NOT: scf.for
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<1x4x1xf32> into tensor<1x4xf32>
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2]] : tensor<1x3x1xf32> into tensor<1x3xf32>
// CHECK: return
func.func @scan_one_step(%u: tensor<1x4x1xf32>, %a: tensor<4x3xf32>, %b: tensor<1x3x1xf32>, %h: tensor<1x4x3xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x3xf32>) {
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b state(%h)
      : (tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<4x3xf32>, tensor<1x3x1xf32>, tensor<1x3x1xf32>, tensor<1x4x3xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x3xf32>)
  return %0#0, %0#1 : tensor<1x4x1xf32>, tensor<1x4x3xf32>
}
