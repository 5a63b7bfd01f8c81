//===- Diagnostics.cpp - diagnostics that name the model's node -----------===//

#include "kiln/Compiler/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

void collectNames(Location loc, SmallVectorImpl<StringRef> &names) {
  if (auto name = dyn_cast<NameLoc>(loc)) {
    if (!name.getName().getValue().empty())
      names.push_back(name.getName().getValue());
    collectNames(name.getChildLoc(), names);
  } else if (auto fused = dyn_cast<FusedLoc>(loc)) {
    for (Location l : fused.getLocations())
      collectNames(l, names);
  } else if (auto call = dyn_cast<CallSiteLoc>(loc)) {
    collectNames(call.getCallee(), names);
  }
}

} // namespace

std::string kiln::locationNames(Location loc) {
  SmallVector<StringRef> names;
  collectNames(loc, names);
  std::string out;
  for (StringRef n : names) {
    if (!out.empty())
      out += " in ";
    out += n.str();
  }
  return out;
}

ModelDiagnosticHandler::ModelDiagnosticHandler(llvm::SourceMgr &mgr,
                                               MLIRContext *ctx,
                                               raw_ostream &os)
    : SourceMgrDiagnosticHandler(mgr, ctx, os) {
  install();
}

ModelDiagnosticHandler::ModelDiagnosticHandler(llvm::SourceMgr &mgr,
                                               MLIRContext *ctx)
    : SourceMgrDiagnosticHandler(mgr, ctx) {
  install();
}

void ModelDiagnosticHandler::install() {
  setHandler([this](Diagnostic &diag) {
    SmallVector<StringRef> names;
    collectNames(diag.getLocation(), names);
    std::string message = diag.str();
    // The first word of the first name: an ONNX node's name without its
    // " (OpType)", which the importer's own messages quote.
    StringRef first =
        names.empty() ? StringRef() : names.front().split(' ').first;
    if (names.empty() || StringRef(message).contains(first)) {
      emitDiagnostic(diag);
      return success();
    }
    emitDiagnostic(diag.getLocation(),
                   "at " + locationNames(diag.getLocation()) + ": " + message,
                   diag.getSeverity());
    for (Diagnostic &note : diag.getNotes())
      emitDiagnostic(note.getLocation(), note.str(), note.getSeverity());
    return success();
  });
}
