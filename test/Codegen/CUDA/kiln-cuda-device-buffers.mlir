// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -pass-pipeline='builtin.module(func.func(kiln-cuda-device-buffers))' | FileCheck %s

// Inputs, weights and constants are copied in, the output copied out, the
// workspace replaced by a device buffer (the host one shrinks to nothing);
// all freed before the return.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[Y:.*]]: memref<4xf32>, %[[T:.*]]: !llvm.ptr, %[[WS:.*]]: memref<64xi8>)
// CHECK-SAME: kiln.workspace_bytes = 0 : i64
// CHECK-NEXT: %[[DX:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[DX]], %[[X]]
// CHECK-NEXT: %[[DY:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: %[[DWS:.*]] = gpu.alloc () : memref<64xi8>
// CHECK: %[[W:.*]] = kiln_rt.weight %[[T]][0]
// CHECK-NEXT: %[[DW:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[DW]], %[[W]]
// CHECK-NEXT: %[[G:.*]] = memref.get_global @cst
// CHECK-NEXT: %[[DG:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[DG]], %[[G]]
// CHECK-NEXT: %[[V:.*]] = memref.view %[[DWS]]
// CHECK-NEXT: linalg.add ins(%[[DX]], %[[DW]] : {{.*}}) outs(%[[V]] :
// CHECK-NEXT: linalg.add ins(%[[V]], %[[DG]] : {{.*}}) outs(%[[DY]] :
// CHECK-NEXT: gpu.memcpy %[[Y]], %[[DY]]
// CHECK-NEXT: gpu.dealloc %[[DX]]
// CHECK-NEXT: gpu.dealloc %[[DY]]
// CHECK-NEXT: gpu.dealloc %[[DWS]]
// CHECK-NEXT: gpu.dealloc %[[DW]]
// CHECK-NEXT: gpu.dealloc %[[DG]]
// CHECK-NEXT: return
memref.global "private" constant @cst : memref<4xf32> = dense<[1.0, 2.0, 3.0, 4.0]>
func.func @main(%x: memref<4xf32>, %y: memref<4xf32>, %table: !llvm.ptr, %ws: memref<64xi8>)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = [{name = "y", type = tensor<4xf32>}],
                kiln.workspace_bytes = 64 : i64} {
  %c0 = arith.constant 0 : index
  %w = kiln_rt.weight %table[0] : !llvm.ptr -> memref<4xf32>
  %g = memref.get_global @cst : memref<4xf32>
  %t = memref.view %ws[%c0][] : memref<64xi8> to memref<4xf32>
  linalg.add ins(%x, %w : memref<4xf32>, memref<4xf32>) outs(%t : memref<4xf32>)
  linalg.add ins(%t, %g : memref<4xf32>, memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

// Dynamic sizes come from the host buffer; a dynamic allocation the
// memory plan left becomes a device allocation.
// CHECK-LABEL: func.func @dynamic
// CHECK-SAME: (%[[X:.*]]: memref<?xf32>, %[[Y:.*]]: memref<?xf32>)
// CHECK-NEXT: %[[C0:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[N:.*]] = memref.dim %[[X]], %[[C0]]
// CHECK-NEXT: %[[DX:.*]] = gpu.alloc (%[[N]]) : memref<?xf32>
// CHECK-NEXT: gpu.memcpy %[[DX]], %[[X]]
// CHECK: %[[M:.*]] = memref.dim %[[Y]]
// CHECK-NEXT: %[[DY:.*]] = gpu.alloc (%[[M]]) : memref<?xf32>
// CHECK: %[[TMP:.*]] = gpu.alloc (%{{.*}}) : memref<?xf32>
// CHECK-NOT: memref.alloc
// CHECK: linalg.copy ins(%[[DX]] : memref<?xf32>) outs(%[[TMP]] :
// CHECK: linalg.copy ins(%[[TMP]] : memref<?xf32>) outs(%[[DY]] :
// CHECK-NEXT: gpu.dealloc %[[TMP]]
// CHECK-NEXT: gpu.memcpy %[[Y]], %[[DY]]
func.func @dynamic(%x: memref<?xf32>, %y: memref<?xf32>)
    attributes {kiln.inputs = [{name = "x", type = tensor<?xf32>}],
                kiln.outputs = [{name = "y", type = tensor<?xf32>}]} {
  %c0 = arith.constant 0 : index
  %n = memref.dim %x, %c0 : memref<?xf32>
  %tmp = memref.alloc(%n) : memref<?xf32>
  linalg.copy ins(%x : memref<?xf32>) outs(%tmp : memref<?xf32>)
  linalg.copy ins(%tmp : memref<?xf32>) outs(%y : memref<?xf32>)
  memref.dealloc %tmp : memref<?xf32>
  return
}

// -----

// Near miss: a function that is not an entry point keeps its buffers.
// CHECK-LABEL: func.func @helper
// CHECK-NOT: gpu.
// CHECK: return
func.func @helper(%x: memref<4xf32>) {
  return
}

// -----

// expected-error @+1 {{cannot give input 0 of type 'memref<4xf32, strided<[2]>>' device memory: only identity layouts are supported}}
func.func @strided(%x: memref<4xf32, strided<[2]>>, %y: memref<4xf32>)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = [{name = "y", type = tensor<4xf32>}]} {
  linalg.copy ins(%x : memref<4xf32, strided<[2]>>) outs(%y : memref<4xf32>)
  return
}

// -----

func.func @weight_in_loop(%x: memref<4xf32>, %y: memref<4xf32>, %table: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = [{name = "y", type = tensor<4xf32>}]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  scf.for %i = %c0 to %c2 step %c1 {
    // expected-error @+1 {{reads host data inside a loop or branch}}
    %w = kiln_rt.weight %table[0] : !llvm.ptr -> memref<4xf32>
    linalg.copy ins(%w : memref<4xf32>) outs(%y : memref<4xf32>)
  }
  return
}

// -----

// Weights read from kiln-cuda-resident-weights' device table are already on
// the device: no copy; the buffers come after the upload call.
// CHECK-LABEL: func.func @resident
// CHECK-NEXT: call @kiln_cuda_resident_weights
// CHECK-NEXT: %[[DX:.*]] = gpu.alloc () : memref<4xf32>
// CHECK: %[[W:.*]] = kiln_rt.weight %{{.*}}[0]
// CHECK-NOT: gpu.memcpy %{{.*}}, %[[W]]
// CHECK: linalg.add ins(%[[DX]], %[[W]] :
llvm.mlir.global internal @kiln_cuda_weights() : !llvm.array<1 x ptr>
func.func private @kiln_cuda_resident_weights(%t: !llvm.ptr)
func.func @resident(%x: memref<4xf32>, %y: memref<4xf32>, %table: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = [{name = "y", type = tensor<4xf32>}]} {
  call @kiln_cuda_resident_weights(%table) : (!llvm.ptr) -> ()
  %dev = llvm.mlir.addressof @kiln_cuda_weights : !llvm.ptr
  %w = kiln_rt.weight %dev[0] : !llvm.ptr -> memref<4xf32>
  linalg.add ins(%x, %w : memref<4xf32>, memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

// An input only loaded on the host (a decoder's position) gets no device
// buffer: the load reads it in place, marked for kiln-cuda-map-loops. An
// input the entry point writes through a view (a KV cache updated in place)
// is copied back to the host; one it only reads is not.
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: (%[[POS:[^:]*]]: memref<index>, %[[CACHE:[^:]*]]: memref<8xf32>, %[[X:[^:]*]]: memref<2xf32>, %[[Y:[^:]*]]: memref<2xf32>)
// CHECK-NEXT: %[[DC:.*]] = gpu.alloc () : memref<8xf32>
// CHECK-NEXT: gpu.memcpy %[[DC]], %[[CACHE]]
// CHECK-NEXT: %[[DX:.*]] = gpu.alloc () : memref<2xf32>
// CHECK-NEXT: gpu.memcpy %[[DX]], %[[X]]
// CHECK-NEXT: %[[DY:.*]] = gpu.alloc () : memref<2xf32>
// CHECK-NEXT: %[[P:.*]] = memref.load %[[POS]][] {kiln.host_load} : memref<index>
// CHECK-NEXT: %[[V:.*]] = memref.subview %[[DC]][%[[P]]] [2] [1]
// CHECK-NEXT: linalg.copy ins(%[[DX]] : {{.*}}) outs(%[[V]] :
// CHECK-NEXT: linalg.copy ins(%[[DX]] : {{.*}}) outs(%[[DY]] :
// CHECK-NEXT: gpu.memcpy %[[CACHE]], %[[DC]]
// CHECK-NEXT: gpu.memcpy %[[Y]], %[[DY]]
// CHECK-NEXT: gpu.dealloc %[[DC]]
// CHECK-NEXT: gpu.dealloc %[[DX]]
// CHECK-NEXT: gpu.dealloc %[[DY]]
// CHECK-NEXT: return
func.func @in_place(%pos: memref<index>, %cache: memref<8xf32>, %x: memref<2xf32>, %y: memref<2xf32>)
    attributes {kiln.inputs = [{name = "pos", type = tensor<index>},
                               {name = "cache", type = tensor<8xf32>},
                               {name = "x", type = tensor<2xf32>}],
                kiln.outputs = [{name = "y", type = tensor<2xf32>}]} {
  %p = memref.load %pos[] : memref<index>
  %v = memref.subview %cache[%p] [2] [1] : memref<8xf32> to memref<2xf32, strided<[1], offset: ?>>
  linalg.copy ins(%x : memref<2xf32>) outs(%v : memref<2xf32, strided<[1], offset: ?>>)
  linalg.copy ins(%x : memref<2xf32>) outs(%y : memref<2xf32>)
  return
}

// -----

// Near miss: an input also loaded inside a loop (a kernel, later) needs a
// device buffer; the load at the top level still reads the host.
// CHECK-LABEL: func.func @loaded_in_loop
// CHECK-SAME: (%[[N:[^:]*]]: memref<index>, %[[Y:[^:]*]]: memref<4xindex>)
// CHECK-NEXT: %[[DN:.*]] = gpu.alloc () : memref<index>
// CHECK-NEXT: gpu.memcpy %[[DN]], %[[N]]
// CHECK: memref.load %[[N]][] {kiln.host_load}
// CHECK: scf.parallel
// CHECK-NEXT: memref.load %[[DN]][] : memref<index>
// CHECK-NOT: gpu.memcpy %[[N]]
// CHECK: return
func.func @loaded_in_loop(%n: memref<index>, %y: memref<4xindex>)
    attributes {kiln.inputs = [{name = "n", type = tensor<index>}],
                kiln.outputs = [{name = "y", type = tensor<4xindex>}]} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %b = memref.load %n[] : memref<index>
  scf.parallel (%i) = (%c0) to (%b) step (%c1) {
    %v = memref.load %n[] : memref<index>
    memref.store %v, %y[%i] : memref<4xindex>
    scf.reduce
  }
  return
}
