// RUN: kiln-opt %s -kiln-to-linalg="fuse-dequant=true" -split-input-file | FileCheck %s
// RUN: kiln-opt %s -kiln-to-linalg -split-input-file | FileCheck %s --check-prefix=UNFUSED

// fuse-dequant (the CUDA target's): one contraction over (m, n, k) that
// reads column n's byte of the packed int4 weight at (n / 64, k, n % 32)
// and its f16 scale and zero point at (k / 32, n), takes the nibble
// (n % 64) / 32 and dequantizes it in the loop. N = 100: the second panel
// is partial.
// CHECK-DAG: #[[LHS:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2) -> (d1 floordiv 64, d2, d1 mod 32)>
// CHECK-DAG: #[[S:.*]] = affine_map<(d0, d1, d2) -> (d2 floordiv 32, d1)>
// CHECK-DAG: #[[OUT:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-LABEL: func @int4_zero_points
// CHECK: %[[INIT:.*]] = linalg.fill
// CHECK: linalg.generic {indexing_maps = [#[[LHS]], #[[W]], #[[S]], #[[S]], #[[OUT]]], iterator_types = ["parallel", "parallel", "reduction"]}
// CHECK-SAME: ins(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}} : tensor<2x64xf32>, tensor<2x64x32xi8>, tensor<2x100xf16>, tensor<2x100xi8>) outs(%[[INIT]] : tensor<2x100xf32>)
// CHECK: %[[N:.*]] = linalg.index 1 : index
// CHECK: %[[R:.*]] = arith.remui %[[N]], %c64
// CHECK: %[[H:.*]] = arith.divui %[[R]], %c32
// CHECK: arith.shrui
// CHECK: arith.andi
// CHECK: arith.sitofp
// CHECK: arith.subf
// CHECK: arith.extf %{{.*}} : f16 to f32
// CHECK: arith.mulf
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK-NOT: linalg.matmul
// UNFUSED-LABEL: func @int4_zero_points
// UNFUSED: linalg.matmul
func.func @int4_zero_points(%x: tensor<2x64xf32>, %w: tensor<2x64x32xi8>, %s: tensor<2x100xf16>, %z: tensor<2x100xi8>) -> tensor<2x100xf32> {
  %0 = kiln.qmatmul %x, %w, %s zero_points(%z) {bits = 4 : i64, group_size = 32 : i64} : (tensor<2x64xf32>, tensor<2x64x32xi8>, tensor<2x100xf16>, tensor<2x100xi8>) -> tensor<2x100xf32>
  return %0 : tensor<2x100xf32>
}

// -----

// int8 with a batch: the byte is (n / 64, k, n % 64), a signed value, one
// scale per column (group_size = K).
// CHECK-DAG: #[[W8:.*]] = affine_map<(d0, d1, d2, d3) -> (d2 floordiv 64, d3, d2 mod 64)>
// CHECK-DAG: #[[S8:.*]] = affine_map<(d0, d1, d2, d3) -> (d3 floordiv 16, d2)>
// CHECK-LABEL: func @int8_batched
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[W8]], #[[S8]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
// CHECK-NOT: arith.shrui
// CHECK: arith.sitofp
// CHECK-NOT: linalg.matmul
func.func @int8_batched(%x: tensor<2x3x16xf32>, %w: tensor<1x16x64xi8>, %s: tensor<1x8xf32>) -> tensor<2x3x8xf32> {
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 16 : i64} : (tensor<2x3x16xf32>, tensor<1x16x64xi8>, tensor<1x8xf32>) -> tensor<2x3x8xf32>
  return %0 : tensor<2x3x8xf32>
}
