//===- Passes.h - target-independent kiln passes ----------------*- C++ -*-===//

#ifndef KILN_TRANSFORMS_PASSES_H
#define KILN_TRANSFORMS_PASSES_H

#include "kiln/Dialect/KilnRT/IR/KilnRT.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kiln {

#define GEN_PASS_DECL
#include "kiln/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Transforms/Passes.h.inc"

/// Attribute names shared by the passes, the compiler and the artifact
/// writer.
namespace attrs {
constexpr llvm::StringLiteral kName = "kiln.name";
constexpr llvm::StringLiteral kInputs = "kiln.inputs";
constexpr llvm::StringLiteral kOutputs = "kiln.outputs";
constexpr llvm::StringLiteral kWorkspaceBytes = "kiln.workspace_bytes";
constexpr llvm::StringLiteral kWeights = "kiln.weights";
} // namespace attrs

} // namespace mlir::kiln

#endif // KILN_TRANSFORMS_PASSES_H
