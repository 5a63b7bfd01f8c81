// RUN: kiln-opt %s -split-input-file -kiln-recognize-activations | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-recognize-activations="gelu=false silu=false" | FileCheck %s --check-prefix=OFF

// erf-GELU as torch exports it: (x * (1 + erf(x / sqrt 2))) * 0.5.
// CHECK-LABEL: func @gelu_erf_div
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %arg0 : tensor<4x8xf32>
// CHECK-NEXT: return %[[G]]
// OFF-LABEL: func @gelu_erf_div
// OFF: kiln.erf
func.func @gelu_erf_div(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %sqrt2 = kiln.constant dense<1.41421354> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %0 = kiln.div %x, %sqrt2 : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %1 = kiln.erf %0 : tensor<4x8xf32>
  %2 = kiln.add %1, %one : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  %3 = kiln.mul %x, %2 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %4 = kiln.mul %3, %half : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  return %4 : tensor<4x8xf32>
}

// -----

// The same with 0.5 * x first and x * (1 / sqrt 2), operands swapped.
// CHECK-LABEL: func @gelu_erf_mul
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %arg0 : tensor<8xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_erf_mul(%x: tensor<8xf32>) -> tensor<8xf32> {
  %rsqrt2 = kiln.constant dense<0.707106769> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %h = kiln.mul %half, %x : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %0 = kiln.mul %rsqrt2, %x : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %1 = kiln.erf %0 : tensor<8xf32>
  %2 = kiln.add %one, %1 : (tensor<f32>, tensor<8xf32>) -> tensor<8xf32>
  %3 = kiln.mul %2, %h : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %3 : tensor<8xf32>
}

// -----

// tanh-GELU (GPT-2's gelu_new) with pow(x, 3).
// CHECK-LABEL: func @gelu_tanh
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %arg0 approximate tanh : tensor<2x16xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_tanh(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %half = kiln.constant dense<0.5> : tensor<f32>
  %three = kiln.constant dense<3.0> : tensor<f32>
  %c = kiln.constant dense<0.044715> : tensor<f32>
  %k = kiln.constant dense<0.797884583> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %0 = kiln.mul %x, %half : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %1 = kiln.pow %x, %three : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %2 = kiln.mul %1, %c : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %3 = kiln.add %x, %2 : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  %4 = kiln.mul %3, %k : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %5 = kiln.tanh %4 : tensor<2x16xf32>
  %6 = kiln.add %5, %one : (tensor<2x16xf32>, tensor<f32>) -> tensor<2x16xf32>
  %7 = kiln.mul %0, %6 : (tensor<2x16xf32>, tensor<2x16xf32>) -> tensor<2x16xf32>
  return %7 : tensor<2x16xf32>
}

// -----

// tanh-GELU with the cube as x * x * x.
// CHECK-LABEL: func @gelu_tanh_cube
// CHECK-NEXT: %[[G:.*]] = kiln.gelu %arg0 approximate tanh : tensor<16xf32>
// CHECK-NEXT: return %[[G]]
func.func @gelu_tanh_cube(%x: tensor<16xf32>) -> tensor<16xf32> {
  %half = kiln.constant dense<0.5> : tensor<f32>
  %c = kiln.constant dense<0.044715> : tensor<f32>
  %k = kiln.constant dense<0.797884583> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %sq = kiln.mul %x, %x : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %cube = kiln.mul %sq, %x : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %2 = kiln.mul %c, %cube : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  %3 = kiln.add %2, %x : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %4 = kiln.mul %k, %3 : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  %5 = kiln.tanh %4 : tensor<16xf32>
  %6 = kiln.add %one, %5 : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  %7 = kiln.mul %x, %6 : (tensor<16xf32>, tensor<16xf32>) -> tensor<16xf32>
  %8 = kiln.mul %half, %7 : (tensor<f32>, tensor<16xf32>) -> tensor<16xf32>
  return %8 : tensor<16xf32>
}

// -----

// Near-misses: a wrong constant (0.6 instead of 0.5), erf of another value,
// and a product whose inner factor is used elsewhere stay as they are.
// CHECK-LABEL: func @gelu_near_misses
// CHECK-NOT: kiln.gelu
// CHECK: return
func.func @gelu_near_misses(%x: tensor<8xf32>, %y: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>) {
  %sqrt2 = kiln.constant dense<1.41421354> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %half = kiln.constant dense<0.5> : tensor<f32>
  %wrong = kiln.constant dense<0.6> : tensor<f32>
  %0 = kiln.div %x, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %1 = kiln.erf %0 : tensor<8xf32>
  %2 = kiln.add %1, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %3 = kiln.mul %x, %2 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %4 = kiln.mul %3, %wrong : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  // erf(y / sqrt 2) with x outside.
  %5 = kiln.div %y, %sqrt2 : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %6 = kiln.erf %5 : tensor<8xf32>
  %7 = kiln.add %6, %one : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  %8 = kiln.mul %x, %7 : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  %9 = kiln.mul %8, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  // x * (1 + erf) is also returned: the product is needed anyway.
  %10 = kiln.mul %3, %half : (tensor<8xf32>, tensor<f32>) -> tensor<8xf32>
  return %4, %9, %10, %3 : tensor<8xf32>, tensor<8xf32>, tensor<8xf32>, tensor<8xf32>
}

// -----

// SiLU in both operand orders.
// CHECK-LABEL: func @silu
// CHECK-NEXT: %[[A:.*]] = kiln.silu %arg0 : tensor<4x8xf32>
// CHECK-NEXT: %[[B:.*]] = kiln.silu %arg0 : tensor<4x8xf32>
// CHECK-NEXT: return %[[A]], %[[B]]
// OFF-LABEL: func @silu
// OFF: kiln.sigmoid
func.func @silu(%x: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %s = kiln.sigmoid %x : tensor<4x8xf32>
  %0 = kiln.mul %x, %s : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = kiln.mul %s, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Near-miss: y * sigmoid(x).
// CHECK-LABEL: func @silu_near_miss
// CHECK-NOT: kiln.silu
// CHECK: return
func.func @silu_near_miss(%x: tensor<8xf32>, %y: tensor<8xf32>) -> tensor<8xf32> {
  %s = kiln.sigmoid %x : tensor<8xf32>
  %0 = kiln.mul %y, %s : (tensor<8xf32>, tensor<8xf32>) -> tensor<8xf32>
  return %0 : tensor<8xf32>
}
