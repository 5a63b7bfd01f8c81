//===- EmitEntryPoints.cpp - the artifact's C ABI -------------------------===//

#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/raw_ostream.h"

#define DEBUG_TYPE "kiln-emit-entry-points"

namespace mlir::kiln {
#define GEN_PASS_DEF_EMITENTRYPOINTS
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The runtime's name for an element type, or "" when it has none.
std::string dtypeName(Type t) {
  if (t.isF32())
    return "f32";
  if (t.isF16())
    return "f16";
  if (t.isBF16())
    return "bf16";
  if (t.isF64())
    return "f64";
  if (t.isInteger(1))
    return "bool";
  if (auto it = dyn_cast<IntegerType>(t)) {
    unsigned w = it.getWidth();
    if (w == 8 || w == 16 || w == 32 || w == 64 || w == 4)
      return (it.isUnsigned() ? "u" : "i") + std::to_string(w);
  }
  return "";
}

LogicalResult describe(Operation *op, StringRef kind, ArrayAttr entries,
                       llvm::raw_ostream &os) {
  for (Attribute a : entries) {
    auto dict = cast<DictionaryAttr>(a);
    StringRef name = dict.getAs<StringAttr>("name").getValue();
    auto type = cast<RankedTensorType>(dict.getAs<TypeAttr>("type").getValue());
    std::string dtype = dtypeName(type.getElementType());
    if (dtype.empty())
      return op->emitError("entry point ")
             << kind << " '" << name << "' has element type "
             << type.getElementType() << ", which the runtime does not support";
    if (name.empty() || llvm::any_of(name, [](char c) {
          return c == ' ' || c == '\n' || c == '\t' || c == '\0';
        }))
      return op->emitError("entry point ")
             << kind << " name '" << name
             << "' is empty or contains white space";
    os << kind << ' ' << name << ' ' << dtype << ' ' << type.getRank();
    for (int64_t d : type.getShape())
      os << ' ' << d;
    os << '\n';
  }
  return success();
}

struct EmitEntryPointsPass
    : mlir::kiln::impl::EmitEntryPointsBase<EmitEntryPointsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto voidType = LLVM::LLVMVoidType::get(ctx);

    std::string text;
    llvm::raw_string_ostream os(text);
    auto weights = module->getAttrOfType<ArrayAttr>(attrs::kWeights);
    if (target != "cpu" && target != "cuda") {
      module.emitError("unknown artifact target '") << target << "'";
      return signalPassFailure();
    }
    os << "kiln-artifact 1\n";
    // CPU artifacts leave the line out (the runtime's default).
    if (target != "cpu")
      os << "target " << target << '\n';
    os << "weights " << (weights ? weights.size() : 0) << '\n';
    // Each weight's size, which the runtime checks against the data it maps.
    for (auto [i, w] : llvm::enumerate(weights ? weights.getValue()
                                               : ArrayRef<Attribute>())) {
      auto res = dyn_cast<DenseResourceElementsAttr>(w);
      AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
      if (!blob) {
        module.emitError("weight ") << i << " has no data";
        return signalPassFailure();
      }
      os << "weight " << i << ' ' << blob->getData().size() << '\n';
    }

    SmallVector<LLVM::LLVMFuncOp> entries;
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (fn->hasAttr(attrs::kInputs))
        entries.push_back(fn);
    if (entries.empty()) {
      module.emitError("no entry points: the module has no public function");
      return signalPassFailure();
    }
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>())
      if (!fn.isExternal())
        fn.setLinkage(LLVM::Linkage::Internal);

    OpBuilder b(ctx);
    for (LLVM::LLVMFuncOp fn : entries) {
      Location loc = fn.getLoc();
      auto inputs = fn->getAttrOfType<ArrayAttr>(attrs::kInputs);
      auto outputs = fn->getAttrOfType<ArrayAttr>(attrs::kOutputs);
      int64_t ws = 0;
      if (auto a = fn->getAttrOfType<IntegerAttr>(attrs::kWorkspaceBytes))
        ws = a.getInt();
      unsigned nBuffers = inputs.size() + outputs.size();
      if (fn.getNumArguments() != nBuffers + 2) {
        fn.emitError("entry point '")
            << fn.getName() << "' should take " << nBuffers
            << " buffers, the weight table and the workspace; it takes "
            << fn.getNumArguments() << " arguments";
        return signalPassFailure();
      }
      os << "entry " << fn.getName() << ' ' << ws << ' ' << inputs.size() << ' '
         << outputs.size() << '\n';
      if (failed(describe(fn, "input", inputs, os)) ||
          failed(describe(fn, "output", outputs, os)))
        return signalPassFailure();

      b.setInsertionPointToEnd(module.getBody());
      auto wrapper = LLVM::LLVMFuncOp::create(
          b, loc, ("kiln_entry_" + fn.getName()).str(),
          LLVM::LLVMFunctionType::get(voidType, {ptrType, ptrType, ptrType}));
      Block *entry = wrapper.addEntryBlock(b);
      b.setInsertionPointToStart(entry);
      SmallVector<Value> args;
      for (unsigned i = 0; i < nBuffers; ++i) {
        Value slot =
            LLVM::GEPOp::create(b, loc, ptrType, ptrType, entry->getArgument(0),
                                ArrayRef<LLVM::GEPArg>{(int32_t)i});
        args.push_back(LLVM::LoadOp::create(b, loc, ptrType, slot));
      }
      args.push_back(entry->getArgument(1));
      args.push_back(entry->getArgument(2));
      LLVM::CallOp::create(b, loc, fn, args);
      LLVM::ReturnOp::create(b, loc, ValueRange{});
    }
    os << "end\n";
    // The records are in the metadata now; LLVM IR has no use for them.
    for (auto fn : module.getOps<LLVM::LLVMFuncOp>()) {
      fn->removeAttr(attrs::kInputs);
      fn->removeAttr(attrs::kOutputs);
      fn->removeAttr(attrs::kWorkspaceBytes);
      for (unsigned i = 0, e = fn.getNumArguments(); i < e; ++i)
        fn.removeArgAttr(i, attrs::kName);
      for (unsigned i = 0, e = fn.getNumResults(); i < e; ++i)
        fn.removeResultAttr(i, StringAttr::get(ctx, attrs::kName));
    }
    text.push_back('\0');
    b.setInsertionPointToEnd(module.getBody());
    auto arrayType =
        LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8), text.size());
    LLVM::GlobalOp::create(b, module.getLoc(), arrayType, /*isConstant=*/true,
                           LLVM::Linkage::External, "kiln_artifact_metadata",
                           b.getStringAttr(text));
  }
};

} // namespace
