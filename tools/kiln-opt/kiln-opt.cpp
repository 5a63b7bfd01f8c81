//===- kiln-opt.cpp - the kiln optimizer driver ---------------------------===//
//
// mlir-opt with kiln's dialects, passes and pipelines registered: every stage
// of the compiler can be replayed from a .mlir file.
//
//===----------------------------------------------------------------------===//

#include "kiln/InitAll.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  mlir::kiln::registerAllDialects(registry);
  mlir::kiln::registerAllPasses();
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "kiln optimizer driver\n", registry));
}
