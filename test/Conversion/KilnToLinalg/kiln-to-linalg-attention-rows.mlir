// RUN: kiln-opt %s -kiln-to-linalg="attention=rows" -split-input-file | FileCheck %s
// RUN: not kiln-opt %s -kiln-to-linalg="attention=tiles" 2>&1 | FileCheck %s --check-prefix=BAD

// attention=rows (the CUDA target's): one scf.forall over the 1 x 4 x 8
// query rows; each row loops over its keys up to its last causally visible
// one (i + 16 - 8 + 1 keys: 8 more keys than queries), with an online
// softmax: the running maximum rescales the running sum and the
// accumulated output row. Grouped heads: query head h reads KV head h / 2.
// CHECK-LABEL: func @rows_causal_gqa
// CHECK-SAME: (%[[Q:[^:]*]]: tensor<1x4x8x16xf32>, %[[K:[^:]*]]: tensor<1x2x16x16xf32>, %[[V:[^:]*]]: tensor<1x2x16x8xf32>)
// CHECK: %[[R:.*]] = scf.forall (%[[I:.*]]) in (32) shared_outs(%[[O:.*]] = %{{.*}}) -> (tensor<1x4x8x8xf32>)
// CHECK: %[[B:.*]] = arith.divui %[[I]], %c32
// CHECK: %[[REST:.*]] = arith.remui %[[I]], %c32
// CHECK: %[[H:.*]] = arith.divui %[[REST]], %c8
// CHECK: %[[ROW:.*]] = arith.remui %[[REST]], %c8
// CHECK: %[[HK:.*]] = arith.divui %[[H]], %c2
// CHECK: %[[OROW:.*]] = tensor.extract_slice %[[O]][%[[B]], %[[H]], %[[ROW]], 0] [1, 1, 1, 8] [1, 1, 1, 1] : tensor<1x4x8x8xf32> to tensor<8xf32>
// CHECK: %[[ZROW:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%[[OROW]] : tensor<8xf32>)
// CHECK: %[[LIM:.*]] = arith.subi %c16, %c7
// CHECK: %[[LAST:.*]] = arith.addi %[[ROW]], %[[LIM]]
// CHECK: %[[END:.*]] = arith.maxsi %c0{{.*}}, %[[LAST]]
// CHECK: %[[KEYS:.*]]:3 = scf.for %[[J:.*]] = %{{.*}} to %[[END]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[ZROW]], %[[M:.*]] = %cst{{.*}}, %[[L:.*]] = %{{.*}})
// CHECK: scf.for %[[E:.*]] = %{{.*}} to %c16{{.*}} step
// CHECK: tensor.extract %[[Q]][%[[B]], %[[H]], %[[ROW]], %[[E]]]
// CHECK: tensor.extract %[[K]][%[[B]], %[[HK]], %[[J]], %[[E]]]
// CHECK: %[[MNEW:.*]] = arith.maximumf %[[M]], %{{.*}} : f32
// CHECK: arith.cmpf oeq, %[[MNEW]]
// CHECK: math.exp
// CHECK: math.exp
// CHECK: scf.for {{.*}} iter_args(%{{.*}} = %[[ACC]])
// CHECK: tensor.extract %[[V]][%[[B]], %[[HK]], %[[J]], %{{.*}}]
// CHECK: tensor.insert
// CHECK: scf.yield %{{.*}}, %[[MNEW]], %{{.*}} : tensor<8xf32>, f32, f32
// CHECK: arith.divf %{{.*}}, %[[KEYS]]#2
// CHECK: scf.forall.in_parallel
// CHECK-NEXT: tensor.parallel_insert_slice %{{.*}} into %[[O]][%[[B]], %[[H]], %[[ROW]], 0] [1, 1, 1, 8]
// CHECK: return %[[R]]
// BAD: kiln-to-linalg: attention must be scores or rows, got 'tiles'
func.func @rows_causal_gqa(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x16x16xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x4x8x8xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64, causal = true}
      : (tensor<1x4x8x16xf32>, tensor<1x2x16x16xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x8x8xf32>
  return %0 : tensor<1x4x8x8xf32>
}

// -----

// A KV cache read up to a dynamic length: the rows read the static slice
// and loop over the keys up to the length (not causal here), and a boolean
// mask broadcast from [Sq, Skv] selects -inf.
// CHECK-LABEL: func @rows_kv_prefix_mask
// CHECK-SAME: %[[LEN:[^:]*]]: index
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 0, 0] [1, 2, 64, 16] [1, 1, 1, 1] : tensor<1x2x64x16xf32> to tensor<1x2x64x16xf32>
// CHECK: scf.forall
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %[[LEN]] step
// CHECK: %[[MV:.*]] = tensor.extract %{{.*}}[%{{.*}}, %[[J]]] : tensor<1x64xi1>
// CHECK: arith.select %[[MV]]
func.func @rows_kv_prefix_mask(%q: tensor<1x2x1x16xf32>, %kc: tensor<1x2x64x16xf32>, %len: index, %m: tensor<1x64xi1>) -> tensor<1x2x1x16xf32> {
  %k = tensor.extract_slice %kc[0, 0, 0, 0] [1, 2, %len, 16] [1, 1, 1, 1] : tensor<1x2x64x16xf32> to tensor<1x2x?x16xf32>
  %0 = kiln.attention %q, %k, %k mask(%m) {scale = 0.25 : f64}
      : (tensor<1x2x1x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x64xi1>) -> tensor<1x2x1x16xf32>
  return %0 : tensor<1x2x1x16xf32>
}

// -----

// Few rows, many keys (a decode step: 2 heads, 512 keys): the keys are
// split into 4 ranges of ceil(512 / 4) keys. The first loop runs each
// (row, range) pair and leaves its unnormalized row, maximum and sum in
// [2, 4, 16 + 2]; the second combines each row's ranges, weighting range
// s by exp(m_s - max_s m_s).
// CHECK-LABEL: func @rows_split_keys
// CHECK: %[[PARTS:.*]] = scf.forall (%[[P:.*]]) in (8) shared_outs(%[[PO:.*]] = %{{.*}}) -> (tensor<2x4x18xf32>)
// CHECK: %[[ROW:.*]] = arith.divui %[[P]], %c4
// CHECK: %[[S:.*]] = arith.remui %[[P]], %c4
// CHECK: %[[CHUNK:.*]] = arith.divui %{{.*}}, %c4
// CHECK: %[[BEGIN:.*]] = arith.minui %{{.*}}, %{{.*}}
// CHECK: %[[STOP:.*]] = arith.minui %{{.*}}, %{{.*}}
// CHECK: tensor.extract_slice %[[PO]][%[[ROW]], %[[S]], 0] [1, 1, 18] [1, 1, 1] : tensor<2x4x18xf32> to tensor<18xf32>
// CHECK: %[[K:.*]]:3 = scf.for %{{.*}} = %[[BEGIN]] to %[[STOP]] step
// CHECK: %[[M:.*]] = tensor.insert %[[K]]#1 into %[[K]]#0[%c16{{.*}}]
// CHECK: tensor.insert %[[K]]#2 into %[[M]][%c17{{.*}}]
// CHECK: tensor.parallel_insert_slice
// CHECK: %[[OUT:.*]] = scf.forall (%[[R:.*]]) in (2) shared_outs
// CHECK: scf.for %{{.*}} = %{{.*}} to %c4
// CHECK: tensor.extract %[[PARTS]][%[[R]], %{{.*}}, %c16
// CHECK: arith.maximumf
// CHECK: math.exp
// CHECK: tensor.extract %[[PARTS]][%[[R]], %{{.*}}, %c17
// CHECK: return
func.func @rows_split_keys(%q: tensor<1x2x1x16xf32>, %k: tensor<1x1x512x16xf32>, %v: tensor<1x1x512x16xf32>) -> tensor<1x2x1x16xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64}
      : (tensor<1x2x1x16xf32>, tensor<1x1x512x16xf32>, tensor<1x1x512x16xf32>) -> tensor<1x2x1x16xf32>
  return %0 : tensor<1x2x1x16xf32>
}
