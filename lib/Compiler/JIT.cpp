//===- JIT.cpp - in-process compilation to a runtime model ----------------===//
//
// The same stages as the ahead-of-time path; the llvm-dialect module goes to
// MLIR's ExecutionEngine (ORC) instead of an object file, and the runtime
// wraps the JIT's entry functions in an ordinary kiln_model. Weights are
// passed by address, straight from their resource blobs.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Compiler.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ExecutionEngine/Orc/Mangling.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// What a JIT-compiled model owns: the engine with its code and whatever
/// keeps the weights alive.
struct JITOwner {
  std::unique_ptr<ExecutionEngine> engine;
  std::shared_ptr<void> keepAlive;
};

kiln_entry_fn resolve(void *user, const char *symbol) {
  auto *owner = static_cast<JITOwner *>(user);
  auto addr = owner->engine->lookup(symbol);
  if (!addr) {
    llvm::consumeError(addr.takeError());
    return nullptr;
  }
  return reinterpret_cast<kiln_entry_fn>(*addr);
}

} // namespace

FailureOr<kiln_model *> kiln::compileToJIT(ModuleOp module,
                                           const CompileOptions &options,
                                           std::shared_ptr<void> keepAlive) {
  if (options.target != "cpu")
    return emitError(module.getLoc())
           << "the JIT compiles for the CPU only; compile --target="
           << options.target << " ahead of time";
  if (failed(runStages(module, EmitKind::LLVMDialect, options)))
    return failure();
  std::string error;
  auto tm = cpu::createTargetMachine(options.cpu, error);
  if (failed(tm))
    return emitError(module.getLoc()) << error;
  // The JIT's memory manager maps code and data sections separately, and
  // the kernel may place them more than 2 GiB apart (it does under
  // AddressSanitizer, whose allocator reserves terabytes): the small code
  // model's 32-bit PC-relative references to constants would then be
  // truncated silently and read unmapped memory. The large code model
  // addresses them with 64-bit absolute relocations.
  (*tm)->setCodeModel(llvm::CodeModel::Large);

  // The weight table: addresses of the blobs, in the order of kiln.weights.
  std::vector<void *> weights;
  if (auto list = module->getAttrOfType<ArrayAttr>(attrs::kWeights)) {
    for (Attribute a : list) {
      auto res = dyn_cast<DenseResourceElementsAttr>(a);
      AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
      if (!blob)
        return emitError(module.getLoc()) << "a weight has no data";
      weights.push_back(const_cast<char *>(blob->getData().data()));
    }
  }

  // ExecutionEngineOptions holds a function_ref: the transformer must
  // outlive the create() call.
  std::function<llvm::Error(llvm::Module *)> optimize =
      makeOptimizingTransformer(options.cpu.optLevel, 0, tm->get());
  ExecutionEngineOptions engineOptions;
  engineOptions.transformer = optimize;
  engineOptions.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  // Generated code calls the runtime's micro-kernels (kiln_uk_*): search
  // the runtime library itself, not only the process's global symbols, so
  // a host that loaded it with RTLD_LOCAL (Python's ctypes) works too.
  std::string runtimeLib = cpu::runtimeLibraryDir();
  SmallVector<StringRef, 1> sharedLibs;
  if (!runtimeLib.empty()) {
    runtimeLib += "/libkiln_runtime.so.1";
    sharedLibs.push_back(runtimeLib);
  }
  engineOptions.sharedLibPaths = sharedLibs;
  auto engine = ExecutionEngine::create(module, engineOptions, std::move(*tm));
  if (!engine) {
    std::string msg = llvm::toString(engine.takeError());
    return emitError(module.getLoc()) << "JIT compilation failed: " << msg;
  }
  // The runtime entry points generated code calls, resolved explicitly so
  // the JIT works however the runtime library was loaded.
  (*engine)->registerSymbols([](llvm::orc::MangleAndInterner interner) {
    llvm::orc::SymbolMap map;
    map[interner("kiln_rt_parallel_for")] = {
        llvm::orc::ExecutorAddr::fromPtr(&kiln_rt_parallel_for),
        llvm::JITSymbolFlags::Exported};
    return map;
  });

  auto owner = std::make_unique<JITOwner>();
  owner->engine = std::move(*engine);
  owner->keepAlive = std::move(keepAlive);
  auto meta = owner->engine->lookup("kiln_artifact_metadata");
  if (!meta) {
    std::string msg = llvm::toString(meta.takeError());
    return emitError(module.getLoc()) << "JIT module lacks metadata: " << msg;
  }
  kiln_model *model = nullptr;
  JITOwner *raw = owner.get();
  kiln_status *status = kiln_model_create(
      static_cast<const char *>(*meta), resolve, raw, weights.data(),
      weights.size(), raw, [](void *o) { delete static_cast<JITOwner *>(o); },
      &model);
  if (status) {
    std::string msg = kiln_status_get_message(status);
    kiln_status_free(status);
    return emitError(module.getLoc()) << msg;
  }
  owner.release();
  return model;
}
