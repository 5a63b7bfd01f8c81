// RUN: kiln-opt %s -split-input-file -kiln-recognize-norms | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-recognize-norms="rms-norm=false layer-norm=false group-norm=false" | FileCheck %s --check-prefix=OFF
// RUN: kiln-opt %s -split-input-file -kiln-recognize-norms="max-epsilon=1e-7" | FileCheck %s --check-prefix=EPS

// Llama's RMSNorm: x * (1 / sqrt(mean(x^2) + eps)) * w.
// CHECK-LABEL: func @rms_norm
// CHECK: %[[N:.*]] = kiln.rms_norm %arg0 scale(%arg1) {axis = 2 : i64, epsilon = 9.9999999747524271E-7 : f64}
// CHECK-NEXT: return %[[N]]
// OFF-LABEL: func @rms_norm
// OFF-NOT: kiln.rms_norm
// EPS-LABEL: func @rms_norm
// EPS-NOT: kiln.rms_norm
func.func @rms_norm(%x: tensor<1x12x64xf32>, %w: tensor<64xf32>) -> tensor<1x12x64xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-6> : tensor<f32>
  %one = kiln.constant dense<1.0> : tensor<f32>
  %0 = kiln.pow %x, %two : (tensor<1x12x64xf32>, tensor<f32>) -> tensor<1x12x64xf32>
  %1 = kiln.reduce mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<1x12x64xf32> -> tensor<1x12x1xf32>
  %2 = kiln.add %1, %eps : (tensor<1x12x1xf32>, tensor<f32>) -> tensor<1x12x1xf32>
  %3 = kiln.sqrt %2 : tensor<1x12x1xf32>
  %4 = kiln.div %one, %3 : (tensor<f32>, tensor<1x12x1xf32>) -> tensor<1x12x1xf32>
  %5 = kiln.mul %x, %4 : (tensor<1x12x64xf32>, tensor<1x12x1xf32>) -> tensor<1x12x64xf32>
  %6 = kiln.mul %5, %w : (tensor<1x12x64xf32>, tensor<64xf32>) -> tensor<1x12x64xf32>
  return %6 : tensor<1x12x64xf32>
}

// -----

// rsqrt, x * x, the weight first, and a [1, 1, D] weight reshaped to [D].
// CHECK-LABEL: func @rms_norm_rsqrt
// CHECK: %[[W:.*]] = kiln.reshape %arg1 : tensor<1x1x32xf32> to tensor<32xf32>
// CHECK: %[[N:.*]] = kiln.rms_norm %arg0 scale(%[[W]]) {axis = 2 : i64
// CHECK-NEXT: return %[[N]]
func.func @rms_norm_rsqrt(%x: tensor<2x4x32xf32>, %w: tensor<1x1x32xf32>) -> tensor<2x4x32xf32> {
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %0 = kiln.mul %x, %x : (tensor<2x4x32xf32>, tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %1 = kiln.reduce mean %0 {axes = array<i64: 2>, keepdims = true} : tensor<2x4x32xf32> -> tensor<2x4x1xf32>
  %2 = kiln.add %eps, %1 : (tensor<f32>, tensor<2x4x1xf32>) -> tensor<2x4x1xf32>
  %3 = kiln.rsqrt %2 : tensor<2x4x1xf32>
  %4 = kiln.mul %w, %x : (tensor<1x1x32xf32>, tensor<2x4x32xf32>) -> tensor<2x4x32xf32>
  %5 = kiln.mul %4, %3 : (tensor<2x4x32xf32>, tensor<2x4x1xf32>) -> tensor<2x4x32xf32>
  return %5 : tensor<2x4x32xf32>
}

// -----

// The division form without a weight, normalizing two trailing dims.
// CHECK-LABEL: func @rms_norm_div
// CHECK: %[[N:.*]] = kiln.rms_norm %arg0 {axis = 1 : i64
// CHECK-NEXT: return %[[N]]
func.func @rms_norm_div(%x: tensor<2x4x8xf32>) -> tensor<2x4x8xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-6> : tensor<f32>
  %0 = kiln.pow %x, %two : (tensor<2x4x8xf32>, tensor<f32>) -> tensor<2x4x8xf32>
  %1 = kiln.reduce mean %0 {axes = array<i64: 1, 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x1x1xf32>
  %2 = kiln.add %1, %eps : (tensor<2x1x1xf32>, tensor<f32>) -> tensor<2x1x1xf32>
  %3 = kiln.sqrt %2 : tensor<2x1x1xf32>
  %4 = kiln.div %x, %3 : (tensor<2x4x8xf32>, tensor<2x1x1xf32>) -> tensor<2x4x8xf32>
  return %4 : tensor<2x4x8xf32>
}

// -----

// Near-misses: the mean over a leading axis, the square of another value,
// an "epsilon" that is not small; a weight that is not per feature stays a
// multiplication after the norm.
// CHECK-LABEL: func @rms_near_misses
// CHECK-NOT: kiln.rms_norm
// CHECK: %[[N:.*]] = kiln.rms_norm %arg0 {axis = 1 : i64
// CHECK-NEXT: kiln.mul %[[N]], %arg2
// CHECK-NOT: kiln.rms_norm
func.func @rms_near_misses(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %w: tensor<4x1xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-6> : tensor<f32>
  %big = kiln.constant dense<1.0> : tensor<f32>
  %sq = kiln.pow %x, %two : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xf32>
  // mean over axis 0
  %m0 = kiln.reduce mean %sq {axes = array<i64: 0>, keepdims = true} : tensor<4x8xf32> -> tensor<1x8xf32>
  %a0 = kiln.add %m0, %eps : (tensor<1x8xf32>, tensor<f32>) -> tensor<1x8xf32>
  %r0 = kiln.rsqrt %a0 : tensor<1x8xf32>
  %0 = kiln.mul %x, %r0 : (tensor<4x8xf32>, tensor<1x8xf32>) -> tensor<4x8xf32>
  // y * rsqrt(mean(x^2))
  %m1 = kiln.reduce mean %sq {axes = array<i64: 1>, keepdims = true} : tensor<4x8xf32> -> tensor<4x1xf32>
  %a1 = kiln.add %m1, %eps : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %r1 = kiln.rsqrt %a1 : tensor<4x1xf32>
  %1 = kiln.mul %y, %r1 : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  // + 1.0 is not an epsilon
  %a2 = kiln.add %m1, %big : (tensor<4x1xf32>, tensor<f32>) -> tensor<4x1xf32>
  %r2 = kiln.rsqrt %a2 : tensor<4x1xf32>
  %2 = kiln.mul %x, %r2 : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  // a per-row weight [4, 1]
  %3 = kiln.mul %x, %r1 : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  %4 = kiln.mul %3, %w : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %4 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Decomposed LayerNorm (DiT's affine-free norm, then g and b): one
// layer_norm with scale and bias.
// CHECK-LABEL: func @layer_norm
// CHECK: %[[N:.*]] = kiln.layer_norm %arg0 scale(%arg1) bias(%arg2) {axis = 2 : i64, epsilon = 9.9999999747524271E-7 : f64}
// CHECK-NEXT: return %[[N]]
// OFF-LABEL: func @layer_norm
// OFF-NOT: kiln.layer_norm
func.func @layer_norm(%x: tensor<2x16x64xf32>, %g: tensor<64xf32>, %b: tensor<64xf32>) -> tensor<2x16x64xf32> {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %eps = kiln.constant dense<1.0e-6> : tensor<f32>
  %0 = kiln.reduce mean %x {axes = array<i64: 2>, keepdims = true} : tensor<2x16x64xf32> -> tensor<2x16x1xf32>
  %1 = kiln.sub %x, %0 : (tensor<2x16x64xf32>, tensor<2x16x1xf32>) -> tensor<2x16x64xf32>
  %2 = kiln.pow %1, %two : (tensor<2x16x64xf32>, tensor<f32>) -> tensor<2x16x64xf32>
  %3 = kiln.reduce mean %2 {axes = array<i64: 2>, keepdims = true} : tensor<2x16x64xf32> -> tensor<2x16x1xf32>
  %4 = kiln.add %3, %eps : (tensor<2x16x1xf32>, tensor<f32>) -> tensor<2x16x1xf32>
  %5 = kiln.sqrt %4 : tensor<2x16x1xf32>
  %6 = kiln.div %1, %5 : (tensor<2x16x64xf32>, tensor<2x16x1xf32>) -> tensor<2x16x64xf32>
  %7 = kiln.mul %6, %g : (tensor<2x16x64xf32>, tensor<64xf32>) -> tensor<2x16x64xf32>
  %8 = kiln.add %b, %7 : (tensor<64xf32>, tensor<2x16x64xf32>) -> tensor<2x16x64xf32>
  return %8 : tensor<2x16x64xf32>
}

// -----

// Near-misses: centered by the mean of another value (only an RMS norm of
// the difference); a per-sample modulation (DiT's adaLN shift) is not a
// bias and stays an add.
// CHECK-LABEL: func @layer_norm_near_misses
// CHECK: %[[D:.*]] = kiln.sub
// CHECK: kiln.rms_norm %[[D]]
// CHECK: %[[LN:.*]] = kiln.layer_norm %arg0 {axis = 2 : i64
// CHECK: kiln.add %[[LN]], %arg2
func.func @layer_norm_near_misses(%x: tensor<2x4x8xf32>, %y: tensor<2x4x8xf32>, %shift: tensor<2x1x8xf32>) -> (tensor<2x4x8xf32>, tensor<2x4x8xf32>) {
  %eps = kiln.constant dense<1.0e-5> : tensor<f32>
  %my = kiln.reduce mean %y {axes = array<i64: 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x4x1xf32>
  %d = kiln.sub %x, %my : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %dd = kiln.mul %d, %d : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %v = kiln.reduce mean %dd {axes = array<i64: 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x4x1xf32>
  %ve = kiln.add %v, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %r = kiln.rsqrt %ve : tensor<2x4x1xf32>
  %0 = kiln.mul %d, %r : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %mx = kiln.reduce mean %x {axes = array<i64: 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x4x1xf32>
  %dx = kiln.sub %x, %mx : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %ddx = kiln.mul %dx, %dx : (tensor<2x4x8xf32>, tensor<2x4x8xf32>) -> tensor<2x4x8xf32>
  %vx = kiln.reduce mean %ddx {axes = array<i64: 2>, keepdims = true} : tensor<2x4x8xf32> -> tensor<2x4x1xf32>
  %vex = kiln.add %vx, %eps : (tensor<2x4x1xf32>, tensor<f32>) -> tensor<2x4x1xf32>
  %rx = kiln.rsqrt %vex : tensor<2x4x1xf32>
  %n = kiln.mul %dx, %rx : (tensor<2x4x8xf32>, tensor<2x4x1xf32>) -> tensor<2x4x8xf32>
  %1 = kiln.add %n, %shift : (tensor<2x4x8xf32>, tensor<2x1x8xf32>) -> tensor<2x4x8xf32>
  return %0, %1 : tensor<2x4x8xf32>, tensor<2x4x8xf32>
}

// -----

// PyTorch's GroupNorm export: reshape, instance norm with unit scale and
// zero bias, reshape back, per-channel affine.
// CHECK-LABEL: func @group_norm
// CHECK-DAG: %[[G:.*]] = kiln.reshape %arg1 : tensor<32x1x1xf32> to tensor<32xf32>
// CHECK-DAG: %[[B:.*]] = kiln.reshape %arg2 : tensor<32x1x1xf32> to tensor<32xf32>
// CHECK: %[[N:.*]] = kiln.group_norm %arg0 scale(%[[G]]) bias(%[[B]]) {epsilon = 9.9999997473787516E-6 : f64, num_groups = 8 : i64}
// CHECK-NEXT: return %[[N]]
// OFF-LABEL: func @group_norm
// OFF: num_groups = 8 : i64} : (tensor<1x8x256xf32>
func.func @group_norm(%x: tensor<1x32x8x8xf32>, %g: tensor<32x1x1xf32>, %b: tensor<32x1x1xf32>) -> tensor<1x32x8x8xf32> {
  %ones = kiln.constant dense<1.0> : tensor<8xf32>
  %zeros = kiln.constant dense<0.0> : tensor<8xf32>
  %0 = kiln.reshape %x : tensor<1x32x8x8xf32> to tensor<1x8x256xf32>
  %1 = kiln.group_norm %0 scale(%ones) bias(%zeros) {epsilon = 9.9999997473787516E-6 : f64, num_groups = 8 : i64} : (tensor<1x8x256xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x256xf32>
  %2 = kiln.reshape %1 : tensor<1x8x256xf32> to tensor<1x32x8x8xf32>
  %3 = kiln.mul %2, %g : (tensor<1x32x8x8xf32>, tensor<32x1x1xf32>) -> tensor<1x32x8x8xf32>
  %4 = kiln.add %3, %b : (tensor<1x32x8x8xf32>, tensor<32x1x1xf32>) -> tensor<1x32x8x8xf32>
  return %4 : tensor<1x32x8x8xf32>
}

// -----

// Near-misses: an inner norm with a real affine part, and a reshape to a
// different shape than the input's.
// CHECK-LABEL: func @group_norm_near_misses
// CHECK-COUNT-2: num_groups = 8 : i64} : (tensor<1x8x256xf32>
func.func @group_norm_near_misses(%x: tensor<1x32x8x8xf32>, %s: tensor<8xf32>) -> (tensor<1x32x8x8xf32>, tensor<1x32x64xf32>) {
  %ones = kiln.constant dense<1.0> : tensor<8xf32>
  %0 = kiln.reshape %x : tensor<1x32x8x8xf32> to tensor<1x8x256xf32>
  %1 = kiln.group_norm %0 scale(%s) {num_groups = 8 : i64} : (tensor<1x8x256xf32>, tensor<8xf32>) -> tensor<1x8x256xf32>
  %2 = kiln.reshape %1 : tensor<1x8x256xf32> to tensor<1x32x8x8xf32>
  %3 = kiln.group_norm %0 scale(%ones) {num_groups = 8 : i64} : (tensor<1x8x256xf32>, tensor<8xf32>) -> tensor<1x8x256xf32>
  %4 = kiln.reshape %3 : tensor<1x8x256xf32> to tensor<1x32x64xf32>
  return %2, %4 : tensor<1x32x8x8xf32>, tensor<1x32x64xf32>
}
