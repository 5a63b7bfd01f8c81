//===- RecordEntryPoints.cpp - record entry-point tensor signatures -------===//

#include "kiln/Transforms/Passes.h"

#include "mlir/IR/BuiltinAttributes.h"

#define DEBUG_TYPE "kiln-record-entry-points"

namespace mlir::kiln {
#define GEN_PASS_DEF_RECORDENTRYPOINTS
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// [{name = "...", type = tensor<...>}, ...] for `types`, named by the
/// `kiln.name` entries of `argAttrs` or `prefix<i>`.
ArrayAttr describe(Builder &b, TypeRange types, ArrayAttr argAttrs,
                   StringRef prefix) {
  SmallVector<Attribute> entries;
  for (auto [i, t] : llvm::enumerate(types)) {
    std::string name = (prefix + Twine(i)).str();
    if (argAttrs && i < argAttrs.size())
      if (auto dict = dyn_cast_or_null<DictionaryAttr>(argAttrs[i]))
        if (auto n = dict.getAs<StringAttr>(attrs::kName))
          name = n.str();
    entries.push_back(
        b.getDictionaryAttr({b.getNamedAttr("name", b.getStringAttr(name)),
                             b.getNamedAttr("type", TypeAttr::get(t))}));
  }
  return b.getArrayAttr(entries);
}

struct RecordEntryPointsPass
    : mlir::kiln::impl::RecordEntryPointsBase<RecordEntryPointsPass> {
  void runOnOperation() override {
    Builder b(&getContext());
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (!func.isPublic() || func.isExternal())
        continue;
      bool bad = false;
      for (Type t : llvm::concat<const Type>(func.getArgumentTypes(),
                                             func.getResultTypes())) {
        auto rt = dyn_cast<RankedTensorType>(t);
        if (!rt || !rt.hasStaticShape()) {
          func.emitError("entry point '")
              << func.getSymName()
              << "' must take and return statically shaped tensors, got " << t;
          bad = true;
          break;
        }
      }
      if (bad)
        return signalPassFailure();
      func->setAttr(attrs::kInputs, describe(b, func.getArgumentTypes(),
                                             func.getArgAttrsAttr(), "input"));
      func->setAttr(
          attrs::kOutputs,
          describe(b, func.getResultTypes(), func.getResAttrsAttr(), "output"));
    }
  }
};

} // namespace
