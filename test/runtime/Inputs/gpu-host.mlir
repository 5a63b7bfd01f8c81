// Host code that uses every GPU runtime call gpu-to-llvm and the
// gpu.binary / gpu.launch_func translation emit (see ../mgpu-abi.test).
module attributes {gpu.container_module} {
  gpu.binary @cubin [#gpu.object<#nvvm.target, "CUBIN">]
  gpu.binary @ptx [#gpu.object<#nvvm.target, properties = {O = 3 : i32}, assembly = "PTX">]

  func.func @memory(%host: memref<16xf32>, %h16: memref<16xi16>, %v16: i16) {
    %f0 = arith.constant 0.0 : f32
    %t0 = gpu.wait async
    %m, %t1 = gpu.alloc async [%t0] () : memref<16xf32>
    %t2 = gpu.memcpy async [%t1] %m, %host : memref<16xf32>, memref<16xf32>
    %t3 = gpu.memset async [%t2] %m, %f0 : memref<16xf32>, f32
    %t4 = gpu.memset async [%t3] %h16, %v16 : memref<16xi16>, i16
    %t5 = gpu.wait async
    %t6 = gpu.wait async [%t4, %t5]
    %t7 = gpu.dealloc async [%t6] %m : memref<16xf32>
    gpu.wait [%t7]
    %shared = gpu.alloc host_shared () : memref<16xf32>
    %u = memref.cast %host : memref<16xf32> to memref<*xf32>
    gpu.host_register %u : memref<*xf32>
    gpu.host_unregister %u : memref<*xf32>
    %c1 = arith.constant 1 : i32
    gpu.set_default_device %c1
    return
  }

  llvm.func @launches(%stream: !llvm.ptr, %arg: !llvm.ptr) {
    %c1 = llvm.mlir.constant(1 : index) : i64
    %c0 = llvm.mlir.constant(0 : i32) : i32
    gpu.launch_func <%stream : !llvm.ptr> @cubin::@k blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 dynamic_shared_memory_size %c0 args(%arg : !llvm.ptr)
    gpu.launch_func <%stream : !llvm.ptr> @ptx::@k clusters in (%c1, %c1, %c1) blocks in (%c1, %c1, %c1) threads in (%c1, %c1, %c1) : i64 dynamic_shared_memory_size %c0 args(%arg : !llvm.ptr)
    llvm.return
  }
}
