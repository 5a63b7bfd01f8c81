//===- Importer.h - ONNX models to the kiln dialect -------------*- C++ -*-===//

#ifndef KILN_FRONTEND_ONNX_IMPORTER_H
#define KILN_FRONTEND_ONNX_IMPORTER_H

#include "mlir/IR/Attributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <string>
#include <vector>

namespace mlir::kiln::onnx {

struct ImportOptions {
  /// Static shapes for inputs whose dimensions the model leaves symbolic
  /// (or overrides of fixed ones).
  std::vector<std::pair<std::string, std::vector<int64_t>>> inputShapes;
  /// Inputs to specialize on: each becomes a constant with this value (an
  /// ElementsAttr of the input's type) and leaves the signature.
  std::vector<std::pair<std::string, mlir::Attribute>> boundInputs;
  /// Initializers with more elements than this become dense_resource blobs;
  /// smaller ones stay inline (shape tensors, scalars).
  int64_t maxInlineElements = 256;
};

/// Imports the ONNX model in `bytes` into a module with one entry point,
/// `@main`. `path` names the model in diagnostics and locates external data
/// files (relative to its directory). Problems (malformed files, unsupported
/// ops or attributes, bad shapes) are reported as diagnostics at the
/// offending node, and null is returned.
OwningOpRef<ModuleOp> importModel(MLIRContext &ctx, llvm::StringRef bytes,
                                  llvm::StringRef path,
                                  const ImportOptions &options);

/// The ONNX op types the importer converts (for documentation and tests).
std::vector<std::string> supportedOps();

} // namespace mlir::kiln::onnx

#endif // KILN_FRONTEND_ONNX_IMPORTER_H
