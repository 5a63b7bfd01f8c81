// RUN: kiln-opt %s -kiln-outline-parallel -split-input-file -verify-diagnostics | FileCheck %s

// The body becomes an internal task function (captures, begin, end) that
// loops over [begin, end); the values it uses travel in a stack struct, and
// the loop becomes a call of kiln_rt_parallel_for(count, task, captures).
// CHECK: llvm.func @kiln_rt_parallel_for(i64, !llvm.ptr, !llvm.ptr)
// CHECK-LABEL: llvm.func @main
// CHECK-SAME: (%[[OUT:.*]]: !llvm.ptr, %[[V:.*]]: f32)
// CHECK: %[[FRAME:.*]] = llvm.alloca %{{.*}} x !llvm.struct<(ptr, f32)>
// CHECK: %[[N:.*]] = llvm.mlir.constant(4 : i64) : i64
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[FRAME]][0, 0]
// CHECK: llvm.store %[[OUT]], %[[S0]] : !llvm.ptr, !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[FRAME]][0, 1]
// CHECK: llvm.store %[[V]], %[[S1]] : f32, !llvm.ptr
// CHECK: %[[TASK:.*]] = llvm.mlir.addressof @main__task0 : !llvm.ptr
// CHECK: llvm.call @kiln_rt_parallel_for(%[[N]], %[[TASK]], %[[FRAME]])
// CHECK-NOT: kiln_rt.parallel_for
// CHECK-LABEL: llvm.func internal @main__task0
// CHECK-SAME: (%[[CAP:.*]]: !llvm.ptr, %[[BEGIN:.*]]: i64, %[[END:.*]]: i64)
// CHECK: %[[G0:.*]] = llvm.getelementptr %[[CAP]][0, 0]
// CHECK: %[[OUT2:.*]] = llvm.load %[[G0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[G1:.*]] = llvm.getelementptr %[[CAP]][0, 1]
// CHECK: %[[V2:.*]] = llvm.load %[[G1]] : !llvm.ptr -> f32
// CHECK: llvm.br ^[[HEADER:.*]](%[[BEGIN]] : i64)
// CHECK: ^[[HEADER]](%[[I:.*]]: i64):
// CHECK-NOT: stacksave
// CHECK: %[[MORE:.*]] = llvm.icmp "slt" %[[I]], %[[END]] : i64
// CHECK: llvm.cond_br %[[MORE]], ^[[BODY:.*]](%[[I]] : i64), ^[[EXIT:.*]]
// CHECK: ^[[BODY]](%[[J:.*]]: i64):
// CHECK: %[[P:.*]] = llvm.getelementptr %[[OUT2]][%[[J]]]
// CHECK: llvm.store %[[V2]], %[[P]]
// CHECK: llvm.br ^[[LATCH:.*]]
// CHECK: ^[[LATCH]]:
// CHECK-NOT: stackrestore
// CHECK: %[[NEXT:.*]] = llvm.add %[[I]], %{{.*}} : i64
// CHECK: llvm.br ^[[HEADER]](%[[NEXT]] : i64)
// CHECK: ^[[EXIT]]:
// CHECK-NEXT: llvm.return
llvm.func @main(%out: !llvm.ptr, %v: f32) {
  %n = llvm.mlir.constant(4 : i64) : i64
  kiln_rt.parallel_for %n : i64 {
  ^bb0(%i: i64):
    %p = llvm.getelementptr %out[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %v, %p : f32, !llvm.ptr
    kiln_rt.yield
  }
  llvm.return
}

// -----

// A body with stack buffers (kiln-plan-memory's allocas) frees them at the
// end of each iteration, so a task's stack does not grow with its
// iteration count.
// CHECK-LABEL: llvm.func internal @scratch__task0
// CHECK: ^[[HEADER:.*]](%{{.*}}: i64):
// CHECK-NEXT: %[[SP:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK: llvm.alloca %{{.*}} x f32
// CHECK: llvm.intr.stackrestore %[[SP]] : !llvm.ptr
// CHECK-NEXT: llvm.mlir.constant(1 : i64)
// CHECK-NEXT: llvm.add
// CHECK-NEXT: llvm.br ^[[HEADER]]
llvm.func @scratch(%out: !llvm.ptr) {
  %n = llvm.mlir.constant(8 : i64) : i64
  kiln_rt.parallel_for %n : i64 {
  ^bb0(%i: i64):
    %c = llvm.mlir.constant(1024 : i64) : i64
    %buf = llvm.alloca %c x f32 : (i64) -> !llvm.ptr
    %x = llvm.load %buf : !llvm.ptr -> f32
    %p = llvm.getelementptr %out[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %x, %p : f32, !llvm.ptr
    kiln_rt.yield
  }
  llvm.return
}

// -----

// Two loops give two tasks and one runtime declaration; a body with its
// own control flow keeps it, its exits branching to the latch.
// CHECK-COUNT-1: llvm.func @kiln_rt_parallel_for
// CHECK-NOT: llvm.func @kiln_rt_parallel_for
// CHECK-LABEL: llvm.func @two_loops
// CHECK: llvm.mlir.addressof @two_loops__task0
// CHECK: llvm.call @kiln_rt_parallel_for
// CHECK: llvm.mlir.addressof @two_loops__task1
// CHECK: llvm.call @kiln_rt_parallel_for
// CHECK-LABEL: llvm.func internal @two_loops__task0
// CHECK-LABEL: llvm.func internal @two_loops__task1
// CHECK: %[[FIRST:.*]] = llvm.icmp "eq"
// CHECK-NEXT: llvm.cond_br %[[FIRST]], ^[[THEN:bb[0-9]+]], ^[[ELSE:bb[0-9]+]]
// CHECK: ^[[THEN]]:
// CHECK-NEXT: llvm.br ^[[LATCH:bb[0-9]+]]
// CHECK: ^[[ELSE]]:
// CHECK: llvm.store
// CHECK-NEXT: llvm.br ^[[LATCH]]
// CHECK: ^[[LATCH]]:
// CHECK: llvm.add
llvm.func @two_loops(%out: !llvm.ptr, %v: f32) {
  %n = llvm.mlir.constant(4 : i64) : i64
  kiln_rt.parallel_for %n : i64 {
  ^bb0(%i: i64):
    %p = llvm.getelementptr %out[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %v, %p : f32, !llvm.ptr
    kiln_rt.yield
  }
  kiln_rt.parallel_for %n : i64 {
  ^bb0(%i: i64):
    %zero = llvm.mlir.constant(0 : i64) : i64
    %first = llvm.icmp "eq" %i, %zero : i64
    llvm.cond_br %first, ^skip, ^write
  ^skip:
    kiln_rt.yield
  ^write:
    %p = llvm.getelementptr %out[%i] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %v, %p : f32, !llvm.ptr
    kiln_rt.yield
  }
  llvm.return
}

// -----

// Constants of the enclosing function (an inner loop's bounds and step, a
// scalar of the body) are cloned into the task, not captured: LLVM must see
// them as constants to count and vectorize the task's loops. The captured
// struct holds only the output pointer.
// CHECK-LABEL: llvm.func @constants
// CHECK: llvm.alloca %{{.*}} x !llvm.struct<(ptr)>
// CHECK-LABEL: llvm.func internal @constants__task0
// CHECK-DAG: llvm.mlir.constant(16 : i64) : i64
// CHECK-DAG: llvm.mlir.constant(1 : i64) : i64
// CHECK-DAG: llvm.mlir.constant(2.000000e+00 : f32) : f32
// CHECK: llvm.getelementptr %{{.*}}[0, 0] : (!llvm.ptr) -> !llvm.ptr, !llvm.struct<(ptr)>
// CHECK-NOT: llvm.getelementptr %{{.*}}[0, 1]
llvm.func @constants(%out: !llvm.ptr) {
  %n = llvm.mlir.constant(4 : i64) : i64
  %c0 = llvm.mlir.constant(0 : i64) : i64
  %c1 = llvm.mlir.constant(1 : i64) : i64
  %c16 = llvm.mlir.constant(16 : i64) : i64
  %two = llvm.mlir.constant(2.0 : f32) : f32
  kiln_rt.parallel_for %n : i64 {
  ^bb0(%i: i64):
    llvm.br ^loop(%c0 : i64)
  ^loop(%j: i64):
    %more = llvm.icmp "slt" %j, %c16 : i64
    llvm.cond_br %more, ^body, ^done
  ^body:
    %row = llvm.mul %i, %c16 : i64
    %k = llvm.add %row, %j : i64
    %p = llvm.getelementptr %out[%k] : (!llvm.ptr, i64) -> !llvm.ptr, f32
    llvm.store %two, %p : f32, !llvm.ptr
    %next = llvm.add %j, %c1 : i64
    llvm.br ^loop(%next : i64)
  ^done:
    kiln_rt.yield
  }
  llvm.return
}

// -----

// Without parallel loops nothing changes (no runtime declaration).
// CHECK-NOT: kiln_rt_parallel_for
// CHECK-LABEL: llvm.func @sequential
// CHECK-NOT: kiln_rt_parallel_for
llvm.func @sequential(%out: !llvm.ptr) {
  llvm.return
}

// -----

// The pass runs on the llvm dialect only.
func.func @unconverted() {
  %c4 = arith.constant 4 : index
  // expected-error @+1 {{expected a converted kiln_rt.parallel_for inside an llvm.func (run kiln-lower-to-llvm first)}}
  kiln_rt.parallel_for %c4 : index {
  ^bb0(%i: index):
    kiln_rt.yield
  }
  return
}
