// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-emulate-launches))' | FileCheck %s

// The launch becomes loops over blocks (z, y, x) then threads (z, y, x),
// the ids and sizes of the body replaced; device memory is host memory.
// What every thread of a block computes alike runs once per block.
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
// CHECK-NEXT: %[[B:.*]] = arith.muli %[[BX]], %[[C256]]
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[C1]] step
// CHECK-NEXT: scf.for %{{.*}} = %{{.*}} to %[[C1]] step
// CHECK-NEXT: scf.for %[[TX:.*]] = %{{.*}} to %[[C256]] step
// CHECK: %[[ID:.*]] = arith.addi %[[B]], %[[TX]]
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

// A kernel that synchronizes runs phase by phase: every thread writes its
// element of shared memory (a host buffer), then every thread reads its
// neighbour's. The value the first phase computes for the second (%v + 1)
// lives in a per-thread array.
// CHECK-LABEL: func.func @barrier
// CHECK: %[[C64:.*]] = arith.constant 64 : index
// CHECK: %[[SH:.*]] = memref.alloc() : memref<64xf32>
// CHECK: %[[SLOT:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[TX:.*]] = %{{.*}} to %[[C64]] step
// CHECK: %[[ID:.*]] = arith.addi %{{.*}}, %[[TX]] : index
// CHECK: %[[V:.*]] = memref.load %{{.*}}[%[[TX]]]
// CHECK: %[[W:.*]] = arith.addf %[[V]]
// CHECK: memref.store %[[W]], %[[SLOT]][%[[ID]]]
// CHECK: memref.store %[[V]], %[[SH]][%[[TX]]]
// CHECK: scf.for %[[TX2:.*]] = %{{.*}} to %[[C64]] step
// CHECK: %[[ID2:.*]] = arith.addi %{{.*}}, %[[TX2]] : index
// CHECK: %[[N:.*]] = arith.remsi
// CHECK: %[[R:.*]] = memref.load %[[SH]][%[[N]]]
// CHECK: %[[W2:.*]] = memref.load %[[SLOT]][%[[ID2]]]
// CHECK: arith.addf %[[R]], %[[W2]]
// CHECK: memref.dealloc %[[SH]]
// CHECK: memref.dealloc %[[SLOT]]
// CHECK-NOT: gpu.
func.func @barrier(%x: memref<64xf32>, %y: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %one = arith.constant 1.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<64xf32, #gpu.address_space<workgroup>>) {
    %v = memref.load %x[%tx] : memref<64xf32>
    %w = arith.addf %v, %one : f32
    memref.store %v, %sh[%tx] : memref<64xf32, #gpu.address_space<workgroup>>
    gpu.barrier
    %n0 = arith.addi %tx, %c1 : index
    %n = arith.remsi %n0, %c64 : index
    %r = memref.load %sh[%n] : memref<64xf32, #gpu.address_space<workgroup>>
    %s = arith.addf %r, %w : f32
    memref.store %s, %y[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

// Barriers in a loop with the same bounds for every thread: the loop runs
// once per block, its phases inside; the value it carries is kept per
// thread (initialized, read, updated by the yield, read after the loop).
// CHECK-LABEL: func.func @barrier_loop
// CHECK: %[[ACC:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: scf.for %[[TX0:.*]] =
// CHECK: memref.store %{{.*}}, %[[ACC]]
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step
// CHECK-NOT: iter_args
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<32xf32>
// CHECK: scf.for
// CHECK: memref.load %[[ACC]]
// CHECK: arith.addf
// CHECK: memref.store %{{.*}}, %[[ACC]]
// CHECK: }
// CHECK: scf.for
// CHECK: %[[F:.*]] = memref.load %[[ACC]]
// CHECK: memref.store %[[F]], %{{.*}} : memref<32xf32>
func.func @barrier_loop(%x: memref<4x32xf32>, %y: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<32xf32, #gpu.address_space<workgroup>>) {
    %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
      %v = memref.load %x[%k, %tx] : memref<4x32xf32>
      memref.store %v, %sh[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %n0 = arith.addi %tx, %c1 : index
      %n = arith.remsi %n0, %c32 : index
      %r = memref.load %sh[%n] : memref<32xf32, #gpu.address_space<workgroup>>
      %a = arith.addf %acc, %r : f32
      gpu.barrier
      scf.yield %a : f32
    }
    memref.store %sum, %y[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

// A warp's tensor-core product is a phase of its own: per warp, its lanes'
// A and B fragments are gathered into host matrices (as f32, by the PTX
// fragment layouts), then each lane's accumulators get their 16-term dot
// products; the result is kept per thread.
// CHECK-LABEL: func.func @mma
// CHECK-DAG: %[[A:.*]] = memref.alloc() : memref<16x16xf32>
// CHECK-DAG: %[[B:.*]] = memref.alloc() : memref<16x8xf32>
// CHECK: scf.for %[[W:.*]] = %{{.*}} to %c2{{.*}} step
// CHECK: scf.for %[[L:.*]] = %{{.*}} to %c32{{.*}} step
// CHECK-COUNT-8: memref.store %{{.*}}, %[[A]]
// CHECK-COUNT-4: memref.store %{{.*}}, %[[B]]
// CHECK: scf.for %[[L2:.*]] = %{{.*}} to %c32{{.*}} step
// CHECK: scf.for {{.*}} iter_args
// CHECK: memref.load %[[A]]
// CHECK: memref.load %[[B]]
// CHECK: memref.store %{{.*}}, %{{.*}}[%{{.*}}] : memref<?xvector<2x2xf32>>
// CHECK-NOT: nvgpu.mma.sync
func.func @mma(%a: memref<64xvector<4x2xbf16>>, %b: memref<64xvector<2x2xbf16>>, %c: memref<64xvector<2x2xf32>>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %fa = memref.load %a[%tx] : memref<64xvector<4x2xbf16>>
    %fb = memref.load %b[%tx] : memref<64xvector<2x2xbf16>>
    %fc = memref.load %c[%tx] : memref<64xvector<2x2xf32>>
    %d = nvgpu.mma.sync (%fa, %fb, %fc) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
    memref.store %d, %c[%tx] : memref<64xvector<2x2xf32>>
    gpu.terminator
  }
  return
}

// -----

// A warp shuffle is a phase of its own: the value, kept per thread, is read
// for each thread from lane `tid xor offset` (the offset masked to a lane).
// CHECK-LABEL: func.func @shuffle
// CHECK: %[[V:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: %[[R:.*]] = memref.alloc(%{{.*}}) : memref<?xf32>
// CHECK: memref.store %{{.*}}, %[[V]]
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %c64{{.*}} step
// CHECK: %[[OFF:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK: %[[SRC:.*]] = arith.xori %[[T]], %[[OFF]] : index
// CHECK: %[[X:.*]] = memref.load %[[V]][%[[SRC]]]
// CHECK: memref.store %[[X]], %[[R]][%[[T]]]
// CHECK: memref.load %[[R]]
// CHECK-NOT: gpu.shuffle
func.func @shuffle(%x: memref<64xf32>) {
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %off = arith.constant 2 : i32
  %w = arith.constant 32 : i32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c64, %sy = %c1, %sz = %c1) {
    %v = memref.load %x[%tx] : memref<64xf32>
    %s, %ok = gpu.shuffle xor %v, %off, %w : f32
    %a = arith.addf %v, %s : f32
    memref.store %a, %x[%tx] : memref<64xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @shuffle_mode(%v: f32) {
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %off = arith.constant 2 : i32
  %w = arith.constant 32 : i32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{cannot emulate this shuffle: only xor over 32 lanes, with an offset every thread shares and its validity unused}}
    %s, %ok = gpu.shuffle down %v, %off, %w : f32
    gpu.terminator
  }
  return
}

// -----

func.func @mma_block(%n: index, %fa: vector<4x2xbf16>, %fb: vector<2x2xbf16>, %fc: vector<2x2xf32>) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %n, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{cannot emulate a warp operation in a block whose thread count is not a known multiple of 32}}
    %d = nvgpu.mma.sync (%fa, %fb, %fc) {mmaShape = [16, 8, 16]} : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
    gpu.terminator
  }
  return
}

// -----

// A loop whose body does not end with a barrier: nothing orders one
// iteration's trailing ops (the read of shared memory) and the next one's
// leading ops (the write) between threads, so they run as one phase (the
// loop rotated): the first iteration's leading ops before the loop, then
// per iteration the ops up to the barrier, then a phase with the trailing
// ops, the carried value's update and, unless it is the last iteration,
// the next iteration's leading ops. A thread's write for k + 1 then lands
// before later threads read k, as it may on a GPU.
// CHECK-LABEL: func.func @rotated
// CHECK: scf.if
// CHECK: scf.for
// CHECK: memref.store %{{.*}}, %[[SH:.*]][%{{.*}}] : memref<32xf32>
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step
// CHECK: scf.for
// CHECK: memref.load %[[SH]]
// CHECK: %[[NEXT:.*]] = arith.addi %[[K]], %{{.*}} : index
// CHECK: %[[MORE:.*]] = arith.cmpi slt, %[[NEXT]], %{{.*}} : index
// CHECK: scf.if %[[MORE]] {
// CHECK: memref.load %{{.*}}[%[[NEXT]], %{{.*}}] : memref<4x32xf32>
// CHECK: memref.store %{{.*}}, %[[SH]]
func.func @rotated(%x: memref<4x32xf32>, %y: memref<32xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %zero = arith.constant 0.0 : f32
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c32, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<32xf32, #gpu.address_space<workgroup>>) {
    %sum = scf.for %k = %c0 to %c4 step %c1 iter_args(%acc = %zero) -> f32 {
      %v = memref.load %x[%k, %tx] : memref<4x32xf32>
      memref.store %v, %sh[%tx] : memref<32xf32, #gpu.address_space<workgroup>>
      gpu.barrier
      %n0 = arith.addi %tx, %c1 : index
      %n = arith.remsi %n0, %c32 : index
      %r = memref.load %sh[%n] : memref<32xf32, #gpu.address_space<workgroup>>
      %a = arith.addf %acc, %r : f32
      scf.yield %a : f32
    }
    memref.store %sum, %y[%tx] : memref<32xf32>
    gpu.terminator
  }
  return
}

// -----

func.func @divergent_barrier(%c: i1) {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{cannot emulate a barrier inside 'scf.if' (only in scf.for loops)}}
    scf.if %c {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

func.func @divergent_loop() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c4, %sy = %c1, %sz = %c1) {
    // expected-error @+1 {{cannot emulate a loop with barriers whose bounds differ between threads}}
    scf.for %i = %c0 to %tx step %c1 {
      gpu.barrier
    }
    gpu.terminator
  }
  return
}

// -----

func.func @shared_view() {
  %c1 = arith.constant 1 : index
  gpu.launch blocks(%bx, %by, %bz) in (%gx = %c1, %gy = %c1, %gz = %c1)
             threads(%tx, %ty, %tz) in (%sx = %c1, %sy = %c1, %sz = %c1)
             workgroup(%sh : memref<8xf32, #gpu.address_space<workgroup>>) {
    // expected-error @+1 {{cannot emulate shared memory used by 'memref.subview' (only loads and stores)}}
    %v = memref.subview %sh[0] [4] [1] : memref<8xf32, #gpu.address_space<workgroup>> to memref<4xf32, strided<[1]>, #gpu.address_space<workgroup>>
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
