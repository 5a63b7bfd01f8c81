// RUN: kiln-opt %s -kiln-to-linalg="scan=channels" -split-input-file | FileCheck %s
// RUN: not kiln-opt %s -kiln-to-linalg="scan=diagonal" 2>&1 | FileCheck %s --check-prefix=BAD

// scan=channels (the CUDA target's): one scf.forall over the 2 x 4
// (batch, channel) pairs; each pair runs the recurrence over the 5 time
// steps and, in each, over its 3 states, keeping the state in its own row
// of the final state and writing its row of y.
// CHECK-LABEL: func @scan
// CHECK-SAME: (%[[U:[^:]*]]: tensor<2x4x5xf32>, %[[DT:[^:]*]]: tensor<2x4x5xf32>, %[[A:[^:]*]]: tensor<4x3xf32>, %[[B:[^:]*]]: tensor<2x3x5xf32>, %[[C:[^:]*]]: tensor<2x3x5xf32>, %[[D:[^:]*]]: tensor<4xf32>, %[[H0:[^:]*]]: tensor<2x4x3xf32>)
// CHECK: %[[Y0:.*]] = tensor.empty() : tensor<2x4x5xf32>
// CHECK: %[[R:.*]]:2 = scf.forall (%[[I:.*]]) in (8) shared_outs(%[[Y:.*]] = %[[Y0]], %[[H:.*]] = %[[H0]]) -> (tensor<2x4x5xf32>, tensor<2x4x3xf32>)
// CHECK: %[[BI:.*]] = arith.divui %[[I]], %c4
// CHECK: %[[DI:.*]] = arith.remui %[[I]], %c4
// CHECK: %[[HROW:.*]] = tensor.extract_slice %[[H]][%[[BI]], %[[DI]], 0] [1, 1, 3] [1, 1, 1] : tensor<2x4x3xf32> to tensor<3xf32>
// CHECK: %[[YROW:.*]] = tensor.extract_slice %[[Y]][%[[BI]], %[[DI]], 0] [1, 1, 5] [1, 1, 1] : tensor<2x4x5xf32> to tensor<5xf32>
// CHECK: %[[T:.*]]:2 = scf.for %[[S:.*]] = %c0 to %c5 step %c1 iter_args(%[[HS:.*]] = %[[HROW]], %[[YS:.*]] = %[[YROW]])
// CHECK: tensor.extract %[[DT]][%[[BI]], %[[DI]], %[[S]]]
// CHECK: tensor.extract %[[U]][%[[BI]], %[[DI]], %[[S]]]
// CHECK: %[[N:.*]]:2 = scf.for %[[K:.*]] = %{{.*}} to %c3 step %{{.*}} iter_args(%[[HK:.*]] = %[[HS]], %[[ACC:.*]] = %{{.*}})
// CHECK: tensor.extract %[[A]][%[[DI]], %[[K]]]
// CHECK: math.exp
// CHECK: tensor.extract %[[HK]][%[[K]]]
// CHECK: tensor.extract %[[B]][%[[BI]], %[[K]], %[[S]]]
// CHECK: tensor.extract %[[C]][%[[BI]], %[[K]], %[[S]]]
// CHECK: tensor.insert %{{.*}} into %[[HK]][%[[K]]]
// CHECK: tensor.extract %[[D]][%[[DI]]]
// CHECK: tensor.insert %{{.*}} into %[[YS]][%[[S]]]
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %[[T]]#1 into %[[Y]][%[[BI]], %[[DI]], 0] [1, 1, 5]
// CHECK-NEXT: tensor.parallel_insert_slice %[[T]]#0 into %[[H]][%[[BI]], %[[DI]], 0] [1, 1, 3]
// CHECK: return %[[R]]#0, %[[R]]#1
// BAD: kiln-to-linalg: scan must be steps or channels, got 'diagonal'
func.func @scan(%u: tensor<2x4x5xf32>, %dt: tensor<2x4x5xf32>, %a: tensor<4x3xf32>, %b: tensor<2x3x5xf32>, %c: tensor<2x3x5xf32>, %d: tensor<4xf32>, %h: tensor<2x4x3xf32>) -> (tensor<2x4x5xf32>, tensor<2x4x3xf32>) {
  %0:2 = kiln.selective_scan %u, %dt, %a, %b, %c D(%d) state(%h)
      : (tensor<2x4x5xf32>, tensor<2x4x5xf32>, tensor<4x3xf32>, tensor<2x3x5xf32>, tensor<2x3x5xf32>, tensor<4xf32>, tensor<2x4x3xf32>) -> (tensor<2x4x5xf32>, tensor<2x4x3xf32>)
  return %0#0, %0#1 : tensor<2x4x5xf32>, tensor<2x4x3xf32>
}

// -----

// Softplus'd delta with a bias and a gate z; bf16 operands compute in f32
// and round the results.
// CHECK-LABEL: func @scan_gated_bf16
// CHECK: scf.forall
// CHECK: tensor.extract %{{.*}} : tensor<4xbf16>
// CHECK: math.log1p
// CHECK: arith.extf
// CHECK: arith.divf
// CHECK: arith.truncf
func.func @scan_gated_bf16(%u: tensor<1x4x2xbf16>, %a: tensor<4x3xbf16>, %b: tensor<1x3x2xbf16>, %bias: tensor<4xbf16>) -> tensor<1x4x2xbf16> {
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b z(%u) delta_bias(%bias) {delta_softplus = true}
      : (tensor<1x4x2xbf16>, tensor<1x4x2xbf16>, tensor<4x3xbf16>, tensor<1x3x2xbf16>, tensor<1x3x2xbf16>, tensor<1x4x2xbf16>, tensor<4xbf16>) -> (tensor<1x4x2xbf16>, tensor<1x4x3xbf16>)
  return %0#0 : tensor<1x4x2xbf16>
}
