// RUN: kiln-opt %s -split-input-file -kiln-quantize-embeddings | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-quantize-embeddings="exclude=embed" | FileCheck %s --check-prefix=EXCL
// RUN: kiln-opt %s -split-input-file -kiln-quantize-embeddings="min-elements=13" | FileCheck %s --check-prefix=MIN
// RUN: kiln-opt %s -split-input-file -kiln-quantize-embeddings="mode=int4 group-size=2 half-scales=false" | FileCheck %s --check-prefix=INT4
// RUN: kiln-opt %s -split-input-file -kiln-quantize-embeddings="mode=int4 group-size=2" | FileCheck %s --check-prefix=INT4H
// RUN: not kiln-opt %s -kiln-quantize-embeddings="exclude=(" 2>&1 | FileCheck %s --check-prefix=BADRE

// BADRE: error: exclude: bad regular expression '('

// Per-row scales: row 0 (max 2) has s = 2/127 and quantizes to
// (64, -127, 32, 0); row 1 (max 127) has s = 1, with -63.5 rounding to even
// (-64); a row of zeros gets s = 0.
// CHECK-LABEL: func @embed
// CHECK-DAG: %[[Q:.*]] = kiln.constant dense_resource<[[QKEY:.*]]> : tensor<3x4xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense_resource<[[SKEY:.*]]> : tensor<3x1xf32>
// CHECK: %[[GQ:.*]] = kiln.gather %[[Q]], %arg0 {axis = 0 : i64} : (tensor<3x4xi8>, tensor<1x3xi64>) -> tensor<1x3x4xi8>
// CHECK: %[[GS:.*]] = kiln.gather %[[S]], %arg0 {axis = 0 : i64} : (tensor<3x1xf32>, tensor<1x3xi64>) -> tensor<1x3x1xf32>
// CHECK: %[[H:.*]] = kiln.dequantize %[[GQ]], %[[GS]] {axis = 2 : i64, block_size = 4 : i64, kiln.weight_error = 0.0035{{[0-9]*}} : f64} : (tensor<1x3x4xi8>, tensor<1x3x1xf32>) -> tensor<1x3x4xf32>
// CHECK-NOT: tensor<3x4xf32>
// CHECK: return %[[H]]
// CHECK-DAG: [[QKEY]]: "0x40000000408120007F00C00100000000"
// CHECK-DAG: [[SKEY]]: "0x400000000402813C0000803F00000000"
// EXCL-LABEL: func @embed
// EXCL: kiln.gather %{{.*}} : (tensor<3x4xf32>, tensor<1x3xi64>) -> tensor<1x3x4xf32>
// EXCL-NOT: kiln.dequantize
// MIN-LABEL: func @embed
// MIN-NOT: kiln.dequantize
// int4, groups of 2: row 0 (1, -2 | 0.5, 0) has scales (2/7 | 0.5/7) and
// values (3, -7 | 7, 0) (1 / (2/7) is 3.4999998 in f32), row 1
// (127, 0 | -63.5, 1) (7, 0 | -7, 0); packed two per byte as
// 16 * odd + even + 8: 0x9B, 0x0F |
// 0x0F, 0x01 | 0x08, 0x08. The gathered bytes are unpacked in f32
// (hi = floor(p / 16), lo = p - 16 hi - 8), interleaved and cast to i8.
// INT4-LABEL: func @embed
// INT4-DAG: %[[Q:.*]] = kiln.constant dense_resource<[[QKEY:.*]]> : tensor<3x2xi8>
// INT4-DAG: %[[S:.*]] = kiln.constant dense_resource<[[SKEY:.*]]> : tensor<3x2xf32>
// INT4: %[[GQ:.*]] = kiln.gather %[[Q]], %arg0 {axis = 0 : i64} : (tensor<3x2xi8>, tensor<1x3xi64>) -> tensor<1x3x2xi8>
// INT4: %[[P:.*]] = kiln.cast %[[GQ]] : tensor<1x3x2xi8> to tensor<1x3x2xf32>
// INT4: %[[D:.*]] = kiln.mul %[[P]], %{{.*}} :
// INT4: %[[HI:.*]] = kiln.floor %[[D]]
// INT4: %[[M:.*]] = kiln.mul %[[HI]], %{{.*}} :
// INT4: %[[R:.*]] = kiln.sub %[[P]], %[[M]] :
// INT4: %[[LO:.*]] = kiln.sub %[[R]], %{{.*}} :
// INT4: kiln.concat {{.*}} {axis = 3 : i64} : (tensor<1x3x2x1xf32>, tensor<1x3x2x1xf32>) -> tensor<1x3x2x2xf32>
// INT4: kiln.reshape %{{.*}} : tensor<1x3x2x2xf32> to tensor<1x3x4xf32>
// INT4: %[[U:.*]] = kiln.cast %{{.*}} : tensor<1x3x4xf32> to tensor<1x3x4xi8>
// INT4: %[[GS:.*]] = kiln.gather %[[S]], %arg0 {axis = 0 : i64} : (tensor<3x2xf32>, tensor<1x3xi64>) -> tensor<1x3x2xf32>
// INT4: kiln.dequantize %[[U]], %[[GS]] {axis = 2 : i64, block_size = 2 : i64
// INT4-DAG: [[QKEY]]: "0x400000009B0F0F010808"
// With f16 scales (the default), the values are quantized with the rounded
// scales: 2/7 is 0x3492 (0.28564453), and 1 / 0.28564453 = 3.5009 rounds to
// 4, so row 0's first byte is 16 * -7 + 4 + 8 = 0x9C. 0.5/7 is 0x2C92,
// 127/7 0x4C89, 63.5/7 0x4889.
// INT4H-LABEL: func @embed
// INT4H-DAG: %[[Q:.*]] = kiln.constant dense_resource<[[QKEY:.*]]> : tensor<3x2xi8>
// INT4H-DAG: %[[S:.*]] = kiln.constant dense_resource<[[SKEY:.*]]> : tensor<3x2xf16>
// INT4H: %[[GS:.*]] = kiln.gather %[[S]], %arg0 {axis = 0 : i64} : (tensor<3x2xf16>, tensor<1x3xi64>) -> tensor<1x3x2xf16>
// INT4H: kiln.dequantize %{{.*}}, %[[GS]] {axis = 2 : i64, block_size = 2 : i64, {{.*}}} : (tensor<1x3x4xi8>, tensor<1x3x2xf16>) -> tensor<1x3x4xf32>
// INT4H-DAG: [[QKEY]]: "0x400000009C0F0F010808"
// INT4H-DAG: [[SKEY]]: "0x400000009234922C894C894800000000"
func.func @embed(%ids: tensor<1x3xi64>) -> tensor<1x3x4xf32> {
  %t = kiln.constant dense<[[1.0, -2.0, 0.5, 0.0], [127.0, 0.0, -63.5, 1.0], [0.0, 0.0, 0.0, 0.0]]> : tensor<3x4xf32> loc("embed")
  %h = kiln.gather %t, %ids {axis = 0 : i64} : (tensor<3x4xf32>, tensor<1x3xi64>) -> tensor<1x3x4xf32>
  return %h : tensor<1x3x4xf32>
}

// -----

// Tied embeddings: the lm head's matmul still reads the f32 table; two
// gathers of one table share one int8 copy.
// CHECK-LABEL: func @tied
// CHECK-DAG: %[[T:.*]] = kiln.constant dense<{{.*}}> : tensor<4x2xf32>
// CHECK-DAG: %[[Q:.*]] = kiln.constant dense_resource<{{.*}}> : tensor<4x2xi8>
// CHECK: kiln.gather %[[Q]], %arg0
// CHECK: kiln.dequantize
// CHECK: kiln.gather %[[Q]], %arg1
// CHECK: kiln.dequantize
// CHECK: kiln.transpose %[[T]]
// MIN-LABEL: func @tied
// MIN-NOT: kiln.dequantize
func.func @tied(%a: tensor<2xi64>, %b: tensor<1xi64>) -> (tensor<2x2xf32>, tensor<1x4xf32>) {
  %t = kiln.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]]> : tensor<4x2xf32>
  %h = kiln.gather %t, %a {axis = 0 : i64} : (tensor<4x2xf32>, tensor<2xi64>) -> tensor<2x2xf32>
  %g = kiln.gather %t, %b {axis = 0 : i64} : (tensor<4x2xf32>, tensor<1xi64>) -> tensor<1x2xf32>
  %tt = kiln.transpose %t {permutation = array<i64: 1, 0>} : tensor<4x2xf32> -> tensor<2x4xf32>
  %l = kiln.matmul %g, %tt : (tensor<1x2xf32>, tensor<2x4xf32>) -> tensor<1x4xf32>
  return %h, %l : tensor<2x2xf32>, tensor<1x4xf32>
}

// -----

// Near misses: a gather along axis 1, of a table that is not a constant, of
// an integer table, and of a rank-3 table stay as they are.
// CHECK-LABEL: func @near_misses
// CHECK-NOT: kiln.dequantize
// CHECK: return
func.func @near_misses(%ids: tensor<2xi64>, %x: tensor<4x2xf32>) -> (tensor<4x2xf32>, tensor<2x2xf32>, tensor<2x2xi64>, tensor<2x2x2xf32>) {
  %t = kiln.constant dense<1.0> : tensor<4x2xf32>
  %a = kiln.gather %t, %ids {axis = 1 : i64} : (tensor<4x2xf32>, tensor<2xi64>) -> tensor<4x2xf32>
  %b = kiln.gather %x, %ids {axis = 0 : i64} : (tensor<4x2xf32>, tensor<2xi64>) -> tensor<2x2xf32>
  %i = kiln.constant dense<3> : tensor<4x2xi64>
  %c = kiln.gather %i, %ids {axis = 0 : i64} : (tensor<4x2xi64>, tensor<2xi64>) -> tensor<2x2xi64>
  %r = kiln.constant dense<2.0> : tensor<4x2x2xf32>
  %d = kiln.gather %r, %ids {axis = 0 : i64} : (tensor<4x2x2xf32>, tensor<2xi64>) -> tensor<2x2x2xf32>
  return %a, %b, %c, %d : tensor<4x2xf32>, tensor<2x2xf32>, tensor<2x2xi64>, tensor<2x2x2xf32>
}

// -----

// A table whose scales f16 cannot hold as normal numbers (below 2^-14)
// keeps f32 scales.
// INT4H-LABEL: func @tiny
// INT4H: kiln.constant dense_resource<{{.*}}> : tensor<2x1xf32>
// INT4H: kiln.dequantize {{.*}} : (tensor<2x2xi8>, tensor<2x1xf32>) -> tensor<2x2xf32>
func.func @tiny(%ids: tensor<2xi64>) -> tensor<2x2xf32> {
  %t = kiln.constant dense<[[1.0e-6, -2.0e-6], [3.0e-6, 0.0]]> : tensor<2x2xf32>
  %h = kiln.gather %t, %ids {axis = 0 : i64} : (tensor<2x2xf32>, tensor<2xi64>) -> tensor<2x2xf32>
  return %h : tensor<2x2xf32>
}
