// RUN: kiln-opt %s -kiln-lower-forall -split-input-file -verify-diagnostics | FileCheck %s

// One dimension: count = ceildiv(ub - lb, step); iv = lb + i * step.
// CHECK-LABEL: func @one_dim
// CHECK-DAG: %[[LB:.*]] = arith.constant 8 : index
// CHECK-DAG: %[[UB:.*]] = arith.constant 64 : index
// CHECK-DAG: %[[STEP:.*]] = arith.constant 16 : index
// CHECK: %[[SPAN:.*]] = arith.subi %[[UB]], %[[LB]] : index
// CHECK: %[[TRIP:.*]] = arith.ceildivui %[[SPAN]], %[[STEP]] : index
// CHECK: %[[COUNT:.*]] = arith.muli %{{.*}}, %[[TRIP]] : index
// CHECK: kiln_rt.parallel_for %[[COUNT]] : index {
// CHECK-NEXT: ^bb0(%[[I:.*]]: index):
// CHECK-NEXT: %[[MUL:.*]] = arith.muli %[[I]], %[[STEP]] : index
// CHECK-NEXT: %[[IV:.*]] = arith.addi %[[LB]], %[[MUL]] : index
// CHECK-NEXT: memref.subview %{{.*}}[%[[IV]]] [16] [1]
// CHECK-NEXT: linalg.fill
// CHECK-NEXT: kiln_rt.yield
// CHECK-NOT: scf.forall
func.func @one_dim(%out: memref<72xf32>) {
  %cst = arith.constant 1.0 : f32
  scf.forall (%i) = (8) to (64) step (16) {
    %s = memref.subview %out[%i] [16] [1] : memref<72xf32> to memref<16xf32, strided<[1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%s : memref<16xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// Two dimensions are linearized, the innermost fastest: the body recovers
// (i, j) with remui/divui by the inner trip count.
// CHECK-LABEL: func @two_dims
// CHECK: %[[TRIP0:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK: %[[N0:.*]] = arith.muli %{{.*}}, %[[TRIP0]] : index
// CHECK: %[[TRIP1:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK: %[[N:.*]] = arith.muli %[[N0]], %[[TRIP1]] : index
// CHECK: kiln_rt.parallel_for %[[N]] : index {
// CHECK-NEXT: ^bb0(%[[K:.*]]: index):
// CHECK-NEXT: %[[J:.*]] = arith.remui %[[K]], %[[TRIP1]] : index
// CHECK-NEXT: %[[I:.*]] = arith.divui %[[K]], %[[TRIP1]] : index
// CHECK-NEXT: %[[JS:.*]] = arith.muli %[[J]], %{{.*}} : index
// CHECK-NEXT: %[[JV:.*]] = arith.addi %{{.*}}, %[[JS]] : index
// CHECK-NEXT: %[[IS:.*]] = arith.muli %[[I]], %{{.*}} : index
// CHECK-NEXT: %[[IV:.*]] = arith.addi %{{.*}}, %[[IS]] : index
// CHECK-NEXT: memref.subview %{{.*}}[%[[IV]], %[[JV]]] [1, 8] [1, 1]
func.func @two_dims(%out: memref<4x64xf32>) {
  %cst = arith.constant 1.0 : f32
  scf.forall (%i, %j) = (0, 0) to (4, 64) step (1, 8) {
    %s = memref.subview %out[%i, %j] [1, 8] [1, 1] : memref<4x64xf32> to memref<1x8xf32, strided<[64, 1], offset: ?>>
    linalg.fill ins(%cst : f32) outs(%s : memref<1x8xf32, strided<[64, 1], offset: ?>>)
  }
  return
}

// -----

// A nested forall runs sequentially inside its task.
// CHECK-LABEL: func @nested
// CHECK: kiln_rt.parallel_for
// CHECK-NOT: kiln_rt.parallel_for
// CHECK: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT: memref.store %{{.*}}, %{{.*}}[%{{.*}}, %[[J]]]
// CHECK: kiln_rt.yield
// CHECK-NOT: scf.forall
func.func @nested(%out: memref<4x64xf32>) {
  %cst = arith.constant 1.0 : f32
  scf.forall (%i) in (4) {
    scf.forall (%j) in (64) {
      memref.store %cst, %out[%i, %j] : memref<4x64xf32>
    }
  }
  return
}

// -----

// Code without scf.forall is left alone.
// CHECK-LABEL: func @no_forall
// CHECK-NOT: kiln_rt.parallel_for
// CHECK: scf.for
func.func @no_forall(%out: memref<4xf32>) {
  %cst = arith.constant 1.0 : f32
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    memref.store %cst, %out[%i] : memref<4xf32>
  }
  return
}

// -----

// A forall on tensors must be bufferized first.
func.func @tensor_outputs(%t: tensor<64xf32>) -> tensor<64xf32> {
  // expected-error @+1 {{scf.forall still has tensor outputs; bufferize first}}
  %r = scf.forall (%i) in (4) shared_outs(%o = %t) -> tensor<64xf32> {
    scf.forall.in_parallel {}
  }
  return %r : tensor<64xf32>
}
