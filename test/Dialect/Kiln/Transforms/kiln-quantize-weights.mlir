// RUN: kiln-opt %s -split-input-file -kiln-quantize-weights | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-quantize-weights="mode=int4 group-size=32" | FileCheck %s --check-prefix=INT4
// RUN: kiln-opt %s -split-input-file -kiln-quantize-weights="mode=int4 group-size=32 half-scales=0" | FileCheck %s --check-prefix=INT4F32
// RUN: kiln-opt %s -split-input-file -kiln-quantize-weights="mode=int4 group-size=32 zero-points=1" | FileCheck %s --check-prefix=ZP
// RUN: kiln-opt %s -split-input-file -kiln-quantize-weights="exclude=lm_head" | FileCheck %s --check-prefix=EXCL
// RUN: kiln-opt %s -split-input-file -kiln-quantize-weights="min-elements=100" | FileCheck %s --check-prefix=MIN
// RUN: not kiln-opt %s -kiln-quantize-weights="mode=int3" 2>&1 | FileCheck %s --check-prefix=BADMODE
// RUN: not kiln-opt %s -kiln-quantize-weights="mode=int4 group-size=16" 2>&1 | FileCheck %s --check-prefix=BADGROUP
// RUN: not kiln-opt %s -kiln-quantize-weights="zero-points=1" 2>&1 | FileCheck %s --check-prefix=BADZP
// RUN: not kiln-opt %s -kiln-quantize-weights="exclude=(" 2>&1 | FileCheck %s --check-prefix=BADRE

// BADMODE: error: kiln-quantize-weights: unknown mode 'int3' (expected int8 or int4)
// BADGROUP: error: kiln-quantize-weights: group-size must be 32, 64 or 128, got 16
// BADZP: error: kiln-quantize-weights: zero-points apply to int4
// BADRE: error: exclude: bad regular expression '('

// int8, per output channel: s[n] = max |W[:, n]| / 127. Column 0 (1, -4)
// quantizes to (32, -127), column 1 (-2, 1) to (-127, 64), column 2
// (0.5, 0.25) to (127, 64); the panel is [1 panel, K = 2, 64 bytes].
// CHECK-LABEL: func @int8
// CHECK-DAG: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x2x64xi8>
// CHECK-DAG: %[[S:.*]] = kiln.constant dense_resource<{{.*}}> : tensor<1x3xf32>
// CHECK: %[[Y:.*]] = kiln.qmatmul %arg0, %[[W]], %[[S]] {bits = 8 : i64, group_size = 2 : i64, weight_error = 0.0023939{{[0-9]*}} : f64} : (tensor<4x2xf32>, tensor<1x2x64xi8>, tensor<1x3xf32>) -> tensor<4x3xf32>
// CHECK-NOT: kiln.matmul
// CHECK: return %[[Y]]
// CHECK: [[KEY]]: "0x40000000[[ROW0:2081]]7F
// INT4-LABEL: func @int8
// INT4: kiln.matmul
// INT4-NOT: kiln.qmatmul
// EXCL-LABEL: func @int8
// EXCL: kiln.qmatmul
// MIN-LABEL: func @int8
// MIN: kiln.matmul
func.func @int8(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = kiln.constant dense<[[1.0, -2.0, 0.5], [-4.0, 1.0, 0.25]]> : tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y : tensor<4x3xf32>
}

// -----

// A torch Linear weight ([N, K]) through a transpose: the same values as
// above, stored transposed, give the same packed bytes.
// CHECK-LABEL: func @transposed
// CHECK: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x2x64xi8>
// CHECK-NOT: kiln.transpose
// CHECK: kiln.qmatmul %arg0, %[[W]]
// CHECK: [[KEY]]: "0x400000002081
func.func @transposed(%x: tensor<1x4x2xf32>) -> tensor<1x4x3xf32> {
  %wt = kiln.constant dense<[[1.0, -4.0], [-2.0, 1.0], [0.5, 0.25]]> : tensor<3x2xf32>
  %w = kiln.transpose %wt {permutation = array<i64: 1, 0>} : tensor<3x2xf32> -> tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<1x4x2xf32>, tensor<2x3xf32>) -> tensor<1x4x3xf32>
  return %y : tensor<1x4x3xf32>
}

// -----

// int4 in groups of 32 rows: a constant column quantizes to q - 8 = 7; two
// 4-bit values per byte, column j in the low nibble and column j + 32
// (padding: 8) in the high one. The scale 0.5 / 7 is stored as f16
// (0x2C92 = 0.0714111328): the weight's error is 7 * (0.5 / 7 - 0.0714111)
// / 0.5 = 2.44e-4. With f32 scales it is exact (0 up to rounding).
// INT4-LABEL: func @int4
// INT4-DAG: %[[W:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<1x64x32xi8>
// INT4-DAG: %[[S:.*]] = kiln.constant dense_resource<[[SKEY:.*]]> : tensor<2x2xf16>
// INT4: kiln.qmatmul %arg0, %[[W]], %[[S]] {bits = 4 : i64, group_size = 32 : i64, weight_error = 2.44{{[0-9]*}}E-4 : f64} : (tensor<2x64xf32>, tensor<1x64x32xi8>, tensor<2x2xf16>) -> tensor<2x2xf32>
// INT4-DAG: [[KEY]]: "0x400000008F8F8888
// INT4-DAG: [[SKEY]]: "0x40000000922C922C922C922C"
// INT4F32-LABEL: func @int4
// INT4F32-DAG: %[[S:.*]] = kiln.constant dense_resource<{{.*}}> : tensor<2x2xf32>
// INT4F32: kiln.qmatmul %arg0, %{{.*}}, %[[S]] {bits = 4 : i64, group_size = 32 : i64, weight_error = {{(0.0+e\+00|[0-9.]+E-[89])}} : f64}
// ZP-LABEL: func @int4
// ZP-DAG: %[[W:.*]] = kiln.constant dense_resource<{{.*}}> : tensor<1x64x32xi8>
// ZP-DAG: %[[S:.*]] = kiln.constant dense_resource<{{.*}}> : tensor<2x2xf16>
// ZP-DAG: %[[Z:.*]] = kiln.constant dense_resource<{{.*}}> : tensor<2x2xi8>
// ZP: kiln.qmatmul %arg0, %[[W]], %[[S]] zero_points(%[[Z]]) {bits = 4 : i64, group_size = 32 : i64, weight_error = {{(0.0+e\+00|[0-9.]+E-[89])}} : f64}
// CHECK-LABEL: func @int4
// CHECK: kiln.qmatmul {{.*}} {bits = 8 : i64, group_size = 64 : i64
func.func @int4(%x: tensor<2x64xf32>) -> tensor<2x2xf32> {
  %w = kiln.constant dense<0.5> : tensor<64x2xf32>
  %y = kiln.matmul %x, %w : (tensor<2x64xf32>, tensor<64x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// Scales f16 cannot hold as normal numbers (1e-6 / 7 < 2^-14): the weight
// keeps f32 scales.
// INT4-LABEL: func @int4_tiny
// INT4: kiln.qmatmul {{.*}} : (tensor<2x64xf32>, tensor<1x64x32xi8>, tensor<2x2xf32>) -> tensor<2x2xf32>
func.func @int4_tiny(%x: tensor<2x64xf32>) -> tensor<2x2xf32> {
  %w = kiln.constant dense<1.0e-6> : tensor<64x2xf32>
  %y = kiln.matmul %x, %w : (tensor<2x64xf32>, tensor<64x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// -----

// One quantized copy of a weight read by two matmuls.
// CHECK-LABEL: func @shared
// CHECK-COUNT-1: tensor<1x2x64xi8>
// CHECK-NOT: tensor<1x2x64xi8>
// CHECK: kiln.qmatmul
// CHECK: kiln.qmatmul
func.func @shared(%x: tensor<4x2xf32>, %z: tensor<4x2xf32>) -> (tensor<4x3xf32>, tensor<4x3xf32>) {
  %w = kiln.constant dense<[[1.0, -2.0, 0.5], [-4.0, 1.0, 0.25]]> : tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %v = kiln.matmul %z, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %y, %v : tensor<4x3xf32>, tensor<4x3xf32>
}

// -----

// A layer named by --exclude keeps its f32 weight.
// EXCL-LABEL: func @excluded
// EXCL: kiln.matmul
// EXCL-NOT: kiln.qmatmul
// EXCL: return
// CHECK-LABEL: func @excluded
// CHECK: kiln.qmatmul
func.func @excluded(%x: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = kiln.constant dense<[[1.0, -2.0, 0.5], [-4.0, 1.0, 0.25]]> : tensor<2x3xf32>
  %y = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32> loc("/lm_head/MatMul (MatMul)")
  return %y : tensor<4x3xf32>
}

// -----

// Near misses: a weight that is not a constant, a batched (3-D) constant,
// a transpose that is not [1, 0], a non-f32 product, and (int4) K that the
// group size does not divide: they stay kiln.matmul (int8 quantizes the
// last one, per channel).
// CHECK-LABEL: func @near_misses
// CHECK-NOT: kiln.qmatmul
// CHECK-COUNT-3: kiln.matmul
// CHECK-NOT: kiln.matmul
// CHECK: kiln.qmatmul %arg4
// INT4-LABEL: func @near_misses
// INT4-NOT: kiln.qmatmul
// INT4-COUNT-4: kiln.matmul
// INT4-NOT: kiln.qmatmul
// INT4: return
func.func @near_misses(%x: tensor<4x2xf32>, %w: tensor<2x3xf32>, %xb: tensor<2x4x2xf32>,
                       %xh: tensor<4x2xbf16>, %x48: tensor<4x48xf32>)
    -> (tensor<4x3xf32>, tensor<2x4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>) {
  %0 = kiln.matmul %x, %w : (tensor<4x2xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %w3 = kiln.constant dense<1.0> : tensor<2x2x3xf32>
  %1 = kiln.matmul %xb, %w3 : (tensor<2x4x2xf32>, tensor<2x2x3xf32>) -> tensor<2x4x3xf32>
  %wh = kiln.constant dense<1.0> : tensor<2x3xbf16>
  %2 = kiln.matmul %xh, %wh : (tensor<4x2xbf16>, tensor<2x3xbf16>) -> tensor<4x3xf32>
  %w48 = kiln.constant dense<1.0> : tensor<48x3xf32>
  %3 = kiln.matmul %x48, %w48 : (tensor<4x48xf32>, tensor<48x3xf32>) -> tensor<4x3xf32>
  return %0, %1, %2, %3 : tensor<4x3xf32>, tensor<2x4x3xf32>, tensor<4x3xf32>, tensor<4x3xf32>
}
