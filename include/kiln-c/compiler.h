/*===- kiln-c/compiler.h - the kiln compiler C API -----------------------===*\
 *
 * Compiles models (.onnx, .mlir) from a host program: ahead of time into a
 * shared-library artifact the runtime loads (kiln-compile's output), or
 * in-process through a JIT into a kiln_model of the runtime (see
 * kiln/runtime.h), ready to run.
 *
 *   kiln_compiler *c;
 *   kiln_compiler_create(&c);
 *   kiln_compiler_add_input_shape(c, "input_ids", 2, (int64_t[]){1, 32});
 *   kiln_model *m;
 *   kiln_compiler_status *s = kiln_compiler_jit_file(c, "model.onnx", &m);
 *   if (s) { puts(kiln_compiler_status_get_message(s)); ... }
 *   kiln_compiler_destroy(c);   // m stays valid
 *   ... kiln_model_run(m, ...); kiln_model_free(m);
 *
 * Errors: functions that can fail return a kiln_compiler_status pointer,
 * NULL on success. A non-NULL status carries a code (the runtime's
 * kiln_status_code values) and a message, and must be freed with
 * kiln_compiler_status_free. When compiling a model fails, the message holds
 * the compiler's diagnostics, each with its location (FILE:LINE:COL for
 * .mlir, the node's name, op type and opset for ONNX). Every argument is
 * checked: a NULL pointer, a missing file or a bad model returns an error.
 *
 * Threads and lifetimes: a kiln_compiler (a session: options and the last
 * compilation's diagnostics) is used by one thread at a time. Separate
 * sessions may compile concurrently on separate threads; every compilation
 * gets its own MLIR context. A model from kiln_compiler_jit_* owns its code
 * and weights and is independent of the session: destroy the session
 * whenever you like, free the model with kiln_model_free. Models run from
 * several threads at once (see kiln/runtime.h).
\*===----------------------------------------------------------------------===*/

#ifndef KILN_C_COMPILER_H
#define KILN_C_COMPILER_H

#include "kiln/runtime.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_COMPILER_API_VERSION 1

/* The API version of the library in use (KILN_COMPILER_API_VERSION when it
 * matches this header). */
KILN_API int kiln_compiler_api_version(void);

/*===-- Status -----------------------------------------------------------===*/

/* Codes, from kiln_status_code:
 *   KILN_INVALID_ARGUMENT  a bad call or option (NULL, out of range, ...)
 *   KILN_IO_ERROR          the model (or a bound input) cannot be read, or
 *                          the output cannot be written
 *   KILN_FORMAT_ERROR      the model does not parse, import or verify
 *   KILN_UNSUPPORTED       the model loaded, but a compiler stage failed on
 *                          it (an op, shape or type kiln cannot compile yet)
 *   KILN_INTERNAL          anything else (linking, JIT) */
typedef struct kiln_compiler_status kiln_compiler_status;

KILN_API kiln_status_code
kiln_compiler_status_get_code(const kiln_compiler_status *status);
/* The message; "ok" for NULL. Valid until the status is freed. */
KILN_API const char *
kiln_compiler_status_get_message(const kiln_compiler_status *status);
KILN_API void kiln_compiler_status_free(kiln_compiler_status *status);

/*===-- Sessions ---------------------------------------------------------===*/

typedef struct kiln_compiler kiln_compiler;

/* A session with the default options: target "cpu", cpu "host", opt level
 * 3, micro-kernels on, fused ops lowered, no input shapes or bindings. */
KILN_API kiln_compiler_status *kiln_compiler_create(kiln_compiler **out);
KILN_API void kiln_compiler_destroy(kiln_compiler *compiler);

/*===-- Options (each applies to every later compilation) ----------------===*/

/* The target: "cpu" (the only one so far). */
KILN_API kiln_compiler_status *kiln_compiler_set_target(kiln_compiler *compiler,
                                                        const char *target);

/* The CPU to generate code for: "host" (this machine) or an LLVM CPU name
 * ("znver4", "skylake-avx512", "x86-64-v3"), and extra LLVM target features
 * ("+avx512f,-avx512bf16"; NULL or "" for none). An unknown CPU name is an
 * error here. */
KILN_API kiln_compiler_status *kiln_compiler_set_cpu(kiln_compiler *compiler,
                                                     const char *cpu,
                                                     const char *features);

/* LLVM optimization level, 0 to 3 (default 3). */
KILN_API kiln_compiler_status *
kiln_compiler_set_opt_level(kiln_compiler *compiler, int level);

/* Whether matmuls and attention call the runtime's micro-kernels (default
 * 1), and whether attention and the Mamba ops are decomposed into their
 * reference lowering (default 1). */
KILN_API kiln_compiler_status *
kiln_compiler_set_ukernels(kiln_compiler *compiler, int enabled);
KILN_API kiln_compiler_status *
kiln_compiler_set_lower_fused_ops(kiln_compiler *compiler, int enabled);

/* Weight quantization of the matmuls with constant weights, as
 * kiln-compile's --quantize, --quant-group, --quant-zero-points and
 * --quant-exclude: `mode` "int8" (per output channel), "int4" (groups of
 * `group_size` rows: 32, 64 or 128; asymmetric with zero points if
 * `zero_points`), or NULL / "" (none, the default); weights whose ONNX node
 * or initializer name matches the regular expression `exclude` (NULL: none)
 * keep their type. */
KILN_API kiln_compiler_status *
kiln_compiler_set_quantization(kiln_compiler *compiler, const char *mode,
                               int group_size, int zero_points,
                               const char *exclude);

/* The element type of the matmuls with constant weights that are not
 * quantized: "f32" (as written, the default) or "bf16" (bf16 weights and
 * inputs, fp32 accumulation), as kiln-compile's --dtype. */
KILN_API kiln_compiler_status *kiln_compiler_set_dtype(kiln_compiler *compiler,
                                                       const char *dtype);

/* Fixes the dynamic dimensions of the model input `name` to `dims` (`rank`
 * of them, each >= 0); kiln compiles static shapes. Same as kiln-compile's
 * --input-shape NAME=DIMS. A later call for the same name replaces it. */
KILN_API kiln_compiler_status *
kiln_compiler_add_input_shape(kiln_compiler *compiler, const char *name,
                              int32_t rank, const int64_t *dims);

/* Specializes the model on the value of input `name`, read from the .npy
 * file at `npy_path` when compiling: the input becomes a constant and
 * leaves the signature. Same as kiln-compile's --bind NAME=FILE.npy. A
 * later call for the same name replaces it. */
KILN_API kiln_compiler_status *kiln_compiler_bind_input(kiln_compiler *compiler,
                                                        const char *name,
                                                        const char *npy_path);

/* Forgets every input shape and binding. */
KILN_API void kiln_compiler_clear_inputs(kiln_compiler *compiler);

/*===-- Compiling --------------------------------------------------------===*/

/* Compiles the model at `model_path` (.onnx, .mlir) and writes
 * `output_path`. `emit` is what to write, as kiln-compile's --emit: "so"
 * (or NULL; the artifact kiln_model_load opens), "obj", "llvm-ir", or the
 * MLIR after a stage: "kiln", "linalg", "kernels", "codegen",
 * "bufferized", "llvm". */
KILN_API kiln_compiler_status *
kiln_compiler_compile_file(kiln_compiler *compiler, const char *model_path,
                           const char *output_path, const char *emit);

/* JIT-compiles the model at `model_path` into a runtime model; free it with
 * kiln_model_free. */
KILN_API kiln_compiler_status *kiln_compiler_jit_file(kiln_compiler *compiler,
                                                      const char *model_path,
                                                      kiln_model **out);

/* The same from `size` bytes in memory; `name` (a file name such as
 * "model.onnx") selects the format by its extension and appears in
 * diagnostics. */
KILN_API kiln_compiler_status *
kiln_compiler_jit_buffer(kiln_compiler *compiler, const void *data, size_t size,
                         const char *name, kiln_model **out);

/*===-- Diagnostics ------------------------------------------------------===*/

/* Every diagnostic (errors, warnings, remarks, notes) of the session's last
 * compilation, as text ("FILE:LINE:COL: error: ..." lines), or "" when
 * there were none. Valid until the next call on the session. */
KILN_API const char *
kiln_compiler_get_diagnostics(const kiln_compiler *compiler);

#ifdef __cplusplus
}
#endif

#endif /* KILN_C_COMPILER_H */
