// RUN: kiln-opt %s -split-input-file \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-promote-accumulators))' | FileCheck %s

// A matmul's reduction: the accumulator is loaded once, carried in
// iter_args, stored once.
// CHECK-LABEL: func.func @matmul
// CHECK: gpu.launch
// CHECK: %[[INIT:.*]] = memref.load %[[C:.*]][%[[I:.*]], %[[J:.*]]] : memref<16x64xf32>
// CHECK-NEXT: %[[R:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[INIT]]) -> (f32) {
// CHECK-NEXT: memref.load %{{.*}} : memref<16x8xf32>
// CHECK-NEXT: memref.load %{{.*}} : memref<8x64xf32>
// CHECK-NEXT: %[[M:.*]] = arith.mulf
// CHECK-NEXT: %[[S:.*]] = arith.addf %[[ACC]], %[[M]]
// CHECK-NEXT: scf.yield %[[S]] : f32
// CHECK-NEXT: }
// CHECK-NEXT: memref.store %[[R]], %[[C]][%[[I]], %[[J]]]
func.func @matmul(%a: memref<16x8xf32>, %b: memref<8x64xf32>, %c: memref<16x64xf32>, %i: index, %j: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %x = memref.load %a[%i, %k] : memref<16x8xf32>
      %y = memref.load %b[%k, %j] : memref<8x64xf32>
      %z = memref.load %c[%i, %j] : memref<16x64xf32>
      %m = arith.mulf %x, %y : f32
      %s = arith.addf %z, %m : f32
      memref.store %s, %c[%i, %j] : memref<16x64xf32>
    }
    gpu.terminator
  }
  return
}

// -----

// Two reduction levels (a convolution's channels and taps): the inner loop
// first, then the outer one around it.
// CHECK-LABEL: func.func @nested
// CHECK: %[[INIT:.*]] = memref.load %[[O:.*]][] : memref<f32>
// CHECK-NEXT: %[[R:.*]] = scf.for {{.*}} iter_args(%[[A0:.*]] = %[[INIT]]) -> (f32) {
// CHECK-NEXT: %[[RI:.*]] = scf.for {{.*}} iter_args(%[[A1:.*]] = %[[A0]]) -> (f32) {
// CHECK: scf.yield
// CHECK: scf.yield %[[RI]] : f32
// CHECK: memref.store %[[R]], %[[O]][]
// CHECK-NOT: memref.store
func.func @nested(%in: memref<4x3xf32>, %out: memref<f32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    scf.for %p = %c0 to %c4 step %c1 {
      scf.for %q = %c0 to %c3 step %c1 {
        %x = memref.load %in[%p, %q] : memref<4x3xf32>
        %z = memref.load %out[] : memref<f32>
        %s = arith.addf %z, %x : f32
        memref.store %s, %out[] : memref<f32>
      }
    }
    gpu.terminator
  }
  return
}

// -----

// Near misses: a second store in the loop, an index computed in the loop,
// the memref read elsewhere in the loop, a loop on the host.
// CHECK-LABEL: func.func @misses
// CHECK-NOT: iter_args
// CHECK: return
func.func @misses(%a: memref<8xf32>, %c: memref<8xf32>, %d: memref<8xf32>, %i: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %x = memref.load %a[%k] : memref<8xf32>
      %z = memref.load %c[%i] : memref<8xf32>
      %s = arith.addf %z, %x : f32
      memref.store %s, %c[%i] : memref<8xf32>
      memref.store %s, %d[%k] : memref<8xf32>
    }
    scf.for %k = %c0 to %c8 step %c1 {
      %ik = arith.addi %i, %c0 : index
      %z = memref.load %c[%ik] : memref<8xf32>
      memref.store %z, %c[%ik] : memref<8xf32>
    }
    scf.for %k = %c0 to %c8 step %c1 {
      %x = memref.load %c[%k] : memref<8xf32>
      %z = memref.load %c[%i] : memref<8xf32>
      %s = arith.addf %z, %x : f32
      memref.store %s, %c[%i] : memref<8xf32>
    }
    gpu.terminator
  }
  scf.for %k = %c0 to %c8 step %c1 {
    %x = memref.load %a[%k] : memref<8xf32>
    %z = memref.load %c[%i] : memref<8xf32>
    %s = arith.addf %z, %x : f32
    memref.store %s, %c[%i] : memref<8xf32>
  }
  return
}
