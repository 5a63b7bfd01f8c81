// RUN: kiln-opt %s -split-input-file -pass-pipeline='builtin.module(func.func(kiln-cuda-transpose-weights))' | FileCheck %s

// A resource weight [N, K] = [3, 2] read through a transpose by two
// products: one new [K, N] blob (named after the weight), the transpose
// and the original gone. W = [[1, 2], [3, 4], [5, 6]] becomes
// [[1, 3, 5], [2, 4, 6]].
// CHECK-LABEL: func @resource
// CHECK-NEXT: %[[WT:.*]] = kiln.constant dense_resource<fc_t> : tensor<2x3xf32>
// CHECK-NEXT: kiln.matmul %{{.*}}, %[[WT]] : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK-NEXT: %[[WT2:.*]] = kiln.constant dense_resource<fc_t> : tensor<2x3xf32>
// CHECK-NEXT: kiln.matmul %{{.*}}, %[[WT2]] : (tensor<1x5x2xf32>, tensor<2x3xf32>) -> tensor<1x5x3xf32>
// CHECK-NOT: kiln.transpose
// CHECK-NOT: fc:
// CHECK: fc_t: "0x400000000000803F000040400000A04000000040000080400000C040"
// CHECK-NOT: fc
func.func @resource(%x: tensor<4x2xf32>, %y: tensor<1x5x2xf32>) -> (tensor<4x3xf32>, tensor<1x5x3xf32>) {
  %w = kiln.constant dense_resource<fc> : tensor<3x2xf32>
  %t = kiln.transpose %w {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %0 = kiln.matmul %x, %t : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %1 = kiln.matmul %y, %t : (tensor<1x5x2xf32>, tensor<2x3xf32>) -> tensor<1x5x3xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<1x5x3xf32>
}

{-#
  dialect_resources: {
    builtin: {
      fc: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}

// -----

// A dense constant is transposed too; a weight also read elsewhere (tied
// embeddings: a gather) stays for that reader.
// CHECK-LABEL: func @tied
// CHECK: %[[W:.*]] = kiln.constant dense<{{\[}}[1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: kiln.gather %[[W]]
// CHECK-NEXT: %[[WT:.*]] = kiln.constant dense<{{\[}}[1.000000e+00, 3.000000e+00], [2.000000e+00, 4.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: kiln.matmul %{{.*}}, %[[WT]]
// CHECK-NOT: kiln.transpose
func.func @tied(%ids: tensor<3xi64>, %x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>) {
  %w = kiln.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %e = kiln.gather %w, %ids {axis = 0 : i64} : (tensor<2x2xf32>, tensor<3xi64>) -> tensor<3x2xf32>
  %t = kiln.transpose %w {permutation = array<i64: 1, 0>} : tensor<2x2xf32> -> tensor<2x2xf32>
  %0 = kiln.matmul %x, %t : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %e, %0 : tensor<3x2xf32>, tensor<3x2xf32>
}

// -----

// Near misses: a weight used as written, a transposed activation, and a
// constant transposed in another way are left alone.
// CHECK-LABEL: func @near_misses
// CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<4x2xf32>, tensor<2x3xf32>)
// CHECK: kiln.transpose %{{.*}} {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
// CHECK: kiln.transpose %{{.*}} {permutation = array<i64: 0, 2, 1>} : tensor<1x3x2xf32> -> tensor<1x2x3xf32>
func.func @near_misses(%x: tensor<4x2xf32>, %a: tensor<3x2xf32>, %b: tensor<1x4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<1x4x3xf32>) {
  %w = kiln.constant dense<1.0> : tensor<2x3xf32>
  %0 = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %t = kiln.transpose %a {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %1 = kiln.matmul %x, %t : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %c = kiln.constant dense<2.0> : tensor<1x3x2xf32>
  %ct = kiln.transpose %c {permutation = array<i64: 0, 2, 1>} : tensor<1x3x2xf32> -> tensor<1x2x3xf32>
  %2 = kiln.matmul %b, %ct : (tensor<1x4x2xf32>, tensor<1x2x3xf32>) -> tensor<1x4x3xf32>
  return %0, %1, %2 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<1x4x3xf32>
}
