// RUN: kiln-opt %s -split-input-file -kiln-recognize-attention | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-recognize-attention="detect-causal=false absorb-grouped-kv=false" | FileCheck %s --check-prefix=NOOPT

// Multi-head attention as torch exports it: Q K^T through a transpose of
// the last two dimensions, divided by sqrt(D).
// CHECK-LABEL: func @mha
// CHECK-NEXT: %[[A:.*]] = kiln.attention %arg0, %arg1, %arg2 {scale = 1.250000e-01 : f64} : (tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
// CHECK-NEXT: return %[[A]]
func.func @mha(%q: tensor<1x4x16x64xf32>, %k: tensor<1x4x16x64xf32>, %v: tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32> {
  %c8 = kiln.constant dense<8.0> : tensor<f32>
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x16x64xf32> -> tensor<1x4x64x16xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x16x64xf32>, tensor<1x4x64x16xf32>) -> tensor<1x4x16x16xf32>
  %d = kiln.div %s, %c8 : (tensor<1x4x16x16xf32>, tensor<f32>) -> tensor<1x4x16x16xf32>
  %p = kiln.softmax %d {axis = 3 : i64} : tensor<1x4x16x16xf32>
  %o = kiln.matmul %p, %v : (tensor<1x4x16x16xf32>, tensor<1x4x16x64xf32>) -> tensor<1x4x16x64xf32>
  return %o : tensor<1x4x16x64xf32>
}

// -----

// A constant -inf upper-triangular mask is causal attention; with
// detect-causal=false it stays an explicit mask.
// CHECK-LABEL: func @causal
// CHECK: %[[A:.*]] = kiln.attention %arg0, %arg1, %arg2 {causal = true, scale = 5.000000e-01 : f64}
// CHECK-NEXT: return %[[A]]
// NOOPT-LABEL: func @causal
// NOOPT: %[[M:.*]] = kiln.constant {{.*}} : tensor<1x1x4x4xf32>
// NOOPT: kiln.attention %arg0, %arg1, %arg2 mask(%[[M]]) {scale
func.func @causal(%q: tensor<1x2x4x8xf32>, %k: tensor<1x2x4x8xf32>, %v: tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32> {
  %half = kiln.constant dense<0.5> : tensor<f32>
  %mask = kiln.constant dense<[[0.0, 0xFF800000, 0xFF800000, 0xFF800000], [0.0, 0.0, 0xFF800000, 0xFF800000], [0.0, 0.0, 0.0, 0xFF800000], [0.0, 0.0, 0.0, 0.0]]> : tensor<4x4xf32>
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x2x4x8xf32> -> tensor<1x2x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x2x4x8xf32>, tensor<1x2x8x4xf32>) -> tensor<1x2x4x4xf32>
  %d = kiln.mul %s, %half : (tensor<1x2x4x4xf32>, tensor<f32>) -> tensor<1x2x4x4xf32>
  %m = kiln.add %d, %mask : (tensor<1x2x4x4xf32>, tensor<4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x2x4x4xf32>
  %o = kiln.matmul %p, %v : (tensor<1x2x4x4xf32>, tensor<1x2x4x8xf32>) -> tensor<1x2x4x8xf32>
  return %o : tensor<1x2x4x8xf32>
}

// -----

// A mask hiding the diagonal too is not causal: it stays a mask operand.
// CHECK-LABEL: func @not_quite_causal
// CHECK: kiln.attention %arg0, %arg1, %arg2 mask(%{{.*}}) {scale
func.func @not_quite_causal(%q: tensor<1x1x2x8xf32>, %k: tensor<1x1x2x8xf32>, %v: tensor<1x1x2x8xf32>) -> tensor<1x1x2x8xf32> {
  %mask = kiln.constant dense<[[0xFF800000, 0xFF800000], [0.0, 0xFF800000]]> : tensor<2x2xf32>
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x1x2x8xf32> -> tensor<1x1x8x2xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x1x2x8xf32>, tensor<1x1x8x2xf32>) -> tensor<1x1x2x2xf32>
  %m = kiln.add %mask, %s : (tensor<2x2xf32>, tensor<1x1x2x2xf32>) -> tensor<1x1x2x2xf32>
  %p = kiln.softmax %m {axis = 3 : i64} : tensor<1x1x2x2xf32>
  %o = kiln.matmul %p, %v : (tensor<1x1x2x2xf32>, tensor<1x1x2x8xf32>) -> tensor<1x1x2x8xf32>
  return %o : tensor<1x1x2x8xf32>
}

// -----

// Grouped-query attention: repeat_kv (reshape, expand, reshape) is looked
// through so that each of the 2 KV heads is read once.
// CHECK-LABEL: func @gqa
// CHECK: %[[A:.*]] = kiln.attention %arg0, %arg1, %arg2 {scale = 2.500000e-01 : f64} : (tensor<1x4x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32>
// CHECK-NEXT: return %[[A]]
// NOOPT-LABEL: func @gqa
// NOOPT: kiln.attention %arg0, %{{.*}}, %{{.*}} {{.*}} : (tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>, tensor<1x4x8x16xf32>)
func.func @gqa(%q: tensor<1x4x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x4x8x16xf32> {
  %c4 = kiln.constant dense<4.0> : tensor<f32>
  %k1 = kiln.reshape %k : tensor<1x2x8x16xf32> to tensor<1x2x1x8x16xf32>
  %k2 = kiln.expand %k1 : tensor<1x2x1x8x16xf32> to tensor<1x2x2x8x16xf32>
  %k3 = kiln.reshape %k2 : tensor<1x2x2x8x16xf32> to tensor<1x4x8x16xf32>
  %v1 = kiln.reshape %v : tensor<1x2x8x16xf32> to tensor<1x2x1x8x16xf32>
  %v2 = kiln.expand %v1 : tensor<1x2x1x8x16xf32> to tensor<1x2x2x8x16xf32>
  %v3 = kiln.reshape %v2 : tensor<1x2x2x8x16xf32> to tensor<1x4x8x16xf32>
  %kt = kiln.transpose %k3 {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x4x8x16xf32> -> tensor<1x4x16x8xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x4x8x16xf32>, tensor<1x4x16x8xf32>) -> tensor<1x4x8x8xf32>
  %d = kiln.div %s, %c4 : (tensor<1x4x8x8xf32>, tensor<f32>) -> tensor<1x4x8x8xf32>
  %p = kiln.softmax %d {axis = 3 : i64} : tensor<1x4x8x8xf32>
  %o = kiln.matmul %p, %v3 : (tensor<1x4x8x8xf32>, tensor<1x4x8x16xf32>) -> tensor<1x4x8x16xf32>
  return %o : tensor<1x4x8x16xf32>
}

// -----

// Rank 3 ([B*H, S, D]), K^T given directly (a transpose is inserted) and
// the scale applied to Q beforehand.
// CHECK-LABEL: func @rank3
// CHECK-DAG: %[[K:.*]] = kiln.transpose %arg1 {permutation = array<i64: 0, 2, 1>} : tensor<6x32x10xf32> -> tensor<6x10x32xf32>
// CHECK-DAG: %[[Q4:.*]] = kiln.reshape %arg0 : tensor<6x10x32xf32> to tensor<6x1x10x32xf32>
// CHECK-DAG: %[[K4:.*]] = kiln.reshape %[[K]] : tensor<6x10x32xf32> to tensor<6x1x10x32xf32>
// CHECK-DAG: %[[V4:.*]] = kiln.reshape %arg2 : tensor<6x10x32xf32> to tensor<6x1x10x32xf32>
// CHECK: %[[A:.*]] = kiln.attention %[[Q4]], %[[K4]], %[[V4]] {scale = 3.000000e+00 : f64}
// CHECK: kiln.reshape %[[A]] : tensor<6x1x10x32xf32> to tensor<6x10x32xf32>
func.func @rank3(%q: tensor<6x10x32xf32>, %kt: tensor<6x32x10xf32>, %v: tensor<6x10x32xf32>) -> tensor<6x10x32xf32> {
  %c3 = kiln.constant dense<3.0> : tensor<f32>
  %qs = kiln.mul %q, %c3 : (tensor<6x10x32xf32>, tensor<f32>) -> tensor<6x10x32xf32>
  %s = kiln.matmul %qs, %kt : (tensor<6x10x32xf32>, tensor<6x32x10xf32>) -> tensor<6x10x10xf32>
  %p = kiln.softmax %s {axis = 2 : i64} : tensor<6x10x10xf32>
  %o = kiln.matmul %p, %v : (tensor<6x10x10xf32>, tensor<6x10x32xf32>) -> tensor<6x10x32xf32>
  return %o : tensor<6x10x32xf32>
}

// -----

// Boolean masks: select(m, s, -inf) keeps where m; select(m, -inf, s)
// (masked_fill) hides where m.
// CHECK-LABEL: func @bool_masks
// CHECK: %[[M1:.*]] = kiln.reshape %arg3 : tensor<4x4xi1> to tensor<1x1x4x4xi1>
// CHECK: kiln.attention %arg0, %arg1, %arg2 mask(%[[M1]]) {scale
// CHECK: %[[N:.*]] = kiln.not %arg3 : tensor<4x4xi1>
// CHECK: %[[M2:.*]] = kiln.reshape %[[N]]
// CHECK: kiln.attention %arg0, %arg1, %arg2 mask(%[[M2]]) {scale
func.func @bool_masks(%q: tensor<1x1x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>, %m: tensor<4x4xi1>) -> (tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>) {
  %ninf = kiln.constant dense<0xFF800000> : tensor<f32>
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x1x4x8xf32> -> tensor<1x1x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x1x4x8xf32>, tensor<1x1x8x4xf32>) -> tensor<1x1x4x4xf32>
  %a = kiln.select %m, %s, %ninf : (tensor<4x4xi1>, tensor<1x1x4x4xf32>, tensor<f32>) -> tensor<1x1x4x4xf32>
  %pa = kiln.softmax %a {axis = 3 : i64} : tensor<1x1x4x4xf32>
  %oa = kiln.matmul %pa, %v : (tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  %s2 = kiln.matmul %q, %kt : (tensor<1x1x4x8xf32>, tensor<1x1x8x4xf32>) -> tensor<1x1x4x4xf32>
  %b = kiln.select %m, %ninf, %s2 : (tensor<4x4xi1>, tensor<f32>, tensor<1x1x4x4xf32>) -> tensor<1x1x4x4xf32>
  %pb = kiln.softmax %b {axis = 3 : i64} : tensor<1x1x4x4xf32>
  %ob = kiln.matmul %pb, %v : (tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  return %oa, %ob : tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>
}

// -----

// HF GPT-2 fills with the most negative float: exact only for a causal
// mask (no row is fully masked), which it is here.
// CHECK-LABEL: func @finite_fill_causal
// CHECK: kiln.attention %arg0, %arg1, %arg2 {causal = true
func.func @finite_fill_causal(%q: tensor<1x1x3x8xf32>, %k: tensor<1x1x3x8xf32>, %v: tensor<1x1x3x8xf32>) -> tensor<1x1x3x8xf32> {
  %min = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %tri = kiln.constant dense<[[true, false, false], [true, true, false], [true, true, true]]> : tensor<3x3xi1>
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x1x3x8xf32> -> tensor<1x1x8x3xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x1x3x8xf32>, tensor<1x1x8x3xf32>) -> tensor<1x1x3x3xf32>
  %a = kiln.select %tri, %s, %min : (tensor<3x3xi1>, tensor<1x1x3x3xf32>, tensor<f32>) -> tensor<1x1x3x3xf32>
  %p = kiln.softmax %a {axis = 3 : i64} : tensor<1x1x3x3xf32>
  %o = kiln.matmul %p, %v : (tensor<1x1x3x3xf32>, tensor<1x1x3x8xf32>) -> tensor<1x1x3x8xf32>
  return %o : tensor<1x1x3x8xf32>
}

// -----

// Near-misses, all left alone: the probabilities are also returned; the
// softmax runs over the queries; a finite fill with a mask that is not
// causal (a fully masked row would differ); Q's batch broadcasts; the mask
// broadcasts the scores to a bigger shape.
// CHECK-LABEL: func @near_misses
// CHECK-NOT: kiln.attention
// CHECK: return
func.func @near_misses(%q: tensor<1x1x4x8xf32>, %k: tensor<1x1x4x8xf32>, %v: tensor<1x1x4x8xf32>, %m: tensor<4x4xi1>, %k2: tensor<2x1x4x8xf32>, %v2: tensor<2x1x4x8xf32>, %fm: tensor<3x1x4x4xf32>) -> (tensor<1x1x4x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<3x1x4x8xf32>) {
  %min = kiln.constant dense<-3.40282347E+38> : tensor<f32>
  %kt = kiln.transpose %k {permutation = array<i64: 0, 1, 3, 2>} : tensor<1x1x4x8xf32> -> tensor<1x1x8x4xf32>
  %s = kiln.matmul %q, %kt : (tensor<1x1x4x8xf32>, tensor<1x1x8x4xf32>) -> tensor<1x1x4x4xf32>
  %p = kiln.softmax %s {axis = 3 : i64} : tensor<1x1x4x4xf32>
  %o1 = kiln.matmul %p, %v : (tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  %p2 = kiln.softmax %s {axis = 2 : i64} : tensor<1x1x4x4xf32>
  %o2 = kiln.matmul %p2, %v : (tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  %a = kiln.select %m, %s, %min : (tensor<4x4xi1>, tensor<1x1x4x4xf32>, tensor<f32>) -> tensor<1x1x4x4xf32>
  %p3 = kiln.softmax %a {axis = 3 : i64} : tensor<1x1x4x4xf32>
  %o3 = kiln.matmul %p3, %v : (tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<1x1x4x8xf32>
  %kt2 = kiln.transpose %k2 {permutation = array<i64: 0, 1, 3, 2>} : tensor<2x1x4x8xf32> -> tensor<2x1x8x4xf32>
  %s4 = kiln.matmul %q, %kt2 : (tensor<1x1x4x8xf32>, tensor<2x1x8x4xf32>) -> tensor<2x1x4x4xf32>
  %p4 = kiln.softmax %s4 {axis = 3 : i64} : tensor<2x1x4x4xf32>
  %o4 = kiln.matmul %p4, %v2 : (tensor<2x1x4x4xf32>, tensor<2x1x4x8xf32>) -> tensor<2x1x4x8xf32>
  %s5 = kiln.matmul %q, %kt : (tensor<1x1x4x8xf32>, tensor<1x1x8x4xf32>) -> tensor<1x1x4x4xf32>
  %a5 = kiln.add %s5, %fm : (tensor<1x1x4x4xf32>, tensor<3x1x4x4xf32>) -> tensor<3x1x4x4xf32>
  %p5 = kiln.softmax %a5 {axis = 3 : i64} : tensor<3x1x4x4xf32>
  %o5 = kiln.matmul %p5, %v : (tensor<3x1x4x4xf32>, tensor<1x1x4x8xf32>) -> tensor<3x1x4x8xf32>
  return %o1, %p, %o2, %o3, %o4, %o5 : tensor<1x1x4x8xf32>, tensor<1x1x4x4xf32>, tensor<1x1x4x8xf32>, tensor<1x1x4x8xf32>, tensor<2x1x4x8xf32>, tensor<3x1x4x8xf32>
}
