//===- InitAll.cpp - register everything kiln knows -----------------------===//

#include "kiln/InitAll.h"

#include "kiln/Dialect/Kiln/IR/KilnDialect.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"

void kiln::registerAllDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::kiln::KilnDialect>();
}

void kiln::registerAllPasses() { mlir::registerAllPasses(); }
