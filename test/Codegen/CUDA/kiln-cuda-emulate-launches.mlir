// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-emulate-launches))' | FileCheck %s

// The launch becomes loops over blocks (z, y, x) then threads (z, y, x),
// the ids and sizes of the body replaced; device memory is host memory.
// CHECK-LABEL: func.func @launch
// CHECK-SAME: (%[[X:.*]]: memref<1000xf32>)
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK: %[[D:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1000xf32>
// CHECK-NEXT: memref.copy %[[X]], %[[D]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C1]] step
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %[[C1]] step
// CHECK-NEXT: scf.for %[[BX:.*]] = %{{.*}} to %[[C4]] step
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %[[C1]] step
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %[[C1]] step
// CHECK-NEXT: scf.for %[[TX:.*]] = %{{.*}} to %[[C256]] step
// CHECK-NEXT: %[[B:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK-NEXT: %[[ID:.*]] = arith.addi %[[B]], %[[TX]]
// CHECK: memref.store %{{.*}}, %[[D]][%[[ID]]]
// CHECK-NOT: gpu.
// CHECK: memref.copy %[[D]], %[[X]]
// CHECK-NEXT: memref.dealloc %[[D]]
func.func @launch(%x: memref<1000xf32>) {
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c256 = arith.constant 256 : index
  %c1000 = arith.constant 1000 : index
  %f = arith.constant 1.0 : f32
  %d = gpu.alloc () : memref<1000xf32>
  gpu.memcpy %d, %x : memref<1000xf32>, memref<1000xf32>
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1) {
    %b = arith.muli %bx, %sx : index
    %id = arith.addi %b, %tx : index
    %in = arith.cmpi slt, %id, %c1000 : index
    scf.if %in {
      memref.store %f, %d[%id] : memref<1000xf32>
    }
    gpu.terminator
  }
  gpu.memcpy %x, %d : memref<1000xf32>, memref<1000xf32>
  gpu.dealloc %d : memref<1000xf32>
  return
}

// -----

// Near miss: host code without launches or device memory is unchanged.
// CHECK-LABEL: func.func @host
// CHECK-NEXT: memref.store
// CHECK-NEXT: return
func.func @host(%x: memref<f32>, %v: f32) {
  memref.store %v, %x[] : memref<f32>
  return
}

// -----

func.func @barrier() {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{cannot emulate a kernel that synchronizes its threads}}
    gpu.barrier
    gpu.terminator
  }
  return
}

// -----

func.func @async(%x: memref<4xf32>) {
  %t = gpu.wait async
  // expected-error @+1 {{cannot emulate an asynchronous or shared device allocation}}
  %d, %t1 = gpu.alloc async [%t] () : memref<4xf32>
  return
}
