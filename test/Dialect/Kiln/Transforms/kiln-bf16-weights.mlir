// RUN: kiln-opt %s -split-input-file -kiln-bf16-weights | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-bf16-weights="exclude=lm_head min-elements=4" | FileCheck %s --check-prefix=EXCL
// RUN: not kiln-opt %s -kiln-bf16-weights="exclude=[" 2>&1 | FileCheck %s --check-prefix=BADRE

// BADRE: error: exclude: bad regular expression '['

// The weight is stored in bf16 (1.0 = 0x3F80, -2.0 = 0xC000, 0.5 = 0x3F00;
// 1.00390625 rounds to even, 0x3F80), the input is cast, the result stays
// f32.
// CHECK-LABEL: func @weights
// CHECK-DAG: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<2x2xbf16>
// CHECK-DAG: %[[X:.*]] = kiln.cast %arg0 : tensor<4x2xf32> to tensor<4x2xbf16>
// CHECK: %[[Y:.*]] = kiln.matmul %[[X]], %[[W]] : (tensor<4x2xbf16>, tensor<2x2xbf16>) -> tensor<4x2xf32>
// CHECK: return %[[Y]]
// CHECK: [[KEY]]: "0x40000000803F00C0003F803F"
// EXCL-LABEL: func @weights
// EXCL: kiln.matmul {{.*}} -> tensor<4x2xf32>
func.func @weights(%x: tensor<4x2xf32>) -> tensor<4x2xf32> {
  %w = kiln.constant dense<[[1.0, -2.0], [0.5, 1.00390625]]> : tensor<2x2xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x2xf32>) -> tensor<4x2xf32>
  return %y : tensor<4x2xf32>
}

// -----

// A transposed [N, K] weight is stored [K, N].
// CHECK-LABEL: func @transposed
// CHECK: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<2x3xbf16>
// CHECK-NOT: kiln.transpose
// CHECK: kiln.matmul %{{.*}}, %[[W]] : (tensor<1x4x2xbf16>, tensor<2x3xbf16>) -> tensor<1x4x3xf32>
// CHECK: [[KEY]]: "0x40000000803F0040404000C0803F0041"
func.func @transposed(%x: tensor<1x4x2xf32>) -> tensor<1x4x3xf32> {
  %wt = kiln.constant dense<[[1.0, -2.0], [2.0, 1.0], [3.0, 8.0]]> : tensor<3x2xf32>
  %w = kiln.transpose %wt {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %y : tensor<1x4x3xf32>
}

// -----

// Near misses: an activation times an activation, an excluded layer (EXCL),
// a weight below min-elements (EXCL), and an already-quantized product.
// CHECK-LABEL: func @near_misses
// CHECK: kiln.matmul %arg0, %arg1 : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
// CHECK: kiln.qmatmul
// EXCL-LABEL: func @near_misses
// EXCL-NOT: bf16
// EXCL: return
func.func @near_misses(%x: tensor<4x2xf32>, %y: tensor<2x3xf32>, %q: tensor<1x2x64xi8>, %s: tensor<1x3xf32>)
    -> (tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x1xf32>, tensor<4x3xf32>) {
  %0 = kiln.matmul %x, %y : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %w = kiln.constant dense<1.0> : tensor<2x3xf32>
  %1 = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32> loc("/lm_head/MatMul (MatMul)")
  %ws = kiln.constant dense<1.0> : tensor<2x1xf32>
  %2 = kiln.matmul %x, %ws : (tensor<4x2xf32>, tensor<2x1xf32>) -> tensor<4x1xf32>
  %3 = kiln.qmatmul %x, %q, %s {bits = 8 : i64, group_size = 2 : i64} : (tensor<4x2xf32>, tensor<1x2x64xi8>, tensor<1x3xf32>) -> tensor<4x3xf32>
  return %0, %1, %2, %3 : tensor<4x3xf32>, tensor<4x3xf32>, tensor<4x1xf32>, tensor<4x3xf32>
}

// -----

// A 2-D conv's constant weight is stored in bf16 (1.0, -2.0, 0.5, 1.0) and
// its input stays f32 (the conv kernel rounds it as it packs); grouped
// convs, 1-D convs and argument weights stay f32.
// CHECK-LABEL: func @conv
// CHECK: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x1x2x2xbf16>
// CHECK: kiln.conv %arg0, %[[W]] : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xbf16>) -> tensor<1x1x3x3xf32>
// CHECK: kiln.conv %arg1, %{{.*}} {groups = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x2x2xf32>)
// CHECK: kiln.conv %arg2, %{{.*}} : (tensor<1x1x5xf32>, tensor<1x1x2xf32>)
// CHECK: kiln.conv %arg0, %arg3 : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>)
// CHECK: [[KEY]]: "0x40000000803F00C0003F803F"
// EXCL-LABEL: func @conv
// EXCL: kiln.conv %arg0, %{{.*}} : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>)
func.func @conv(%x: tensor<1x1x4x4xf32>, %g: tensor<1x2x4x4xf32>, %s: tensor<1x1x5xf32>, %wa: tensor<1x1x2x2xf32>) -> (tensor<1x1x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x1x4xf32>, tensor<1x1x3x3xf32>) {
  %w = kiln.constant dense<[[[[1.0, -2.0], [0.5, 1.00390625]]]]> : tensor<1x1x2x2xf32> loc("lm_head")
  %wg = kiln.constant dense<1.0> : tensor<2x1x2x2xf32>
  %w1 = kiln.constant dense<1.0> : tensor<1x1x2xf32>
  %0 = kiln.conv %x, %w : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x3x3xf32>
  %1 = kiln.conv %g, %wg {groups = 2 : i64} : (tensor<1x2x4x4xf32>, tensor<2x1x2x2xf32>) -> tensor<1x2x3x3xf32>
  %2 = kiln.conv %s, %w1 : (tensor<1x1x5xf32>, tensor<1x1x2xf32>) -> tensor<1x1x4xf32>
  %3 = kiln.conv %x, %wa : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x3x3xf32>
  return %0, %1, %2, %3 : tensor<1x1x3x3xf32>, tensor<1x2x3x3xf32>, tensor<1x1x4xf32>, tensor<1x1x3x3xf32>
}
