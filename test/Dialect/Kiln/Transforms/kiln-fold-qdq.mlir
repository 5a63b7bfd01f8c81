// RUN: kiln-opt %s -split-input-file -kiln-fold-qdq | FileCheck %s

// int8, per output channel (axis 1 of a [K, N] weight): the int8 values
// and scales are kept exactly (weight_error 0). Column 0 holds (1, -128),
// column 1 (127, 2), column 2 (-3, 0); one panel of 64 bytes per row.
// CHECK-LABEL: func @per_channel
// CHECK-DAG: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x2x64xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense_resource<[[SKEY:.*]]> : tensor<1x3xf32>
// CHECK-NOT: kiln.dequantize
// CHECK: %[[Y:.*]] = kiln.qmatmul %arg0, %[[W]], %[[S]] {bits = 8 : i64, group_size = 2 : i64, weight_error = 0.000000e+00 : f64} : (tensor<4x2xf32>, tensor<1x2x64xi8>, tensor<1x3xf32>) -> tensor<4x3xf32>
// CHECK-NOT: kiln.matmul
// CHECK: return %[[Y]]
// CHECK-DAG: [[KEY]]: "0x40000000017FFD
// CHECK-DAG: [[SKEY]]: "0x400000000000003F0000803E0000003E"
func.func @per_channel(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = kiln.constant dense<[[1, 127, -3], [-128, 2, 0]]> : tensor<2x3xi8>
  %s = kiln.constant dense<[0.5, 0.25, 0.125]> : tensor<3xf32>
  %w = kiln.dequantize %q, %s {axis = 1 : i64} : (tensor<2x3xi8>, tensor<3xf32>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// torch Linear: a [N, K] weight quantized along axis 0 (its output
// channels), then transposed; the same bytes as above.
// CHECK-LABEL: func @transposed
// CHECK: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x2x64xi8>
// CHECK-NOT: kiln.transpose
// CHECK-NOT: kiln.dequantize
// CHECK: kiln.qmatmul %arg0, %[[W]], %{{.*}} {bits = 8 : i64, group_size = 2 : i64, weight_error = 0.000000e+00 : f64}
// CHECK: [[KEY]]: "0x40000000017FFD
func.func @transposed(%x: tensor<1x4x2xf32>) -> tensor<1x4x3xf32> {
  %q = kiln.constant dense<[[1, -128], [127, 2], [-3, 0]]> : tensor<3x2xi8>
  %s = kiln.constant dense<[0.5, 0.25, 0.125]> : tensor<3xf32>
  %d = kiln.dequantize %q, %s {axis = 0 : i64} : (tensor<3x2xi8>, tensor<3xf32>) -> tensor<3x2xf32>
  %w = kiln.transpose %d {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %y : tensor<1x4x3xf32>
}

// -----

// Per tensor: the scalar scale is repeated per column.
// CHECK-LABEL: func @per_tensor
// CHECK-DAG: %[[S:.*]] = kiln.constant dense_resource<[[SKEY:.*]]> : tensor<1x3xf32>
// CHECK: kiln.qmatmul %arg0, %{{.*}}, %[[S]] {bits = 8 : i64, group_size = 2 : i64, weight_error = 0.000000e+00 : f64}
// CHECK: [[SKEY]]: "0x400000000000003F0000003F0000003F"
func.func @per_tensor(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = kiln.constant dense<[[1, 127, -3], [-128, 2, 0]]> : tensor<2x3xi8>
  %s = kiln.constant dense<0.5> : tensor<f32>
  %w = kiln.dequantize %q, %s : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// uint8 with zero point 128 (symmetric): q - 128 fits int8, exact.
// 129 - 128 = 1, 255 - 128 = 127, 125 - 128 = -3, 0 - 128 = -128, ...
// CHECK-LABEL: func @uint8_zero_point_128
// CHECK: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x2x64xi8>
// CHECK: kiln.qmatmul %arg0, %[[W]], %{{.*}} {bits = 8 : i64, group_size = 2 : i64, weight_error = 0.000000e+00 : f64}
// CHECK: [[KEY]]: "0x40000000017FFD
func.func @uint8_zero_point_128(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = kiln.constant dense<[[129, 255, 125], [0, 130, 128]]> : tensor<2x3xui8>
  %s = kiln.constant dense<[0.5, 0.25, 0.125]> : tensor<3xf32>
  %z = kiln.constant dense<128> : tensor<3xui8>
  %w = kiln.dequantize %q, %s zero_point(%z) {axis = 1 : i64} : (tensor<2x3xui8>, tensor<3xf32>, tensor<3xui8>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// uint8 with zero point 0: q - z reaches 255, beyond int8; the weight is
// requantized per channel. Column 0 (10, 200) -> s = 200 * 0.5 / 127,
// q = (6, 127); columns 1 and 2 hold (255, 0) and (0, 0).
// CHECK-LABEL: func @uint8_requantized
// CHECK-DAG: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x2x64xi8>
// CHECK: kiln.qmatmul %arg0, %[[W]], %{{.*}} {bits = 8 : i64, group_size = 2 : i64, weight_error = 0.00{{[0-9]+}}
// CHECK: [[KEY]]: "0x40000000067F00
func.func @uint8_requantized(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = kiln.constant dense<[[10, 255, 0], [200, 0, 0]]> : tensor<2x3xui8>
  %s = kiln.constant dense<0.5> : tensor<f32>
  %z = kiln.constant dense<0> : tensor<ui8>
  %w = kiln.dequantize %q, %s zero_point(%z) : (tensor<2x3xui8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// One int8 copy for a dequantized weight read by two products.
// CHECK-LABEL: func @shared
// CHECK-COUNT-1: tensor<1x2x64xi8>
// CHECK-NOT: tensor<1x2x64xi8>
// CHECK: kiln.qmatmul %arg0
// CHECK: kiln.qmatmul %arg1
func.func @shared(%x: tensor<4x2xf32>, %x2: tensor<1x2xf32>) -> (tensor<4x3xf32>, tensor<1x3xf32>) {
  %q = kiln.constant dense<[[1, 127, -3], [-128, 2, 0]]> : tensor<2x3xi8>
  %s = kiln.constant dense<0.5> : tensor<f32>
  %w = kiln.dequantize %q, %s : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %y2 = kiln.matmul %x2, %w : (tensor<1x2xf32>, tensor<2x3xf32>) -> tensor<1x3xf32>
  return %y, %y2 : tensor<4x3xf32>, tensor<1x3xf32>
}

// -----

// Near miss: the quantized input is not a constant (a dequantized activation).
// CHECK-LABEL: func @not_constant
// CHECK: kiln.dequantize
// CHECK: kiln.matmul
// CHECK-NOT: kiln.qmatmul
func.func @not_constant(%x: tensor<4x2xf32>, %q: tensor<2x3xi8>) -> tensor<4x3xf32> {
  %s = kiln.constant dense<0.5> : tensor<f32>
  %w = kiln.dequantize %q, %s : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Near miss: per-axis scales along K (axis 0 of a [K, N] weight), not the
// output channel.
// CHECK-LABEL: func @wrong_axis
// CHECK: kiln.dequantize
// CHECK: kiln.matmul
// CHECK-NOT: kiln.qmatmul
func.func @wrong_axis(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = kiln.constant dense<[[1, 127, -3], [-128, 2, 0]]> : tensor<2x3xi8>
  %s = kiln.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %w = kiln.dequantize %q, %s {axis = 0 : i64} : (tensor<2x3xi8>, tensor<2xf32>) -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Near miss: a torch Linear weight [N, K] quantized along axis 1 (K), then
// transposed.
// CHECK-LABEL: func @transposed_wrong_axis
// CHECK: kiln.dequantize
// CHECK: kiln.matmul
// CHECK-NOT: kiln.qmatmul
func.func @transposed_wrong_axis(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %q = kiln.constant dense<[[1, -128], [127, 2], [-3, 0]]> : tensor<3x2xi8>
  %s = kiln.constant dense<[0.5, 0.25]> : tensor<2xf32>
  %d = kiln.dequantize %q, %s {axis = 1 : i64} : (tensor<3x2xi8>, tensor<2xf32>) -> tensor<3x2xf32>
  %w = kiln.transpose %d {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// Near miss: the dequantized weight feeds an add, not a matmul.
// CHECK-LABEL: func @not_matmul
// CHECK: kiln.dequantize
// CHECK: kiln.add
// CHECK-NOT: kiln.qmatmul
func.func @not_matmul(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %q = kiln.constant dense<[[1, 127, -3], [-128, 2, 0]]> : tensor<2x3xi8>
  %s = kiln.constant dense<0.5> : tensor<f32>
  %w = kiln.dequantize %q, %s : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %y = kiln.add %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %y : tensor<2x3xf32>
}

// -----

// Near miss: the dequantized matrix is the lhs of the product.
// CHECK-LABEL: func @lhs
// CHECK: kiln.dequantize
// CHECK: kiln.matmul
// CHECK-NOT: kiln.qmatmul
func.func @lhs(%x: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %q = kiln.constant dense<[[1, 127, -3], [-128, 2, 0]]> : tensor<2x3xi8>
  %s = kiln.constant dense<0.5> : tensor<f32>
  %w = kiln.dequantize %q, %s : (tensor<2x3xi8>, tensor<f32>) -> tensor<2x3xf32>
  %y = kiln.matmul %w, %x : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %y : tensor<2x4xf32>
}

// -----

// Near miss: block-wise int4 scales (not folded here).
// CHECK-LABEL: func @blockwise
// CHECK: kiln.dequantize
// CHECK-NOT: kiln.qmatmul
func.func @blockwise(%x: tensor<1x64xf32>, %q: tensor<64x8xi4>) -> tensor<1x8xf32> {
  %s = kiln.constant dense<0.5> : tensor<2x8xf32>
  %w = kiln.dequantize %q, %s {block_size = 32 : i64} : (tensor<64x8xi4>, tensor<2x8xf32>) -> tensor<64x8xf32>
  %y = kiln.matmul %x, %w : (tensor<1x64xf32>, tensor<64x8xf32>) -> tensor<1x8xf32>
  return %y : tensor<1x8xf32>
}
