//===- CPUTarget.h - from the llvm dialect to objects and artifacts -*- C++
//-*-===//

#ifndef KILN_TARGET_CPU_CPUTARGET_H
#define KILN_TARGET_CPU_CPUTARGET_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/Support/LLVM.h"

#include <memory>
#include <string>

namespace llvm {
class LLVMContext;
class Module;
class TargetMachine;
} // namespace llvm

namespace mlir::kiln::cpu {

struct TargetOptions {
  /// The CPU to generate code for: "host" (this machine), or an LLVM CPU
  /// name such as "znver4", "skylake-avx512", "x86-64-v3".
  std::string cpu = "host";
  /// Extra LLVM target features ("+avx512f,-avx512bf16").
  std::string features;
  /// LLVM optimization level, 0 to 3.
  int optLevel = 3;
};

/// A target machine for `options`, or an error message.
FailureOr<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const TargetOptions &options, std::string &error);

/// Translates an llvm-dialect module to LLVM IR and optimizes it for `tm`.
std::unique_ptr<llvm::Module> translateAndOptimize(ModuleOp module,
                                                   llvm::LLVMContext &ctx,
                                                   llvm::TargetMachine &tm,
                                                   int optLevel);

/// Emits `module` as an ELF object into `object`.
LogicalResult emitObject(llvm::Module &module, llvm::TargetMachine &tm,
                         SmallVectorImpl<char> &object, std::string &error);

/// Links `objectPath` into the shared library `outputPath` with ld.lld,
/// recording the kiln runtime (and libm) as its only dependencies.
LogicalResult linkSharedLibrary(StringRef objectPath, StringRef outputPath,
                                std::string &error);

/// Appends the weights listed in `module`'s `kiln.weights` attribute to the
/// artifact at `path`, in the layout the runtime maps (docs/artifact.md).
LogicalResult appendWeights(ModuleOp module, StringRef path,
                            std::string &error);

/// The directory holding the kiln runtime library this process uses.
std::string runtimeLibraryDir();

} // namespace mlir::kiln::cpu

#endif // KILN_TARGET_CPU_CPUTARGET_H
