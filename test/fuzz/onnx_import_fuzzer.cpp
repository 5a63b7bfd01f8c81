//===- onnx_import_fuzzer.cpp - libFuzzer target for the ONNX importer ----===//
//
// Any bytes: the importer must report an error or produce a module that
// verifies; it must never crash, hang or leak.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Frontend/ONNX/Importer.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  mlir::DialectRegistry registry;
  registry.insert<mlir::kiln::KilnDialect, mlir::func::FuncDialect>();
  mlir::MLIRContext ctx(registry);
  ctx.getDiagEngine().registerHandler([](mlir::Diagnostic &) {});
  mlir::kiln::onnx::ImportOptions options;
  mlir::OwningOpRef<mlir::ModuleOp> module = mlir::kiln::onnx::importModel(
      ctx, llvm::StringRef(reinterpret_cast<const char *>(data), size),
      "fuzz.onnx", options);
  if (module && failed(mlir::verify(*module)))
    __builtin_trap(); // the importer must only return valid modules
  return 0;
}
