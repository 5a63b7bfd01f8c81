//===- Pipelines.cpp - kiln's named pass pipelines ------------------------===//

#include "kiln/Pipelines/Pipelines.h"

#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/NVGPUToNVVM/NVGPUToNVVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;
using namespace mlir::kiln;

void kiln::buildUkernelsPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createConvToMatmul());
  pm.addNestedPass<func::FuncOp>(createUseUkernels());
  pm.addNestedPass<func::FuncOp>(createPackWeights());
}

void kiln::buildGraphPipeline(OpPassManager &pm) {
  buildGraphPipeline(pm, GraphOptions());
}

void kiln::buildGraphPipeline(OpPassManager &pm, const GraphOptions &options) {
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Activations and norms first: rotary and attention matching then sees
  // their named results.
  pm.addNestedPass<func::FuncOp>(createRecognizeActivations());
  pm.addNestedPass<func::FuncOp>(createRecognizeNorms());
  pm.addNestedPass<func::FuncOp>(createRecognizeRotary());
  pm.addNestedPass<func::FuncOp>(createRecognizeAttention());
  pm.addNestedPass<func::FuncOp>(createRecognizeSelectiveScan());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // Weights last: the recognized ops decide which matmuls remain. A conv
  // after an upsample gets its folded low-resolution weights, and sibling
  // matmuls their concatenated weights, before any weight changes type.
  // Weights that are int8 in the model (ONNX QDQ) stay int8 first.
  pm.addNestedPass<func::FuncOp>(createUpsampleConv());
  pm.addNestedPass<func::FuncOp>(createFoldQdq());
  {
    FuseSiblingMatmulsOptions f;
    f.exclude = options.quantExclude;
    pm.addNestedPass<func::FuncOp>(createFuseSiblingMatmuls(f));
  }
  if (!options.quantize.empty()) {
    QuantizeWeightsOptions q;
    q.mode = options.quantize;
    q.groupSize = options.quantGroupSize;
    q.zeroPoints = options.quantZeroPoints;
    q.halfScales = options.quantHalfScales;
    q.exclude = options.quantExclude;
    pm.addNestedPass<func::FuncOp>(createQuantizeWeights(q));
    QuantizeEmbeddingsOptions e;
    e.mode = options.quantize;
    e.groupSize = options.quantGroupSize;
    e.halfScales = options.quantHalfScales;
    e.exclude = options.quantExclude;
    pm.addNestedPass<func::FuncOp>(createQuantizeEmbeddings(e));
  }
  if (options.dtype == "bf16") {
    Bf16WeightsOptions b;
    b.exclude = options.quantExclude;
    pm.addNestedPass<func::FuncOp>(createBf16Weights(b));
  }
}

void kiln::buildLowerPipeline(OpPassManager &pm, const LowerOptions &options) {
  pm.addPass(createRecordEntryPoints());
  pm.addNestedPass<func::FuncOp>(createFormKernels());
  ConvertKilnToLinalgOptions toLinalg;
  toLinalg.lowerFusedOps = options.lowerFusedOps;
  toLinalg.fuseDequant = options.fuseDequant;
  toLinalg.attention = options.attention;
  toLinalg.scan = options.scan;
  pm.addPass(createConvertKilnToLinalg(toLinalg));
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildKernelsPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createFuseKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildCPUCodegenPipeline(OpPassManager &pm,
                                   const CPUCodegenOptions &options) {
  TileParallelOptions tile;
  tile.tasksPerOp = options.tasksPerOp;
  tile.minTaskElements = options.minTaskElements;
  pm.addNestedPass<func::FuncOp>(createReassociateReductions());
  pm.addNestedPass<func::FuncOp>(createTileParallel(tile));
  pm.addNestedPass<func::FuncOp>(createInlineKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildBufferizePipeline(OpPassManager &pm) {
  pm.addPass(createBufferize());
  // CSE first: identical subviews of an output let the canonicalizer drop
  // the self-copies bufferization leaves in parallel loops.
  pm.addPass(createCSEPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createExternalizeWeights());
  pm.addNestedPass<func::FuncOp>(createPlanMemory());
}

void kiln::buildCPUToLLVMPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createLowerForall());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToLoopsPass());
  pm.addPass(createLowerAffinePass());
  pm.addNestedPass<func::FuncOp>(createExpandMath());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createLowerToLLVM());
  pm.addPass(createOutlineParallel());
  pm.addPass(createEmitEntryPoints());
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildCUDACodegenPipeline(OpPassManager &pm) {
  pm.addNestedPass<func::FuncOp>(createInlineKernels());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

void kiln::buildCUDAToLLVMPipeline(OpPassManager &pm,
                                   const CUDAOptions &options) {
  // Device memory, then the matmuls as tiled kernels and every other linalg
  // op a kernel of one thread per element of its parallel dimensions.
  // Emulated, weights are copied per call: the resident table's frees
  // (on a failed upload and at unload) are driver calls, which host memory
  // cannot take; the fake-driver unit tests cover that path instead.
  if (options.residentWeights && !options.emulate)
    pm.addPass(createCUDAResidentWeights());
  pm.addNestedPass<func::FuncOp>(createCUDADeviceBuffers());
  // The selective-scan and flash-attention calls kiln-use-ukernels made
  // for the CUDA target (every kiln_rt.ukernel must become a kernel here).
  pm.addNestedPass<func::FuncOp>(createCUDASelectiveScan());
  {
    CUDATileAttentionOptions attention;
    attention.tensorCores = options.bf16Attention;
    pm.addNestedPass<func::FuncOp>(createCUDATileAttention(attention));
  }
  if (options.tileContractions)
    pm.addNestedPass<func::FuncOp>(createCUDATileContractions());
  pm.addNestedPass<func::FuncOp>(createConvertLinalgToParallelLoopsPass());
  // The loops over attention rows and over the scan's (batch, channel)
  // pairs (kiln-to-linalg's attention=rows, scan=channels).
  pm.addNestedPass<func::FuncOp>(createForallToParallelLoopPass());
  CUDAMapLoopsOptions map;
  map.threadsPerBlock = options.threadsPerBlock;
  pm.addNestedPass<func::FuncOp>(createCUDAMapLoops(map));
  pm.addNestedPass<func::FuncOp>(createCUDAPromoteAccumulators());
  if (options.emulate) {
    pm.addNestedPass<func::FuncOp>(createCUDAEmulateLaunches());
    buildCPUToLLVMPipeline(pm);
    return;
  }
  pm.addPass(createLowerAffinePass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createCanonicalizerPass());
  // Constants and index computations go into the kernels (divisions by a
  // constant trip count become multiplications there).
  pm.addNestedPass<func::FuncOp>(createGpuLaunchSinkIndexComputationsPass());
  pm.addPass(createGpuKernelOutliningPass());
  // Kernels: NVVM, then PTX (or cubin) through LLVM's NVPTX back end.
  GpuNVVMAttachTargetOptions nvvm;
  nvvm.chip = options.gpuArch;
  nvvm.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(nvvm));
  OpPassManager &kernels = pm.nest<gpu::GPUModuleOp>();
  kernels.addPass(createSCFToControlFlowPass());
  // The tensor-core products (nvgpu.mma.sync) to nvvm.mma.sync: bf16 by
  // kiln (upstream cannot), the others by upstream.
  kernels.addPass(createCUDABF16MmaToNVVM());
  kernels.addPass(createConvertNVGPUToNVVMPass());
  kernels.addPass(createConvertGpuOpsToNVVMOps());
  kernels.addPass(createReconcileUnrealizedCastsPass());
  GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = options.format;
  binary.toolkitPath = options.toolkit;
  pm.addPass(createGpuModuleToBinaryPass(binary));
  // Host: one stream per call, the device work ordered on it.
  pm.addNestedPass<func::FuncOp>(createGpuAsyncRegionPass());
  pm.addPass(createSCFToControlFlowPass());
  pm.addPass(createCUDAHostToLLVM());
  EmitEntryPointsOptions entries;
  entries.target = "cuda";
  pm.addPass(createEmitEntryPoints(entries));
  pm.addPass(createReconcileUnrealizedCastsPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
}

namespace {
struct CPUPipelineOptions : PassPipelineOptions<CPUPipelineOptions> {
  Option<bool> ukernels{*this, "ukernels",
                        llvm::cl::desc("Call the runtime's micro-kernels for "
                                       "matmuls and attention"),
                        llvm::cl::init(true)};
  Option<bool> lowerFusedOps{*this, "lower-fused-ops",
                             llvm::cl::desc("See kiln-lower-pipeline"),
                             llvm::cl::init(true)};
  Option<int64_t> tasksPerOp{*this, "tasks-per-op",
                             llvm::cl::desc("See kiln-codegen-cpu-pipeline"),
                             llvm::cl::init(32)};
  Option<int64_t> minTaskElements{
      *this, "min-task-elements",
      llvm::cl::desc("See kiln-codegen-cpu-pipeline"), llvm::cl::init(16384)};
};
} // namespace

void kiln::registerPipelines() {
  PassPipelineRegistration<GraphOptions>(
      "kiln-graph-pipeline",
      "kiln's graph stage: cleanups, recognition, weight types",
      [](OpPassManager &pm, const GraphOptions &o) {
        buildGraphPipeline(pm, o);
      });
  PassPipelineRegistration<>(
      "kiln-ukernels-pipeline",
      "kiln's CPU micro-kernel calls: patch convs as matmuls, kernel calls, "
      "weights packed",
      buildUkernelsPipeline);
  PassPipelineRegistration<LowerOptions>(
      "kiln-lower-pipeline",
      "kiln's lower stage: kiln ops to linalg on tensors", buildLowerPipeline);
  PassPipelineRegistration<>("kiln-kernels-pipeline",
                             "kiln's kernels stage: elementwise fusion",
                             buildKernelsPipeline);
  PassPipelineRegistration<CPUCodegenOptions>(
      "kiln-codegen-cpu-pipeline",
      "kiln's CPU codegen stage: tiling for the pool", buildCPUCodegenPipeline);
  PassPipelineRegistration<>(
      "kiln-bufferize-pipeline",
      "kiln's bufferize stage: buffers, weight table, memory plan",
      buildBufferizePipeline);
  PassPipelineRegistration<>("kiln-cpu-to-llvm-pipeline",
                             "kiln's CPU target stage: to the llvm dialect",
                             buildCPUToLLVMPipeline);
  PassPipelineRegistration<>(
      "kiln-codegen-cuda-pipeline",
      "kiln's CUDA codegen stage: kernel regions inlined",
      buildCUDACodegenPipeline);
  PassPipelineRegistration<CUDAOptions>(
      "kiln-cuda-to-llvm-pipeline",
      "kiln's CUDA target stage: kernels to PTX or cubin, the host to the "
      "llvm dialect",
      buildCUDAToLLVMPipeline);
  PassPipelineRegistration<CUDAOptions>(
      "kiln-cuda-pipeline",
      "kiln's CUDA stages, from the kernels stage's output to the llvm "
      "dialect with embedded kernels",
      [](OpPassManager &pm, const CUDAOptions &o) {
        buildCUDACodegenPipeline(pm);
        buildBufferizePipeline(pm);
        buildCUDAToLLVMPipeline(pm, o);
      });
  PassPipelineRegistration<CPUPipelineOptions>(
      "kiln-cpu-pipeline",
      "Every kiln stage from kiln ops to the llvm dialect (CPU)",
      [](OpPassManager &pm, const CPUPipelineOptions &o) {
        buildGraphPipeline(pm);
        if (o.ukernels)
          buildUkernelsPipeline(pm);
        LowerOptions lower;
        lower.lowerFusedOps = o.lowerFusedOps;
        buildLowerPipeline(pm, lower);
        buildKernelsPipeline(pm);
        CPUCodegenOptions codegen;
        codegen.tasksPerOp = o.tasksPerOp;
        codegen.minTaskElements = o.minTaskElements;
        buildCPUCodegenPipeline(pm, codegen);
        buildBufferizePipeline(pm);
        buildCPUToLLVMPipeline(pm);
      });
}
