// RUN: kiln-opt %s -kiln-lower-to-llvm -split-input-file -verify-diagnostics | FileCheck %s

// Bare-pointer convention: each static buffer is one pointer.
// CHECK-LABEL: llvm.func @entry
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr, %[[OUT:.*]]: !llvm.ptr)
// CHECK: %[[P:.*]] = llvm.getelementptr inbounds|nuw %{{.*}}[%{{.*}}] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK: %[[V:.*]] = llvm.load %[[P]] : !llvm.ptr -> f32
// CHECK: llvm.store %[[V]], %{{.*}} : f32, !llvm.ptr
// CHECK-NOT: memref.
func.func @entry(%x: memref<4xf32>, %out: memref<4xf32>) {
  %c1 = arith.constant 1 : index
  %v = memref.load %x[%c1] : memref<4xf32>
  memref.store %v, %out[%c1] : memref<4xf32>
  return
}

// -----

// kiln_rt.weight loads entry 3 of the weight table.
// CHECK-LABEL: llvm.func @weight
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %[[TABLE:.*]]: !llvm.ptr)
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[TABLE]][3] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[W:.*]] = llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.insertvalue %[[W]], %{{.*}}[1]
// CHECK-NOT: kiln_rt.weight
func.func @weight(%out: memref<2x2xf32>, %table: !llvm.ptr) {
  %w = kiln_rt.weight %table[3] : !llvm.ptr -> memref<2x2xf32>
  %c0 = arith.constant 0 : index
  %v = memref.load %w[%c0, %c0] : memref<2x2xf32>
  memref.store %v, %out[%c0, %c0] : memref<2x2xf32>
  return
}

// -----

// kiln_rt.ukernel calls the named function: per buffer its base pointer,
// sizes and strides as i64; scalars as they are.
// CHECK: llvm.func @kiln_uk_scale(!llvm.ptr, i64, i64, i64, i64, f32, !llvm.ptr, i64, i64, i64, i64)
// CHECK-LABEL: llvm.func @ukernel
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %[[S:.*]]: f32)
// CHECK: llvm.call @kiln_uk_scale(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[S]], %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i64, i64, i64, i64, f32, !llvm.ptr, i64, i64, i64, i64) -> ()
func.func @ukernel(%a: memref<4x8xf32>, %out: memref<4x8xf32>, %s: f32) {
  kiln_rt.ukernel "kiln_uk_scale" ins(%a, %s : memref<4x8xf32>, f32) outs(%out : memref<4x8xf32>)
  return
}

// -----

// The base pointer passed to a micro-kernel has the view's offset applied.
// CHECK-LABEL: llvm.func @ukernel_offset
// CHECK: %[[BASE:.*]] = llvm.extractvalue %{{.*}}[1]
// CHECK: %[[OFF:.*]] = llvm.mlir.constant(8 : index) : i64
// CHECK: %[[PTR:.*]] = llvm.getelementptr %[[BASE]][%[[OFF]]] : (!llvm.ptr, i64) -> !llvm.ptr, f32
// CHECK: llvm.call @k(%[[PTR]],
func.func @ukernel_offset(%out: memref<2x8xf32, strided<[8, 1], offset: 8>>) {
  kiln_rt.ukernel "k" ins() outs(%out : memref<2x8xf32, strided<[8, 1], offset: 8>>)
  return
}

// -----

// kiln_rt.parallel_for stays, its count and induction variable now i64.
// CHECK-LABEL: llvm.func @parallel_for
// CHECK: %[[N:.*]] = llvm.mlir.constant(4 : index) : i64
// CHECK: kiln_rt.parallel_for %[[N]] : i64 {
// CHECK-NEXT: ^bb0(%[[I:.*]]: i64):
// CHECK: llvm.getelementptr inbounds|nuw %{{.*}}[%[[I]]]
// CHECK: kiln_rt.yield
func.func @parallel_for(%out: memref<64xf32>) {
  %c4 = arith.constant 4 : index
  %cst = arith.constant 1.0 : f32
  kiln_rt.parallel_for %c4 : index {
  ^bb0(%i: index):
    memref.store %cst, %out[%i] : memref<64xf32>
    kiln_rt.yield
  }
  return
}

// -----

// A zero-element buffer (rank >= 2) is passed as an opaque pointer and
// read as an empty stack buffer, even with no memref op in the module.
// CHECK-LABEL: llvm.func @empty_buffer
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK: %[[A:.*]] = llvm.alloca %{{.*}} x f32 : (i64) -> !llvm.ptr
// CHECK: llvm.insertvalue %[[A]], %{{.*}}[1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
func.func @empty_buffer(%x: memref<0x4xf32>, %out: memref<4xf32>) {
  return
}

// -----

// A micro-kernel needs one signature.
func.func @two_signatures(%a: memref<4xf32>, %b: memref<8xf32>) {
  kiln_rt.ukernel "k" ins() outs(%a : memref<4xf32>)
  // expected-error @+2 {{micro-kernel 'k' is called with two different signatures}}
  // expected-error @+1 {{failed to legalize operation 'kiln_rt.ukernel'}}
  kiln_rt.ukernel "k" ins() outs(%a, %b : memref<4xf32>, memref<8xf32>)
  return
}

// -----

// The conversion is full: a loop that was not lowered first is an error,
// not a silent leftover.
func.func @leftover_loop(%out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %cst = arith.constant 1.0 : f32
  // expected-error @+1 {{failed to legalize operation 'scf.for'}}
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %cst, %out[%i] : memref<4xf32>
  }
  return
}
