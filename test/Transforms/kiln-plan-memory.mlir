// RUN: kiln-opt %s -kiln-plan-memory -split-input-file -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -kiln-plan-memory=alignment=4 -split-input-file -verify-diagnostics | FileCheck %s --check-prefix=ALIGN4
// RUN: not kiln-opt %s -kiln-plan-memory=max-stack-bytes=1024 -split-input-file 2>/dev/null | FileCheck %s --check-prefix=STACK
// RUN: not kiln-opt %s -kiln-plan-memory=alignment=48 -split-input-file 2>&1 | FileCheck %s --check-prefix=BADALIGN

// BADALIGN: error: kiln-plan-memory: alignment must be a positive power of two, got 48

// Buffers whose live ranges do not overlap share space: %c reuses %a's
// offset once %a is dead. The workspace is a new last argument.
// CHECK-LABEL: func @reuse
// CHECK-SAME: (%{{.*}}: memref<16xf32>, %{{.*}}: memref<16xf32>, %[[WS:.*]]: memref<128xi8>)
// CHECK-SAME: kiln.workspace_bytes = 128 : i64
// CHECK: %[[O0:.*]] = arith.constant 0 : index
// CHECK: %[[A:.*]] = memref.view %[[WS]][%[[O0]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[O64:.*]] = arith.constant 64 : index
// CHECK: %[[B:.*]] = memref.view %[[WS]][%[[O64]]][] : memref<128xi8> to memref<16xf32>
// CHECK: linalg.copy ins(%[[A]] : memref<16xf32>) outs(%[[B]] : memref<16xf32>)
// CHECK: %[[O0B:.*]] = arith.constant 0 : index
// CHECK: %[[C:.*]] = memref.view %[[WS]][%[[O0B]]][] : memref<128xi8> to memref<16xf32>
// CHECK: linalg.copy ins(%[[B]] : memref<16xf32>) outs(%[[C]] : memref<16xf32>)
// CHECK-NOT: memref.alloc
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @reuse(%x: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%a : memref<16xf32>)
  %b = memref.alloc() : memref<16xf32>
  linalg.copy ins(%a : memref<16xf32>) outs(%b : memref<16xf32>)
  %c = memref.alloc() : memref<16xf32>
  linalg.copy ins(%b : memref<16xf32>) outs(%c : memref<16xf32>)
  linalg.copy ins(%c : memref<16xf32>) outs(%out : memref<16xf32>)
  memref.dealloc %a : memref<16xf32>
  return
}

// -----

// A buffer stays live through its views: %c cannot take %a's space, whose
// collapsed view is read by the copy into %c; it takes dead %b's instead.
// CHECK-LABEL: func @live_through_view
// CHECK-SAME: kiln.workspace_bytes = 128 : i64
// CHECK: %[[A:.*]] = memref.view %{{.*}}[%{{.*}}][] : memref<128xi8> to memref<4x4xf32>
// CHECK: %[[V:.*]] = memref.collapse_shape %[[A]]
// CHECK: %[[O1:.*]] = arith.constant 64 : index
// CHECK: memref.view %{{.*}}[%[[O1]]][] : memref<128xi8> to memref<16xf32>
// CHECK: %[[O2:.*]] = arith.constant 64 : index
// CHECK: %[[C:.*]] = memref.view %{{.*}}[%[[O2]]][] : memref<128xi8> to memref<16xf32>
// CHECK: linalg.copy ins(%[[V]] : memref<16xf32>) outs(%[[C]] : memref<16xf32>)
func.func @live_through_view(%x: memref<16xf32>, %out: memref<16xf32>) {
  %a = memref.alloc() : memref<4x4xf32>
  %v = memref.collapse_shape %a [[0, 1]] : memref<4x4xf32> into memref<16xf32>
  %b = memref.alloc() : memref<16xf32>
  linalg.copy ins(%x : memref<16xf32>) outs(%b : memref<16xf32>)
  linalg.copy ins(%b : memref<16xf32>) outs(%v : memref<16xf32>)
  %c = memref.alloc() : memref<16xf32>
  linalg.copy ins(%v : memref<16xf32>) outs(%c : memref<16xf32>)
  linalg.copy ins(%c : memref<16xf32>) outs(%out : memref<16xf32>)
  return
}

// -----

// Offsets honour the alignment option and an allocation's own alignment
// (here 128); the total rounds up to the option's alignment.
// CHECK-LABEL: func @alignment
// CHECK-SAME: %{{.*}}: memref<192xi8>) attributes {kiln.workspace_bytes = 192 : i64}
// CHECK: arith.constant 0 : index
// CHECK: arith.constant 128 : index
// ALIGN4-LABEL: func @alignment
// ALIGN4-SAME: %{{.*}}: memref<148xi8>) attributes {kiln.workspace_bytes = 148 : i64}
func.func @alignment(%x: memref<5xf32>, %out: memref<5xf32>) {
  %a = memref.alloc() : memref<5xf32>
  %b = memref.alloc() {alignment = 128 : i64} : memref<5xf32>
  linalg.copy ins(%x : memref<5xf32>) outs(%a : memref<5xf32>)
  linalg.copy ins(%a : memref<5xf32>) outs(%b : memref<5xf32>)
  linalg.copy ins(%b : memref<5xf32>) outs(%out : memref<5xf32>)
  return
}

// -----

// An allocation in a sequential loop moves before the loop and is planned.
// CHECK-LABEL: func @sequential_loop
// CHECK-SAME: kiln.workspace_bytes = 64 : i64
// CHECK: %[[T:.*]] = memref.view
// CHECK-NEXT: scf.for
// CHECK-NEXT: linalg.copy ins(%{{.*}} : memref<8xf32>) outs(%[[T]] : memref<8xf32>)
// CHECK-NOT: memref.alloc
func.func @sequential_loop(%out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %t = memref.alloc() : memref<8xf32>
    linalg.copy ins(%out : memref<8xf32>) outs(%t : memref<8xf32>)
    linalg.copy ins(%t : memref<8xf32>) outs(%out : memref<8xf32>)
  }
  return
}

// -----

// An allocation in a parallel loop is per task: it goes on the stack when
// small enough (4096 bytes: under the default limit), else (over 1024,
// STACK) it stays on the heap and is freed at the end of the iteration.
// CHECK-LABEL: func @parallel_loop
// CHECK-SAME: %{{.*}}: memref<0xi8>) attributes {kiln.workspace_bytes = 0 : i64}
// CHECK: scf.forall
// CHECK-NEXT: %[[T:.*]] = memref.alloca() : memref<1024xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[T]] : memref<1024xf32>)
// STACK-LABEL: func @parallel_loop
// STACK: scf.forall
// STACK-NEXT: %[[T:.*]] = memref.alloc() : memref<1024xf32>
// STACK: linalg.copy ins(%[[T]]
// STACK-NEXT: memref.dealloc %[[T]] : memref<1024xf32>
// STACK-NEXT: }
func.func @parallel_loop(%out: memref<4x1024xf32>) {
  scf.forall (%i) in (4) {
    %t = memref.alloc() : memref<1024xf32>
    %cst = arith.constant 0.0 : f32
    linalg.fill ins(%cst : f32) outs(%t : memref<1024xf32>)
    %s = memref.subview %out[%i, 0] [1, 1024] [1, 1] : memref<4x1024xf32> to memref<1024xf32, strided<[1], offset: ?>>
    linalg.copy ins(%t : memref<1024xf32>) outs(%s : memref<1024xf32, strided<[1], offset: ?>>)
  }
  return
}

// -----

// Over the default stack limit (256 KiB): a heap buffer per iteration,
// freed at the end of the block it is in.
// CHECK-LABEL: func @parallel_loop_too_big
// CHECK: scf.forall
// CHECK-NEXT: %[[T:.*]] = memref.alloc() : memref<131072xf32>
// CHECK: linalg.fill
// CHECK-NEXT: memref.dealloc %[[T]] : memref<131072xf32>
// CHECK-NEXT: }
func.func @parallel_loop_too_big(%out: memref<4xf32>) {
  scf.forall (%i) in (4) {
    %t = memref.alloc() : memref<131072xf32>
    %cst = arith.constant 0.0 : f32
    linalg.fill ins(%cst : f32) outs(%t : memref<131072xf32>)
  }
  return
}

// -----

// An entry point with nothing to place still takes an (empty) workspace.
// CHECK-LABEL: func @nothing_to_place
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: memref<0xi8>) attributes {kiln.workspace_bytes = 0 : i64}
func.func @nothing_to_place(%x: memref<4xf32>) {
  return
}

// A private function without allocations is left alone.
// CHECK-LABEL: func private @helper
// CHECK-SAME: (%{{.*}}: memref<4xf32>) {
func.func private @helper(%x: memref<4xf32>) {
  return
}

// -----

// Only entry points receive a workspace.
func.func private @private_alloc(%out: memref<4xf32>) {
  // expected-error @+1 {{allocation in a function that is not an entry point: only entry points receive a workspace}}
  %t = memref.alloc() : memref<4xf32>
  linalg.copy ins(%t : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}

// -----

// A dynamic size cannot be planned.
func.func @dynamic_alloc(%n: index, %out: memref<4xf32>) {
  // expected-error @+1 {{cannot plan a dynamically shaped allocation}}
  %t = memref.alloc(%n) : memref<?xf32>
  return
}

// -----

// A partial tile's buffer (the loop of 10 in tiles of 4) is dynamically
// sized but bounded by the tile size: 4 x 8 floats go on the stack and the
// dynamic shape is a view of them.
// CHECK-LABEL: func @partial_tile
// CHECK: scf.forall
// CHECK: %[[N:.*]] = affine.min
// CHECK: %[[RAW:.*]] = memref.alloca() : memref<128xi8>
// CHECK: %[[T:.*]] = memref.view %[[RAW]][%{{.*}}][%[[N]]] : memref<128xi8> to memref<?x8xf32>
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[T]] : memref<?x8xf32>)
#tile = affine_map<(d0) -> (4, -d0 + 10)>
func.func @partial_tile(%out: memref<10x8xf32>) {
  scf.forall (%i) = (0) to (10) step (4) {
    %n = affine.min #tile(%i)
    %t = memref.alloc(%n) : memref<?x8xf32>
    %cst = arith.constant 0.0 : f32
    linalg.fill ins(%cst : f32) outs(%t : memref<?x8xf32>)
    %s = memref.subview %out[%i, 0] [%n, 8] [1, 1] : memref<10x8xf32> to memref<?x8xf32, strided<[8, 1], offset: ?>>
    linalg.copy ins(%t : memref<?x8xf32>) outs(%s : memref<?x8xf32, strided<[8, 1], offset: ?>>)
  }
  return
}

// -----

// A size without a constant upper bound cannot be planned.
func.func @unbounded_tile(%n: index, %out: memref<4xf32>) {
  scf.forall (%i) in (4) {
    // expected-error @+1 {{cannot plan a dynamically shaped allocation: a size has no constant upper bound}}
    %t = memref.alloc(%n) : memref<?xf32>
  }
  return
}
