// RUN: kiln-opt %s -canonicalize -split-input-file | FileCheck %s

// CHECK-LABEL: func @add_zero
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]]
func.func @add_zero(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %z = kiln.constant dense<0.0> : tensor<3xf32>
  %0 = kiln.add %x, %z : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Adding zeros that widen the shape is a broadcast, not an identity.
// CHECK-LABEL: func @add_zero_broadcasting
// CHECK: kiln.add
func.func @add_zero_broadcasting(%x: tensor<3xf32>) -> tensor<2x3xf32> {
  %z = kiln.constant dense<0.0> : tensor<2x3xf32>
  %0 = kiln.add %x, %z : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// CHECK-LABEL: func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @identities(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %one = kiln.constant dense<1.0> : tensor<4xf32>
  %zero = kiln.constant dense<0.0> : tensor<f32>
  %0 = kiln.mul %x, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.div %0, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = kiln.sub %1, %zero : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = kiln.pow %x, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %4 = kiln.max %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %5 = kiln.cast %x : tensor<4xf32> to tensor<4xf32>
  return %2, %3, %4, %5, %x : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// Mul by a non-one constant stays.
// CHECK-LABEL: func @mul_two
// CHECK: kiln.mul
func.func @mul_two(%x: tensor<4xf32>) -> tensor<4xf32> {
  %two = kiln.constant dense<2.0> : tensor<4xf32>
  %0 = kiln.mul %x, %two : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Commutative ops move the constant to the right, then fold.
// CHECK-LABEL: func @commuted
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @commuted(%x: tensor<4xf32>) -> tensor<4xf32> {
  %one = kiln.constant dense<1.0> : tensor<4xf32>
  %0 = kiln.mul %one, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Shape arithmetic on small integer constants folds.
// CHECK-LABEL: func @shape_math
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<[2, 12, 64]> : tensor<3xi64>
// CHECK-NEXT: return %[[C]]
func.func @shape_math() -> tensor<3xi64> {
  %a = kiln.constant dense<[1, 6, 32]> : tensor<3xi64>
  %b = kiln.constant dense<2> : tensor<3xi64>
  %0 = kiln.mul %a, %b : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Integer division by zero is left for run time.
// CHECK-LABEL: func @div_by_zero
// CHECK: kiln.div
func.func @div_by_zero() -> tensor<2xi64> {
  %a = kiln.constant dense<[4, 6]> : tensor<2xi64>
  %b = kiln.constant dense<[2, 0]> : tensor<2xi64>
  %0 = kiln.div %a, %b : (tensor<2xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// CHECK-LABEL: func @cast_shape_constant
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<[1, -1]> : tensor<2xi32>
// CHECK-NEXT: return %[[C]]
func.func @cast_shape_constant() -> tensor<2xi32> {
  %a = kiln.constant dense<[1, -1]> : tensor<2xi64>
  %0 = kiln.cast %a : tensor<2xi64> to tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// CHECK-LABEL: func @select_splat
// CHECK-SAME: (%[[A:.*]]: tensor<4xf32>, %[[B:.*]]: tensor<4xf32>)
// CHECK-NEXT: return %[[A]], %[[B]]
func.func @select_splat(%a: tensor<4xf32>, %b: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %t = kiln.constant dense<true> : tensor<4xi1>
  %f = kiln.constant dense<false> : tensor<4xi1>
  %0 = kiln.select %t, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.select %f, %a, %b : (tensor<4xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func @reshape_chain
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = kiln.reshape %[[X]] : tensor<2x3x4xf32> to tensor<24xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_chain(%x: tensor<2x3x4xf32>) -> tensor<24xf32> {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> to tensor<6x4xf32>
  %1 = kiln.reshape %0 : tensor<6x4xf32> to tensor<24xf32>
  return %1 : tensor<24xf32>
}

// -----

// CHECK-LABEL: func @reshape_identity
// CHECK-SAME: (%[[X:.*]]: tensor<6x4xf32>)
// CHECK-NEXT: return %[[X]]
func.func @reshape_identity(%x: tensor<6x4xf32>) -> tensor<6x4xf32> {
  %0 = kiln.reshape %x : tensor<6x4xf32> to tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

// A reshaped weight keeps its blob: only the type changes.
// CHECK-LABEL: func @reshape_resource
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense_resource<w> : tensor<4xf32>
// CHECK-NEXT: return %[[C]]
func.func @reshape_resource() -> tensor<4xf32> {
  %w = kiln.constant dense_resource<w> : tensor<2x2xf32>
  %0 = kiln.reshape %w : tensor<2x2xf32> to tensor<4xf32>
  return %0 : tensor<4xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// CHECK-LABEL: func @transposes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[T:.*]] = kiln.transpose %[[X]] {permutation = array<i64: 1, 0, 2>}
// CHECK-NEXT: return %[[T]], %[[X]]
func.func @transposes(%x: tensor<2x3x4xf32>) -> (tensor<3x2x4xf32>, tensor<2x3x4xf32>) {
  %0 = kiln.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %1 = kiln.transpose %0 {permutation = array<i64: 2, 1, 0>} : tensor<4x2x3xf32> -> tensor<3x2x4xf32>
  %2 = kiln.transpose %x {permutation = array<i64: 0, 1, 2>} : tensor<2x3x4xf32> -> tensor<2x3x4xf32>
  return %1, %2 : tensor<3x2x4xf32>, tensor<2x3x4xf32>
}

// -----

// CHECK-LABEL: func @trivial_shapes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
// CHECK-NEXT: return %[[X]], %[[X]], %[[X]], %[[X]], %[[X]]
func.func @trivial_shapes(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %1 = kiln.concat %0 {axis = 1 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = kiln.expand %1 : tensor<2x3xf32> to tensor<2x3xf32>
  %3 = kiln.pad %2 {pads = array<i64: 0, 0, 0, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  %4 = kiln.reduce sum %3 {axes = array<i64>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return %4, %x, %x, %x, %x : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// A reversing slice is not an identity.
// CHECK-LABEL: func @reverse_slice
// CHECK: kiln.slice
func.func @reverse_slice(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = kiln.slice %x {starts = array<i64: 2>, sizes = array<i64: 3>, steps = array<i64: -1>} : tensor<3xf32> -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// CHECK-LABEL: func @expand_splat
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<5.000000e-01> : tensor<64x64xf32>
// CHECK-NEXT: return %[[C]]
func.func @expand_splat() -> tensor<64x64xf32> {
  %a = kiln.constant dense<0.5> : tensor<1x64xf32>
  %0 = kiln.expand %a : tensor<1x64xf32> to tensor<64x64xf32>
  return %0 : tensor<64x64xf32>
}

// -----

// Folding never makes an inline constant larger than the limit.
// CHECK-LABEL: func @no_big_fold
// CHECK: kiln.add
func.func @no_big_fold(%a: tensor<300xi32>) -> tensor<300xi32> {
  %c = kiln.constant dense_resource<big> : tensor<300xi32>
  %0 = kiln.add %c, %c : (tensor<300xi32>, tensor<300xi32>) -> tensor<300xi32>
  return %0 : tensor<300xi32>
}
