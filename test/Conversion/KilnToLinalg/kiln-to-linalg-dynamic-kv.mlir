// RUN: kiln-opt %s -kiln-to-linalg -split-input-file -verify-diagnostics | FileCheck %s

// A decoder's KV cache read up to a dynamic length: K and V are prefixes of
// a static cache. The decomposition reads the whole static slice (64 keys)
// and masks causally against the length: query i sees key j when
// j <= i + (len - 8), which also hides every key at or past len. The value
// contraction ignores those keys (the cache may hold anything there).
// CHECK-LABEL: func @kv_prefix_causal
// CHECK-SAME: %[[CACHE:[^:]*]]: tensor<2x1x2x64x16xf32>, %[[LEN:[^:]*]]: index
// CHECK-DAG: %[[K:.*]] = tensor.extract_slice %[[CACHE]][0, 0, 0, 0, 0] [1, 1, 2, 64, 16] [1, 1, 1, 1, 1] : tensor<2x1x2x64x16xf32> to tensor<1x2x64x16xf32>
// CHECK-DAG: %[[V:.*]] = tensor.extract_slice %[[CACHE]][1, 0, 0, 0, 0] [1, 1, 2, 64, 16] [1, 1, 1, 1, 1] : tensor<2x1x2x64x16xf32> to tensor<1x2x64x16xf32>
// CHECK: %[[S:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %[[K]] : tensor<1x2x2x8x16xf32>, tensor<1x2x64x16xf32>) outs(%{{.*}} : tensor<1x2x2x8x64xf32>)
// CHECK: %[[C8:.*]] = arith.constant 8 : index
// CHECK: %[[SHIFT:.*]] = arith.subi %[[LEN]], %[[C8]] : index
// CHECK: linalg.generic {{.*}} ins(%[[S]] : tensor<1x2x2x8x64xf32>)
// CHECK: %[[J:.*]] = linalg.index 4 : index
// CHECK: %[[I:.*]] = linalg.index 3 : index
// CHECK: %[[LIM:.*]] = arith.addi %[[I]], %[[SHIFT]] : index
// CHECK: arith.cmpi sle, %[[J]], %[[LIM]] : index
// CHECK: linalg.generic {{.*}} ins(%{{.*}}, %[[V]] : tensor<1x2x2x8x64xf32>, tensor<1x2x64x16xf32>) outs(%{{.*}} : tensor<1x2x2x8x16xf32>)
// CHECK: %[[P:.*]] = arith.mulf
// CHECK: %[[JV:.*]] = linalg.index 5 : index
// CHECK: %[[OK:.*]] = arith.cmpi slt, %[[JV]], %[[LEN]] : index
// CHECK: arith.select %[[OK]], %[[P]], %{{.*}} : f32
// CHECK-NOT: kiln.attention
func.func @kv_prefix_causal(%q: tensor<1x4x8x16xf32>, %cache: tensor<2x1x2x64x16xf32>, %len: index) -> tensor<1x4x8x16xf32> {
  %k = tensor.extract_slice %cache[0, 0, 0, 0, 0] [1, 1, 2, %len, 16] [1, 1, 1, 1, 1] : tensor<2x1x2x64x16xf32> to tensor<1x2x?x16xf32>
  %v = tensor.extract_slice %cache[1, 0, 0, 0, 0] [1, 1, 2, %len, 16] [1, 1, 1, 1, 1] : tensor<2x1x2x64x16xf32> to tensor<1x2x?x16xf32>
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64, causal = true}
      : (tensor<1x4x8x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x4x8x16xf32>
  return %0 : tensor<1x4x8x16xf32>
}

// -----

// Without the causal mask, the length alone masks the keys. The prefix
// starts at key 4 of a cache of 36, so 32 keys are read.
// CHECK-LABEL: func @kv_prefix_non_causal
// CHECK-SAME: %[[LEN:[^:]*]]: index
// CHECK: tensor.extract_slice %{{.*}}[0, 0, 4, 0] [1, 2, 32, 16] [1, 1, 1, 1] : tensor<1x2x36x16xf32> to tensor<1x2x32x16xf32>
// CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<1x2x1x1x32xf32>)
// CHECK: %[[J:.*]] = linalg.index 4 : index
// CHECK: arith.cmpi slt, %[[J]], %[[LEN]] : index
// CHECK-NOT: arith.cmpi sle
// CHECK-NOT: kiln.attention
func.func @kv_prefix_non_causal(%q: tensor<1x2x1x16xf32>, %kc: tensor<1x2x36x16xf32>, %len: index) -> tensor<1x2x1x16xf32> {
  %k = tensor.extract_slice %kc[0, 0, 4, 0] [1, 2, %len, 16] [1, 1, 1, 1] : tensor<1x2x36x16xf32> to tensor<1x2x?x16xf32>
  %v = tensor.extract_slice %kc[0, 0, 4, 0] [1, 2, %len, 16] [1, 1, 1, 1] : tensor<1x2x36x16xf32> to tensor<1x2x?x16xf32>
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64}
      : (tensor<1x2x1x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x1x16xf32>
  return %0 : tensor<1x2x1x16xf32>
}

// -----

// Near miss: a dynamic length that is no slice of a static tensor has no
// bound to decompose over.
func.func @kv_dynamic_argument(%q: tensor<1x2x1x16xf32>, %k: tensor<1x2x?x16xf32>) -> tensor<1x2x1x16xf32> {
  // expected-error @+1 {{has dynamic dimensions: the reference decomposition of attention takes a dynamic key/value length only where K and V are each a prefix}}
  %0 = kiln.attention %q, %k, %k {scale = 0.25 : f64}
      : (tensor<1x2x1x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x1x16xf32>
  return %0 : tensor<1x2x1x16xf32>
}

// -----

// Near miss: the slice is strided, so it is not a prefix.
func.func @kv_strided(%q: tensor<1x2x1x16xf32>, %kc: tensor<1x2x64x16xf32>, %len: index) -> tensor<1x2x1x16xf32> {
  %k = tensor.extract_slice %kc[0, 0, 0, 0] [1, 2, %len, 16] [1, 1, 2, 1] : tensor<1x2x64x16xf32> to tensor<1x2x?x16xf32>
  // expected-error @+1 {{has dynamic dimensions: the reference decomposition of attention}}
  %0 = kiln.attention %q, %k, %k {scale = 0.25 : f64}
      : (tensor<1x2x1x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x1x16xf32>
  return %0 : tensor<1x2x1x16xf32>
}

// -----

// Near miss: the query's length is dynamic too.
func.func @kv_dynamic_query(%q: tensor<1x2x?x16xf32>, %kc: tensor<1x2x64x16xf32>, %len: index) -> tensor<1x2x?x16xf32> {
  %k = tensor.extract_slice %kc[0, 0, 0, 0] [1, 2, %len, 16] [1, 1, 1, 1] : tensor<1x2x64x16xf32> to tensor<1x2x?x16xf32>
  // expected-error @+1 {{has dynamic dimensions: the reference decomposition of attention}}
  %0 = kiln.attention %q, %k, %k {scale = 0.25 : f64}
      : (tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>, tensor<1x2x?x16xf32>) -> tensor<1x2x?x16xf32>
  return %0 : tensor<1x2x?x16xf32>
}
