// RUN: kiln-opt %s -split-input-file -kiln-form-kernels | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-form-kernels="fuse-elementwise=false" | FileCheck %s --check-prefix=SPLIT

// A conv with its activation and residual add, then a norm with the
// modulation after it: two kernels. The reshape (a view) and constants
// stay outside.
// CHECK-LABEL: func @conv_norm
// CHECK: %[[C:.*]] = kiln.kernel "conv" -> tensor<1x8x4x4xf32> {
// CHECK-NEXT: kiln.conv
// CHECK-NEXT: kiln.silu
// CHECK-NEXT: %[[S:.*]] = kiln.add
// CHECK-NEXT: kiln.yield %[[S]]
// CHECK: %[[R:.*]] = kiln.reshape %[[C]]
// CHECK: %[[N:.*]] = kiln.kernel "norm" -> tensor<1x8x16xf32> {
// CHECK-NEXT: kiln.layer_norm %[[R]]
// CHECK-NEXT: kiln.mul
// CHECK-NEXT: %[[A:.*]] = kiln.add
// CHECK-NEXT: kiln.yield %[[A]]
// CHECK: return %[[N]]
// SPLIT-LABEL: func @conv_norm
// SPLIT-COUNT-6: kiln.kernel
// SPLIT-NOT: kiln.kernel
func.func @conv_norm(%x: tensor<1x4x4x4xf32>, %w: tensor<8x4x1x1xf32>, %res: tensor<1x8x4x4xf32>, %scale: tensor<1x1x16xf32>, %shift: tensor<1x1x16xf32>) -> tensor<1x8x16xf32> {
  %0 = kiln.conv %x, %w {strides = array<i64: 1, 1>} : (tensor<1x4x4x4xf32>, tensor<8x4x1x1xf32>) -> tensor<1x8x4x4xf32>
  %1 = kiln.silu %0 : tensor<1x8x4x4xf32>
  %2 = kiln.add %1, %res : (tensor<1x8x4x4xf32>, tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32>
  %3 = kiln.reshape %2 : tensor<1x8x4x4xf32> to tensor<1x8x16xf32>
  %4 = kiln.layer_norm %3 {axis = 2 : i64} : (tensor<1x8x16xf32>) -> tensor<1x8x16xf32>
  %5 = kiln.mul %4, %scale : (tensor<1x8x16xf32>, tensor<1x1x16xf32>) -> tensor<1x8x16xf32>
  %6 = kiln.add %5, %shift : (tensor<1x8x16xf32>, tensor<1x1x16xf32>) -> tensor<1x8x16xf32>
  return %6 : tensor<1x8x16xf32>
}

// -----

// Near-miss: a value used twice ends its kernel; each user starts its own
// (the value is written once and read twice, not computed twice).
// CHECK-LABEL: func @multi_use
// SPLIT-LABEL: func @multi_use
// CHECK: %[[E:.*]] = kiln.kernel "elementwise" -> tensor<8xf32> {
// CHECK-NEXT: kiln.exp %arg0
// CHECK-NEXT: kiln.yield
// CHECK: kiln.kernel "elementwise" -> tensor<8xf32> {
// CHECK-NEXT: kiln.neg %[[E]]
// CHECK-NEXT: kiln.tanh
// CHECK-NEXT: kiln.yield
// CHECK: kiln.kernel "elementwise" -> tensor<8xf32> {
// CHECK-NEXT: kiln.abs %[[E]]
// CHECK-NEXT: kiln.yield
func.func @multi_use(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %0 = kiln.exp %x : tensor<8xf32>
  %1 = kiln.neg %0 : tensor<8xf32>
  %2 = kiln.tanh %1 : tensor<8xf32>
  %3 = kiln.abs %0 : tensor<8xf32>
  return %2, %3 : tensor<8xf32>, tensor<8xf32>
}

// -----

// A matmul micro-kernel call, and data movement, are kernels of their own.
// CHECK-LABEL: func @ukernel
// CHECK: kiln.kernel "movement"
// CHECK-NEXT: kiln.transpose
// CHECK: kiln.kernel "ukernel"
// CHECK-NEXT: kiln_rt.ukernel "kiln_uk_matmul_f32"
func.func @ukernel(%a: tensor<1x4x8xf32>, %b: tensor<1x5x8xf32>) -> tensor<1x4x5xf32> {
  %bt = kiln.transpose %b {permutation = array<i64: 0, 2, 1>} : tensor<1x5x8xf32> -> tensor<1x8x5xf32>
  %f = arith.constant 0 : i64
  %init = tensor.empty() : tensor<1x4x5xf32>
  %c = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %bt, %f : tensor<1x4x8xf32>, tensor<1x8x5xf32>, i64) outs(%init : tensor<1x4x5xf32>) -> tensor<1x4x5xf32>
  return %c : tensor<1x4x5xf32>
}

// -----

// A KV-cache step: the position's scalar arithmetic, the in-place insert
// into the cache and the slice read back are no kernels; the attention and
// the elementwise op are. Near-miss: arith on tensors is a kernel.
// CHECK-LABEL: func @kv_cache
// CHECK: tensor.extract %arg2[]
// CHECK-NEXT: arith.index_cast
// CHECK-NEXT: arith.constant
// CHECK-NEXT: arith.addi
// CHECK-NEXT: tensor.insert_slice
// CHECK-NEXT: tensor.extract_slice
// CHECK-NEXT: kiln.kernel "attention"
// CHECK: kiln.kernel
// CHECK-NEXT: arith.addf
func.func @kv_cache(%q: tensor<1x2x1x4xf32>, %k: tensor<2x1x4xf32>, %pos: tensor<i64>, %kv: tensor<1x2x8x4xf32>, %t: tensor<4xf32>) -> (tensor<1x2x1x4xf32>, tensor<4xf32>) {
  %p = tensor.extract %pos[] : tensor<i64>
  %i = arith.index_cast %p : i64 to index
  %c1 = arith.constant 1 : index
  %n = arith.addi %i, %c1 : index
  %kv1 = tensor.insert_slice %k into %kv[0, 0, %i, 0] [1, 2, 1, 4] [1, 1, 1, 1] : tensor<2x1x4xf32> into tensor<1x2x8x4xf32>
  %keys = tensor.extract_slice %kv1[0, 0, 0, 0] [1, 2, %n, 4] [1, 1, 1, 1] : tensor<1x2x8x4xf32> to tensor<1x2x?x4xf32>
  %o = kiln.attention %q, %keys, %keys {scale = 0.5 : f64} : (tensor<1x2x1x4xf32>, tensor<1x2x?x4xf32>, tensor<1x2x?x4xf32>) -> tensor<1x2x1x4xf32>
  %s = arith.addf %t, %t : tensor<4xf32>
  return %o, %s : tensor<1x2x1x4xf32>, tensor<4xf32>
}
