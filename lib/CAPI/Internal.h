//===- Internal.h - what the compiler C API's files share -------*- C++ -*-===//
//
// The objects behind the opaque handles of include/kiln-c/compiler.h.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CAPI_INTERNAL_H
#define KILN_CAPI_INTERNAL_H

#include "kiln-c/compiler.h"
#include "kiln/Compiler/Compiler.h"

#include <string>

struct kiln_compiler_status {
  kiln_status_code code;
  std::string message;
};

/// A session: the options every compilation uses and the diagnostics of
/// the last one.
struct kiln_compiler {
  mlir::kiln::CompileOptions options;
  std::string diagnostics;
};

namespace mlir::kiln::capi {

/// A status with `message`; aborts only when even that cannot be allocated.
kiln_compiler_status *makeStatus(kiln_status_code code, std::string message);

/// Initializes LLVM's native target once per process, so that sessions on
/// several threads never race on LLVM's target registry.
void initializeLLVMOnce();

} // namespace mlir::kiln::capi

#endif // KILN_CAPI_INTERNAL_H
