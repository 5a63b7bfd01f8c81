//===- InitAll.h - register everything kiln knows ---------------*- C++ -*-===//
//
// The one place where tools learn about dialects, passes and pipelines:
// upstream MLIR's and kiln's own.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_INITALL_H
#define KILN_INITALL_H

namespace mlir {
class DialectRegistry;
} // namespace mlir

namespace mlir::kiln {

/// Adds every upstream dialect and extension and kiln's dialects.
void registerAllDialects(DialectRegistry &registry);

/// Registers every upstream pass and kiln's passes and named pipelines.
void registerAllPasses();

} // namespace mlir::kiln

#endif // KILN_INITALL_H
