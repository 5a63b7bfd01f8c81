// RUN: kiln-opt %s | FileCheck %s
// RUN: kiln-opt %s | kiln-opt | FileCheck %s
// RUN: kiln-opt %s --mlir-print-op-generic | kiln-opt | FileCheck %s

// CHECK-LABEL: func @unary
func.func @unary(%x: tensor<2x3xf32>, %i: tensor<4xi32>, %b: tensor<4xi1>) {
  // CHECK: kiln.neg %{{.*}} : tensor<2x3xf32>
  %0 = kiln.neg %x : tensor<2x3xf32>
  // CHECK: kiln.neg %{{.*}} : tensor<4xi32>
  %1 = kiln.neg %i : tensor<4xi32>
  // CHECK: kiln.abs
  %2 = kiln.abs %x : tensor<2x3xf32>
  // CHECK: kiln.exp
  %3 = kiln.exp %x : tensor<2x3xf32>
  // CHECK: kiln.log
  %4 = kiln.log %x : tensor<2x3xf32>
  // CHECK: kiln.sqrt
  %5 = kiln.sqrt %x : tensor<2x3xf32>
  // CHECK: kiln.rsqrt
  %6 = kiln.rsqrt %x : tensor<2x3xf32>
  // CHECK: kiln.reciprocal
  %7 = kiln.reciprocal %x : tensor<2x3xf32>
  // CHECK: kiln.tanh
  %8 = kiln.tanh %x : tensor<2x3xf32>
  // CHECK: kiln.erf
  %9 = kiln.erf %x : tensor<2x3xf32>
  // CHECK: kiln.sigmoid
  %10 = kiln.sigmoid %x : tensor<2x3xf32>
  // CHECK: kiln.relu
  %11 = kiln.relu %x : tensor<2x3xf32>
  // CHECK: kiln.silu
  %12 = kiln.silu %x : tensor<2x3xf32>
  // CHECK: kiln.softplus
  %13 = kiln.softplus %x : tensor<2x3xf32>
  // CHECK: kiln.sin
  %14 = kiln.sin %x : tensor<2x3xf32>
  // CHECK: kiln.cos
  %15 = kiln.cos %x : tensor<2x3xf32>
  // CHECK: kiln.floor
  %16 = kiln.floor %x : tensor<2x3xf32>
  // CHECK: kiln.ceil
  %17 = kiln.ceil %x : tensor<2x3xf32>
  // CHECK: kiln.round
  %18 = kiln.round %x : tensor<2x3xf32>
  // CHECK: kiln.sign
  %19 = kiln.sign %x : tensor<2x3xf32>
  // CHECK: kiln.not %{{.*}} : tensor<4xi1>
  %20 = kiln.not %b : tensor<4xi1>
  // CHECK: kiln.gelu %{{.*}} : tensor<2x3xf32>
  %21 = kiln.gelu %x : tensor<2x3xf32>
  // CHECK: kiln.gelu %{{.*}} approximate tanh : tensor<2x3xf32>
  %22 = kiln.gelu %x approximate tanh : tensor<2x3xf32>
  // CHECK: kiln.clamp %{{.*}} {max = 6.000000e+00 : f64, min = 0.000000e+00 : f64} : tensor<2x3xf32>
  %23 = kiln.clamp %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<2x3xf32>
  // CHECK: kiln.leaky_relu %{{.*}} {alpha = 2.000000e-01 : f64}
  %24 = kiln.leaky_relu %x {alpha = 0.2 : f64} : tensor<2x3xf32>
  // CHECK: kiln.cast %{{.*}} : tensor<2x3xf32> to tensor<2x3xbf16>
  %25 = kiln.cast %x : tensor<2x3xf32> to tensor<2x3xbf16>
  return
}

// CHECK-LABEL: func @binary
func.func @binary(%x: tensor<2x3xf32>, %y: tensor<3xf32>, %s: tensor<f32>,
                  %b: tensor<2x1xi1>, %c: tensor<3xi1>) {
  // CHECK: kiln.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = kiln.add %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.sub
  %1 = kiln.sub %x, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  // CHECK: kiln.mul
  %2 = kiln.mul %y, %x : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.div
  %3 = kiln.div %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.pow
  %4 = kiln.pow %x, %s : (tensor<2x3xf32>, tensor<f32>) -> tensor<2x3xf32>
  // CHECK: kiln.max
  %5 = kiln.max %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.min
  %6 = kiln.min %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.and %{{.*}}, %{{.*}} : (tensor<2x1xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  %7 = kiln.and %b, %c : (tensor<2x1xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  // CHECK: kiln.or
  %8 = kiln.or %b, %c : (tensor<2x1xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  // CHECK: kiln.xor
  %9 = kiln.xor %b, %c : (tensor<2x1xi1>, tensor<3xi1>) -> tensor<2x3xi1>
  // CHECK: kiln.cmp lt, %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  %10 = kiln.cmp lt, %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xi1>
  // CHECK: kiln.select %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x1xi1>, tensor<f32>, tensor<3xf32>) -> tensor<2x3xf32>
  %11 = kiln.select %b, %s, %y : (tensor<2x1xi1>, tensor<f32>, tensor<3xf32>) -> tensor<2x3xf32>
  return
}

// CHECK-LABEL: func @compute
func.func @compute(%a: tensor<4x8x16xf32>, %w: tensor<16x32xf32>,
                   %img: tensor<1x3x32x32xf32>, %k: tensor<8x3x3x3xf32>,
                   %bias: tensor<8xf32>, %seq: tensor<2x6x10xf32>,
                   %dw: tensor<6x1x3xf32>, %h: tensor<2x8x16xbf16>, %h2: tensor<16x8xbf16>,
                   %q8: tensor<4x16xi8>, %r8: tensor<16x8xi8>) {
  // CHECK: kiln.matmul %{{.*}}, %{{.*}} : (tensor<4x8x16xf32>, tensor<16x32xf32>) -> tensor<4x8x32xf32>
  %0 = kiln.matmul %a, %w : (tensor<4x8x16xf32>, tensor<16x32xf32>) -> tensor<4x8x32xf32>
  // CHECK: kiln.matmul {{.*}} -> tensor<2x8x8xf32>
  %1 = kiln.matmul %h, %h2 : (tensor<2x8x16xbf16>, tensor<16x8xbf16>) -> tensor<2x8x8xf32>
  // CHECK: kiln.matmul {{.*}} -> tensor<4x8xi32>
  %2 = kiln.matmul %q8, %r8 : (tensor<4x16xi8>, tensor<16x8xi8>) -> tensor<4x8xi32>
  // CHECK: kiln.conv %{{.*}}, %{{.*}}, %{{.*}} {dilations = array<i64: 1, 1>, padding = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>}
  %3 = kiln.conv %img, %k, %bias {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
      : (tensor<1x3x32x32xf32>, tensor<8x3x3x3xf32>, tensor<8xf32>) -> tensor<1x8x16x16xf32>
  // CHECK: kiln.conv %{{.*}}, %{{.*}} {groups = 6 : i64, padding = array<i64: 2, 0>}
  %4 = kiln.conv %seq, %dw {groups = 6 : i64, padding = array<i64: 2, 0>}
      : (tensor<2x6x10xf32>, tensor<6x1x3xf32>) -> tensor<2x6x10xf32>
  // bf16 weights with an f32 input (--dtype=bf16).
  // CHECK: kiln.conv {{.*}} : (tensor<2x6x10xf32>, tensor<6x1x3xbf16>) -> tensor<2x6x10xf32>
  %dwb = kiln.cast %dw : tensor<6x1x3xf32> to tensor<6x1x3xbf16>
  %convb = kiln.conv %seq, %dwb {groups = 6 : i64, padding = array<i64: 2, 0>}
      : (tensor<2x6x10xf32>, tensor<6x1x3xbf16>) -> tensor<2x6x10xf32>
  // CHECK: kiln.pool max %{{.*}} {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x3x32x32xf32> -> tensor<1x3x16x16xf32>
  %5 = kiln.pool max %img {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
      : tensor<1x3x32x32xf32> -> tensor<1x3x16x16xf32>
  // CHECK: kiln.pool avg %{{.*}} {count_include_pad = true, kernel = array<i64: 3>, padding = array<i64: 1, 1>}
  %6 = kiln.pool avg %seq {kernel = array<i64: 3>, padding = array<i64: 1, 1>, count_include_pad = true}
      : tensor<2x6x10xf32> -> tensor<2x6x10xf32>
  return
}

// CHECK-LABEL: func @reductions
func.func @reductions(%x: tensor<2x8x16xf32>, %g: tensor<16xf32>, %img: tensor<1x8x4x4xf32>,
                      %c: tensor<8xf32>, %g2: tensor<8x16xf32>) {
  // CHECK: kiln.reduce sum %{{.*}} {axes = array<i64: 1, 2>} : tensor<2x8x16xf32> -> tensor<2xf32>
  %0 = kiln.reduce sum %x {axes = array<i64: 1, 2>} : tensor<2x8x16xf32> -> tensor<2xf32>
  // CHECK: kiln.reduce mean %{{.*}} {axes = array<i64: 2>, keepdims = true} : tensor<2x8x16xf32> -> tensor<2x8x1xf32>
  %1 = kiln.reduce mean %x {axes = array<i64: 2>, keepdims = true} : tensor<2x8x16xf32> -> tensor<2x8x1xf32>
  // CHECK: kiln.reduce max
  %2 = kiln.reduce max %x {axes = array<i64: 0>} : tensor<2x8x16xf32> -> tensor<8x16xf32>
  // CHECK: kiln.reduce min
  %3 = kiln.reduce min %x {axes = array<i64: 0>} : tensor<2x8x16xf32> -> tensor<8x16xf32>
  // CHECK: kiln.reduce prod
  %4 = kiln.reduce prod %x {axes = array<i64: 0>} : tensor<2x8x16xf32> -> tensor<8x16xf32>
  // CHECK: kiln.arg_reduce argmax %{{.*}} {axis = 2 : i64} : tensor<2x8x16xf32> -> tensor<2x8xi64>
  %5 = kiln.arg_reduce argmax %x {axis = 2 : i64} : tensor<2x8x16xf32> -> tensor<2x8xi64>
  // CHECK: kiln.arg_reduce argmin %{{.*}} {axis = 0 : i64, keepdims = true, select_last_index = true}
  %6 = kiln.arg_reduce argmin %x {axis = 0 : i64, keepdims = true, select_last_index = true} : tensor<2x8x16xf32> -> tensor<1x8x16xi64>
  // CHECK: kiln.softmax %{{.*}} {axis = 2 : i64} : tensor<2x8x16xf32>
  %7 = kiln.softmax %x {axis = 2 : i64} : tensor<2x8x16xf32>
  // CHECK: kiln.log_softmax %{{.*}} {axis = 1 : i64} : tensor<2x8x16xf32>
  %8 = kiln.log_softmax %x {axis = 1 : i64} : tensor<2x8x16xf32>
  // CHECK: kiln.layer_norm %{{.*}} scale(%{{.*}}) bias(%{{.*}}) {axis = 2 : i64}
  %9 = kiln.layer_norm %x scale(%g) bias(%g) {axis = 2 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<2x8x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  // CHECK: kiln.layer_norm %{{.*}} scale(%{{.*}}) {axis = 1 : i64
  %10 = kiln.layer_norm %x scale(%g2) {axis = 1 : i64}
      : (tensor<2x8x16xf32>, tensor<8x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: kiln.layer_norm %{{.*}} {axis = 2 : i64
  %11 = kiln.layer_norm %x {axis = 2 : i64} : (tensor<2x8x16xf32>) -> tensor<2x8x16xf32>
  // CHECK: kiln.rms_norm %{{.*}} scale(%{{.*}}) {axis = 2 : i64, epsilon = 1.000000e-05 : f64}
  %12 = kiln.rms_norm %x scale(%g) {axis = 2 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<2x8x16xf32>, tensor<16xf32>) -> tensor<2x8x16xf32>
  // CHECK: kiln.group_norm %{{.*}} scale(%{{.*}}) bias(%{{.*}}) {epsilon = 1.000000e-03 : f64, num_groups = 4 : i64}
  %13 = kiln.group_norm %img scale(%c) bias(%c) {num_groups = 4 : i64, epsilon = 1.0e-03 : f64}
      : (tensor<1x8x4x4xf32>, tensor<8xf32>, tensor<8xf32>) -> tensor<1x8x4x4xf32>
  // CHECK: kiln.group_norm %{{.*}} {num_groups = 8 : i64}
  %14 = kiln.group_norm %img {num_groups = 8 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return
}

// CHECK-LABEL: func @shapes
func.func @shapes(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>, %t: tensor<10x8xf32>,
                  %i: tensor<2x3xi64>, %o: tensor<1x3x1xf32>) {
  // CHECK: kiln.constant dense<[1, 2, 3]> : tensor<3xi64>
  %c0 = kiln.constant dense<[1, 2, 3]> : tensor<3xi64>
  // CHECK: kiln.constant dense<1.000000e+00> : tensor<1024x1024xf32>
  %c1 = kiln.constant dense<1.0> : tensor<1024x1024xf32>
  // CHECK: kiln.constant dense_resource<blob0> : tensor<2x2xf32>
  %c2 = kiln.constant dense_resource<blob0> : tensor<2x2xf32>
  // CHECK: kiln.reshape %{{.*}} : tensor<2x3x4xf32> to tensor<6x4xf32>
  %0 = kiln.reshape %x : tensor<2x3x4xf32> to tensor<6x4xf32>
  // CHECK: kiln.transpose %{{.*}} {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  %1 = kiln.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  // CHECK: kiln.slice %{{.*}} {sizes = array<i64: 2, 2, 2>, starts = array<i64: 0, 1, 3>, steps = array<i64: 1, 1, -2>}
  %2 = kiln.slice %x {starts = array<i64: 0, 1, 3>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, 1, -2>}
      : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  // CHECK: kiln.concat %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
  %3 = kiln.concat %x, %y {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
  // CHECK: kiln.gather %{{.*}}, %{{.*}} {axis = 0 : i64} : (tensor<10x8xf32>, tensor<2x3xi64>) -> tensor<2x3x8xf32>
  %4 = kiln.gather %t, %i {axis = 0 : i64} : (tensor<10x8xf32>, tensor<2x3xi64>) -> tensor<2x3x8xf32>
  // CHECK: kiln.expand %{{.*}} : tensor<1x3x1xf32> to tensor<2x2x3x5xf32>
  %5 = kiln.expand %o : tensor<1x3x1xf32> to tensor<2x2x3x5xf32>
  // CHECK: kiln.pad %{{.*}} {pads = array<i64: 0, 1, 0, 0, 1, 2>, value = 1.000000e+00 : f64} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  %6 = kiln.pad %x {pads = array<i64: 0, 1, 0, 0, 1, 2>, value = 1.0 : f64} : tensor<2x3x4xf32> -> tensor<2x5x6xf32>
  return
}

// CHECK-LABEL: func @indexing
func.func @indexing(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>,
                    %n: tensor<5x1xi64>, %v: tensor<5x4xf32>, %q: tensor<4xui8>) {
  // CHECK: kiln.gather_elements %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  %0 = kiln.gather_elements %x, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  // CHECK: kiln.gather_nd %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<5x1xi64>) -> tensor<5x4xf32>
  %1 = kiln.gather_nd %x, %n : (tensor<3x4xf32>, tensor<5x1xi64>) -> tensor<5x4xf32>
  // CHECK: kiln.scatter_elements %{{.*}}, %{{.*}}, %{{.*}} {axis = 1 : i64, reduction = 1 : i32}
  %2 = kiln.scatter_elements %x, %i, %u {axis = 1 : i64, reduction = 1 : i32} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  // CHECK: kiln.scatter_nd %{{.*}}, %{{.*}}, %{{.*}} : (tensor<3x4xf32>, tensor<5x1xi64>, tensor<5x4xf32>) -> tensor<3x4xf32>
  %3 = kiln.scatter_nd %x, %n, %v : (tensor<3x4xf32>, tensor<5x1xi64>, tensor<5x4xf32>) -> tensor<3x4xf32>
  // CHECK: kiln.atan %{{.*}} : tensor<3x4xf32>
  %4 = kiln.atan %x : tensor<3x4xf32>
  // CHECK: kiln.cast %{{.*}} : tensor<4xui8> to tensor<4xi32>
  %5 = kiln.cast %q : tensor<4xui8> to tensor<4xi32>
  return
}

// CHECK-LABEL: func @attention
func.func @attention(%q: tensor<1x8x16x32xf32>, %k: tensor<1x2x20x32xf32>, %v: tensor<1x2x20x24xf32>,
                     %m: tensor<16x20xi1>, %fm: tensor<1x1x16x20xf32>, %x: tensor<1x8x16x32xf32>,
                     %cs: tensor<16x16xf32>) {
  // CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 1.250000e-01 : f64} : (tensor<1x8x16x32xf32>, tensor<1x2x20x32xf32>, tensor<1x2x20x24xf32>) -> tensor<1x8x16x24xf32>
  %0 = kiln.attention %q, %k, %v {scale = 0.125 : f64, causal = true}
      : (tensor<1x8x16x32xf32>, tensor<1x2x20x32xf32>, tensor<1x2x20x24xf32>) -> tensor<1x8x16x24xf32>
  // CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) {scale
  %1 = kiln.attention %q, %k, %v mask(%m) {scale = 0.125 : f64}
      : (tensor<1x8x16x32xf32>, tensor<1x2x20x32xf32>, tensor<1x2x20x24xf32>, tensor<16x20xi1>) -> tensor<1x8x16x24xf32>
  // CHECK: kiln.attention %{{.*}}, %{{.*}}, %{{.*}} mask(%{{.*}}) {scale
  %2 = kiln.attention %q, %k, %v mask(%fm) {scale = 0.125 : f64}
      : (tensor<1x8x16x32xf32>, tensor<1x2x20x32xf32>, tensor<1x2x20x24xf32>, tensor<1x1x16x20xf32>) -> tensor<1x8x16x24xf32>
  // CHECK: kiln.rotary %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x8x16x32xf32>, tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16x32xf32>
  %3 = kiln.rotary %x, %cs, %cs : (tensor<1x8x16x32xf32>, tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16x32xf32>
  // CHECK: kiln.rotary %{{.*}}, %{{.*}}, %{{.*}} {interleaved = true}
  %4 = kiln.rotary %x, %cs, %cs {interleaved = true} : (tensor<1x8x16x32xf32>, tensor<16x16xf32>, tensor<16x16xf32>) -> tensor<1x8x16x32xf32>
  return
}

// CHECK-LABEL: func @ssm
func.func @ssm(%u: tensor<2x6x10xf32>, %a: tensor<6x4xf32>, %b: tensor<2x4x10xf32>,
               %d: tensor<6xf32>, %h: tensor<2x6x4xf32>, %w: tensor<6x3xf32>, %s: tensor<2x6x2xf32>) {
  // CHECK: kiln.selective_scan %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x6x10xf32>, tensor<2x6x10xf32>, tensor<6x4xf32>, tensor<2x4x10xf32>, tensor<2x4x10xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b
      : (tensor<2x6x10xf32>, tensor<2x6x10xf32>, tensor<6x4xf32>, tensor<2x4x10xf32>, tensor<2x4x10xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  // CHECK: kiln.selective_scan {{.*}} D(%{{.*}}) z(%{{.*}}) delta_bias(%{{.*}}) state(%{{.*}}) {delta_softplus = true}
  %1:2 = kiln.selective_scan %u, %u, %a, %b, %b D(%d) z(%u) delta_bias(%d) state(%h) {delta_softplus = true}
      : (tensor<2x6x10xf32>, tensor<2x6x10xf32>, tensor<6x4xf32>, tensor<2x4x10xf32>, tensor<2x4x10xf32>,
         tensor<6xf32>, tensor<2x6x10xf32>, tensor<6xf32>, tensor<2x6x4xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  // CHECK: kiln.causal_conv1d %{{.*}}, %{{.*}} : (tensor<2x6x10xf32>, tensor<6x3xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x2xf32>)
  %2:2 = kiln.causal_conv1d %u, %w : (tensor<2x6x10xf32>, tensor<6x3xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x2xf32>)
  // CHECK: kiln.causal_conv1d %{{.*}}, %{{.*}} bias(%{{.*}}) state(%{{.*}}) activation silu
  %3:2 = kiln.causal_conv1d %u, %w bias(%d) state(%s) activation silu
      : (tensor<2x6x10xf32>, tensor<6x3xf32>, tensor<6xf32>, tensor<2x6x2xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x2xf32>)
  return
}

// CHECK-LABEL: func @quant
func.func @quant(%x: tensor<4x8xf32>, %s: tensor<8xf32>, %zp: tensor<8xui8>, %st: tensor<f32>,
                 %q4: tensor<64x8xi4>, %s4: tensor<2x8xf32>, %h: tensor<4x2xf16>) {
  // CHECK: kiln.quantize %{{.*}}, %{{.*}} {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
  %0 = kiln.quantize %x, %s {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
  // CHECK: kiln.quantize %{{.*}}, %{{.*}} zero_point(%{{.*}})
  %1 = kiln.quantize %x, %s zero_point(%zp) {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xf32>, tensor<8xui8>) -> tensor<4x8xui8>
  // CHECK: kiln.dequantize %{{.*}}, %{{.*}} : (tensor<4x8xi8>, tensor<f32>) -> tensor<4x8xf32>
  %2 = kiln.dequantize %0, %st : (tensor<4x8xi8>, tensor<f32>) -> tensor<4x8xf32>
  // CHECK: kiln.dequantize %{{.*}}, %{{.*}} {block_size = 32 : i64} : (tensor<64x8xi4>, tensor<2x8xf32>) -> tensor<64x8xf32>
  %3 = kiln.dequantize %q4, %s4 {axis = 0 : i64, block_size = 32 : i64} : (tensor<64x8xi4>, tensor<2x8xf32>) -> tensor<64x8xf32>
  // f16 scales for an f32 result.
  // CHECK: kiln.dequantize %{{.*}}, %{{.*}} {axis = 1 : i64, block_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf16>) -> tensor<4x8xf32>
  %4 = kiln.dequantize %0, %h {axis = 1 : i64, block_size = 4 : i64} : (tensor<4x8xi8>, tensor<4x2xf16>) -> tensor<4x8xf32>
  return
}


// CHECK-LABEL: func @qmatmul
func.func @qmatmul(%x: tensor<2x3x128xf32>, %w8: tensor<2x128x64xi8>, %s8: tensor<1x100xf32>,
                   %w4: tensor<2x128x32xi8>, %s4: tensor<4x100xf32>, %z4: tensor<4x100xi8>,
                   %h4: tensor<4x100xf16>) {
  // CHECK: kiln.qmatmul %{{.*}}, %{{.*}}, %{{.*}} {bits = 8 : i64, group_size = 128 : i64, weight_error = 5.000000e-03 : f64} : (tensor<2x3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf32>) -> tensor<2x3x100xf32>
  %0 = kiln.qmatmul %x, %w8, %s8 {bits = 8 : i64, group_size = 128 : i64, weight_error = 5.0e-3 : f64} : (tensor<2x3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf32>) -> tensor<2x3x100xf32>
  // CHECK: kiln.qmatmul %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf32>) -> tensor<2x3x100xf32>
  %1 = kiln.qmatmul %x, %w4, %s4 {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf32>) -> tensor<2x3x100xf32>
  // CHECK: kiln.qmatmul %{{.*}}, %{{.*}}, %{{.*}} zero_points(%{{.*}}) {bits = 4 : i64, group_size = 32 : i64}
  %2 = kiln.qmatmul %x, %w4, %s4 zero_points(%z4) {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf32>, tensor<4x100xi8>) -> tensor<2x3x100xf32>
  // CHECK: kiln.qmatmul %{{.*}}, %{{.*}}, %{{.*}} {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf16>) -> tensor<2x3x100xf32>
  %3 = kiln.qmatmul %x, %w4, %h4 {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf16>) -> tensor<2x3x100xf32>
  return
}

{-#
  dialect_resources: {
    builtin: {
      blob0: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
