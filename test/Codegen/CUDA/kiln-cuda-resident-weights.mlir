// RUN: kiln-opt %s -split-input-file -verify-diagnostics -kiln-cuda-resident-weights | FileCheck %s
// RUN: kiln-opt %s -split-input-file -verify-diagnostics \
// RUN:   -kiln-cuda-resident-weights=free-at-unload=false | FileCheck %s --check-prefix=KEEP

// The entry point first makes sure the weights are on the device, then
// reads them from the device table; the upload copies each weight once,
// claimed by a compare-and-exchange of the state word (the losers wait in
// the runtime); a failed upload is discarded; a destructor frees them (not
// with free-at-unload=false).
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>, %[[T:.*]]: !llvm.ptr)
// CHECK-NEXT: call @kiln_cuda_resident_weights(%[[T]]) : (!llvm.ptr) -> ()
// CHECK-NEXT: %[[DEV:.*]] = llvm.mlir.addressof @kiln_cuda_weights : !llvm.ptr
// CHECK-NEXT: kiln_rt.weight %[[DEV]][1] : !llvm.ptr -> memref<4xf32>
// CHECK-NEXT: kiln_rt.weight %[[DEV]][0] : !llvm.ptr -> memref<2x2xi8>
// CHECK: llvm.mlir.global internal @kiln_cuda_weights() {{.*}} : !llvm.array<2 x ptr>
// CHECK: llvm.mlir.global internal @kiln_cuda_weights_state(0 : i32)
// CHECK-LABEL: func.func private @kiln_cuda_upload_weights
// CHECK-SAME: (%[[H:.*]]: !llvm.ptr) -> i1
// CHECK: %[[W1:.*]] = kiln_rt.weight %[[H]][1] : !llvm.ptr -> memref<4xf32>
// CHECK-NEXT: %[[D1:.*]] = gpu.alloc () : memref<4xf32>
// CHECK-NEXT: gpu.memcpy %[[D1]], %[[W1]]
// CHECK: llvm.getelementptr %{{.*}}[1]
// CHECK: llvm.store
// CHECK: %[[W0:.*]] = kiln_rt.weight %[[H]][0] : !llvm.ptr -> memref<2x2xi8>
// CHECK-NEXT: %[[D0:.*]] = gpu.alloc () : memref<2x2xi8>
// CHECK: return %{{.*}} : i1
// CHECK: llvm.func @kiln_rt_cuda_error_count() -> i64
// CHECK: llvm.func @kiln_rt_cuda_ok_since(i64) -> i32
// CHECK: llvm.func @kiln_rt_cuda_wait(!llvm.ptr)
// A failed upload frees every slot and zeroes it.
// CHECK-LABEL: llvm.func internal @kiln_cuda_discard_weights()
// CHECK-COUNT-2: llvm.call @mgpuMemFree({{.*}}) : (!llvm.ptr, !llvm.ptr) -> (){{$}}
// CHECK-NEXT: llvm.store %{{.*}}, %{{.*}} {alignment = 8 : i64} : !llvm.ptr, !llvm.ptr
// CHECK: llvm.return
// CHECK-LABEL: func.func private @kiln_cuda_resident_weights
// CHECK: llvm.load %{{.*}} atomic acquire
// CHECK: llvm.cmpxchg %{{.*}}, %{{.*}}, %{{.*}} acq_rel acquire
// CHECK: cf.cond_br %{{.*}}, ^{{.*}}, ^[[WAIT:[^ ]*]]
// CHECK: ^[[WAIT]]:
// CHECK-NEXT: llvm.call @kiln_rt_cuda_wait
// A failed copy makes the upload fail too: the runtime's error count.
// CHECK: %[[BEFORE:.*]] = llvm.call @kiln_rt_cuda_error_count()
// CHECK-NEXT: %[[OK:.*]] = call @kiln_cuda_upload_weights
// CHECK-NEXT: %[[CLEAN:.*]] = llvm.call @kiln_rt_cuda_ok_since(%[[BEFORE]])
// CHECK: %[[GOOD:.*]] = arith.andi %[[OK]]
// CHECK: cf.cond_br %[[GOOD]], ^[[SUCCESS:.*]], ^[[FAILURE:[^ ]*]]
// CHECK: ^[[SUCCESS]]:
// CHECK: %[[TWO:.*]] = arith.constant 2 : i32
// CHECK: llvm.store %[[TWO]], %{{.*}} atomic release
// CHECK: ^[[FAILURE]]:
// CHECK-NEXT: llvm.call @kiln_cuda_discard_weights()
// CHECK: %[[ZERO:.*]] = arith.constant 0 : i32
// CHECK: llvm.store %[[ZERO]], %{{.*}} atomic release
// CHECK: llvm.func internal @kiln_cuda_free_weights()
// CHECK-COUNT-2: llvm.call @mgpuMemFree
// CHECK: llvm.mlir.global_dtors dtors = [@kiln_cuda_free_weights]
// KEEP-LABEL: func.func @main
// KEEP-NOT: kiln_cuda_free_weights
// KEEP-NOT: global_dtors
func.func @main(%x: memref<4xf32>, %y: memref<4xf32>, %table: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = [{name = "y", type = tensor<4xf32>}]} {
  %w = kiln_rt.weight %table[1] : !llvm.ptr -> memref<4xf32>
  %q = kiln_rt.weight %table[0] : !llvm.ptr -> memref<2x2xi8>
  linalg.add ins(%x, %w : memref<4xf32>, memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

// Near miss: an entry point without weights is left alone.
// CHECK-LABEL: func.func @no_weights
// CHECK-NOT: kiln_cuda
// CHECK: return
func.func @no_weights(%x: memref<4xf32>, %y: memref<4xf32>, %table: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = [{name = "y", type = tensor<4xf32>}]} {
  linalg.copy ins(%x : memref<4xf32>) outs(%y : memref<4xf32>)
  return
}

// -----

func.func @two_types(%x: memref<4xf32>, %table: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}],
                kiln.outputs = []} {
  %w = kiln_rt.weight %table[0] : !llvm.ptr -> memref<4xf32>
  // expected-error @+1 {{weight 0 is read as both 'memref<4xf32>' and 'memref<2x2xf32>'}}
  %v = kiln_rt.weight %table[0] : !llvm.ptr -> memref<2x2xf32>
  return
}
