//===- Diagnostics.h - diagnostics that name the model's node ---*- C++ -*-===//
//
// kiln's tools print diagnostics at the model file (an ONNX file or a
// checkpoint has no line to point at); the importers give each op a name
// location: the ONNX node ("name (OpType)"), or the checkpoint's entry
// point, layer and weight. ModelDiagnosticHandler prints those names with
// the message, so an error that a late pass reports still says which node
// or layer it is about.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_COMPILER_DIAGNOSTICS_H
#define KILN_COMPILER_DIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"

#include <string>

namespace mlir::kiln {

/// The names of `loc`'s name locations, outermost first, joined with " in "
/// (a weight in a layer); empty when it has none.
std::string locationNames(Location loc);

/// A SourceMgrDiagnosticHandler that prefixes a diagnostic's message with
/// "at NAMES: " (locationNames), unless the message already names the
/// first of them (the importers' own errors do).
class ModelDiagnosticHandler : public SourceMgrDiagnosticHandler {
public:
  ModelDiagnosticHandler(llvm::SourceMgr &mgr, MLIRContext *ctx,
                         raw_ostream &os);
  ModelDiagnosticHandler(llvm::SourceMgr &mgr, MLIRContext *ctx);

private:
  void install();
};

} // namespace mlir::kiln

#endif // KILN_COMPILER_DIAGNOSTICS_H
