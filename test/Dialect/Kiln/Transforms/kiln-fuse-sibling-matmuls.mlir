// RUN: kiln-opt %s -split-input-file -kiln-fuse-sibling-matmuls | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-fuse-sibling-matmuls="exclude=wk" | FileCheck %s --check-prefix=EXCL
// RUN: not kiln-opt %s -kiln-fuse-sibling-matmuls="exclude=[" 2>&1 | FileCheck %s --check-prefix=BADRE

// BADRE: error: exclude: bad regular expression '['

// Three products of one input (one weight stored [N, K] as torch Linear
// exports it): one product of the weights side by side, [K=2, N=2+1+2],
// row by row (1 2 | 5 | 7 9, then 3 4 | 6 | 8 10), and three slices.
// CHECK-LABEL: func @qkv
// CHECK: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<2x5xf32>
// CHECK: %[[P:.*]] = kiln.matmul %arg0, %[[W]] : (tensor<3x2xf32>, tensor<2x5xf32>) -> tensor<3x5xf32>
// CHECK: %[[Q:.*]] = kiln.slice %[[P]] {sizes = array<i64: 3, 2>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>}
// CHECK: %[[K:.*]] = kiln.slice %[[P]] {sizes = array<i64: 3, 1>, starts = array<i64: 0, 2>, steps = array<i64: 1, 1>}
// CHECK: %[[V:.*]] = kiln.slice %[[P]] {sizes = array<i64: 3, 2>, starts = array<i64: 0, 3>, steps = array<i64: 1, 1>}
// CHECK-NOT: kiln.matmul
// CHECK: return %[[Q]], %[[K]], %[[V]]
// CHECK: [[KEY]]: "0x400000000000803F000000400000A0400000E0400000104100004040000080400000C0400000004100002041"
// EXCL-LABEL: func @qkv
// EXCL: kiln.matmul %arg0, %{{.*}} : (tensor<3x2xf32>, tensor<2x4xf32>) -> tensor<3x4xf32>
// EXCL: kiln.matmul %arg0, %{{.*}} : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
func.func @qkv(%x: tensor<3x2xf32>) -> (tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>) {
  %wq = kiln.constant dense<[[1.0, 2.0], [3.0, 4.0]]> : tensor<2x2xf32>
  %wk = kiln.constant dense<[[5.0], [6.0]]> : tensor<2x1xf32> loc("wk")
  %wvt = kiln.constant dense<[[7.0, 8.0], [9.0, 10.0]]> : tensor<2x2xf32>
  %wv = kiln.transpose %wvt {permutation = array<i64: 1, 0>} : tensor<2x2xf32> -> tensor<2x2xf32>
  %q = kiln.matmul %x, %wq : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %k = kiln.matmul %x, %wk : (tensor<3x2xf32>, tensor<2x1xf32>) -> tensor<3x1xf32>
  %v = kiln.matmul %x, %wv : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %q, %k, %v : tensor<3x2xf32>, tensor<3x1xf32>, tensor<3x2xf32>
}

// -----

// Near-misses: different inputs, a weight that is not a constant, and a
// lone product stay as they are.
// CHECK-LABEL: func @near_misses
// CHECK-COUNT-3: kiln.matmul
// CHECK-NOT: kiln.slice
func.func @near_misses(%x: tensor<3x2xf32>, %y: tensor<3x2xf32>, %w: tensor<2x2xf32>) -> (tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>) {
  %c = kiln.constant dense<1.0> : tensor<2x2xf32>
  %0 = kiln.matmul %x, %c : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %1 = kiln.matmul %x, %w : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  %2 = kiln.matmul %y, %c : (tensor<3x2xf32>, tensor<2x2xf32>) -> tensor<3x2xf32>
  return %0, %1, %2 : tensor<3x2xf32>, tensor<3x2xf32>, tensor<3x2xf32>
}
