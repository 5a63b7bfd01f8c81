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

// -----

// Negation of small constants folds, integer and float (a splat stays one).
// CHECK-LABEL: func @neg_constant
// CHECK-NEXT: %[[I:.*]] = kiln.constant dense<[-1, 2]> : tensor<2xi32>
// CHECK-NEXT: %[[F:.*]] = kiln.constant dense<-1.500000e+00> : tensor<4xf32>
// CHECK-NEXT: return %[[I]], %[[F]]
func.func @neg_constant() -> (tensor<2xi32>, tensor<4xf32>) {
  %a = kiln.constant dense<[1, -2]> : tensor<2xi32>
  %b = kiln.constant dense<1.5> : tensor<4xf32>
  %0 = kiln.neg %a : tensor<2xi32>
  %1 = kiln.neg %b : tensor<4xf32>
  return %0, %1 : tensor<2xi32>, tensor<4xf32>
}

// -----

// Negation of a value, or of a constant over the inline limit, stays.
// CHECK-LABEL: func @neg_no_fold
// CHECK: kiln.neg %{{.*}} : tensor<4xf32>
// CHECK: kiln.neg %{{.*}} : tensor<512xf32>
func.func @neg_no_fold(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<512xf32>) {
  %b = kiln.constant dense<1.5> : tensor<512xf32>
  %0 = kiln.neg %x : tensor<4xf32>
  %1 = kiln.neg %b : tensor<512xf32>
  return %0, %1 : tensor<4xf32>, tensor<512xf32>
}

// -----

// Gather from a constant with constant indices: negative indices count from
// the end, out-of-range ones clamp (as the lowering does).
// CHECK-LABEL: func @gather_constant
// CHECK-NEXT: %[[A:.*]] = kiln.constant dense<[40, 10, 40, 10]> : tensor<4xi64>
// CHECK-NEXT: %[[B:.*]] = kiln.constant dense<{{\[}}[3, 1], [6, 4]]> : tensor<2x2xi64>
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<[4, 5, 6]> : tensor<3xi64>
// CHECK-NEXT: return %[[A]], %[[B]], %[[C]]
func.func @gather_constant() -> (tensor<4xi64>, tensor<2x2xi64>, tensor<3xi64>) {
  %a = kiln.constant dense<[10, 20, 30, 40]> : tensor<4xi64>
  %i = kiln.constant dense<[-1, 0, 7, -7]> : tensor<4xi64>
  %0 = kiln.gather %a, %i {axis = 0 : i64} : (tensor<4xi64>, tensor<4xi64>) -> tensor<4xi64>
  %m = kiln.constant dense<[[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
  %j = kiln.constant dense<[2, 0]> : tensor<2xi64>
  %1 = kiln.gather %m, %j {axis = 1 : i64} : (tensor<2x3xi64>, tensor<2xi64>) -> tensor<2x2xi64>
  %k = kiln.constant dense<1> : tensor<i64>
  %2 = kiln.gather %m, %k {axis = 0 : i64} : (tensor<2x3xi64>, tensor<i64>) -> tensor<3xi64>
  return %0, %1, %2 : tensor<4xi64>, tensor<2x2xi64>, tensor<3xi64>
}

// -----

// Gather needs both the data and the indices constant.
// CHECK-LABEL: func @gather_no_fold
// CHECK: kiln.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<4xi64>, tensor<2xi64>)
// CHECK: kiln.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<4xi64>, tensor<2xi64>)
func.func @gather_no_fold(%x: tensor<4xi64>, %i: tensor<2xi64>) -> (tensor<2xi64>, tensor<2xi64>) {
  %a = kiln.constant dense<[10, 20, 30, 40]> : tensor<4xi64>
  %c = kiln.constant dense<[1, 0]> : tensor<2xi64>
  %0 = kiln.gather %x, %c {axis = 0 : i64} : (tensor<4xi64>, tensor<2xi64>) -> tensor<2xi64>
  %1 = kiln.gather %a, %i {axis = 0 : i64} : (tensor<4xi64>, tensor<2xi64>) -> tensor<2xi64>
  return %0, %1 : tensor<2xi64>, tensor<2xi64>
}

// -----

// One constant index (a layer of a stacked KV cache): a slice, which
// bufferizes to a view, and a reshape. Negative and out-of-range indices
// resolve as the gather's lowering resolves them.
// CHECK-LABEL: func @gather_one_index
// CHECK-SAME: (%[[X:.*]]: tensor<12x1x4x8xf32>, %[[I:.*]]: tensor<1xi64>)
// CHECK-NEXT: %[[C0:.*]] = kiln.constant dense<0>
// CHECK-NEXT: %[[TWO:.*]] = kiln.constant dense<[1, 2]>
// CHECK-NEXT: %[[S0:.*]] = kiln.slice %[[X]] {sizes = array<i64: 1, 1, 4, 8>, starts = array<i64: 3, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>}
// CHECK-NEXT: %[[R0:.*]] = kiln.reshape %[[S0]] : tensor<1x1x4x8xf32> to tensor<1x4x8xf32>
// CHECK-NEXT: %[[S1:.*]] = kiln.slice %[[X]] {sizes = array<i64: 12, 1, 1, 8>, starts = array<i64: 0, 0, 3, 0>
// CHECK-NEXT: %[[R1:.*]] = kiln.reshape %[[S1]] : tensor<12x1x1x8xf32> to tensor<12x1x1x1x8xf32>
// CHECK-NEXT: %[[S2:.*]] = kiln.slice %[[X]] {sizes = array<i64: 1, 1, 4, 8>, starts = array<i64: 11, 0, 0, 0>
// CHECK-NEXT: kiln.reshape %[[S2]] : tensor<1x1x4x8xf32> to tensor<1x4x8xf32>
// Two indices, one that is not constant, or a size-1 axis: gathers.
// CHECK-NEXT: kiln.gather %[[X]], %[[TWO]] {axis = 0 : i64}
// CHECK-NEXT: kiln.gather %[[X]], %[[I]] {axis = 0 : i64}
// CHECK-NEXT: kiln.gather %[[X]], %[[C0]] {axis = 1 : i64}
func.func @gather_one_index(%x: tensor<12x1x4x8xf32>, %i: tensor<1xi64>) -> (tensor<1x4x8xf32>, tensor<12x1x1x1x8xf32>, tensor<1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<12x4x8xf32>) {
  %c3 = kiln.constant dense<3> : tensor<i64>
  %0 = kiln.gather %x, %c3 {axis = 0 : i64} : (tensor<12x1x4x8xf32>, tensor<i64>) -> tensor<1x4x8xf32>
  %c3b = kiln.constant dense<-1> : tensor<1x1xi64>
  %1 = kiln.gather %x, %c3b {axis = 2 : i64} : (tensor<12x1x4x8xf32>, tensor<1x1xi64>) -> tensor<12x1x1x1x8xf32>
  %big = kiln.constant dense<40> : tensor<i64>
  %2 = kiln.gather %x, %big {axis = 0 : i64} : (tensor<12x1x4x8xf32>, tensor<i64>) -> tensor<1x4x8xf32>
  %two = kiln.constant dense<[1, 2]> : tensor<2xi64>
  %3 = kiln.gather %x, %two {axis = 0 : i64} : (tensor<12x1x4x8xf32>, tensor<2xi64>) -> tensor<2x1x4x8xf32>
  %4 = kiln.gather %x, %i {axis = 0 : i64} : (tensor<12x1x4x8xf32>, tensor<1xi64>) -> tensor<1x1x4x8xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %5 = kiln.gather %x, %c0 {axis = 1 : i64} : (tensor<12x1x4x8xf32>, tensor<i64>) -> tensor<12x4x8xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x4x8xf32>, tensor<12x1x1x1x8xf32>, tensor<1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<12x4x8xf32>
}

// -----

// Concatenation of small constants folds along any axis.
// CHECK-LABEL: func @concat_constant
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<{{\[}}[1, 2, 3], [4, 5, 6]]> : tensor<2x3xi64>
// CHECK-NEXT: return %[[C]]
func.func @concat_constant() -> tensor<2x3xi64> {
  %a = kiln.constant dense<[[1], [4]]> : tensor<2x1xi64>
  %b = kiln.constant dense<[[2, 3], [5, 6]]> : tensor<2x2xi64>
  %0 = kiln.concat %a, %b {axis = 1 : i64} : (tensor<2x1xi64>, tensor<2x2xi64>) -> tensor<2x3xi64>
  return %0 : tensor<2x3xi64>
}

// -----

// Concat with a non-constant operand, or with a result over the inline
// limit, stays.
// CHECK-LABEL: func @concat_no_fold
// CHECK: kiln.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
// CHECK: kiln.concat %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<200xi64>, tensor<200xi64>) -> tensor<400xi64>
func.func @concat_no_fold(%x: tensor<2xi64>) -> (tensor<3xi64>, tensor<400xi64>) {
  %a = kiln.constant dense<[1]> : tensor<1xi64>
  %0 = kiln.concat %a, %x {axis = 0 : i64} : (tensor<1xi64>, tensor<2xi64>) -> tensor<3xi64>
  %s = kiln.constant dense<7> : tensor<200xi64>
  %1 = kiln.concat %s, %s {axis = 0 : i64} : (tensor<200xi64>, tensor<200xi64>) -> tensor<400xi64>
  return %0, %1 : tensor<3xi64>, tensor<400xi64>
}

// -----

// A strided (here reversing) slice of a constant folds.
// CHECK-LABEL: func @slice_constant
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<[40, 20]> : tensor<2xi64>
// CHECK-NEXT: return %[[C]]
func.func @slice_constant() -> tensor<2xi64> {
  %a = kiln.constant dense<[10, 20, 30, 40]> : tensor<4xi64>
  %0 = kiln.slice %a {starts = array<i64: 3>, sizes = array<i64: 2>, steps = array<i64: -2>} : tensor<4xi64> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Comparison of constants: NaN is unordered (ne true, ge false); integers
// compare signed, with broadcasting.
// CHECK-LABEL: func @cmp_constant
// CHECK-NEXT: %[[NE:.*]] = kiln.constant dense<[false, true, true]> : tensor<3xi1>
// CHECK-NEXT: %[[GE:.*]] = kiln.constant dense<[true, false, false]> : tensor<3xi1>
// CHECK-NEXT: %[[LT:.*]] = kiln.constant dense<{{\[}}[true, true, true], [false, false, true]]> : tensor<2x3xi1>
// CHECK-NEXT: return %[[NE]], %[[GE]], %[[LT]]
func.func @cmp_constant() -> (tensor<3xi1>, tensor<3xi1>, tensor<2x3xi1>) {
  %a = kiln.constant dense<[1.0, 0x7FC00000, 2.0]> : tensor<3xf32>
  %b = kiln.constant dense<[1.0, 1.0, 3.0]> : tensor<3xf32>
  %0 = kiln.cmp ne, %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  %1 = kiln.cmp ge, %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  %c = kiln.constant dense<[[-1], [5]]> : tensor<2x1xi64>
  %d = kiln.constant dense<[0, 5, 6]> : tensor<3xi64>
  %2 = kiln.cmp lt, %c, %d : (tensor<2x1xi64>, tensor<3xi64>) -> tensor<2x3xi1>
  return %0, %1, %2 : tensor<3xi1>, tensor<3xi1>, tensor<2x3xi1>
}

// -----

// Comparison with a non-constant operand stays.
// CHECK-LABEL: func @cmp_no_fold
// CHECK: kiln.cmp lt
func.func @cmp_no_fold(%x: tensor<3xi64>) -> tensor<3xi1> {
  %d = kiln.constant dense<[0, 5, 6]> : tensor<3xi64>
  %0 = kiln.cmp lt, %x, %d : (tensor<3xi64>, tensor<3xi64>) -> tensor<3xi1>
  return %0 : tensor<3xi1>
}

// -----

// Select of constants folds elementwise with broadcasting.
// CHECK-LABEL: func @select_constant
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<{{\[}}[1.000000e+00, 1.000000e+00], [2.000000e+00, 3.000000e+00]]> : tensor<2x2xf32>
// CHECK-NEXT: return %[[C]]
func.func @select_constant() -> tensor<2x2xf32> {
  %c = kiln.constant dense<[[true], [false]]> : tensor<2x1xi1>
  %t = kiln.constant dense<1.0> : tensor<f32>
  %f = kiln.constant dense<[2.0, 3.0]> : tensor<2xf32>
  %0 = kiln.select %c, %t, %f : (tensor<2x1xi1>, tensor<f32>, tensor<2xf32>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// Identical branches fold to the value; a mixed constant condition over
// non-constant branches stays.
// CHECK-LABEL: func @select_branches
// CHECK-SAME: (%[[A:.*]]: tensor<2xf32>, %[[B:.*]]: tensor<2xf32>, %[[C:.*]]: tensor<2xi1>)
// CHECK: %[[S:.*]] = kiln.select %{{.*}}, %[[A]], %[[B]]
// CHECK-NEXT: return %[[A]], %[[S]]
func.func @select_branches(%a: tensor<2xf32>, %b: tensor<2xf32>, %c: tensor<2xi1>) -> (tensor<2xf32>, tensor<2xf32>) {
  %mixed = kiln.constant dense<[true, false]> : tensor<2xi1>
  %0 = kiln.select %c, %a, %a : (tensor<2xi1>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = kiln.select %mixed, %a, %b : (tensor<2xi1>, tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %0, %1 : tensor<2xf32>, tensor<2xf32>
}

// -----

// Float to integer truncates toward zero.
// CHECK-LABEL: func @cast_float_to_int
// CHECK-NEXT: %[[C:.*]] = kiln.constant dense<[1, -1, 0]> : tensor<3xi32>
// CHECK-NEXT: return %[[C]]
func.func @cast_float_to_int() -> tensor<3xi32> {
  %a = kiln.constant dense<[1.7, -1.7, 0.0]> : tensor<3xf32>
  %0 = kiln.cast %a : tensor<3xf32> to tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

// To bool: non-zero is true. From bool: true is 1 (not -1). Narrowing
// integers wraps.
// CHECK-LABEL: func @cast_bool_and_narrow
// CHECK-NEXT: %[[B:.*]] = kiln.constant dense<[false, true]> : tensor<2xi1>
// CHECK-NEXT: %[[F:.*]] = kiln.constant dense<[1.000000e+00, 0.000000e+00]> : tensor<2xf32>
// CHECK-NEXT: %[[N:.*]] = kiln.constant dense<[44, -1]> : tensor<2xi8>
// CHECK-NEXT: return %[[B]], %[[F]], %[[N]]
func.func @cast_bool_and_narrow() -> (tensor<2xi1>, tensor<2xf32>, tensor<2xi8>) {
  %a = kiln.constant dense<[0.0, -0.5]> : tensor<2xf32>
  %0 = kiln.cast %a : tensor<2xf32> to tensor<2xi1>
  %b = kiln.constant dense<[true, false]> : tensor<2xi1>
  %1 = kiln.cast %b : tensor<2xi1> to tensor<2xf32>
  %c = kiln.constant dense<[300, -1]> : tensor<2xi64>
  %2 = kiln.cast %c : tensor<2xi64> to tensor<2xi8>
  return %0, %1, %2 : tensor<2xi1>, tensor<2xf32>, tensor<2xi8>
}

// -----

// NaN has no integer value: the cast is left for run time.
// CHECK-LABEL: func @cast_nan_to_int
// CHECK: kiln.cast %{{.*}} : tensor<2xf32> to tensor<2xi32>
func.func @cast_nan_to_int() -> tensor<2xi32> {
  %a = kiln.constant dense<[1.0, 0x7FC00000]> : tensor<2xf32>
  %0 = kiln.cast %a : tensor<2xf32> to tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// Broadcasting folds: expand of a non-splat constant, and a binary op
// whose operands broadcast.
// CHECK-LABEL: func @broadcast_constant
// CHECK-NEXT: %[[E:.*]] = kiln.constant dense<{{\[}}[1, 2], [1, 2]]> : tensor<2x2xi64>
// CHECK-NEXT: %[[A:.*]] = kiln.constant dense<{{\[}}[11, 12, 13], [21, 22, 23]]> : tensor<2x3xi64>
// CHECK-NEXT: return %[[E]], %[[A]]
func.func @broadcast_constant() -> (tensor<2x2xi64>, tensor<2x3xi64>) {
  %a = kiln.constant dense<[[1, 2]]> : tensor<1x2xi64>
  %0 = kiln.expand %a : tensor<1x2xi64> to tensor<2x2xi64>
  %b = kiln.constant dense<[[10], [20]]> : tensor<2x1xi64>
  %c = kiln.constant dense<[1, 2, 3]> : tensor<3xi64>
  %1 = kiln.add %b, %c : (tensor<2x1xi64>, tensor<3xi64>) -> tensor<2x3xi64>
  return %0, %1 : tensor<2x2xi64>, tensor<2x3xi64>
}

// -----

// Expanding a non-splat constant past the inline limit, or a value, stays.
// CHECK-LABEL: func @broadcast_no_fold
// CHECK: kiln.expand %{{.*}} : tensor<1x2xi64> to tensor<200x2xi64>
// CHECK: kiln.expand %{{.*}} : tensor<1x2xi64> to tensor<2x2xi64>
func.func @broadcast_no_fold(%x: tensor<1x2xi64>) -> (tensor<200x2xi64>, tensor<2x2xi64>) {
  %a = kiln.constant dense<[[1, 2]]> : tensor<1x2xi64>
  %0 = kiln.expand %a : tensor<1x2xi64> to tensor<200x2xi64>
  %1 = kiln.expand %x : tensor<1x2xi64> to tensor<2x2xi64>
  return %0, %1 : tensor<200x2xi64>, tensor<2x2xi64>
}

// -----

// Unsigned constants widen with zeros, and floats cast to unsigned ints.
// CHECK-LABEL: func @cast_unsigned
// CHECK-DAG: kiln.constant dense<[200, 1]> : tensor<2xi32>
// CHECK-DAG: kiln.constant dense<[2.000000e+02, 1.000000e+00]> : tensor<2xf32>
// CHECK-DAG: kiln.constant dense<[250, 3]> : tensor<2xui8>
func.func @cast_unsigned() -> (tensor<2xi32>, tensor<2xf32>, tensor<2xui8>) {
  %a = kiln.constant dense<[200, 1]> : tensor<2xui8>
  %0 = kiln.cast %a : tensor<2xui8> to tensor<2xi32>
  %1 = kiln.cast %a : tensor<2xui8> to tensor<2xf32>
  %f = kiln.constant dense<[250.5, 3.0]> : tensor<2xf32>
  %2 = kiln.cast %f : tensor<2xf32> to tensor<2xui8>
  return %0, %1, %2 : tensor<2xi32>, tensor<2xf32>, tensor<2xui8>
}
