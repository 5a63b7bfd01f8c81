// RUN: kiln-opt %s -split-input-file -kiln-pack-weights | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-pack-weights=min-elements=100 | FileCheck %s --check-prefix=BIG

// A constant [K=2, N=3] weight becomes one panel of 32 columns, K-major:
// row k holds B[k, 0..2] then 29 zeros (1, 2, 3 | 4, 5, 6). The call takes
// the packed buffer with K and N; the flags keep the bias and activation.
// CHECK-LABEL: func @row_major
// CHECK-DAG: %[[P:.*]] = kiln.constant dense_resource<[[KEY:.*]]> : tensor<64xf32>
// CHECK-DAG: %[[K:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[N:.*]] = arith.constant 3 : i64
// CHECK-DAG: %[[F:.*]] = arith.constant 256 : i64
// CHECK: %[[C:.*]] = kiln_rt.ukernel "kiln_uk_matmul_packed_bias_f32" ins(%arg0, %[[P]], %[[K]], %[[N]], %arg1, %[[F]] : tensor<1x4x2xf32>, tensor<64xf32>, i64, i64, tensor<3xf32>, i64) outs(%arg2 : tensor<1x4x3xf32>)
// CHECK-NOT: kiln.reshape
// CHECK: return %[[C]]
// CHECK: [[KEY]]: "0x400000000000803F0000004000004040{{(00000000)+}}000080400000A0400000C040{{(00000000)+}}"
// BIG-LABEL: func @row_major
// BIG: kiln_rt.ukernel "kiln_uk_matmul_bias_f32"
func.func @row_major(%a: tensor<1x4x2xf32>, %bias: tensor<3xf32>, %init: tensor<1x4x3xf32>) -> tensor<1x4x3xf32> {
  %w = kiln.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %b = kiln.reshape %w : tensor<2x3xf32> to tensor<1x2x3xf32>
  %flags = arith.constant 256 : i64
  %c = kiln_rt.ukernel "kiln_uk_matmul_bias_f32" ins(%a, %b, %bias, %flags : tensor<1x4x2xf32>, tensor<1x2x3xf32>, tensor<3xf32>, i64) outs(%init : tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
  return %c : tensor<1x4x3xf32>
}

// -----

// A transposed weight ([N=3, K=2], KILN_UK_TRANSPOSE_B = 2) packs to the
// same panel as its [K, N] transpose; the flag is cleared (2 | accumulate
// 1 -> 1).
// CHECK-LABEL: func @transposed
// CHECK-DAG: %[[F:.*]] = arith.constant 1 : i64
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_packed_f32" ins(%arg0, %{{.*}}, %{{.*}}, %{{.*}}, %[[F]] : tensor<1x4x2xf32>, tensor<64xf32>, i64, i64, i64)
// CHECK: "0x400000000000803F0000004000004040{{(00000000)+}}000080400000A0400000C040{{(00000000)+}}"
func.func @transposed(%a: tensor<1x4x2xf32>, %init: tensor<1x4x3xf32>) -> tensor<1x4x3xf32> {
  %w = kiln.constant dense<[[[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]]> : tensor<1x3x2xf32>
  %flags = arith.constant 3 : i64
  %c = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %w, %flags : tensor<1x4x2xf32>, tensor<1x3x2xf32>, i64) outs(%init : tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
  return %c : tensor<1x4x3xf32>
}

// -----

// Near-misses: a weight that is not a constant, a batched weight, bf16
// operands, and flags that are not a constant stay as they are.
// CHECK-LABEL: func @near_misses
// CHECK-NOT: packed
// CHECK-COUNT-4: kiln_rt.ukernel "kiln_uk_matmul_{{f32|bf16}}"
func.func @near_misses(%a: tensor<1x4x2xf32>, %b: tensor<1x2x3xf32>, %a2: tensor<2x4x2xf32>, %ab: tensor<1x4x2xbf16>, %f: i64, %init: tensor<1x4x3xf32>, %init2: tensor<2x4x3xf32>) -> (tensor<1x4x3xf32>, tensor<2x4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>) {
  %flags = arith.constant 0 : i64
  %w2 = kiln.constant dense<1.0> : tensor<2x2x3xf32>
  %wb = kiln.constant dense<1.0> : tensor<1x2x3xbf16>
  %w = kiln.constant dense<1.0> : tensor<1x2x3xf32>
  %0 = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %b, %flags : tensor<1x4x2xf32>, tensor<1x2x3xf32>, i64) outs(%init : tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
  %1 = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a2, %w2, %flags : tensor<2x4x2xf32>, tensor<2x2x3xf32>, i64) outs(%init2 : tensor<2x4x3xf32>) -> tensor<2x4x3xf32>
  %2 = kiln_rt.ukernel "kiln_uk_matmul_bf16" ins(%ab, %wb, %flags : tensor<1x4x2xbf16>, tensor<1x2x3xbf16>, i64) outs(%init : tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
  %3 = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %w, %f : tensor<1x4x2xf32>, tensor<1x2x3xf32>, i64) outs(%init : tensor<1x4x3xf32>) -> tensor<1x4x3xf32>
  return %0, %1, %2, %3 : tensor<1x4x3xf32>, tensor<2x4x3xf32>, tensor<1x4x3xf32>, tensor<1x4x3xf32>
}
