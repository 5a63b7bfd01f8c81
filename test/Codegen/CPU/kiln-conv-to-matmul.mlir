// RUN: kiln-opt %s -split-input-file -kiln-conv-to-matmul | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-conv-to-matmul=max-taps=4 | FileCheck %s --check-prefix=FEW

// A padded 3x3 conv: one strided slice per tap of the padded input, stacked
// on a tap axis, then W[4, 8*9] times col[1, 72, 36]; the bias is a
// broadcast add. With max-taps=4 (FEW), nine taps are too many.
// CHECK-LABEL: func @conv3x3
// CHECK: %[[P:.*]] = kiln.pad %{{.*}} {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>{{.*}}} : tensor<1x8x6x6xf32> -> tensor<1x8x8x8xf32>
// CHECK: kiln.slice %[[P]] {sizes = array<i64: 1, 8, 6, 6>, starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>}
// CHECK-COUNT-8: kiln.slice %[[P]]
// CHECK: %[[S:.*]] = kiln.concat {{.*}} {axis = 2 : i64}{{.*}} -> tensor<1x8x9x36xf32>
// CHECK: %[[COL:.*]] = kiln.reshape %[[S]] : tensor<1x8x9x36xf32> to tensor<1x72x36xf32>
// CHECK: %[[W:.*]] = kiln.reshape %{{.*}} : tensor<4x8x3x3xf32> to tensor<4x72xf32>
// CHECK: %[[M:.*]] = kiln.matmul %[[W]], %[[COL]] : (tensor<4x72xf32>, tensor<1x72x36xf32>) -> tensor<1x4x36xf32>
// CHECK: %[[Y:.*]] = kiln.reshape %[[M]] : tensor<1x4x36xf32> to tensor<1x4x6x6xf32>
// CHECK: %[[B:.*]] = kiln.reshape %{{.*}} : tensor<4xf32> to tensor<4x1x1xf32>
// CHECK: kiln.add %[[Y]], %[[B]]
// CHECK-NOT: kiln.conv
// FEW-LABEL: func @conv3x3
// FEW: kiln.conv
func.func @conv3x3(%x: tensor<1x8x6x6xf32>, %w: tensor<4x8x3x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x6x6xf32> {
  %0 = kiln.conv %x, %w, %b {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<4x8x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

// Strides and dilations go into each tap's slice.
// CHECK-LABEL: func @strided_dilated
// CHECK: kiln.slice %{{.*}} {sizes = array<i64: 2, 3, 3, 3>, starts = array<i64: 0, 0, 2, 2>, steps = array<i64: 1, 1, 2, 2>}
// CHECK: kiln.matmul {{.*}} : (tensor<5x27xf32>, tensor<2x27x9xf32>) -> tensor<2x5x9xf32>
func.func @strided_dilated(%x: tensor<2x3x9x9xf32>, %w: tensor<5x3x3x3xf32>) -> tensor<2x5x3x3xf32> {
  %0 = kiln.conv %x, %w {strides = array<i64: 2, 2>, dilations = array<i64: 2, 2>} : (tensor<2x3x9x9xf32>, tensor<5x3x3x3xf32>) -> tensor<2x5x3x3xf32>
  return %0 : tensor<2x5x3x3xf32>
}

// -----

// Non-overlapping patches (a ViT patch embedding) need no slices: a reshape
// to [N, C, OH, KH, OW, KW] and a transpose to [N, C, KH, KW, OH, OW]; even
// with max-taps=4 (FEW), as no window overlaps.
// CHECK-LABEL: func @patchify
// CHECK-NOT: kiln.slice
// CHECK: kiln.reshape %{{.*}} : tensor<1x3x8x8xf32> to tensor<1x3x2x4x2x4xf32>
// CHECK: kiln.transpose {{.*}}permutation = array<i64: 0, 1, 3, 5, 2, 4>
// CHECK: kiln.reshape %{{.*}} : tensor<1x3x4x4x2x2xf32> to tensor<1x48x4xf32>
// CHECK: kiln.matmul {{.*}} : (tensor<6x48xf32>, tensor<1x48x4xf32>) -> tensor<1x6x4xf32>
// FEW-LABEL: func @patchify
// FEW: kiln.matmul
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
