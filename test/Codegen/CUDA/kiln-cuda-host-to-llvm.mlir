// RUN: kiln-opt %s -split-input-file -verify-diagnostics -kiln-cuda-host-to-llvm \
// RUN:   -reconcile-unrealized-casts | FileCheck %s

// Device memory, copies and the stream become mgpu* calls with upstream's
// signatures; entry-point buffers are bare pointers; the weight is read
// from the table; the launch keeps its form with llvm operands and the
// binary stays for the translation to LLVM IR. The kernel takes the
// device buffer as a descriptor (allocated and aligned pointers, offset,
// size, stride), as convert-gpu-to-nvvm compiles it, not a bare pointer.
// CHECK: gpu.binary @kernels
// CHECK-LABEL: llvm.func @main
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr, %[[T:.*]]: !llvm.ptr)
// CHECK: %[[S:.*]] = llvm.call @mgpuStreamCreate() : () -> !llvm.ptr
// CHECK: %[[D:.*]] = llvm.call @mgpuMemAlloc(%{{.*}}, %[[S]], %{{.*}}) : (i64, !llvm.ptr, i8) -> !llvm.ptr
// CHECK: llvm.call @mgpuMemcpy(%{{.*}}, %{{.*}}, %{{.*}}, %[[S]]) : (!llvm.ptr, !llvm.ptr, i64, !llvm.ptr) -> ()
// CHECK: %[[SLOT:.*]] = llvm.getelementptr %[[T]][3] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: llvm.load %[[SLOT]] : !llvm.ptr -> !llvm.ptr
// CHECK: gpu.launch_func <%[[S]] : !llvm.ptr> @kernels::@k blocks in
// CHECK-SAME: args(%{{.*}} : !llvm.ptr, %{{.*}} : !llvm.ptr, %{{.*}} : i64, %{{.*}} : i64, %{{.*}} : i64)
// CHECK: llvm.call @mgpuMemFree(%{{.*}}, %[[S]]) : (!llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.call @mgpuStreamSynchronize(%[[S]]) : (!llvm.ptr) -> ()
// CHECK: llvm.call @mgpuStreamDestroy(%[[S]]) : (!llvm.ptr) -> ()
module attributes {gpu.container_module} {
  gpu.binary @kernels [#gpu.object<#nvvm.target<chip = "sm_90">, "PTX">]
  func.func @main(%x: memref<4xf32>, %table: !llvm.ptr) {
    %c1 = arith.constant 1 : index
    %c4 = arith.constant 4 : index
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<4xf32>
    %t2 = gpu.memcpy async [%t1] %d, %x : memref<4xf32>, memref<4xf32>
    %w = kiln_rt.weight %table[3] : !llvm.ptr -> memref<4xf32>
    %t3 = gpu.launch_func async [%t2] @kernels::@k blocks in (%c1, %c1, %c1)
        threads in (%c4, %c1, %c1) args(%d : memref<4xf32>)
    %t4 = gpu.dealloc async [%t3] %d : memref<4xf32>
    gpu.wait [%t4]
    return
  }
}

// -----

// An entry-point buffer with no elements (rank >= 2) has no bare-pointer
// form: as in kiln-lower-to-llvm, it is passed as an opaque pointer and
// read as an empty stack buffer; its device twin is allocated and copied
// as any other.
// CHECK-LABEL: llvm.func @empty_buffer
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK: %[[A:.*]] = llvm.alloca %{{.*}} x f32 : (i64) -> !llvm.ptr
// CHECK: llvm.insertvalue %[[A]], %{{.*}}[1] : !llvm.struct<(ptr, ptr, i64, array<2 x i64>, array<2 x i64>)>
// CHECK: llvm.call @mgpuMemAlloc
// CHECK: llvm.call @mgpuMemcpy
// Near miss: the non-empty buffer stays a bare pointer.
// CHECK-LABEL: llvm.func @nonempty_buffer
// CHECK-SAME: (%[[X:.*]]: !llvm.ptr)
// CHECK-NOT: llvm.alloca
// CHECK: llvm.call @mgpuMemcpy
module attributes {gpu.container_module} {
  func.func @empty_buffer(%x: memref<4x0xf32>, %y: memref<4xf32>) {
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<4x0xf32>
    %t2 = gpu.memcpy async [%t1] %d, %x : memref<4x0xf32>, memref<4x0xf32>
    %t3 = gpu.dealloc async [%t2] %d : memref<4x0xf32>
    gpu.wait [%t3]
    return
  }
  func.func @nonempty_buffer(%x: memref<4x2xf32>) {
    %t0 = gpu.wait async
    %d, %t1 = gpu.alloc async [%t0] () : memref<4x2xf32>
    %t2 = gpu.memcpy async [%t1] %d, %x : memref<4x2xf32>, memref<4x2xf32>
    %t3 = gpu.dealloc async [%t2] %d : memref<4x2xf32>
    gpu.wait [%t3]
    return
  }
}

// -----

// Near miss: a module without device work lowers like kiln-lower-to-llvm.
// CHECK-LABEL: llvm.func @plain
// CHECK-NOT: mgpu
// CHECK: llvm.return
module {
  func.func @plain(%x: memref<4xf32>) {
    return
  }
}

// -----

module attributes {gpu.container_module} {
  // expected-error @+1 {{kernel module 'kernels' is not compiled yet: run gpu-module-to-binary first}}
  gpu.module @kernels {
  }
}
