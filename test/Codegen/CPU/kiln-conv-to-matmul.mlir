// RUN: kiln-opt %s -split-input-file -kiln-conv-to-matmul | FileCheck %s

// Overlapping or padded windows are not patches: they stay kiln.conv, for
// kiln-use-ukernels' conv kernel (which packs the im2col from the image).
// CHECK-LABEL: func @overlapping
// CHECK-NOT: kiln.matmul
// CHECK-COUNT-3: kiln.conv
func.func @overlapping(%x: tensor<1x8x6x6xf32>, %w: tensor<4x8x3x3xf32>, %b: tensor<4xf32>, %y: tensor<2x3x8x8xf32>, %w2: tensor<5x3x4x4xf32>, %w3: tensor<5x3x2x2xf32>) -> (tensor<1x4x6x6xf32>, tensor<2x5x3x3xf32>, tensor<2x5x3x3xf32>) {
  %0 = kiln.conv %x, %w, %b {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<4x8x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  // Stride 2 with 4x4 windows: overlapping.
  %1 = kiln.conv %y, %w2 {strides = array<i64: 2, 2>} : (tensor<2x3x8x8xf32>, tensor<5x3x4x4xf32>) -> tensor<2x5x3x3xf32>
  // Patch-sized stride, but dilated.
  %2 = kiln.conv %y, %w3 {strides = array<i64: 2, 2>, dilations = array<i64: 2, 2>} : (tensor<2x3x8x8xf32>, tensor<5x3x2x2xf32>) -> tensor<2x5x3x3xf32>
  return %0, %1, %2 : tensor<1x4x6x6xf32>, tensor<2x5x3x3xf32>, tensor<2x5x3x3xf32>
}

// -----

// Non-overlapping patches (a ViT patch embedding): a reshape to
// [N, C, OH, KH, OW, KW] and a transpose to [N, C, KH, KW, OH, OW].
// CHECK-LABEL: func @patchify
// CHECK-NOT: kiln.slice
// CHECK: kiln.reshape %{{.*}} : tensor<1x3x8x8xf32> to tensor<1x3x2x4x2x4xf32>
// CHECK: kiln.transpose {{.*}}permutation = array<i64: 0, 1, 3, 5, 2, 4>
// CHECK: kiln.reshape %{{.*}} : tensor<1x3x4x4x2x2xf32> to tensor<1x48x4xf32>
// CHECK: kiln.matmul {{.*}} : (tensor<6x48xf32>, tensor<1x48x4xf32>) -> tensor<1x6x4xf32>
func.func @patchify(%x: tensor<1x3x8x8xf32>, %w: tensor<6x3x4x4xf32>) -> tensor<1x6x2x2xf32> {
  %0 = kiln.conv %x, %w {strides = array<i64: 4, 4>} : (tensor<1x3x8x8xf32>, tensor<6x3x4x4xf32>) -> tensor<1x6x2x2xf32>
  return %0 : tensor<1x6x2x2xf32>
}

// -----

// A 1x1 conv is a plain product: reshapes only.
// CHECK-LABEL: func @pointwise
// CHECK-NOT: kiln.transpose
// CHECK: kiln.reshape %{{.*}} : tensor<1x8x5x5xf32> to tensor<1x8x25xf32>
// CHECK: kiln.matmul {{.*}} : (tensor<16x8xf32>, tensor<1x8x25xf32>) -> tensor<1x16x25xf32>
func.func @pointwise(%x: tensor<1x8x5x5xf32>, %w: tensor<16x8x1x1xf32>) -> tensor<1x16x5x5xf32> {
  %0 = kiln.conv %x, %w : (tensor<1x8x5x5xf32>, tensor<16x8x1x1xf32>) -> tensor<1x16x5x5xf32>
  return %0 : tensor<1x16x5x5xf32>
}

// -----

// Near-misses: grouped (depthwise) and 1-D convolutions, and f16, stay.
// CHECK-LABEL: func @near_misses
// CHECK-NOT: kiln.matmul
// CHECK-COUNT-3: kiln.conv
func.func @near_misses(%x: tensor<1x8x6x6xf32>, %dw: tensor<8x1x3x3xf32>, %s: tensor<1x8x16xf32>, %w1: tensor<4x8x3xf32>, %h: tensor<1x8x6x6xf16>, %wh: tensor<4x8x3x3xf16>) -> (tensor<1x8x4x4xf32>, tensor<1x4x14xf32>, tensor<1x4x4x4xf16>) {
  %0 = kiln.conv %x, %dw {groups = 8 : i64} : (tensor<1x8x6x6xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x4x4xf32>
  %1 = kiln.conv %s, %w1 : (tensor<1x8x16xf32>, tensor<4x8x3xf32>) -> tensor<1x4x14xf32>
  %2 = kiln.conv %h, %wh : (tensor<1x8x6x6xf16>, tensor<4x8x3x3xf16>) -> tensor<1x4x4x4xf16>
  return %0, %1, %2 : tensor<1x8x4x4xf32>, tensor<1x4x14xf32>, tensor<1x4x4x4xf16>
}
