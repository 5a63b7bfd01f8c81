// RUN: kiln-opt %s -split-input-file -kiln-use-ukernels | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-use-ukernels="epilogues=false" | FileCheck %s --check-prefix=NOEPI
// RUN: kiln-opt %s -split-input-file -kiln-use-ukernels="matmul=false attention=false" | FileCheck %s --check-prefix=OFF
// RUN: kiln-opt %s -split-input-file -kiln-use-ukernels="ssm=false" | FileCheck %s --check-prefix=NOSSM
// RUN: kiln-opt %s -split-input-file -kiln-use-ukernels="matmul=false ssm=false attention-min-queries=16" | FileCheck %s --check-prefix=MINQ
// RUN: kiln-opt %s -split-input-file -kiln-use-ukernels="matmul=false causal-conv1d=false" | FileCheck %s --check-prefix=NOCONV

// A linear layer with its bias, GELU and residual: one call.
// CHECK-LABEL: func @mlp_epilogue
// CHECK-DAG: %[[A:.*]] = kiln.reshape %arg0 : tensor<16x64xf32> to tensor<1x16x64xf32>
// CHECK-DAG: %[[B:.*]] = kiln.reshape %arg1 : tensor<64x32xf32> to tensor<1x64x32xf32>
// CHECK-DAG: %[[R:.*]] = kiln.reshape %arg3 : tensor<16x32xf32> to tensor<1x16x32xf32>
// CHECK-DAG: %[[F:.*]] = arith.constant 513 : i64
// CHECK: %[[C:.*]] = kiln_rt.ukernel "kiln_uk_matmul_bias_f32" ins(%[[A]], %[[B]], %arg2, %[[F]] : tensor<1x16x64xf32>, tensor<1x64x32xf32>, tensor<32xf32>, i64) outs(%[[R]] : tensor<1x16x32xf32>)
// CHECK: %[[O:.*]] = kiln.reshape %[[C]] : tensor<1x16x32xf32> to tensor<16x32xf32>
// CHECK-NEXT: return %[[O]]
// NOEPI-LABEL: func @mlp_epilogue
// NOEPI: kiln_rt.ukernel "kiln_uk_matmul_f32"
// NOEPI: kiln.add
// NOEPI: kiln.gelu
// NOEPI: kiln.add
// OFF-LABEL: func @mlp_epilogue
// OFF-NOT: kiln_rt.ukernel
func.func @mlp_epilogue(%x: tensor<16x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>, %res: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %0 = kiln.matmul %x, %w : (tensor<16x64xf32>, tensor<64x32xf32>) -> tensor<16x32xf32>
  %1 = kiln.add %0, %b : (tensor<16x32xf32>, tensor<32xf32>) -> tensor<16x32xf32>
  %2 = kiln.gelu %1 : tensor<16x32xf32>
  %3 = kiln.add %res, %2 : (tensor<16x32xf32>, tensor<16x32xf32>) -> tensor<16x32xf32>
  return %3 : tensor<16x32xf32>
}

// -----

// Batched matmul with a shared weight: batch 2*3 for A and C, 1 for B;
// SiLU without bias; the product is used twice so nothing is folded after.
// CHECK-LABEL: func @batched
// CHECK-DAG: kiln.reshape %arg0 : tensor<2x3x4x8xf32> to tensor<6x4x8xf32>
// CHECK-DAG: kiln.reshape %arg1 : tensor<8x5xf32> to tensor<1x8x5xf32>
// CHECK-DAG: %[[E:.*]] = tensor.empty() : tensor<6x4x5xf32>
// CHECK-DAG: %[[F:.*]] = arith.constant 0 : i64
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_f32" ins({{.*}}, %[[F]] : tensor<6x4x8xf32>, tensor<1x8x5xf32>, i64) outs(%[[E]] : tensor<6x4x5xf32>)
// CHECK: kiln.silu
func.func @batched(%x: tensor<2x3x4x8xf32>, %w: tensor<8x5xf32>) -> (tensor<2x3x4x5xf32>, tensor<2x3x4x5xf32>) {
  %0 = kiln.matmul %x, %w : (tensor<2x3x4x8xf32>, tensor<8x5xf32>) -> tensor<2x3x4x5xf32>
  %1 = kiln.silu %0 : tensor<2x3x4x5xf32>
  return %0, %1 : tensor<2x3x4x5xf32>, tensor<2x3x4x5xf32>
}

// -----

// bf16 operands with an f32 result; the bias stays an add (no bf16 bias
// kernel).
// CHECK-LABEL: func @bf16
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_bf16"
// CHECK: kiln.add
func.func @bf16(%x: tensor<4x8xbf16>, %w: tensor<8x16xbf16>, %b: tensor<16xf32>) -> tensor<4x16xf32> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xbf16>, tensor<8x16xbf16>) -> tensor<4x16xf32>
  %1 = kiln.add %0, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  return %1 : tensor<4x16xf32>
}

// -----

// A bf16 product (ONNX's bf16 MatMul) accumulates in fp32 in the kernel and
// is rounded to bf16 once after it; the add stays (no bf16 epilogues).
// CHECK-LABEL: func @bf16_result
// CHECK: %[[C:.*]] = kiln_rt.ukernel "kiln_uk_matmul_bf16"{{.*}} -> tensor<1x4x16xf32>
// CHECK: %[[R:.*]] = kiln.reshape %[[C]]
// CHECK: %[[B:.*]] = kiln.cast %[[R]] : tensor<4x16xf32> to tensor<4x16xbf16>
// CHECK: kiln.add %[[B]]
func.func @bf16_result(%x: tensor<4x8xbf16>, %w: tensor<8x16xbf16>, %b: tensor<16xbf16>) -> tensor<4x16xbf16> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xbf16>, tensor<8x16xbf16>) -> tensor<4x16xbf16>
  %1 = kiln.add %0, %b : (tensor<4x16xbf16>, tensor<16xbf16>) -> tensor<4x16xbf16>
  return %1 : tensor<4x16xbf16>
}

// -----

// Near-misses: integer matmuls, mixed batch broadcasting, and an add that
// broadcasts the product (not a bias) stay kiln ops.
// CHECK-LABEL: func @near_misses
// CHECK-NOT: kiln_rt.ukernel
// CHECK: return
func.func @near_misses(%a: tensor<4x8xi8>, %b: tensor<8x4xi8>, %x: tensor<2x1x4x8xf32>, %y: tensor<1x3x8x4xf32>) -> (tensor<4x4xi32>, tensor<2x3x4x4xf32>) {
  %0 = kiln.matmul %a, %b : (tensor<4x8xi8>, tensor<8x4xi8>) -> tensor<4x4xi32>
  %1 = kiln.matmul %x, %y : (tensor<2x1x4x8xf32>, tensor<1x3x8x4xf32>) -> tensor<2x3x4x4xf32>
  return %0, %1 : tensor<4x4xi32>, tensor<2x3x4x4xf32>
}

// -----

// A bias of the wrong length (a per-row add) is not folded.
// CHECK-LABEL: func @row_add
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_f32"
// CHECK: kiln.add
func.func @row_add(%x: tensor<4x8xf32>, %w: tensor<8x16xf32>, %r: tensor<4x1xf32>) -> tensor<4x16xf32> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = kiln.add %0, %r : (tensor<4x16xf32>, tensor<4x1xf32>) -> tensor<4x16xf32>
  return %1 : tensor<4x16xf32>
}

// -----

// Attention: causal without a mask, with a float mask (rank 2, made rank
// 4), with a boolean mask; f16 attention stays.
// CHECK-LABEL: func @attention
// CHECK-DAG: %[[S:.*]] = arith.constant 1.250000e-01 : f64
// CHECK-DAG: %[[C:.*]] = arith.constant 1 : i64
// CHECK: kiln_rt.ukernel "kiln_uk_attention_f32" ins(%arg0, %arg1, %arg2, %[[S]], %[[C]] : tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, f64, i64) outs(%{{.*}} : tensor<1x4x16x8xf32>)
// CHECK: %[[M:.*]] = kiln.reshape %arg3 : tensor<16x16xf32> to tensor<1x1x16x16xf32>
// CHECK: kiln_rt.ukernel "kiln_uk_attention_mask_f32" ins(%arg0, %arg1, %arg2, %[[M]],
// CHECK: kiln_rt.ukernel "kiln_uk_attention_boolmask_f32" ins(%arg0, %arg1, %arg2, %arg4,
// CHECK: kiln.attention {{.*}} -> tensor<1x1x4x8xf16>
// OFF-LABEL: func @attention
// OFF-NOT: kiln_rt.ukernel
// With attention-min-queries=16, 16 queries per head are enough.
// MINQ-LABEL: func @attention
// MINQ-COUNT-3: kiln_rt.ukernel "kiln_uk_attention
func.func @attention(%q: tensor<1x4x16x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>, %m: tensor<16x16xf32>, %bm: tensor<1x4x16x16xi1>, %h: tensor<1x1x4x8xf16>) -> (tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x1x4x8xf16>) {
  %0 = kiln.attention %q, %k, %v {scale = 0.125 : f64, causal = true} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x4x16x8xf32>
  %1 = kiln.attention %q, %k, %v mask(%m) {scale = 0.125 : f64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<16x16xf32>) -> tensor<1x4x16x8xf32>
  %2 = kiln.attention %q, %k, %v mask(%bm) {scale = 0.125 : f64} : (tensor<1x4x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>, tensor<1x4x16x16xi1>) -> tensor<1x4x16x8xf32>
  %3 = kiln.attention %h, %h, %h {scale = 0.5 : f64} : (tensor<1x1x4x8xf16>, tensor<1x1x4x8xf16>, tensor<1x1x4x8xf16>) -> tensor<1x1x4x8xf16>
  return %0, %1, %2, %3 : tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x4x16x8xf32>, tensor<1x1x4x8xf16>
}

// -----

// A near-miss of attention-min-queries: 15 queries per head stay.
// MINQ-LABEL: func @attention_few_queries
// MINQ-NOT: kiln_rt.ukernel
// MINQ: kiln.attention
// CHECK-LABEL: func @attention_few_queries
// CHECK: kiln_rt.ukernel "kiln_uk_attention_f32"
func.func @attention_few_queries(%q: tensor<1x2x15x8xf32>, %k: tensor<1x2x16x8xf32>, %v: tensor<1x2x16x8xf32>) -> tensor<1x2x15x8xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.125 : f64, causal = true} : (tensor<1x2x15x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x16x8xf32>) -> tensor<1x2x15x8xf32>
  return %0 : tensor<1x2x15x8xf32>
}

// -----

// Decode with a past KV cache: K and V concatenated from the cache and the
// new token along the sequence; the kernel reads the parts and the
// concatenations go (kept where something else uses them: the present
// cache returned). Near misses: K and V split at different lengths, a
// concatenation along another dimension, three parts.
// CHECK-LABEL: func @attention_kv_cache
// CHECK-SAME: (%[[Q:.*]]: tensor<1x4x1x8xf32>, %[[PK:.*]]: tensor<1x2x16x8xf32>, %[[PV:.*]]: tensor<1x2x16x8xf32>, %[[K:.*]]: tensor<1x2x1x8xf32>, %[[V:.*]]: tensor<1x2x1x8xf32>, %[[M:.*]]: tensor<1x1x1x17xi1>)
// CHECK: %[[PRESENT:.*]] = kiln.concat %[[PK]], %[[K]]
// CHECK-NOT: kiln.concat %[[PV]], %[[V]]
// CHECK: kiln_rt.ukernel "kiln_uk_attention_kv2_f32" ins(%[[Q]], %[[PK]], %[[K]], %[[PV]], %[[V]], %{{.*}}, %{{.*}} : tensor<1x4x1x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x1x8xf32>, tensor<1x2x16x8xf32>, tensor<1x2x1x8xf32>, f64, i64)
// CHECK: kiln_rt.ukernel "kiln_uk_attention_kv2_boolmask_f32" ins(%[[Q]], %[[PK]], %[[K]], %[[PV]], %[[V]], %[[M]],
// CHECK: %[[V2:.*]] = kiln.concat %{{.*}}, %{{.*}} {axis = 2 : i64} : (tensor<1x2x15x8xf32>, tensor<1x2x2x8xf32>)
// CHECK: kiln_rt.ukernel "kiln_uk_attention_f32" ins(%[[Q]], %[[PRESENT]], %[[V2]],
// CHECK: %[[QD:.*]] = kiln.concat %[[Q]], %[[Q]] {axis = 3 : i64}
// CHECK: %[[KD:.*]] = kiln.concat %[[K]], %[[K]] {axis = 3 : i64}
// CHECK: %[[VD:.*]] = kiln.concat %[[V]], %[[V]] {axis = 3 : i64}
// CHECK: kiln_rt.ukernel "kiln_uk_attention_f32" ins(%[[QD]], %[[KD]], %[[VD]],
// CHECK: %[[K3:.*]] = kiln.concat {{.*}} : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x1x8xf32>)
// CHECK: %[[V3:.*]] = kiln.concat {{.*}} : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x1x8xf32>)
// CHECK: kiln_rt.ukernel "kiln_uk_attention_f32" ins(%[[Q]], %[[K3]], %[[V3]],
func.func @attention_kv_cache(%q: tensor<1x4x1x8xf32>, %pk: tensor<1x2x16x8xf32>, %pv: tensor<1x2x16x8xf32>, %k: tensor<1x2x1x8xf32>, %v: tensor<1x2x1x8xf32>, %m: tensor<1x1x1x17xi1>) -> (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x8xf32>, tensor<1x2x17x8xf32>) {
  %kc = kiln.concat %pk, %k {axis = 2 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x17x8xf32>
  %vc = kiln.concat %pv, %v {axis = 2 : i64} : (tensor<1x2x16x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x17x8xf32>
  %0 = kiln.attention %q, %kc, %vc {scale = 0.125 : f64, causal = true} : (tensor<1x4x1x8xf32>, tensor<1x2x17x8xf32>, tensor<1x2x17x8xf32>) -> tensor<1x4x1x8xf32>
  %1 = kiln.attention %q, %kc, %vc mask(%m) {scale = 0.125 : f64} : (tensor<1x4x1x8xf32>, tensor<1x2x17x8xf32>, tensor<1x2x17x8xf32>, tensor<1x1x1x17xi1>) -> tensor<1x4x1x8xf32>
  %pv15 = kiln.slice %pv {sizes = array<i64: 1, 2, 15, 8>, starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x16x8xf32> -> tensor<1x2x15x8xf32>
  %v2 = kiln.concat %v, %v {axis = 2 : i64} : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x2x8xf32>
  %vc2 = kiln.concat %pv15, %v2 {axis = 2 : i64} : (tensor<1x2x15x8xf32>, tensor<1x2x2x8xf32>) -> tensor<1x2x17x8xf32>
  %2 = kiln.attention %q, %kc, %vc2 {scale = 0.125 : f64} : (tensor<1x4x1x8xf32>, tensor<1x2x17x8xf32>, tensor<1x2x17x8xf32>) -> tensor<1x4x1x8xf32>
  %qd = kiln.concat %q, %q {axis = 3 : i64} : (tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>) -> tensor<1x4x1x16xf32>
  %kd = kiln.concat %k, %k {axis = 3 : i64} : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x1x16xf32>
  %vd = kiln.concat %v, %v {axis = 3 : i64} : (tensor<1x2x1x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x1x16xf32>
  %3 = kiln.attention %qd, %kd, %vd {scale = 0.125 : f64} : (tensor<1x4x1x16xf32>, tensor<1x2x1x16xf32>, tensor<1x2x1x16xf32>) -> tensor<1x4x1x16xf32>
  %pk8 = kiln.slice %pk {sizes = array<i64: 1, 2, 8, 8>, starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x16x8xf32> -> tensor<1x2x8x8xf32>
  %pv8 = kiln.slice %pv {sizes = array<i64: 1, 2, 8, 8>, starts = array<i64: 0, 0, 0, 0>, steps = array<i64: 1, 1, 1, 1>} : tensor<1x2x16x8xf32> -> tensor<1x2x8x8xf32>
  %k3 = kiln.concat %pk8, %pk8, %k {axis = 2 : i64} : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x17x8xf32>
  %v3 = kiln.concat %pv8, %pv8, %v {axis = 2 : i64} : (tensor<1x2x8x8xf32>, tensor<1x2x8x8xf32>, tensor<1x2x1x8xf32>) -> tensor<1x2x17x8xf32>
  %4 = kiln.attention %q, %k3, %v3 {scale = 0.125 : f64} : (tensor<1x4x1x8xf32>, tensor<1x2x17x8xf32>, tensor<1x2x17x8xf32>) -> tensor<1x4x1x8xf32>
  return %0, %1, %2, %3, %4, %kc : tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x8xf32>, tensor<1x4x1x16xf32>, tensor<1x4x1x8xf32>, tensor<1x2x17x8xf32>
}

// -----

// Mamba's selective scan with every optional operand: the kernel takes u,
// delta, B, C and z time-major, so the transposes that made them
// channel-major are absorbed (it reads the arguments), and so is the one that
// makes y time-major again. Flags: D 1 | z 2 | delta_bias 4 | state 8 |
// softplus 16.
// CHECK-LABEL: func @selective_scan
// CHECK-DAG: %[[F:.*]] = arith.constant 31 : i64
// CHECK-DAG: %[[Y0:.*]] = tensor.empty() : tensor<1x8x32xf32>
// CHECK-DAG: %[[H0:.*]] = tensor.empty() : tensor<1x32x4xf32>
// CHECK-NOT: kiln.transpose
// CHECK: %[[R:.*]]:2 = kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%arg0, %arg1, %arg2, %arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %[[F]] : tensor<1x8x32xf32>, tensor<1x8x32xf32>, tensor<32x4xf32>, tensor<1x8x4xf32>, tensor<1x8x4xf32>, tensor<32xf32>, tensor<1x8x32xf32>, tensor<32xf32>, tensor<1x32x4xf32>, i64) outs(%[[Y0]], %[[H0]] : tensor<1x8x32xf32>, tensor<1x32x4xf32>)
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1
// NOSSM-LABEL: func @selective_scan
// NOSSM-NOT: kiln_rt.ukernel
// NOSSM: kiln.selective_scan
// OFF-LABEL: func @selective_scan
// OFF: kiln_rt.ukernel "kiln_uk_selective_scan_f32"
// NOCONV-LABEL: func @selective_scan
// NOCONV: kiln_rt.ukernel "kiln_uk_selective_scan_f32"
func.func @selective_scan(%u: tensor<1x8x32xf32>, %dt: tensor<1x8x32xf32>, %A: tensor<32x4xf32>, %B: tensor<1x8x4xf32>, %C: tensor<1x8x4xf32>, %D: tensor<32xf32>, %z: tensor<1x8x32xf32>, %bias: tensor<32xf32>, %h: tensor<1x32x4xf32>) -> (tensor<1x8x32xf32>, tensor<1x32x4xf32>) {
  %ut = kiln.transpose %u {permutation = array<i64: 0, 2, 1>} : tensor<1x8x32xf32> -> tensor<1x32x8xf32>
  %dtt = kiln.transpose %dt {permutation = array<i64: 0, 2, 1>} : tensor<1x8x32xf32> -> tensor<1x32x8xf32>
  %Bt = kiln.transpose %B {permutation = array<i64: 0, 2, 1>} : tensor<1x8x4xf32> -> tensor<1x4x8xf32>
  %Ct = kiln.transpose %C {permutation = array<i64: 0, 2, 1>} : tensor<1x8x4xf32> -> tensor<1x4x8xf32>
  %zt = kiln.transpose %z {permutation = array<i64: 0, 2, 1>} : tensor<1x8x32xf32> -> tensor<1x32x8xf32>
  %y, %hn = kiln.selective_scan %ut, %dtt, %A, %Bt, %Ct D(%D) z(%zt) delta_bias(%bias) state(%h) {delta_softplus = true} : (tensor<1x32x8xf32>, tensor<1x32x8xf32>, tensor<32x4xf32>, tensor<1x4x8xf32>, tensor<1x4x8xf32>, tensor<32xf32>, tensor<1x32x8xf32>, tensor<32xf32>, tensor<1x32x4xf32>) -> (tensor<1x32x8xf32>, tensor<1x32x4xf32>)
  %yt = kiln.transpose %y {permutation = array<i64: 0, 2, 1>} : tensor<1x32x8xf32> -> tensor<1x8x32xf32>
  return %yt, %hn : tensor<1x8x32xf32>, tensor<1x32x4xf32>
}

// -----

// Without optional operands (flags 0; absent ones are passed as ignored
// placeholders) and with channel-major arguments: transposes to time-major
// in front, and y is transposed back.
// CHECK-LABEL: func @selective_scan_plain
// CHECK-DAG: %[[F:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[P3:.*]] = kiln.constant dense<0.000000e+00> : tensor<1x1x1xf32>
// CHECK-DAG: %[[P1:.*]] = kiln.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK-DAG: %[[U:.*]] = kiln.transpose %arg0 {permutation = array<i64: 0, 2, 1>} : tensor<2x16x5xf32> -> tensor<2x5x16xf32>
// CHECK-DAG: %[[DT:.*]] = kiln.transpose %arg1 {permutation = array<i64: 0, 2, 1>} : tensor<2x16x5xf32> -> tensor<2x5x16xf32>
// CHECK-DAG: %[[B:.*]] = kiln.transpose %arg3 {permutation = array<i64: 0, 2, 1>} : tensor<2x4x5xf32> -> tensor<2x5x4xf32>
// CHECK-DAG: %[[C:.*]] = kiln.transpose %arg4 {permutation = array<i64: 0, 2, 1>} : tensor<2x4x5xf32> -> tensor<2x5x4xf32>
// CHECK: %[[R:.*]]:2 = kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%[[U]], %[[DT]], %arg2, %[[B]], %[[C]], %[[P1]], %[[P3]], %[[P1]], %[[P3]], %[[F]] :
// CHECK-SAME: outs(%{{.*}}, %{{.*}} : tensor<2x5x16xf32>, tensor<2x16x4xf32>)
// CHECK-NEXT: %[[Y:.*]] = kiln.transpose %[[R]]#0 {permutation = array<i64: 0, 2, 1>} : tensor<2x5x16xf32> -> tensor<2x16x5xf32>
// CHECK-NEXT: return %[[Y]]
func.func @selective_scan_plain(%u: tensor<2x16x5xf32>, %dt: tensor<2x16x5xf32>, %A: tensor<16x4xf32>, %B: tensor<2x4x5xf32>, %C: tensor<2x4x5xf32>) -> tensor<2x16x5xf32> {
  %y, %hn = kiln.selective_scan %u, %dt, %A, %B, %C : (tensor<2x16x5xf32>, tensor<2x16x5xf32>, tensor<16x4xf32>, tensor<2x4x5xf32>, tensor<2x4x5xf32>) -> (tensor<2x16x5xf32>, tensor<2x16x4xf32>)
  return %y : tensor<2x16x5xf32>
}

// -----

// Causal conv1d with bias, state and SiLU (flags bias 1 | state 2 | silu 4);
// the transposes around it are absorbed.
// CHECK-LABEL: func @causal_conv1d
// CHECK-DAG: %[[F:.*]] = arith.constant 7 : i64
// CHECK-NOT: kiln.transpose
// CHECK: %[[R:.*]]:2 = kiln_rt.ukernel "kiln_uk_causal_conv1d_f32" ins(%arg0, %arg1, %arg2, %arg3, %[[F]] : tensor<1x6x32xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<1x32x3xf32>, i64) outs(%{{.*}}, %{{.*}} : tensor<1x6x32xf32>, tensor<1x32x3xf32>)
// CHECK-NEXT: return %[[R]]#0, %[[R]]#1
// NOSSM-LABEL: func @causal_conv1d
// NOSSM-NOT: kiln_rt.ukernel
// NOSSM: kiln.causal_conv1d
// NOCONV-LABEL: func @causal_conv1d
// NOCONV-NOT: kiln_rt.ukernel
// NOCONV: kiln.causal_conv1d
func.func @causal_conv1d(%x: tensor<1x6x32xf32>, %w: tensor<32x4xf32>, %b: tensor<32xf32>, %s: tensor<1x32x3xf32>) -> (tensor<1x6x32xf32>, tensor<1x32x3xf32>) {
  %xt = kiln.transpose %x {permutation = array<i64: 0, 2, 1>} : tensor<1x6x32xf32> -> tensor<1x32x6xf32>
  %y, %sn = kiln.causal_conv1d %xt, %w bias(%b) state(%s) activation silu : (tensor<1x32x6xf32>, tensor<32x4xf32>, tensor<32xf32>, tensor<1x32x3xf32>) -> (tensor<1x32x6xf32>, tensor<1x32x3xf32>)
  %yt = kiln.transpose %y {permutation = array<i64: 0, 2, 1>} : tensor<1x32x6xf32> -> tensor<1x6x32xf32>
  return %yt, %sn : tensor<1x6x32xf32>, tensor<1x32x3xf32>
}

// -----

// Neither bias nor state nor activation, channel-major input.
// CHECK-LABEL: func @causal_conv1d_plain
// CHECK-DAG: %[[F:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[X:.*]] = kiln.transpose %arg0 {permutation = array<i64: 0, 2, 1>} : tensor<1x32x6xf32> -> tensor<1x6x32xf32>
// CHECK: %[[R:.*]]:2 = kiln_rt.ukernel "kiln_uk_causal_conv1d_f32" ins(%[[X]], %arg1, %{{.*}}, %{{.*}}, %[[F]] :
// CHECK-NEXT: %[[Y:.*]] = kiln.transpose %[[R]]#0 {permutation = array<i64: 0, 2, 1>} : tensor<1x6x32xf32> -> tensor<1x32x6xf32>
// CHECK-NEXT: return %[[Y]]
func.func @causal_conv1d_plain(%x: tensor<1x32x6xf32>, %w: tensor<32x4xf32>) -> tensor<1x32x6xf32> {
  %y, %sn = kiln.causal_conv1d %x, %w : (tensor<1x32x6xf32>, tensor<32x4xf32>) -> (tensor<1x32x6xf32>, tensor<1x32x3xf32>)
  return %y : tensor<1x32x6xf32>
}

// -----

// Near-misses: an f16 scan and a conv1d with a dynamic length keep their
// linalg lowering.
// CHECK-LABEL: func @ssm_near_misses
// CHECK-NOT: kiln_rt.ukernel
// CHECK: kiln.selective_scan
// CHECK-NOT: kiln_rt.ukernel
// CHECK: kiln.causal_conv1d
// CHECK-NOT: kiln_rt.ukernel
// CHECK: return
func.func @ssm_near_misses(%u: tensor<1x16x5xf16>, %dt: tensor<1x16x5xf16>, %A: tensor<16x4xf16>, %B: tensor<1x4x5xf16>, %C: tensor<1x4x5xf16>, %x: tensor<1x16x?xf32>, %w: tensor<16x4xf32>) -> (tensor<1x16x5xf16>, tensor<1x16x?xf32>) {
  %y, %hn = kiln.selective_scan %u, %dt, %A, %B, %C : (tensor<1x16x5xf16>, tensor<1x16x5xf16>, tensor<16x4xf16>, tensor<1x4x5xf16>, tensor<1x4x5xf16>) -> (tensor<1x16x5xf16>, tensor<1x16x4xf16>)
  %c, %s = kiln.causal_conv1d %x, %w : (tensor<1x16x?xf32>, tensor<16x4xf32>) -> (tensor<1x16x?xf32>, tensor<1x16x3xf32>)
  return %y, %c : tensor<1x16x5xf16>, tensor<1x16x?xf32>
}

// -----

// An int8 quantized linear layer with its bias, SiLU and residual: one call
// of the int8 kernel (flags: accumulate 1 | bias 4 | silu 4 << 8).
// CHECK-LABEL: func @qmatmul_epilogue
// CHECK: %[[F:.*]] = arith.constant 1029 : i64
// CHECK: %[[C:.*]] = kiln_rt.ukernel "kiln_uk_matmul_q8_f32" ins(%arg0, %arg1, %arg2, %arg3, %[[F]] : tensor<1x4x64xf32>, tensor<2x64x64xi8>, tensor<1x100xf32>, tensor<100xf32>, i64) outs(%arg4 : tensor<1x4x100xf32>)
// CHECK-NEXT: return %[[C]]
// NOEPI-LABEL: func @qmatmul_epilogue
// NOEPI: kiln_rt.ukernel "kiln_uk_matmul_q8_f32"
// NOEPI: kiln.add
// NOEPI: kiln.silu
// NOEPI: kiln.add
// OFF-LABEL: func @qmatmul_epilogue
// OFF-NOT: kiln_rt.ukernel
// OFF: kiln.qmatmul
func.func @qmatmul_epilogue(%x: tensor<1x4x64xf32>, %w: tensor<2x64x64xi8>, %s: tensor<1x100xf32>, %b: tensor<100xf32>, %res: tensor<1x4x100xf32>) -> tensor<1x4x100xf32> {
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 64 : i64} : (tensor<1x4x64xf32>, tensor<2x64x64xi8>, tensor<1x100xf32>) -> tensor<1x4x100xf32>
  %1 = kiln.add %0, %b : (tensor<1x4x100xf32>, tensor<100xf32>) -> tensor<1x4x100xf32>
  %2 = kiln.silu %1 : tensor<1x4x100xf32>
  %3 = kiln.add %2, %res : (tensor<1x4x100xf32>, tensor<1x4x100xf32>) -> tensor<1x4x100xf32>
  return %3 : tensor<1x4x100xf32>
}

// -----

// int4 with zero points, 2-D activations, no epilogue (flags: zero points
// 8); int4 without zero points gets a stand-in operand and flags 0.
// CHECK-LABEL: func @qmatmul_int4
// CHECK-DAG: %[[F0:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[F8:.*]] = arith.constant 8 : i64
// CHECK: %[[A:.*]] = kiln.reshape %arg0 : tensor<3x64xf32> to tensor<1x3x64xf32>
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_q4_f32" ins(%[[A]], %arg1, %arg2, %arg3, %{{.*}}, %[[F8]] : tensor<1x3x64xf32>, tensor<1x64x32xi8>, tensor<2x50xf32>, tensor<2x50xi8>, tensor<1xf32>, i64)
// CHECK: %[[A2:.*]] = kiln.reshape %arg0 : tensor<3x64xf32> to tensor<1x3x64xf32>
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_q4_f32" ins(%[[A2]], %arg1, %arg2, %{{.*}}, %{{.*}}, %[[F0]] : tensor<1x3x64xf32>, tensor<1x64x32xi8>, tensor<2x50xf32>, tensor<1x1xf32>, tensor<1xf32>, i64)
// f16 scales: the q4h kernel.
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_q4h_f32" ins(%{{.*}}, %arg1, %arg4, %{{.*}}, %{{.*}}, %[[F0]] : tensor<1x3x64xf32>, tensor<1x64x32xi8>, tensor<2x50xf16>,
func.func @qmatmul_int4(%x: tensor<3x64xf32>, %w: tensor<1x64x32xi8>, %s: tensor<2x50xf32>, %z: tensor<2x50xi8>, %h: tensor<2x50xf16>) -> (tensor<3x50xf32>, tensor<3x50xf32>, tensor<3x50xf32>) {
  %0 = kiln.qmatmul %x, %w, %s zero_points(%z) {bits = 4 : i64, group_size = 32 : i64} : (tensor<3x64xf32>, tensor<1x64x32xi8>, tensor<2x50xf32>, tensor<2x50xi8>) -> tensor<3x50xf32>
  %1 = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 32 : i64} : (tensor<3x64xf32>, tensor<1x64x32xi8>, tensor<2x50xf32>) -> tensor<3x50xf32>
  %2 = kiln.qmatmul %x, %w, %h {bits = 4 : i64, group_size = 32 : i64} : (tensor<3x64xf32>, tensor<1x64x32xi8>, tensor<2x50xf16>) -> tensor<3x50xf32>
  return %0, %1, %2 : tensor<3x50xf32>, tensor<3x50xf32>, tensor<3x50xf32>
}

// -----

// A product with a transposed weight (torch Linear's [N, K]) reads the
// weight in place: the transpose goes into the call's flags (2), also with
// a bias (2 | SiLU << 8) and batch dimensions. Near-miss: a transpose that
// moves a batch dimension stays a transpose.
// CHECK-LABEL: func @transposed_rhs
// CHECK-DAG: %[[F:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[FB:.*]] = arith.constant 1026 : i64
// CHECK: %[[W:.*]] = kiln.reshape %arg1 : tensor<16x8xf32> to tensor<1x16x8xf32>
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%{{.*}}, %[[W]], %[[F]] : tensor<1x4x8xf32>, tensor<1x16x8xf32>, i64)
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_bias_f32" ins(%{{.*}}, %{{.*}}, %arg2, %[[FB]] : tensor<1x4x8xf32>, tensor<1x16x8xf32>, tensor<16xf32>, i64)
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%arg5, %arg3, %[[F]] : tensor<3x4x8xf32>, tensor<3x16x8xf32>, i64)
// CHECK: %[[T:.*]] = kiln.transpose %arg4 {permutation = array<i64: 1, 0, 2>}
// CHECK: kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%{{.*}}, %[[T]], %{{.*}} : tensor<4x1x8xf32>, tensor<4x8x16xf32>, i64)
// CHECK-NOT: kiln.transpose
// NOEPI-LABEL: func @transposed_rhs
// NOEPI-COUNT-3: kiln_rt.ukernel "kiln_uk_matmul_f32" ins({{.*}}, %c2_i64
// OFF-LABEL: func @transposed_rhs
// OFF-COUNT-2: kiln.transpose %arg
func.func @transposed_rhs(%x: tensor<4x8xf32>, %w: tensor<16x8xf32>, %b: tensor<16xf32>, %bw: tensor<3x16x8xf32>, %nw: tensor<8x4x16xf32>, %bx: tensor<3x4x8xf32>) -> (tensor<4x16xf32>, tensor<4x16xf32>, tensor<3x4x16xf32>, tensor<4x1x16xf32>) {
  %wt = kiln.transpose %w {permutation = array<i64: 1, 0>} : tensor<16x8xf32> -> tensor<8x16xf32>
  %0 = kiln.matmul %x, %wt : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %1 = kiln.matmul %x, %wt : (tensor<4x8xf32>, tensor<8x16xf32>) -> tensor<4x16xf32>
  %2 = kiln.add %1, %b : (tensor<4x16xf32>, tensor<16xf32>) -> tensor<4x16xf32>
  %3 = kiln.silu %2 : tensor<4x16xf32>
  %bwt = kiln.transpose %bw {permutation = array<i64: 0, 2, 1>} : tensor<3x16x8xf32> -> tensor<3x8x16xf32>
  %4 = kiln.matmul %bx, %bwt : (tensor<3x4x8xf32>, tensor<3x8x16xf32>) -> tensor<3x4x16xf32>
  %nwt = kiln.transpose %nw {permutation = array<i64: 1, 0, 2>} : tensor<8x4x16xf32> -> tensor<4x8x16xf32>
  %y = kiln.reshape %x : tensor<4x8xf32> to tensor<4x1x8xf32>
  %5 = kiln.matmul %y, %nwt : (tensor<4x1x8xf32>, tensor<4x8x16xf32>) -> tensor<4x1x16xf32>
  return %0, %3, %4, %5 : tensor<4x16xf32>, tensor<4x16xf32>, tensor<3x4x16xf32>, tensor<4x1x16xf32>
}

// -----

// A padded 3x3 conv with its bias, a per-channel add (a time embedding,
// joined to the bias) and a residual: one call of the conv kernel, which
// packs the im2col from the image (flags: accumulate 1 | bias 4). Strides,
// top/left padding and dilations pass as scalars.
// CHECK-LABEL: func @conv_epilogue
// CHECK-DAG: %[[T:.*]] = kiln.reshape %arg3 : tensor<1x4x1x1xf32> to tensor<4xf32>
// CHECK-DAG: %[[B:.*]] = kiln.add %arg2, %[[T]]
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[F:.*]] = arith.constant 5 : i64
// CHECK: %[[Y:.*]] = kiln_rt.ukernel "kiln_uk_conv2d_f32" ins(%arg0, %arg1, %[[B]], %[[ONE]], %[[ONE]], %[[ONE]], %[[ONE]], %[[ONE]], %[[ONE]], %[[F]] : tensor<1x8x6x6xf32>, tensor<4x8x3x3xf32>, tensor<4xf32>, i64, i64, i64, i64, i64, i64, i64) outs(%arg4 : tensor<1x4x6x6xf32>)
// CHECK-NEXT: return %[[Y]]
// NOEPI-LABEL: func @conv_epilogue
// NOEPI: kiln_rt.ukernel "kiln_uk_conv2d_f32"
// NOEPI: kiln.add
// NOEPI: kiln.add
// OFF-LABEL: func @conv_epilogue
// OFF-NOT: kiln_rt.ukernel
// OFF: kiln.conv
func.func @conv_epilogue(%x: tensor<1x8x6x6xf32>, %w: tensor<4x8x3x3xf32>, %b: tensor<4xf32>, %t: tensor<1x4x1x1xf32>, %res: tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32> {
  %0 = kiln.conv %x, %w, %b {padding = array<i64: 1, 1, 1, 1>} : (tensor<1x8x6x6xf32>, tensor<4x8x3x3xf32>, tensor<4xf32>) -> tensor<1x4x6x6xf32>
  %1 = kiln.add %0, %t : (tensor<1x4x6x6xf32>, tensor<1x4x1x1xf32>) -> tensor<1x4x6x6xf32>
  %2 = kiln.add %res, %1 : (tensor<1x4x6x6xf32>, tensor<1x4x6x6xf32>) -> tensor<1x4x6x6xf32>
  return %2 : tensor<1x4x6x6xf32>
}

// -----

// bf16 weights (--dtype=bf16) call the bf16 kernel; no bias gets a stand-in
// and flags 0; strides 2, padding (top 0, left 1), dilation 2 pass through.
// CHECK-LABEL: func @conv_bf16
// CHECK-DAG: %[[Z:.*]] = arith.constant 0 : i64
// CHECK-DAG: %[[ONE:.*]] = arith.constant 1 : i64
// CHECK-DAG: %[[TWO:.*]] = arith.constant 2 : i64
// CHECK-DAG: %[[NOB:.*]] = kiln.constant dense<0.000000e+00> : tensor<1xf32>
// CHECK: kiln_rt.ukernel "kiln_uk_conv2d_bf16" ins(%arg0, %arg1, %[[NOB]], %[[TWO]], %[[TWO]], %[[Z]], %[[ONE]], %[[TWO]], %[[TWO]], %[[Z]] : tensor<2x3x9x9xf32>, tensor<5x3x3x3xbf16>, tensor<1xf32>, i64, i64, i64, i64, i64, i64, i64)
func.func @conv_bf16(%x: tensor<2x3x9x9xf32>, %w: tensor<5x3x3x3xbf16>) -> tensor<2x5x3x3xf32> {
  %0 = kiln.conv %x, %w {strides = array<i64: 2, 2>, padding = array<i64: 0, 1, 0, 0>, dilations = array<i64: 2, 2>} : (tensor<2x3x9x9xf32>, tensor<5x3x3x3xbf16>) -> tensor<2x5x3x3xf32>
  return %0 : tensor<2x5x3x3xf32>
}

// -----

// Near-misses: grouped and 1-D convolutions, and f16, stay kiln.conv; an
// add of a per-row (not per-channel) vector is not folded.
// CHECK-LABEL: func @conv_near_misses
// CHECK-COUNT-3: kiln.conv
// CHECK: kiln_rt.ukernel "kiln_uk_conv2d_f32"
// CHECK: kiln.add
func.func @conv_near_misses(%x: tensor<1x8x6x6xf32>, %dw: tensor<8x1x3x3xf32>, %s: tensor<1x8x16xf32>, %w1: tensor<4x8x3xf32>, %h: tensor<1x8x6x6xf16>, %wh: tensor<4x8x3x3xf16>, %w: tensor<4x8x3x3xf32>, %r: tensor<1x1x4x1xf32>) -> (tensor<1x8x4x4xf32>, tensor<1x4x14xf32>, tensor<1x4x4x4xf16>, tensor<1x4x4x4xf32>) {
  %0 = kiln.conv %x, %dw {groups = 8 : i64} : (tensor<1x8x6x6xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x4x4xf32>
  %1 = kiln.conv %s, %w1 : (tensor<1x8x16xf32>, tensor<4x8x3xf32>) -> tensor<1x4x14xf32>
  %2 = kiln.conv %h, %wh : (tensor<1x8x6x6xf16>, tensor<4x8x3x3xf16>) -> tensor<1x4x4x4xf16>
  %3 = kiln.conv %x, %w : (tensor<1x8x6x6xf32>, tensor<4x8x3x3xf32>) -> tensor<1x4x4x4xf32>
  %4 = kiln.add %3, %r : (tensor<1x4x4x4xf32>, tensor<1x1x4x1xf32>) -> tensor<1x4x4x4xf32>
  return %0, %1, %2, %4 : tensor<1x8x4x4xf32>, tensor<1x4x14xf32>, tensor<1x4x4x4xf16>, tensor<1x4x4x4xf32>
}
