//===- Status.cpp - the compiler C API's status objects -------------------===//

#include "Internal.h"

#include <cstdio>
#include <cstdlib>
#include <new>

using namespace mlir::kiln::capi;

kiln_compiler_status *mlir::kiln::capi::makeStatus(kiln_status_code code,
                                                   std::string message) {
  auto *s = new (std::nothrow) kiln_compiler_status;
  if (!s) {
    // Returning NULL would read as success; there is no way to report this.
    std::fputs("kiln compiler: out of memory while reporting an error\n",
               stderr);
    std::abort();
  }
  s->code = code;
  s->message = std::move(message);
  return s;
}

extern "C" kiln_status_code
kiln_compiler_status_get_code(const kiln_compiler_status *status) {
  return status ? status->code : KILN_OK;
}

extern "C" const char *
kiln_compiler_status_get_message(const kiln_compiler_status *status) {
  return status ? status->message.c_str() : "ok";
}

extern "C" void kiln_compiler_status_free(kiln_compiler_status *status) {
  delete status;
}

extern "C" int kiln_compiler_api_version(void) {
  return KILN_COMPILER_API_VERSION;
}
