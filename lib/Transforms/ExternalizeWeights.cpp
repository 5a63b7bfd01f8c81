//===- ExternalizeWeights.cpp - read weights through a table --------------===//

#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMTypes.h"
#include "mlir/IR/BuiltinAttributes.h"

#define DEBUG_TYPE "kiln-externalize-weights"

namespace mlir::kiln {
#define GEN_PASS_DEF_EXTERNALIZEWEIGHTS
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct ExternalizeWeightsPass
    : mlir::kiln::impl::ExternalizeWeightsBase<ExternalizeWeightsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    // Weight globals, in module order.
    llvm::StringMap<int64_t> index;
    SmallVector<Attribute> blobs;
    SmallVector<memref::GlobalOp> globals;
    for (auto global : module.getOps<memref::GlobalOp>()) {
      auto init = dyn_cast_or_null<DenseResourceElementsAttr>(
          global.getInitialValueAttr());
      if (!init)
        continue;
      index[global.getSymName()] = blobs.size();
      blobs.push_back(init);
      globals.push_back(global);
    }
    module->setAttr(attrs::kWeights, ArrayAttr::get(ctx, blobs));

    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    for (auto func : module.getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<memref::GetGlobalOp> uses;
      func.walk([&](memref::GetGlobalOp get) {
        if (index.count(get.getName()))
          uses.push_back(get);
      });
      // Entry points always take the table, so their ABI does not depend on
      // whether they read weights.
      if (uses.empty() && !func.isPublic())
        continue;
      if (!func.isPublic()) {
        func.emitError("reads weights but is not an entry point; only entry "
                       "points receive the weight table");
        return signalPassFailure();
      }
      unsigned argIndex = func.getNumArguments();
      if (failed(func.insertArgument(argIndex, ptrType, {}, func.getLoc())))
        return signalPassFailure();
      Value table = func.getArgument(argIndex);
      for (memref::GetGlobalOp get : uses) {
        OpBuilder b(get);
        Value w = rt::WeightOp::create(b, get.getLoc(), get.getType(), table,
                                       index[get.getName()]);
        get.replaceAllUsesWith(w);
        get.erase();
      }
    }
    for (memref::GlobalOp g : globals)
      g.erase();
  }
};

} // namespace
