// RUN: kiln-opt %s -split-input-file -kiln-upsample-conv | FileCheck %s

// A 3x3 conv (padding 1) after a nearest 2x upsample spelled as the ONNX
// importer does: four 2x2 convs of the low-resolution input, interleaved.
// Folded weights of the 1..9 kernel: parity (0, 0) [[1, 2+3], [4+7,
// 5+6+8+9]] = [1, 5, 11, 28]; parity (1, 1) [[1+2+4+5, 3+6], [7+8, 9]] =
// [12, 9, 15, 9] (f32 little-endian, after the blob header).
// CHECK-LABEL: func @upsample3x3
// CHECK-DAG: %[[W00:.*]] = kiln.constant dense_resource<[[K00:[a-z_]*up00]]> : tensor<1x1x2x2xf32>
// CHECK-DAG: %[[W11:.*]] = kiln.constant dense_resource<[[K11:[a-z_]*up11]]> : tensor<1x1x2x2xf32>
// CHECK-DAG: %[[B:.*]] = kiln.constant dense<5.000000e-01> : tensor<1xf32>
// CHECK-DAG: %[[C00:.*]] = kiln.conv %arg0, %[[W00]], %[[B]] {padding = array<i64: 1, 1, 0, 0>} : (tensor<1x1x4x4xf32>, tensor<1x1x2x2xf32>, tensor<1xf32>) -> tensor<1x1x4x4xf32>
// CHECK-DAG: kiln.conv %arg0, %{{.*}}, %[[B]] {padding = array<i64: 1, 0, 0, 1>}
// CHECK-DAG: kiln.conv %arg0, %{{.*}}, %[[B]] {padding = array<i64: 0, 1, 1, 0>}
// CHECK-DAG: %[[C11:.*]] = kiln.conv %arg0, %[[W11]], %[[B]] {padding = array<i64: 0, 0, 1, 1>}
// CHECK-DAG: kiln.concat {{.*}} {axis = 5 : i64} : {{.*}} -> tensor<1x1x4x1x4x2xf32>
// CHECK: %[[ALL:.*]] = kiln.concat {{.*}} {axis = 3 : i64} : {{.*}} -> tensor<1x1x4x2x4x2xf32>
// CHECK: %[[Y:.*]] = kiln.reshape %[[ALL]] : tensor<1x1x4x2x4x2xf32> to tensor<1x1x8x8xf32>
// CHECK-NOT: kiln.expand
// CHECK: return %[[Y]]
// CHECK-DAG: [[K00]]: "0x400000000000803F0000A040000030410000E041"
// CHECK-DAG: [[K11]]: "0x4000000000004041000010410000704100001041"
func.func @upsample3x3(%x: tensor<1x1x4x4xf32>) -> tensor<1x1x8x8xf32> {
  %w = kiln.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]]> : tensor<1x1x3x3xf32>
  %b = kiln.constant dense<[0.5]> : tensor<1xf32>
  %r1 = kiln.reshape %x : tensor<1x1x4x4xf32> to tensor<1x1x4x1x4xf32>
  %e1 = kiln.expand %r1 : tensor<1x1x4x1x4xf32> to tensor<1x1x4x2x4xf32>
  %r2 = kiln.reshape %e1 : tensor<1x1x4x2x4xf32> to tensor<1x1x8x4x1xf32>
  %e2 = kiln.expand %r2 : tensor<1x1x8x4x1xf32> to tensor<1x1x8x4x2xf32>
  %u = kiln.reshape %e2 : tensor<1x1x8x4x2xf32> to tensor<1x1x8x8xf32>
  %y = kiln.conv %u, %w, %b {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x1x8x8xf32>, tensor<1x1x3x3xf32>, tensor<1xf32>) -> tensor<1x1x8x8xf32>
  return %y : tensor<1x1x8x8xf32>
}

// -----

// 5x3 kernels (padding 2, 1) fold to 3x2; batches and channels; the
// upsample spelled with one 6-D expand.
// CHECK-LABEL: func @upsample5x3
// CHECK-COUNT-4: kiln.conv %arg0, %{{.*}} {padding = array<i64: {{.*}}>} : (tensor<2x3x5x6xf32>, tensor<4x3x3x2xf32>) -> tensor<2x4x5x6xf32>
// CHECK-NOT: kiln.conv
func.func @upsample5x3(%x: tensor<2x3x5x6xf32>) -> tensor<2x4x10x12xf32> {
  %w = kiln.constant dense<1.0> : tensor<4x3x5x3xf32>
  %r = kiln.reshape %x : tensor<2x3x5x6xf32> to tensor<2x3x5x1x6x1xf32>
  %e = kiln.expand %r : tensor<2x3x5x1x6x1xf32> to tensor<2x3x5x2x6x2xf32>
  %u = kiln.reshape %e : tensor<2x3x5x2x6x2xf32> to tensor<2x3x10x12xf32>
  %y = kiln.conv %u, %w {padding = array<i64: 2, 1, 2, 1>} : (tensor<2x3x10x12xf32>, tensor<4x3x5x3xf32>) -> tensor<2x4x10x12xf32>
  return %y : tensor<2x4x10x12xf32>
}

// -----

// Near-misses, each left alone: a tiled (not nearest) repeat, a 3x
// upsample, an upsample of H only, a weight that is not a constant, a
// strided conv and a plain input.
// CHECK-LABEL: func @near_misses
// CHECK-COUNT-6: kiln.conv {{.*}} : (tensor<1x2x
// CHECK-NOT: kiln.conv
func.func @near_misses(%x: tensor<1x2x4x4xf32>, %x3: tensor<1x2x4x4xf32>, %wa: tensor<2x2x3x3xf32>, %p: tensor<1x2x8x8xf32>) -> (tensor<1x2x8x8xf32>, tensor<1x2x12x12xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x8xf32>, tensor<1x2x4x4xf32>, tensor<1x2x8x8xf32>) {
  %w = kiln.constant dense<1.0> : tensor<2x2x3x3xf32>
  %w13 = kiln.constant dense<1.0> : tensor<2x2x1x3xf32>
  // Tiled: rows 0..3 then 0..3 again (and the same for columns).
  %t1 = kiln.reshape %x : tensor<1x2x4x4xf32> to tensor<1x2x1x4x1x4xf32>
  %t2 = kiln.expand %t1 : tensor<1x2x1x4x1x4xf32> to tensor<1x2x2x4x2x4xf32>
  %tu = kiln.reshape %t2 : tensor<1x2x2x4x2x4xf32> to tensor<1x2x8x8xf32>
  %y0 = kiln.conv %tu, %w {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  // 3x.
  %a1 = kiln.reshape %x3 : tensor<1x2x4x4xf32> to tensor<1x2x4x1x4x1xf32>
  %a2 = kiln.expand %a1 : tensor<1x2x4x1x4x1xf32> to tensor<1x2x4x3x4x3xf32>
  %au = kiln.reshape %a2 : tensor<1x2x4x3x4x3xf32> to tensor<1x2x12x12xf32>
  %y1 = kiln.conv %au, %w {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x2x12x12xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x12x12xf32>
  // H only.
  %h1 = kiln.reshape %x : tensor<1x2x4x4xf32> to tensor<1x2x4x1x4xf32>
  %h2 = kiln.expand %h1 : tensor<1x2x4x1x4xf32> to tensor<1x2x4x2x4xf32>
  %hu = kiln.reshape %h2 : tensor<1x2x4x2x4xf32> to tensor<1x2x8x4xf32>
  %y2 = kiln.conv %hu, %w13 {padding = array<i64: 0, 1, 0, 1>} : (tensor<1x2x8x4xf32>, tensor<2x2x1x3xf32>) -> tensor<1x2x8x4xf32>
  // Nearest 2x, but the weight is an argument, or the conv is strided.
  %n1 = kiln.reshape %x : tensor<1x2x4x4xf32> to tensor<1x2x4x1x4x1xf32>
  %n2 = kiln.expand %n1 : tensor<1x2x4x1x4x1xf32> to tensor<1x2x4x2x4x2xf32>
  %nu = kiln.reshape %n2 : tensor<1x2x4x2x4x2xf32> to tensor<1x2x8x8xf32>
  %y3 = kiln.conv %nu, %wa {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  %y4 = kiln.conv %nu, %w {padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x4x4xf32>
  // No upsample at all.
  %y5 = kiln.conv %p, %w {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x2x8x8xf32>, tensor<2x2x3x3xf32>) -> tensor<1x2x8x8xf32>
  return %y0, %y1, %y2, %y3, %y4, %y5 : tensor<1x2x8x8xf32>, tensor<1x2x12x12xf32>, tensor<1x2x8x4xf32>, tensor<1x2x8x8xf32>, tensor<1x2x4x4xf32>, tensor<1x2x8x8xf32>
}
