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

struct LowerOptions : PassPipelineOptions<LowerOptions> {
  Option<bool> lowerFusedOps{
      *this, "lower-fused-ops",
      llvm::cl::desc("Decompose attention and the Mamba ops into linalg "
                     "(reference lowering) instead of leaving them for the "
                     "codegen stage's kernels"),
      llvm::cl::init(true)};
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

/// graph: cleanups and (as they land) recognition passes on kiln ops.
void buildGraphPipeline(OpPassManager &pm);
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

/// Registers the pipelines above as kiln-<stage>-pipeline, and
/// kiln-cpu-pipeline, which runs them all.
void registerPipelines();

} // namespace mlir::kiln

#endif // KILN_PIPELINES_PIPELINES_H
