//===- Checkpoint.h - the tensors of a checkpoint directory -----*- C++ -*-===//
//
// Internal to the HF frontend: every *.safetensors file of a directory
// mapped and parsed, tensors found by name and turned into constants.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_FRONTEND_HF_CHECKPOINT_H
#define KILN_LIB_FRONTEND_HF_CHECKPOINT_H

#include "kiln/Frontend/HF/Importer.h"
#include "kiln/Frontend/HF/SafeTensors.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Location.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::kiln::hf {

class Checkpoint {
public:
  /// Maps and parses every *.safetensors file in `dir`; errors are emitted
  /// at the file.
  LogicalResult open(MLIRContext &ctx, llvm::StringRef dir);

  /// The tensor `name` as an f32 constant attribute of `shape`: a
  /// dense_resource blob over the mapped file for aligned f32 data, a
  /// widened copy for f16/bf16. Errors (missing, wrong shape or dtype) are
  /// emitted at the file that holds it (or the directory).
  FailureOr<DenseResourceElementsAttr> f32(llvm::StringRef name,
                                           llvm::ArrayRef<int64_t> shape);
  /// The same, stored into `out`, for chains of loads that stop at the
  /// first error.
  LogicalResult load(llvm::StringRef name, llvm::ArrayRef<int64_t> shape,
                     Attribute &out) {
    FailureOr<DenseResourceElementsAttr> a = f32(name, shape);
    if (failed(a))
      return failure();
    out = *a;
    return success();
  }
  bool has(llvm::StringRef name) const { return tensors.count(name); }
  /// Names of tensors no call of f32() asked for.
  std::vector<std::string> unused() const;

private:
  struct Entry {
    TensorView view;
    std::string file;
    std::shared_ptr<void> owner;
    bool used = false;
  };
  MLIRContext *ctx = nullptr;
  std::string dir;
  llvm::StringMap<Entry> tensors;
  /// Constants already made, so a tied weight is one blob.
  llvm::StringMap<DenseResourceElementsAttr> made;
};

/// Imports a checkpoint whose config.json (`configText`, at `configLoc`)
/// has model_type "mamba" (Mamba.cpp).
OwningOpRef<ModuleOp> importMamba(MLIRContext &ctx, llvm::StringRef dir,
                                  llvm::StringRef configText,
                                  Location configLoc,
                                  const ImportOptions &options);

} // namespace mlir::kiln::hf

#endif // KILN_LIB_FRONTEND_HF_CHECKPOINT_H
