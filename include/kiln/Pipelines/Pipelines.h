//===- Pipelines.h - kiln's named pass pipelines ----------------*- C++ -*-===//
//
// Each stage of the compiler (DESIGN.md) is a pipeline with typed options,
// registered under its name so that `kiln-opt --pass-pipeline=...` replays
// exactly what `kiln-compile` runs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_PIPELINES_PIPELINES_H
#define KILN_PIPELINES_PIPELINES_H

#include "mlir/Pass/PassOptions.h"

namespace mlir {
class OpPassManager;
} // namespace mlir

namespace mlir::kiln {

struct GraphOptions : PassPipelineOptions<GraphOptions> {
  Option<std::string> quantize{
      *this, "quantize",
      llvm::cl::desc("Quantize the constant weights of matmuls: int8 (per "
                     "output channel) or int4 (group-wise), and constant "
                     "gather tables to int8 rows; empty: keep them"),
      llvm::cl::init("")};
  Option<int64_t> quantGroupSize{
      *this, "quant-group",
      llvm::cl::desc("int4: rows of a column that share a scale (32, 64, 128)"),
      llvm::cl::init(32)};
  Option<bool> quantZeroPoints{
      *this, "quant-zero-points",
      llvm::cl::desc("int4: asymmetric groups with zero points"),
      llvm::cl::init(false)};
  Option<bool> quantHalfScales{
      *this, "quant-half-scales",
      llvm::cl::desc("int4: f16 scales (4.5 bits per weight in groups of "
                     "32); false: f32 scales"),
      llvm::cl::init(true)};
  Option<std::string> quantExclude{
      *this, "quant-exclude",
      llvm::cl::desc("Regular expression: weights (node or initializer "
                     "names) that keep their type"),
      llvm::cl::init("")};
  Option<std::string> dtype{
      *this, "dtype",
      llvm::cl::desc("Element type of the remaining constant-weight matmuls: "
                     "f32 (as written) or bf16 (fp32 accumulation)"),
      llvm::cl::init("f32")};
};

struct LowerOptions : PassPipelineOptions<LowerOptions> {
  Option<bool> lowerFusedOps{
      *this, "lower-fused-ops",
      llvm::cl::desc("Decompose attention and the Mamba ops into linalg "
                     "(reference lowering) instead of leaving them for the "
                     "codegen stage's kernels"),
      llvm::cl::init(true)};
  Option<bool> fuseDequant{
      *this, "fuse-dequant",
      llvm::cl::desc("kiln.qmatmul dequantizes inside its contraction "
                     "(CUDA); see kiln-to-linalg"),
      llvm::cl::init(false)};
  Option<std::string> attention{
      *this, "attention",
      llvm::cl::desc("Attention's reference lowering: scores (CPU) or rows "
                     "(CUDA); see kiln-to-linalg"),
      llvm::cl::init("scores")};
  Option<std::string> scan{
      *this, "scan",
      llvm::cl::desc("The selective scan's reference lowering: steps (CPU) "
                     "or channels (CUDA); see kiln-to-linalg"),
      llvm::cl::init("steps")};
};

struct CPUCodegenOptions : PassPipelineOptions<CPUCodegenOptions> {
  Option<int64_t> tasksPerOp{
      *this, "tasks-per-op",
      llvm::cl::desc("Tiles per parallel kernel, for the thread pool"),
      llvm::cl::init(32)};
  Option<int64_t> minTaskElements{
      *this, "min-task-elements",
      llvm::cl::desc("Smallest tile worth a task, in output elements"),
      llvm::cl::init(16384)};
};

struct CUDAOptions : PassPipelineOptions<CUDAOptions> {
  Option<std::string> gpuArch{
      *this, "gpu-arch",
      llvm::cl::desc("NVIDIA GPU to generate code for: sm_80, sm_86, sm_89 "
                     "or sm_90"),
      llvm::cl::init("sm_90")};
  Option<int64_t> threadsPerBlock{
      *this, "threads-per-block",
      llvm::cl::desc("Threads in each block of a kernel launch"),
      llvm::cl::init(256)};
  Option<std::string> format{
      *this, "format",
      llvm::cl::desc("How kernels are embedded: isa (PTX, compiled by the "
                     "driver when the module loads) or bin (cubin, made by "
                     "the toolkit's ptxas)"),
      llvm::cl::init("isa")};
  Option<std::string> toolkit{
      *this, "cuda-toolkit",
      llvm::cl::desc("CUDA toolkit directory: libdevice for the math "
                     "functions, bin/ptxas for format=bin"),
      llvm::cl::init("/usr/local/cuda")};
  Option<bool> residentWeights{
      *this, "resident-weights",
      llvm::cl::desc("Upload the weights to the device once, on the first "
                     "call (off, and with emulate: copy them on every call)"),
      llvm::cl::init(true)};
  Option<bool> tileContractions{
      *this, "tile-contractions",
      llvm::cl::desc("Compile matmuls as shared-memory tiled kernels "
                     "(kiln-cuda-tile-contractions); off: one thread per "
                     "output element, like every other op"),
      llvm::cl::init(true)};
  Option<bool> bf16Attention{
      *this, "bf16-attention",
      llvm::cl::desc("A prefill's attention on tensor cores in bf16 "
                     "(kiln-cuda-tile-attention{tensor-cores}; kiln-compile "
                     "sets it with --dtype=bf16)"),
      llvm::cl::init(false)};
  Option<bool> emulate{
      *this, "emulate",
      llvm::cl::desc("Testing without a GPU: run the mapped kernels and the "
                     "device memory on the host (kiln-cuda-emulate-launches) "
                     "and compile for the CPU"),
      llvm::cl::init(false)};
};

/// graph: cleanups and (as they land) recognition passes on kiln ops, then
/// the weights' storage types (quantization, bf16) as `options` ask.
void buildGraphPipeline(OpPassManager &pm);
void buildGraphPipeline(OpPassManager &pm, const GraphOptions &options);
/// ukernels (CPU): patch convs as matmuls, then calls of the runtime's
/// micro-kernels (matmul, conv, attention, scan) with constant matmul
/// weights packed at compile time.
void buildUkernelsPipeline(OpPassManager &pm);
/// lower: kernel regions formed on kiln ops, then kiln ops to linalg on
/// tensors.
void buildLowerPipeline(OpPassManager &pm, const LowerOptions &options);
/// kernels: fusion inside each kernel region, then the regions inlined.
void buildKernelsPipeline(OpPassManager &pm);
/// codegen (CPU): tiling into thread-pool tasks.
void buildCPUCodegenPipeline(OpPassManager &pm,
                             const CPUCodegenOptions &options);
/// bufferize: one-shot bufferization, weights table, memory plan.
void buildBufferizePipeline(OpPassManager &pm);
/// target (CPU): loops, math, and everything to the llvm dialect.
void buildCPUToLLVMPipeline(OpPassManager &pm);

/// codegen (CUDA): kernel regions inlined (each op becomes its own
/// kernel for now).
void buildCUDACodegenPipeline(OpPassManager &pm);
/// target (CUDA): device buffers, parallel loops mapped to kernels, kernels
/// compiled with NVVM to PTX (or cubin), the host to the llvm dialect.
void buildCUDAToLLVMPipeline(OpPassManager &pm, const CUDAOptions &options);

/// Registers the pipelines above as kiln-<stage>-pipeline, and
/// kiln-cpu-pipeline, which runs them all; kiln-cuda-pipeline runs the
/// CUDA stages after the kernels stage.
void registerPipelines();

} // namespace mlir::kiln

#endif // KILN_PIPELINES_PIPELINES_H
