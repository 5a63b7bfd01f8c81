//===- Compiler.h - kiln's compiler driver ----------------------*- C++ -*-===//
//
// The library behind kiln-compile, kiln-run and the C API: loads a model,
// runs the pipeline stages up to an emit point, writes an artifact or
// JIT-compiles the model into a runtime kiln_model.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_COMPILER_H
#define KILN_COMPILER_COMPILER_H

#include "kiln/Target/CPU/CPUTarget.h"
#include "kiln/runtime.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir {
class MLIRContext;
class PassManager;
} // namespace mlir

namespace mlir::kiln {

/// Where compilation stops and what it writes.
enum class EmitKind {
  Kiln,        // kiln ops after the graph stage
  Linalg,      // linalg on tensors
  Kernels,     // after fusion
  Codegen,     // tiled for the target
  Bufferized,  // buffers, weight table, memory plan
  LLVMDialect, // the llvm dialect
  LLVMIR,      // optimized LLVM IR
  Object,      // an ELF object
  Artifact,    // the .so the runtime loads
  PTX,         // --target=cuda: the kernels' PTX
};

/// Parses an --emit= value ("kiln", "linalg", ..., "so", "ptx").
std::optional<EmitKind> parseEmitKind(llvm::StringRef name);

/// An --input-shape override: the named input gets static `dims`.
struct InputShape {
  std::string name;
  std::vector<int64_t> dims;
};

/// Parses "NAME=1x128x768" into `out`; false (with `error`) if malformed.
bool parseInputShape(llvm::StringRef text, InputShape &out, std::string &error);

struct CompileOptions {
  /// "cpu" or "cuda" (host code for `cpu`, kernels for an NVIDIA GPU).
  std::string target = "cpu";
  cpu::TargetOptions cpu;
  /// --target=cuda: the GPU (sm_80, sm_86, sm_89, sm_90), the CUDA toolkit
  /// (libdevice; ptxas makes cubins when present, else PTX is embedded)
  /// and the threads per block of each kernel launch.
  std::string gpuArch = "sm_90";
  std::string cudaToolkit = "/usr/local/cuda";
  int64_t gpuThreadsPerBlock = 256;
  /// Testing without a GPU: the CUDA mapping's kernels and device memory
  /// run on the host, in a CPU artifact (kiln-cuda-emulate-launches).
  bool cudaEmulate = false;
  /// --target=cuda: matmuls as shared-memory tiled, tensor-core and split-K
  /// kernels (kiln-cuda-tile-contractions); off, one thread per output
  /// element like the other ops (for comparisons on a GPU).
  bool cudaTileMatmuls = true;
  /// --target=cuda: a prefill's attention (16 or more queries per head) as
  /// a flash-attention kernel with shared-memory tiles
  /// (kiln-cuda-tile-attention); off, one thread per query row.
  bool cudaTileAttention = true;
  /// Decompose attention and the Mamba ops (reference lowering).
  bool lowerFusedOps = true;
  /// Call the runtime's micro-kernels for matmuls and attention.
  bool ukernels = true;
  /// When set, the kernel report (kiln.kernel regions with their ops,
  /// FLOPs and bytes moved) is printed here once the kernels are formed.
  llvm::raw_ostream *report = nullptr;
  int64_t tasksPerOp = 32;
  int64_t minTaskElements = 16384;
  /// Shapes for the frontends' dynamic dimensions.
  std::vector<InputShape> inputShapes;
  /// Inputs to specialize the model on: NAME and a .npy file with the value
  /// (shape tensors, axes, flags that only change at recompile time).
  std::vector<std::pair<std::string, std::string>> boundInputs;
  /// Decoder checkpoints (a Hugging Face directory): the KV cache's length
  /// and the tokens per prefill call; 0 picks from the config.
  int64_t maxContext = 0;
  int64_t prefillLength = 0;
  /// Weight quantization of the matmuls with constant weights: "" (none),
  /// "int8" (per output channel) or "int4" (groups of quantGroupSize rows,
  /// with zero points if quantZeroPoints); weights whose node or
  /// initializer name matches the regular expression quantExclude keep
  /// their type. dtype "bf16" runs the remaining ones in bf16 ("f32": as
  /// written).
  std::string quantize;
  int64_t quantGroupSize = 32;
  bool quantZeroPoints = false;
  /// int4: f16 scales (f32 with false).
  bool quantHalfScales = true;
  std::string quantExclude;
  std::string dtype = "f32";
  /// Applied to every pass manager (the tools hook MLIR's debugging
  /// options, such as --mlir-print-ir-after-all, in here).
  std::function<LogicalResult(PassManager &)> configurePassManager;
};

/// A context with every dialect and translation kiln uses registered.
std::unique_ptr<MLIRContext> createContext();

/// Loads a model from a file (.mlir, or .onnx through the ONNX frontend) or
/// a Hugging Face checkpoint directory (config.json + *.safetensors).
/// Reports problems as diagnostics and returns null.
OwningOpRef<ModuleOp> loadModel(MLIRContext &ctx, llvm::StringRef path,
                                const CompileOptions &options);

/// Loads a model from memory; `name` is used in diagnostics and picks the
/// format by its extension.
OwningOpRef<ModuleOp> loadModelFromBuffer(MLIRContext &ctx,
                                          llvm::StringRef bytes,
                                          llvm::StringRef name,
                                          const CompileOptions &options);

/// Runs the stages on `module` up to `emit` (at most EmitKind::LLVMDialect).
LogicalResult runStages(ModuleOp module, EmitKind emit,
                        const CompileOptions &options);

/// Runs the stages up to `emit` and writes the result to `output` ("-" is
/// stdout for the textual forms).
LogicalResult compileToFile(ModuleOp module, EmitKind emit,
                            const CompileOptions &options,
                            llvm::StringRef output);

/// JIT-compiles `module` into a model of the runtime. The model keeps
/// `keepAlive` (the context that owns the weights) until it is freed.
FailureOr<kiln_model *> compileToJIT(ModuleOp module,
                                     const CompileOptions &options,
                                     std::shared_ptr<void> keepAlive);

} // namespace mlir::kiln

#endif // KILN_COMPILER_COMPILER_H
