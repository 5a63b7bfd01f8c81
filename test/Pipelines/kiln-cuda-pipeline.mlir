// The CUDA stages, replayed by kiln-opt on the kernels stage's output as
// kiln-compile --target=cuda runs them: all at once, or stage by stage.
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-cuda-pipeline="gpu-arch=sm_80" | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-codegen-cuda-pipeline | FileCheck %s --check-prefix=CODEGEN
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   -kiln-codegen-cuda-pipeline -kiln-bufferize-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-cuda-to-llvm-pipeline="gpu-arch=sm_90 threads-per-block=64" \
// RUN:   | FileCheck %s --check-prefix=SM90

// codegen: no kernel regions and no CPU tiling left.
// CODEGEN-LABEL: func @main
// CODEGEN-NOT: kiln.kernel
// CODEGEN-NOT: scf.forall
// CODEGEN: linalg.generic
// CODEGEN: return

// The host entry point makes sure the weights are on the device (uploaded
// once, by the first call), copies x and b to the device, launches the
// fused kernel (64x512 elements: 128 blocks of 256 threads) and copies y
// back, all on one stream; the kernels are PTX for the chosen GPU in one
// gpu.binary; a destructor frees the device weights.
// The trip count and block size are constants in the kernel: no 64-bit
// division by a parameter.
// CHECK-LABEL: llvm.func internal @main
// CHECK: llvm.call @kiln_cuda_resident_weights(
// CHECK-NEXT: %[[S:.*]] = llvm.call @mgpuStreamCreate()
// CHECK-COUNT-2: llvm.call @mgpuMemcpy
// CHECK-NOT: llvm.call @mgpuStream
// CHECK: gpu.launch_func <%[[S]] : !llvm.ptr> @kiln_kernels::@main_kernel0
// CHECK: llvm.call @mgpuMemcpy
// CHECK: llvm.call @mgpuStreamSynchronize(%[[S]])
// CHECK: llvm.call @mgpuStreamDestroy(%[[S]])
// CHECK: gpu.binary @kiln_kernels
// CHECK-SAME: #nvvm.target<O = 3, chip = "sm_80">
// CHECK-SAME: .target sm_80
// CHECK-SAME: .entry main_kernel0
// CHECK-NOT: div.s64
// CHECK-SAME: .maxntid 256, 1, 1
// CHECK: llvm.func internal @kiln_cuda_upload_weights
// CHECK: llvm.call @mgpuMemcpy
// CHECK: llvm.call @mgpuStreamSynchronize
// CHECK: llvm.func internal @kiln_cuda_resident_weights
// CHECK: llvm.cmpxchg
// CHECK: llvm.func internal @kiln_cuda_free_weights
// CHECK: llvm.mlir.global_dtors dtors = [@kiln_cuda_free_weights]
// CHECK: llvm.func @kiln_entry_main(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK: @kiln_artifact_metadata("kiln-artifact 1\0Atarget cuda\0Aweights 1\0Aweight 0 4\0Aentry main {{[0-9]+}} 2 1\0A
// CHECK-NOT: {{(memref|scf|linalg|tensor|math|kiln_rt)\.}}
// SM90: gpu.binary @kiln_kernels
// SM90-SAME: chip = "sm_90"
// SM90-SAME: .target sm_90
// SM90-SAME: .maxntid 64, 1, 1
func.func @main(%x: tensor<64x512xf32> {kiln.name = "x"}, %b: tensor<512xf32>) -> (tensor<64x512xf32> {kiln.name = "y"}) {
  %s = kiln.constant dense_resource<scale> : tensor<1xf32>
  %1 = kiln.add %x, %b : (tensor<64x512xf32>, tensor<512xf32>) -> tensor<64x512xf32>
  %2 = kiln.relu %1 : tensor<64x512xf32>
  %5 = kiln.mul %2, %s : (tensor<64x512xf32>, tensor<1xf32>) -> tensor<64x512xf32>
  return %5 : tensor<64x512xf32>
}
{-#
  dialect_resources: {
    builtin: {
      scale: "0x040000000000003F"
    }
  }
#-}

// -----

// Attention is decomposed (matmuls, softmax) into kernels of its own.
// CHECK-LABEL: llvm.func internal @attention
// CHECK: gpu.launch_func
// CHECK: gpu.binary @kiln_kernels
// CHECK-SAME: .entry attention_kernel0
// CHECK: llvm.func @kiln_entry_attention
func.func @attention(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64, causal = true}
      : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %0 : tensor<1x2x8x16xf32>
}
