//===- internal.h - shared pieces of the kiln runtime -----------*- C++ -*-===//

#ifndef KILN_RUNTIME_INTERNAL_H
#define KILN_RUNTIME_INTERNAL_H

#include "kiln/runtime.h"

#include <cstdarg>
#include <string>

struct kiln_status {
  kiln_status_code code;
  std::string message;
};

namespace kiln::rt {

/// A status with a printf-style message.
kiln_status *error(kiln_status_code code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/// Parses a dtype name ("f32", ...); false if unknown.
bool parseDtype(const std::string &name, kiln_dtype *out);

/// `a * b` unless it overflows int64 (then false).
inline bool mulOverflow(int64_t a, int64_t b, int64_t *out) {
  return __builtin_mul_overflow(a, b, out);
}

/// 64-byte aligned allocation released with kiln_free (free).
void *alignedAlloc(size_t bytes);

/// The pool the calling thread runs generated code on (set by
/// kiln_model_run), or null. Exported (though not in runtime.h) so that the
/// unit tests can run micro-kernels on a pool.
KILN_API kiln_context *currentContext();
KILN_API void setCurrentContext(kiln_context *context);

/// Parses artifact metadata and checks the weights appended to the file at
/// `path` against it, as kiln_model_load does after dlopen (for fuzzing the
/// loader without running foreign code).
kiln_status *checkArtifactParts(const char *metadata, const char *path);

} // namespace kiln::rt

#endif // KILN_RUNTIME_INTERNAL_H
