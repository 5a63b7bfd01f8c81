// RUN: kiln-opt %s -kiln-to-linalg -split-input-file -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -kiln-to-linalg=lower-fused-ops=false -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=KEEP

// Elementwise with numpy broadcasting: the smaller operand is read through
// a map that drops the leading dimension.
// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-LABEL: func @add_broadcast
// CHECK-SAME: (%[[A:.*]]: tensor<2x3xf32>, %[[B:.*]]: tensor<3xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x3xf32>
// CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID2]], #[[ROW]], #[[ID2]]], iterator_types = ["parallel", "parallel"]}
// CHECK-SAME: ins(%[[A]], %[[B]] : tensor<2x3xf32>, tensor<3xf32>) outs(%[[E]] : tensor<2x3xf32>)
// CHECK: arith.addf
// CHECK: return %[[R]]
// CHECK-NOT: kiln.
func.func @add_broadcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Integer division never traps: a zero divisor yields 0 and x / -1 is a
// negation, so divsi only ever sees a safe divisor.
// CHECK-LABEL: func @div_int
// CHECK: linalg.generic
// CHECK: %[[Z:.*]] = arith.cmpi eq, %[[D:[a-z0-9_]+]], %{{.*}} : i32
// CHECK: %[[M:.*]] = arith.cmpi eq, %[[D]], %{{.*}} : i32
// CHECK: %[[SAFE:.*]] = arith.select %{{.*}}, %{{.*}}, %[[D]] : i32
// CHECK: arith.divsi %{{.*}}, %[[SAFE]] : i32
// CHECK: arith.select %[[M]]
// CHECK: arith.select %[[Z]]
func.func @div_int(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  %0 = kiln.div %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// -----

// Integer comparison is signed.
// CHECK-LABEL: func @cmp_int
// CHECK: linalg.generic
// CHECK: arith.cmpi slt, %{{.*}}, %{{.*}} : i32
// CHECK: -> tensor<2x3xi1>
func.func @cmp_int(%a: tensor<2x3xi32>, %b: tensor<3xi32>) -> tensor<2x3xi1> {
  %0 = kiln.cmp lt, %a, %b : (tensor<2x3xi32>, tensor<3xi32>) -> tensor<2x3xi1>
  return %0 : tensor<2x3xi1>
}

// -----

// Unsigned tensors become signless at the function boundary; the cast
// still reads them as unsigned.
// CHECK-LABEL: func @cast_unsigned
// CHECK-SAME: (%{{.*}}: tensor<4xi8>) -> tensor<4xf32>
// CHECK: arith.uitofp %{{.*}} : i8 to f32
func.func @cast_unsigned(%a: tensor<4xui8>) -> tensor<4xf32> {
  %0 = kiln.cast %a : tensor<4xui8> to tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Casting to an unsigned type converts with fptoui into a signless result.
// CHECK-LABEL: func @cast_to_unsigned
// CHECK-SAME: -> tensor<2xi8>
// CHECK: arith.fptoui %{{.*}} : f32 to i8
func.func @cast_to_unsigned(%x: tensor<2xf32>) -> tensor<2xui8> {
  %0 = kiln.cast %x : tensor<2xf32> to tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

// An unsigned constant keeps its bits as a signless arith.constant.
// CHECK-LABEL: func @constant_unsigned
// CHECK-SAME: -> tensor<2xi8>
// CHECK: %[[C:.*]] = arith.constant dense<[-56, 1]> : tensor<2xi8>
// CHECK: return %[[C]]
func.func @constant_unsigned() -> tensor<2xui8> {
  %0 = kiln.constant dense<[200, 1]> : tensor<2xui8>
  return %0 : tensor<2xui8>
}

// -----

// A shape op on unsigned data is rebuilt on signless values.
// CHECK-LABEL: func @reshape_unsigned
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xi8>) -> tensor<8xi8>
// CHECK: tensor.collapse_shape %[[X]] {{\[}}[0, 1]] : tensor<2x4xi8> into tensor<8xi8>
func.func @reshape_unsigned(%x: tensor<2x4xui8>) -> tensor<8xui8> {
  %0 = kiln.reshape %x : tensor<2x4xui8> to tensor<8xui8>
  return %0 : tensor<8xui8>
}

// -----

// Narrow floats compute in f32 (exact, erf-based GELU).
// CHECK-LABEL: func @gelu_bf16
// CHECK: linalg.generic
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: math.erf %{{.*}} : f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @gelu_bf16(%a: tensor<4xbf16>) -> tensor<4xbf16> {
  %0 = kiln.gelu %a : tensor<4xbf16>
  return %0 : tensor<4xbf16>
}

// -----

// Quantized data: unsigned values and zero point are read with uitofp.
// CHECK-LABEL: func @dequantize_unsigned
// CHECK-SAME: (%{{.*}}: tensor<4x8xi8>, %{{.*}}: tensor<8xf32>, %{{.*}}: tensor<8xi8>)
// CHECK: linalg.generic
// CHECK: %[[Q:.*]] = arith.uitofp %{{.*}} : i8 to f32
// CHECK: %[[ZP:.*]] = arith.uitofp %{{.*}} : i8 to f32
// CHECK: %[[D:.*]] = arith.subf %[[Q]], %[[ZP]]
// CHECK: arith.mulf %[[D]]
func.func @dequantize_unsigned(%q: tensor<4x8xui8>, %s: tensor<8xf32>, %zp: tensor<8xui8>) -> tensor<4x8xf32> {
  %0 = kiln.dequantize %q, %s zero_point(%zp) {axis = 1 : i64} : (tensor<4x8xui8>, tensor<8xf32>, tensor<8xui8>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// The reference lowering of a quantized matmul: the int4 panels are copied
// out ([K, P, 2, 32], nibble h = 1 shifted by 4), viewed as [K, N], then
// dequantized per group ((q - 8) * s) and multiplied by linalg.matmul.
// CHECK-LABEL: func @qmatmul_int4
// CHECK-SAME: (%[[X:.*]]: tensor<2x64xf32>, %[[W:.*]]: tensor<2x64x32xi8>, %[[S:.*]]: tensor<2x100xf32>)
// CHECK: %[[U:.*]] = linalg.generic {{.*}} ins(%[[W]] : tensor<2x64x32xi8>) outs(%{{.*}} : tensor<64x2x2x32xi8>)
// CHECK: linalg.index 2
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK: tensor.collapse_shape %[[U]] {{.*}} into tensor<64x128xi8>
// CHECK: tensor.extract_slice {{.*}} to tensor<64x100xi8>
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x32x100xf32>)
// CHECK: arith.sitofp
// CHECK: arith.constant 8.000000e+00
// CHECK: arith.subf
// CHECK: arith.mulf
// CHECK: %[[WF:.*]] = tensor.collapse_shape {{.*}} into tensor<64x100xf32>
// CHECK: linalg.matmul ins(%[[X]], %[[WF]] : tensor<2x64xf32>, tensor<64x100xf32>)
func.func @qmatmul_int4(%x: tensor<2x64xf32>, %w: tensor<2x64x32xi8>, %s: tensor<2x100xf32>) -> tensor<2x100xf32> {
  %0 = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x64xf32>, tensor<2x64x32xi8>, tensor<2x100xf32>) -> tensor<2x100xf32>
  return %0 : tensor<2x100xf32>
}

// -----

// int8, per channel, with batched activations: the panels are copied out
// as [K, P, 64] without unpacking, and the zero point is 0.
// CHECK-LABEL: func @qmatmul_int8
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x16x64xi8>) outs(%{{.*}} : tensor<16x1x64xi8>)
// CHECK-NOT: arith.shrui
// CHECK: linalg.yield
// CHECK: arith.sitofp
// CHECK: arith.constant 0.000000e+00
// CHECK: linalg.matmul {{.*}} tensor<6x16xf32>, tensor<16x8xf32>
func.func @qmatmul_int8(%x: tensor<2x3x16xf32>, %w: tensor<1x16x64xi8>, %s: tensor<1x8xf32>) -> tensor<2x3x8xf32> {
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 16 : i64} : (tensor<2x3x16xf32>, tensor<1x16x64xi8>, tensor<1x8xf32>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}

// -----

// 2-D matmul: linalg.matmul into a zero-filled accumulator.
// CHECK-LABEL: func @matmul
// CHECK-SAME: (%[[A:.*]]: tensor<4x16xf32>, %[[B:.*]]: tensor<16x8xf32>)
// CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[ACC:.*]] = linalg.fill ins(%[[ZERO]] : f32) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK: %[[R:.*]] = linalg.matmul ins(%[[A]], %[[B]] : tensor<4x16xf32>, tensor<16x8xf32>) outs(%[[ACC]] : tensor<4x8xf32>)
// CHECK: return %[[R]]
func.func @matmul(%a: tensor<4x16xf32>, %b: tensor<16x8xf32>) -> tensor<4x8xf32> {
  %0 = kiln.matmul %a, %b : (tensor<4x16xf32>, tensor<16x8xf32>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Batched activations times a 2-D weight fold the batch into M.
// CHECK-LABEL: func @matmul_fold_batch
// CHECK: %[[A:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1], [2]] : tensor<4x8x16xf32> into tensor<32x16xf32>
// CHECK: %[[R:.*]] = linalg.matmul ins(%[[A]], %{{.*}} : tensor<32x16xf32>, tensor<16x32xf32>)
// CHECK: tensor.expand_shape %[[R]] {{\[}}[0, 1], [2]] output_shape [4, 8, 32]
func.func @matmul_fold_batch(%a: tensor<4x8x16xf32>, %b: tensor<16x32xf32>) -> tensor<4x8x32xf32> {
  %0 = kiln.matmul %a, %b : (tensor<4x8x16xf32>, tensor<16x32xf32>) -> tensor<4x8x32xf32>
  return %0 : tensor<4x8x32xf32>
}

// -----

// Both operands batched: linalg.batch_matmul.
// CHECK-LABEL: func @batch_matmul
// CHECK: linalg.batch_matmul ins(%{{.*}}, %{{.*}} : tensor<4x8x16xf32>, tensor<4x16x32xf32>) outs(%{{.*}} : tensor<4x8x32xf32>)
func.func @batch_matmul(%a: tensor<4x8x16xf32>, %b: tensor<4x16x32xf32>) -> tensor<4x8x32xf32> {
  %0 = kiln.matmul %a, %b : (tensor<4x8x16xf32>, tensor<4x16x32xf32>) -> tensor<4x8x32xf32>
  return %0 : tensor<4x8x32xf32>
}

// -----

// int8 matmul accumulates in i32.
// CHECK-LABEL: func @matmul_i8
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK: linalg.fill ins(%[[ZERO]] : i32)
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x16xi8>, tensor<16x8xi8>) outs(%{{.*}} : tensor<4x8xi32>)
func.func @matmul_i8(%a: tensor<4x16xi8>, %b: tensor<16x8xi8>) -> tensor<4x8xi32> {
  %0 = kiln.matmul %a, %b : (tensor<4x16xi8>, tensor<16x8xi8>) -> tensor<4x8xi32>
  return %0 : tensor<4x8xi32>
}

// -----

// bf16 matmul with an f32 result accumulates in f32 directly.
// CHECK-LABEL: func @matmul_bf16
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x16xbf16>, tensor<16x8xbf16>) outs(%{{.*}} : tensor<4x8xf32>)
// CHECK-NOT: arith.truncf
func.func @matmul_bf16(%a: tensor<4x16xbf16>, %b: tensor<16x8xbf16>) -> tensor<4x8xf32> {
  %0 = kiln.matmul %a, %b : (tensor<4x16xbf16>, tensor<16x8xbf16>) -> tensor<4x8xf32>
  return %0 : tensor<4x8xf32>
}

// -----

// Convolution: explicit zero padding, the named conv, then the bias added
// per output channel.
// CHECK-LABEL: func @conv2d
// CHECK-SAME: (%[[X:.*]]: tensor<1x3x8x8xf32>, %[[W:.*]]: tensor<4x3x3x3xf32>, %[[BIAS:.*]]: tensor<4xf32>)
// CHECK: %[[P:.*]] = tensor.pad %[[X]] low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK: } : tensor<1x3x8x8xf32> to tensor<1x3x10x10xf32>
// CHECK: %[[C:.*]] = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%[[P]], %[[W]] : {{.*}}) outs(%{{.*}} : tensor<1x4x4x4xf32>)
// CHECK: %[[B:.*]] = tensor.expand_shape %[[BIAS]] {{\[}}[0, 1, 2]] output_shape [4, 1, 1]
// CHECK: linalg.generic {{.*}} ins(%[[C]], %[[B]] : tensor<1x4x4x4xf32>, tensor<4x1x1xf32>)
// CHECK: arith.addf
func.func @conv2d(%img: tensor<1x3x8x8xf32>, %k: tensor<4x3x3x3xf32>, %bias: tensor<4xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kiln.conv %img, %k, %bias {strides = array<i64: 2, 2>, padding = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>}
      : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// A grouped 1-D convolution becomes a grouped 2-D one with unit height.
// CHECK-LABEL: func @conv1d_depthwise
// CHECK: tensor.expand_shape %{{.*}} output_shape [2, 6, 1, 10]
// CHECK: tensor.pad %{{.*}} low[0, 0, 0, 2] high[0, 0, 0, 0]
// CHECK: linalg.conv_2d_ngchw_gfchw {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x6x1x1x12xf32>, tensor<6x1x1x1x3xf32>) outs(%{{.*}} : tensor<2x6x1x1x10xf32>)
// CHECK: tensor.collapse_shape {{.*}} into tensor<2x6x10xf32>
func.func @conv1d_depthwise(%seq: tensor<2x6x10xf32>, %dw: tensor<6x1x3xf32>) -> tensor<2x6x10xf32> {
  %0 = kiln.conv %seq, %dw {groups = 6 : i64, padding = array<i64: 2, 0>}
      : (tensor<2x6x10xf32>, tensor<6x1x3xf32>) -> tensor<2x6x10xf32>
  return %0 : tensor<2x6x10xf32>
}

// -----

// Max pooling starts from -inf.
// CHECK-LABEL: func @max_pool
// CHECK: %[[NEG_INF:.*]] = arith.constant 0xFF800000 : f32
// CHECK: %[[WIN:.*]] = tensor.empty() : tensor<2x2xf32>
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[NEG_INF]] : f32)
// CHECK: linalg.pooling_nchw_max {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>} ins(%{{.*}}, %[[WIN]] : tensor<1x3x8x8xf32>, tensor<2x2xf32>) outs(%[[INIT]] : tensor<1x3x4x4xf32>)
func.func @max_pool(%img: tensor<1x3x8x8xf32>) -> tensor<1x3x4x4xf32> {
  %0 = kiln.pool max %img {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return %0 : tensor<1x3x4x4xf32>
}

// -----

// Average pooling without count_include_pad divides each sum by the number
// of in-bounds elements of its window, computed from the output index.
// CHECK-LABEL: func @avg_pool_1d
// CHECK: %[[S:.*]] = linalg.pooling_nchw_sum {{.*}} ins(%{{.*}}, %{{.*}} : tensor<2x6x1x12xf32>, tensor<1x3xf32>)
// CHECK: linalg.generic {{.*}} ins(%[[S]] : tensor<2x6x1x10xf32>)
// CHECK: linalg.index 3
// CHECK: arith.minsi
// CHECK: arith.maxsi
// CHECK: %[[N:.*]] = arith.sitofp %{{.*}} : i64 to f32
// CHECK: arith.divf %{{.*}}, %[[N]] : f32
func.func @avg_pool_1d(%seq: tensor<2x6x10xf32>) -> tensor<2x6x10xf32> {
  %0 = kiln.pool avg %seq {kernel = array<i64: 3>, padding = array<i64: 1, 1>} : tensor<2x6x10xf32> -> tensor<2x6x10xf32>
  return %0 : tensor<2x6x10xf32>
}

// -----

// Sum over two axes: one reduction generic; the result drops the axes.
// CHECK-LABEL: func @reduce_sum
// CHECK: %[[INIT:.*]] = linalg.fill
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "reduction", "reduction"]} ins(%{{.*}} : tensor<2x8x16xf32>) outs(%[[INIT]] : tensor<2xf32>)
// CHECK: arith.addf
func.func @reduce_sum(%x: tensor<2x8x16xf32>) -> tensor<2xf32> {
  %0 = kiln.reduce sum %x {axes = array<i64: 1, 2>} : tensor<2x8x16xf32> -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

// Mean with keepdims: sum, reshape back to rank 3, divide by the count.
// CHECK-LABEL: func @reduce_mean_keepdims
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK: tensor.expand_shape {{.*}} into tensor<2x8x1xf32>
// CHECK: %[[N:.*]] = arith.constant 1.600000e+01 : f32
// CHECK: arith.divf %{{.*}}, %[[N]]
func.func @reduce_mean_keepdims(%x: tensor<2x8x16xf32>) -> tensor<2x8x1xf32> {
  %0 = kiln.reduce mean %x {axes = array<i64: 2>, keepdims = true} : tensor<2x8x16xf32> -> tensor<2x8x1xf32>
  return %0 : tensor<2x8x1xf32>
}

// -----

// Integer max starts from the smallest signed value.
// CHECK-LABEL: func @reduce_max_int
// CHECK: %[[MIN:.*]] = arith.constant -2147483648 : i32
// CHECK: linalg.fill ins(%[[MIN]] : i32)
// CHECK: arith.maxsi
func.func @reduce_max_int(%x: tensor<4x5xi32>) -> tensor<5xi32> {
  %0 = kiln.reduce max %x {axes = array<i64: 0>} : tensor<4x5xi32> -> tensor<5xi32>
  return %0 : tensor<5xi32>
}

// -----

// Argmax carries (value, index) through one generic; only the index is
// returned.
// CHECK-LABEL: func @argmax
// CHECK: %[[R:.*]]:2 = linalg.generic {{.*}} outs(%{{.*}}, %{{.*}} : tensor<2xf32>, tensor<2xi64>)
// CHECK: linalg.index 1
// CHECK: arith.cmpf ogt
// CHECK: return %[[R]]#1
func.func @argmax(%x: tensor<2x8xf32>) -> tensor<2xi64> {
  %0 = kiln.arg_reduce argmax %x {axis = 1 : i64} : tensor<2x8xf32> -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// Softmax subtracts the row maximum before exp, then divides by the sum.
// CHECK-LABEL: func @softmax
// CHECK: %[[MAX:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]}
// CHECK: arith.maximumf
// CHECK: %[[MAXB:.*]] = tensor.expand_shape %[[MAX]]
// CHECK: %[[E:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[MAXB]] : tensor<2x16xf32>, tensor<2x1xf32>)
// CHECK: arith.subf
// CHECK: math.exp
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[E]] : tensor<2x16xf32>)
// CHECK: arith.addf
// CHECK: %[[SUMB:.*]] = tensor.expand_shape %[[SUM]]
// CHECK: linalg.generic {{.*}} ins(%[[E]], %[[SUMB]] : tensor<2x16xf32>, tensor<2x1xf32>)
// CHECK: arith.divf
func.func @softmax(%x: tensor<2x16xf32>) -> tensor<2x16xf32> {
  %0 = kiln.softmax %x {axis = 1 : i64} : tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// Layer norm: two-pass variance (mean first, then the mean of squared
// deviations), rsqrt(var + eps), then scale and bias.
// CHECK-LABEL: func @layer_norm
// CHECK-SAME: (%[[X:.*]]: tensor<2x16xf32>, %[[G:.*]]: tensor<16xf32>, %[[B:.*]]: tensor<16xf32>)
// CHECK: %[[SUM:.*]] = linalg.generic {{.*}} ins(%[[X]] : tensor<2x16xf32>)
// CHECK: %[[D:.*]] = linalg.generic {{.*}} ins(%[[X]], %{{.*}} : tensor<2x16xf32>, tensor<2x1xf32>)
// CHECK: arith.subf
// CHECK: linalg.generic {{.*}} ins(%[[D]] : tensor<2x16xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[EPS:.*]] = arith.constant 9.99999974E-6 : f32
// CHECK: math.rsqrt
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[G]], %[[B]] : tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>)
func.func @layer_norm(%x: tensor<2x16xf32>, %g: tensor<16xf32>, %b: tensor<16xf32>) -> tensor<2x16xf32> {
  %0 = kiln.layer_norm %x scale(%g) bias(%b) {axis = 1 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<2x16xf32>, tensor<16xf32>, tensor<16xf32>) -> tensor<2x16xf32>
  return %0 : tensor<2x16xf32>
}

// -----

// RMS norm of bf16 data: statistics in f32, one rounding at the end.
// CHECK-LABEL: func @rms_norm_bf16
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2x16xbf16>) outs(%{{.*}} : tensor<2xf32>)
// CHECK: arith.extf
// CHECK: arith.mulf
// CHECK: math.rsqrt %{{.*}} : f32
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x16xbf16>)
// CHECK: arith.truncf %{{.*}} : f32 to bf16
func.func @rms_norm_bf16(%x: tensor<2x16xbf16>, %g: tensor<16xbf16>) -> tensor<2x16xbf16> {
  %0 = kiln.rms_norm %x scale(%g) {axis = 1 : i64, epsilon = 1.0e-05 : f64}
      : (tensor<2x16xbf16>, tensor<16xbf16>) -> tensor<2x16xbf16>
  return %0 : tensor<2x16xbf16>
}

// -----

// Group norm reshapes channels into [N, groups, C/groups * H * W].
// CHECK-LABEL: func @group_norm
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 4, 32] : tensor<128xf32> into tensor<1x4x32xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%{{.*}} : tensor<1x4x32xf32>) outs(%{{.*}} : tensor<1x4xf32>)
// CHECK: math.rsqrt
// CHECK: tensor.expand_shape %{{.*}} output_shape [1, 8, 4, 4]
func.func @group_norm(%img: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %0 = kiln.group_norm %img {num_groups = 4 : i64} : (tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  return %0 : tensor<1x8x4x4xf32>
}

// -----

// A reshape that merges dimensions is one collapse_shape.
// CHECK-LABEL: func @reshape_collapse
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK-NEXT: %[[R:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1], [2]] : tensor<2x3x4xf32> into tensor<6x4xf32>
// CHECK-NEXT: return %[[R]]
func.func @reshape_collapse(%x: tensor<2x3x4xf32>) -> tensor<6x4xf32> {
  %0 = kiln.reshape %x : tensor<2x3x4xf32> to tensor<6x4xf32>
  return %0 : tensor<6x4xf32>
}

// -----

// A general reshape goes through the flat tensor.
// CHECK-LABEL: func @reshape_general
// CHECK: %[[F:.*]] = tensor.collapse_shape %{{.*}} {{\[}}[0, 1]] : tensor<2x6xf32> into tensor<12xf32>
// CHECK: tensor.expand_shape %[[F]] {{\[}}[0, 1]] output_shape [3, 4] : tensor<12xf32> into tensor<3x4xf32>
func.func @reshape_general(%x: tensor<2x6xf32>) -> tensor<3x4xf32> {
  %0 = kiln.reshape %x : tensor<2x6xf32> to tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}

// -----

// CHECK-LABEL: func @transpose
// CHECK: linalg.transpose ins(%{{.*}} : tensor<2x3x4xf32>) outs(%{{.*}} : tensor<4x2x3xf32>) permutation = [2, 0, 1]
func.func @transpose(%x: tensor<2x3x4xf32>) -> tensor<4x2x3xf32> {
  %0 = kiln.transpose %x {permutation = array<i64: 2, 0, 1>} : tensor<2x3x4xf32> -> tensor<4x2x3xf32>
  return %0 : tensor<4x2x3xf32>
}

// -----

// Concat inserts each operand at its offset along the axis.
// CHECK-LABEL: func @concat
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>, %[[Y:.*]]: tensor<2x5x4xf32>)
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x8x4xf32>
// CHECK: %[[I0:.*]] = tensor.insert_slice %[[X]] into %[[E]][0, 0, 0] [2, 3, 4] [1, 1, 1]
// CHECK: %[[I1:.*]] = tensor.insert_slice %[[Y]] into %[[I0]][0, 3, 0] [2, 5, 4] [1, 1, 1]
// CHECK: return %[[I1]]
func.func @concat(%x: tensor<2x3x4xf32>, %y: tensor<2x5x4xf32>) -> tensor<2x8x4xf32> {
  %0 = kiln.concat %x, %y {axis = 1 : i64} : (tensor<2x3x4xf32>, tensor<2x5x4xf32>) -> tensor<2x8x4xf32>
  return %0 : tensor<2x8x4xf32>
}

// -----

// A slice with positive steps is a strided extract_slice.
// CHECK-LABEL: func @slice
// CHECK: tensor.extract_slice %{{.*}}[0, 1, 0] [2, 2, 2] [1, 1, 2] : tensor<2x3x4xf32> to tensor<2x2x2xf32>
func.func @slice(%x: tensor<2x3x4xf32>) -> tensor<2x2x2xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 1, 0>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, 1, 2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  return %0 : tensor<2x2x2xf32>
}

// -----

// A negative step cannot be an extract_slice: a generic reads
// start + i * step.
// CHECK-LABEL: func @slice_reverse
// CHECK-NOT: tensor.extract_slice
// CHECK: linalg.generic
// CHECK: %[[I:.*]] = linalg.index 2 : index
// CHECK: %[[STEP:.*]] = arith.constant -2 : index
// CHECK: arith.muli %[[I]], %[[STEP]] : index
// CHECK: tensor.extract
func.func @slice_reverse(%x: tensor<2x3x4xf32>) -> tensor<2x2x2xf32> {
  %0 = kiln.slice %x {starts = array<i64: 0, 1, 3>, sizes = array<i64: 2, 2, 2>, steps = array<i64: 1, 1, -2>} : tensor<2x3x4xf32> -> tensor<2x2x2xf32>
  return %0 : tensor<2x2x2xf32>
}

// -----

// Gather: indices are wrapped (negative from the end) and clamped, then the
// row is read with tensor.extract.
// CHECK-LABEL: func @gather
// CHECK-SAME: (%[[T:.*]]: tensor<10x8xf32>, %[[I:.*]]: tensor<2x3xi64>)
// CHECK: linalg.generic {{.*}} ins(%[[I]] : tensor<2x3xi64>) outs(%{{.*}} : tensor<2x3x8xf32>)
// CHECK: arith.index_cast %{{.*}} : i64 to index
// CHECK: arith.select
// CHECK: arith.maxsi
// CHECK: %[[ROW:.*]] = arith.minsi
// CHECK: %[[COL:.*]] = linalg.index 2 : index
// CHECK: tensor.extract %[[T]][%[[ROW]], %[[COL]]] : tensor<10x8xf32>
func.func @gather(%t: tensor<10x8xf32>, %i: tensor<2x3xi64>) -> tensor<2x3x8xf32> {
  %0 = kiln.gather %t, %i {axis = 0 : i64} : (tensor<10x8xf32>, tensor<2x3xi64>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}

// -----

// Attention with grouped KV heads (4 query heads over 2 KV heads) and a
// causal mask: QK^T, scale and mask, max-subtracted exp, PV, normalize.
// With lower-fused-ops=false the op stays for codegen.
// CHECK-LABEL: func @attention_gqa_causal
// CHECK: %[[Q:.*]] = tensor.expand_shape %{{.*}} output_shape [1, 2, 2, 8, 16] : tensor<1x4x8x16xf32> into tensor<1x2x2x8x16xf32>
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%[[Q]], %{{.*}} : tensor<1x2x2x8x16xf32>, tensor<1x2x8x16xf32>) outs(%{{.*}} : tensor<1x2x2x8x8xf32>)
// CHECK: %[[SCALED:.*]] = linalg.generic {{.*}} ins(%[[S]] : tensor<1x2x2x8x8xf32>)
// CHECK: arith.constant 2.500000e-01 : f32
// CHECK: arith.cmpi sle
// CHECK: arith.select
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: tensor.collapse_shape %{{.*}} {{\[}}[0], [1, 2], [3], [4]] : tensor<1x2x2x8x16xf32> into tensor<1x4x8x16xf32>
// CHECK-NOT: kiln.attention
// KEEP-LABEL: func @attention_gqa_causal
// KEEP: %[[R:.*]] = kiln.attention %{{.*}}, %{{.*}}, %{{.*}} {causal = true, scale = 2.500000e-01 : f64}
// KEEP-NOT: linalg.generic
// KEEP: return %[[R]]
func.func @attention_gqa_causal(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64, causal = true}
      : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

// The selective scan's reference lowering loops over time with scf.for;
// with lower-fused-ops=false it stays, and so does causal_conv1d, while the
// ops around them are lowered as usual.
// CHECK-LABEL: func @ssm
// CHECK: scf.for
// CHECK: scf.yield
// CHECK-NOT: kiln.
// KEEP-LABEL: func @ssm
// KEEP: %[[Y:.*]], %{{.*}} = kiln.selective_scan
// KEEP: %[[C:.*]], %{{.*}} = kiln.causal_conv1d
// KEEP: linalg.generic {{.*}} ins(%[[Y]], %[[C]] : tensor<1x2x4xf32>, tensor<1x2x4xf32>)
// KEEP: arith.addf
// KEEP-NOT: scf.for
func.func @ssm(%u: tensor<1x2x4xf32>, %a: tensor<2x3xf32>, %b: tensor<1x3x4xf32>, %w: tensor<2x3xf32>) -> tensor<1x2x4xf32> {
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b
      : (tensor<1x2x4xf32>, tensor<1x2x4xf32>, tensor<2x3xf32>, tensor<1x3x4xf32>, tensor<1x3x4xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x3xf32>)
  %1:2 = kiln.causal_conv1d %u, %w : (tensor<1x2x4xf32>, tensor<2x3xf32>) -> (tensor<1x2x4xf32>, tensor<1x2x2xf32>)
  %2 = kiln.add %0#0, %1#0 : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %2 : tensor<1x2x4xf32>
}

// -----

// Ops of other dialects are left alone.
// CHECK-LABEL: func @not_kiln
// CHECK-NEXT: %[[R:.*]] = arith.addf %{{.*}}, %{{.*}} : tensor<4xf32>
// CHECK-NEXT: return %[[R]]
func.func @not_kiln(%a: tensor<4xf32>) -> tensor<4xf32> {
  %0 = arith.addf %a, %a : tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Dynamic dimensions are rejected at the op's location.
func.func @dynamic(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  // expected-error @+1 {{has dynamic dimensions: the CPU lowering needs static shapes}}
  %0 = kiln.relu %a : tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}
