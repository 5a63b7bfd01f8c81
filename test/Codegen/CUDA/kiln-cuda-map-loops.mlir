// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-map-loops,canonicalize))' | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-map-loops{threads-per-block=128},canonicalize))' \
// RUN:   | FileCheck %s --check-prefix=T128
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-map-loops{tile-reductions=false},canonicalize))' \
// RUN:   | FileCheck %s --check-prefix=FLAT

// A 16x64 matmul: reductions take 2-D tiles of 16 rows (256 / 16) by 16
// columns, 4 blocks; the tiles cover the nest exactly: no guard. Without
// tiles (FLAT), 1024 iterations in 4 blocks of 256 threads, the last
// dimension fastest; with 128 threads (T128), tiles of 8 x 16, 8 blocks.
// CHECK-LABEL: func.func @matmul
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG: %[[C4:.*]] = arith.constant 4 : index
// CHECK-DAG: %[[C1:.*]] = arith.constant 1 : index
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %[[C4]], %{{[a-z0-9]+}} = %[[C1]], %{{[a-z0-9]+}} = %[[C1]])
// CHECK-SAME: threads(%[[TX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %[[C256]], %{{[a-z0-9]+}} = %[[C1]], %{{[a-z0-9]+}} = %[[C1]])
// CHECK-SAME: module(@kiln_kernels) function(@matmul_kernel0)
// CHECK-NEXT: %[[TC:.*]] = arith.remsi %[[BX]], %[[C4]]
// CHECK-NEXT: %[[I:.*]] = arith.divsi %[[TX]], %[[C16]]
// CHECK-NEXT: %[[X:.*]] = arith.remsi %[[TX]], %[[C16]]
// CHECK-NEXT: %[[J0:.*]] = arith.muli %[[TC]], %[[C16]]
// CHECK-NEXT: %[[J:.*]] = arith.addi %[[J0]], %[[X]]
// CHECK-NEXT: scf.for
// CHECK: memref.load %{{.*}}[%[[I]], %[[J]]]
// CHECK: gpu.terminator
// CHECK-NOT: scf.parallel
// FLAT-LABEL: func.func @matmul
// FLAT: gpu.launch blocks(%[[BX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c4,
// FLAT-SAME: threads(%[[TX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %c256,
// FLAT-NEXT: %[[B:.*]] = arith.muli %[[BX]], %c256
// FLAT-NEXT: %[[ID:.*]] = arith.addi %[[B]], %[[TX]]
// FLAT-NEXT: %[[J:.*]] = arith.remsi %[[ID]], %c64
// FLAT-NEXT: %[[I:.*]] = arith.divsi %[[ID]], %c64
// FLAT-NEXT: scf.for
// FLAT: memref.load %{{.*}}[%[[I]], %[[J]]]
// T128-LABEL: func.func @matmul
// T128: gpu.launch blocks({{.*}}) in (%{{.*}} = %c8, {{.*}} threads({{.*}}) in (%{{.*}} = %c128,
func.func @matmul(%a: memref<16x8xf32>, %b: memref<8x64xf32>, %c: memref<16x64xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c64) step (%c1, %c1) {
    scf.for %k = %c0 to %c8 step %c1 {
      %x = memref.load %a[%i, %k] : memref<16x8xf32>
      %y = memref.load %b[%k, %j] : memref<8x64xf32>
      %z = memref.load %c[%i, %j] : memref<16x64xf32>
      %m = arith.mulf %x, %y : f32
      %s = arith.addf %z, %m : f32
      memref.store %s, %c[%i, %j] : memref<16x64xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A nest smaller than a block gets a block of its size; lower bounds and
// steps apply to the delinearized index; a nested parallel loop stays in
// the thread (it runs sequentially there).
// CHECK-LABEL: func.func @small
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, {{.*}} threads({{.*}}) in (%{{.*}} = %c3,
// CHECK-NOT: scf.if
// CHECK: %[[T:.*]] = arith.muli %{{.*}}, %c2
// CHECK-NEXT: %[[IV:.*]] = arith.addi %[[T]], %c1
// CHECK-NEXT: scf.parallel (%{{.*}}) = (%c0) to (%c4)
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[IV]], %{{.*}}]
func.func @small(%a: memref<8x4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c7 = arith.constant 7 : index
  %f = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c1) to (%c7) step (%c2) {
    scf.parallel (%j) = (%c0) to (%c4) step (%c1) {
      memref.store %f, %a[%i, %j] : memref<8x4xf32>
      scf.reduce
    }
    scf.reduce
  }
  return
}

// -----

// Dynamic bounds: the trip count and the grid are computed on the host.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[A:.*]]: memref<?xf32>, %[[N:.*]]: index)
// CHECK: %[[CNT:.*]] = arith.maxsi %[[N]], %c0
// CHECK: %[[G:.*]] = arith.ceildivsi %[[CNT]], %c256
// CHECK: %[[G1:.*]] = arith.maxsi %[[G]], %c1
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %[[G1]], {{.*}} threads({{.*}}) in (%{{.*}} = %c256,
// CHECK: arith.cmpi slt, %{{.*}}, %[[CNT]]
func.func @dynamic(%a: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// Host code touching memory runs in a one-thread kernel, a load and the
// store of its value together; a host loop around parallel loops stays
// on the host and launches a kernel per iteration.
// CHECK-LABEL: func.func @host
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c1, %{{.*}} = %c1, %{{.*}} = %c1) threads({{.*}}) in (%{{.*}} = %c1,
// CHECK-SAME: function(@host_kernel0)
// CHECK-NEXT: %[[V:.*]] = memref.load
// CHECK-NEXT: memref.store %[[V]]
// CHECK-NEXT: gpu.terminator
// CHECK: scf.for
// CHECK-NEXT: gpu.launch
// CHECK-SAME: function(@host_kernel1)
func.func @host(%x: memref<f32>, %y: memref<f32>, %z: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %v = memref.load %x[] : memref<f32>
  memref.store %v, %y[] : memref<f32>
  scf.for %t = %c0 to %c4 step %c1 {
    scf.parallel (%i) = (%c0) to (%c4) step (%c1) {
      %w = memref.load %y[] : memref<f32>
      memref.store %w, %z[%i] : memref<4xf32>
      scf.reduce
    }
  }
  return
}

// -----

// Near miss: a function without loops or memory accesses is left alone.
// CHECK-LABEL: func.func @nothing
// CHECK-NOT: gpu.launch
func.func @nothing(%x: index) -> index {
  %c1 = arith.constant 1 : index
  %y = arith.addi %x, %c1 : index
  return %y : index
}

// -----

func.func @reduction(%a: memref<4xf32>) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 0.0 : f32
  // expected-error @+1 {{parallel loop with reductions: the CUDA target maps only loops whose iterations are independent}}
  %s = scf.parallel (%i) = (%c0) to (%c4) step (%c1) init (%f) -> f32 {
    %v = memref.load %a[%i] : memref<4xf32>
    scf.reduce(%v : f32) {
    ^bb0(%l: f32, %r: f32):
      %t = arith.addf %l, %r : f32
      scf.reduce.return %t : f32
    }
  }
  return %s : f32
}

// -----

func.func @host_value(%x: memref<index>, %a: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 0.0 : f32
  // expected-error @+1 {{computes on the host a value read from device memory that a kernel or the return needs}}
  %n = memref.load %x[] : memref<index>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// The same with the load marked by kiln-cuda-device-buffers as reading host
// memory (an input only the host reads): it stays on the host, and its
// value bounds the kernel.
// CHECK-LABEL: func.func @host_load
// CHECK-SAME: (%[[X:.*]]: memref<index>,
// CHECK: %[[N:.*]] = memref.load %[[X]][] {kiln.host_load} : memref<index>
// CHECK-NEXT: %[[M:.*]] = arith.maxsi %[[N]], %c0
// CHECK-NEXT: arith.ceildivsi %[[M]], %c256
// CHECK: gpu.launch
// CHECK: gpu.terminator
func.func @host_load(%x: memref<index>, %a: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 0.0 : f32
  %n = memref.load %x[] {kiln.host_load} : memref<index>
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    memref.store %f, %a[%i] : memref<?xf32>
    scf.reduce
  }
  return
}

// -----

// 1000 iterations: 4 blocks of 256, and a guard for the last 24 threads.
// CHECK-LABEL: func.func @tail
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c4, {{.*}} threads({{.*}}) in (%{{.*}} = %c256,
// CHECK: %[[IN:.*]] = arith.cmpi slt, %{{.*}}, %c1000
// CHECK-NEXT: scf.if %[[IN]] {
// CHECK-NEXT: memref.store
func.func @tail(%a: memref<1000xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1000 = arith.constant 1000 : index
  %f = arith.constant 0.0 : f32
  scf.parallel (%i) = (%c0) to (%c1000) step (%c1) {
    memref.store %f, %a[%i] : memref<1000xf32>
    scf.reduce
  }
  return
}

// -----

// An 18x20 reduction: tiles of 16 x 16 (4 blocks: 2 x 2 tiles); both
// dimensions need a guard. The outer dimension (3) is flattened over the
// blocks: 12 blocks.
// CHECK-LABEL: func.func @tiled_tail
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c12, {{.*}} threads({{.*}}) in (%{{.*}} = %c256,
// CHECK: %[[RI:.*]] = arith.cmpi slt, %{{.*}}, %c18
// CHECK-NEXT: %[[RJ:.*]] = arith.cmpi slt, %{{.*}}, %c20
// CHECK-NEXT: %[[IN:.*]] = arith.andi %[[RI]], %[[RJ]]
// CHECK-NEXT: scf.if %[[IN]] {
// CHECK: scf.for
func.func @tiled_tail(%a: memref<3x18x20xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c3 = arith.constant 3 : index
  %c4 = arith.constant 4 : index
  %c18 = arith.constant 18 : index
  %c20 = arith.constant 20 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%b, %i, %j) = (%c0, %c0, %c0) to (%c3, %c18, %c20) step (%c1, %c1, %c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %a[%b, %i, %j] : memref<3x18x20xf32>
      %s = arith.addf %v, %f : f32
      memref.store %s, %a[%b, %i, %j] : memref<3x18x20xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Near miss: a reduction with fewer rows than a tile (a decoder step's
// product, 1 x 600) is flattened, every thread of a block busy: 3 blocks
// of 256 threads, not 38 tiles of which one row in 16 works.
// CHECK-LABEL: func.func @one_row
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c3, {{.*}} threads({{.*}}) in (%{{.*}} = %c256,
// CHECK: arith.cmpi slt, %{{.*}}, %c600
func.func @one_row(%a: memref<1x600xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c600 = arith.constant 600 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c1, %c600) step (%c1, %c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %a[%i, %j] : memref<1x600xf32>
      %s = arith.addf %v, %f : f32
      memref.store %s, %a[%i, %j] : memref<1x600xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A nest with a dimension of static size 0 runs nothing: no launch, flat
// or tiled, even when another dimension is dynamic.
// CHECK-LABEL: func.func @empty
// CHECK-NOT: gpu.launch
// CHECK-NOT: scf.parallel
// CHECK: return
// FLAT-LABEL: func.func @empty
// FLAT-NOT: gpu.launch
// FLAT: return
func.func @empty(%a: memref<0x64xf32>, %b: memref<?x0xf32>, %c: memref<0x16x16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %c64 = arith.constant 64 : index
  %f = arith.constant 0.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%c0, %c64) step (%c1, %c1) {
    memref.store %f, %a[%i, %j] : memref<0x64xf32>
    scf.reduce
  }
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %c0) step (%c1, %c1) {
    memref.store %f, %b[%i, %j] : memref<?x0xf32>
    scf.reduce
  }
  scf.parallel (%o, %i, %j) = (%c0, %c0, %c0) to (%c0, %c16, %c16) step (%c1, %c1, %c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %c[%o, %i, %j] : memref<0x16x16xf32>
      %s = arith.addf %v, %f : f32
      memref.store %s, %c[%o, %i, %j] : memref<0x16x16xf32>
    }
    scf.reduce
  }
  return
}

// -----

// A tiled nest whose outer dimension is dynamic may be empty at run time:
// the grid is raised to one block, so the blocks check the outer range
// even though the 16 x 16 tiles cover the last two dimensions exactly.
// Flat (FLAT), the trip count guards it.
// CHECK-LABEL: func.func @dynamic_outer
// CHECK-SAME: (%[[A:.*]]: memref<?x16x16xf32>, %[[N:.*]]: index)
// CHECK: %[[CNT:.*]] = arith.maxsi %[[N]], %c0
// CHECK: %[[G:.*]] = arith.maxsi %[[CNT]], %c1
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}}) in (%{{[a-z0-9]+}} = %[[G]],
// CHECK: %[[IN:.*]] = arith.cmpi slt, %[[BX]], %[[CNT]]
// CHECK-NEXT: scf.if %[[IN]] {
// CHECK: scf.for
// FLAT-LABEL: func.func @dynamic_outer
// FLAT: gpu.launch
// FLAT: %[[IN:.*]] = arith.cmpi slt,
// FLAT-NEXT: scf.if %[[IN]] {
func.func @dynamic_outer(%a: memref<?x16x16xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%o, %i, %j) = (%c0, %c0, %c0) to (%n, %c16, %c16) step (%c1, %c1, %c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %a[%o, %i, %j] : memref<?x16x16xf32>
      %s = arith.addf %v, %f : f32
      memref.store %s, %a[%o, %i, %j] : memref<?x16x16xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Near miss: a static outer dimension (2) with exact tiles needs no guard.
// CHECK-LABEL: func.func @static_outer
// CHECK: gpu.launch blocks({{.*}}) in (%{{.*}} = %c2, {{.*}} threads({{.*}}) in (%{{.*}} = %c256,
// CHECK-NOT: scf.if
// CHECK: scf.for
func.func @static_outer(%a: memref<2x16x16xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%o, %i, %j) = (%c0, %c0, %c0) to (%c2, %c16, %c16) step (%c1, %c1, %c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %a[%o, %i, %j] : memref<2x16x16xf32>
      %s = arith.addf %v, %f : f32
      memref.store %s, %a[%o, %i, %j] : memref<2x16x16xf32>
    }
    scf.reduce
  }
  return
}

// -----

// Dynamic last two dimensions of a tiled nest may be 0 at run time (0
// tiles, one block): the kernel divides by at least one tile, and both
// dimensions are guarded.
// CHECK-LABEL: func.func @dynamic_tiles
// CHECK: gpu.launch blocks(%[[BX:[a-z0-9]+]], %{{[a-z0-9]+}}, %{{[a-z0-9]+}})
// CHECK: %[[TR:.*]] = arith.maxsi %{{.*}}, %c1
// CHECK: %[[TC:.*]] = arith.maxsi %{{.*}}, %c1
// CHECK-NEXT: arith.remsi %[[BX]], %[[TC]]
// CHECK: arith.remsi %{{.*}}, %[[TR]]
// CHECK: %[[RI:.*]] = arith.cmpi slt
// CHECK-NEXT: %[[RJ:.*]] = arith.cmpi slt
// CHECK-NEXT: %[[IN:.*]] = arith.andi %[[RI]], %[[RJ]]
// CHECK-NEXT: scf.if %[[IN]] {
func.func @dynamic_tiles(%a: memref<?x?xf32>, %n: index, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %f = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
    scf.for %k = %c0 to %c4 step %c1 {
      %v = memref.load %a[%i, %j] : memref<?x?xf32>
      %s = arith.addf %v, %f : f32
      memref.store %s, %a[%i, %j] : memref<?x?xf32>
    }
    scf.reduce
  }
  return
}
