// RUN: kiln-opt %s -split-input-file -kiln-recognize-rotary | FileCheck %s

// Llama's rotary embedding: x * cos + rotate_half(x) * sin, with cos and
// sin computed from concat(freqs, freqs).
// CHECK-LABEL: func @llama
// CHECK-DAG: %[[C:.*]] = kiln.cos %arg1 : tensor<12x8xf32>
// CHECK-DAG: %[[S:.*]] = kiln.sin %arg1 : tensor<12x8xf32>
// CHECK: %[[R:.*]] = kiln.rotary %arg0, %[[C]], %[[S]] : (tensor<1x4x12x16xf32>, tensor<12x8xf32>, tensor<12x8xf32>) -> tensor<1x4x12x16xf32>
// CHECK-NEXT: return %[[R]]
func.func @llama(%x: tensor<1x4x12x16xf32>, %f: tensor<12x8xf32>) -> tensor<1x4x12x16xf32> {
  %emb = kiln.concat %f, %f {axis = 1 : i64} : (tensor<12x8xf32>, tensor<12x8xf32>) -> tensor<12x16xf32>
  %cos = kiln.cos %emb : tensor<12x16xf32>
  %sin = kiln.sin %emb : tensor<12x16xf32>
  %0 = kiln.mul %x, %cos : (tensor<1x4x12x16xf32>, tensor<12x16xf32>) -> tensor<1x4x12x16xf32>
  %x1 = kiln.slice %x {sizes = array<i64: 1, 4, 12, 8>, starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x4x12x16xf32> -> tensor<1x4x12x8xf32>
  %x2 = kiln.slice %x {sizes = array<i64: 1, 4, 12, 8>, starts = array<i64: 0, 0, 0, 8>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x4x12x16xf32> -> tensor<1x4x12x8xf32>
  %n = kiln.neg %x2 : tensor<1x4x12x8xf32>
  %rot = kiln.concat %n, %x1 {axis = 3 : i64} : (tensor<1x4x12x8xf32>, tensor<1x4x12x8xf32>) -> tensor<1x4x12x16xf32>
  %1 = kiln.mul %rot, %sin : (tensor<1x4x12x16xf32>, tensor<12x16xf32>) -> tensor<1x4x12x16xf32>
  %2 = kiln.add %0, %1 : (tensor<1x4x12x16xf32>, tensor<1x4x12x16xf32>) -> tensor<1x4x12x16xf32>
  return %2 : tensor<1x4x12x16xf32>
}

// -----

// A constant cache with equal halves, gathered by position, the negation
// as a multiplication by -1, and the sum and products in the other order.
// CHECK-LABEL: func @cached
// CHECK-DAG: %[[C:.*]] = kiln.slice %{{.*}} {sizes = array<i64: 2, 2>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x2xf32>
// CHECK-DAG: %[[S:.*]] = kiln.slice %{{.*}} {sizes = array<i64: 2, 2>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x2xf32>
// CHECK: kiln.rotary %arg0, %{{.*}}, %{{.*}} : (tensor<2x2x4xf32>, tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2x4xf32>
func.func @cached(%x: tensor<2x2x4xf32>, %pos: tensor<2xi64>) -> tensor<2x2x4xf32> {
  %cc = kiln.constant dense<[[1.0, 0.5, 1.0, 0.5], [0.25, 2.0, 0.25, 2.0], [3.0, 4.0, 3.0, 4.0]]> : tensor<3x4xf32>
  %sc = kiln.constant dense<[[0.0, 0.1, 0.0, 0.1], [0.2, 0.3, 0.2, 0.3], [0.4, 0.5, 0.4, 0.5]]> : tensor<3x4xf32>
  %m1 = kiln.constant dense<-1.0> : tensor<f32>
  %cos = kiln.gather %cc, %pos {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %sin = kiln.gather %sc, %pos {axis = 0 : i64} : (tensor<3x4xf32>, tensor<2xi64>) -> tensor<2x4xf32>
  %x1 = kiln.slice %x {sizes = array<i64: 2, 2, 2>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<2x2x4xf32> -> tensor<2x2x2xf32>
  %x2 = kiln.slice %x {sizes = array<i64: 2, 2, 2>, starts = array<i64: 0, 0, 2>, steps = array<i64: 1, 1, 1>} : tensor<2x2x4xf32> -> tensor<2x2x2xf32>
  %n = kiln.mul %m1, %x2 : (tensor<f32>, tensor<2x2x2xf32>) -> tensor<2x2x2xf32>
  %rot = kiln.concat %n, %x1 {axis = 2 : i64} : (tensor<2x2x2xf32>, tensor<2x2x2xf32>) -> tensor<2x2x4xf32>
  %1 = kiln.mul %sin, %rot : (tensor<2x4xf32>, tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %0 = kiln.mul %cos, %x : (tensor<2x4xf32>, tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  %2 = kiln.add %1, %0 : (tensor<2x2x4xf32>, tensor<2x2x4xf32>) -> tensor<2x2x4xf32>
  return %2 : tensor<2x2x4xf32>
}

// -----

// Near-misses: cos whose halves differ (a rotary over the whole
// dimension, not rotate-half); halves swapped in rotate_half (no negation
// of the second half); rotate_half of a different tensor.
// CHECK-LABEL: func @near_misses
// CHECK-NOT: kiln.rotary
// CHECK: return
func.func @near_misses(%x: tensor<2x4xf32>, %y: tensor<2x4xf32>, %f: tensor<2x4xf32>, %g: tensor<2x2xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>) {
  %cosf = kiln.cos %f : tensor<2x4xf32>
  %sinf = kiln.sin %f : tensor<2x4xf32>
  %emb = kiln.concat %g, %g {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %cos = kiln.cos %emb : tensor<2x4xf32>
  %sin = kiln.sin %emb : tensor<2x4xf32>
  %x1 = kiln.slice %x {sizes = array<i64: 2, 2>, starts = array<i64: 0, 0>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x2xf32>
  %x2 = kiln.slice %x {sizes = array<i64: 2, 2>, starts = array<i64: 0, 2>, steps = array<i64: 1, 1>} : tensor<2x4xf32> -> tensor<2x2xf32>
  %n2 = kiln.neg %x2 : tensor<2x2xf32>
  %rot = kiln.concat %n2, %x1 {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
  // cos(f) does not repeat along the features
  %a0 = kiln.mul %x, %cosf : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %a1 = kiln.mul %rot, %sinf : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %a = kiln.add %a0, %a1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  // concat(x2, -x1): the wrong half negated
  %n1 = kiln.neg %x1 : tensor<2x2xf32>
  %bad = kiln.concat %x2, %n1 {axis = 1 : i64} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x4xf32>
  %b0 = kiln.mul %x, %cos : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %b1 = kiln.mul %bad, %sin : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %b = kiln.add %b0, %b1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  // y * cos + rotate_half(x) * sin
  %c0 = kiln.mul %y, %cos : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %c1 = kiln.mul %rot, %sin : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  %c = kiln.add %c0, %c1 : (tensor<2x4xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  return %a, %b, %c : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>
}
