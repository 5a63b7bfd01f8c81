/*===- kiln/runtime.h - the kiln runtime C API ---------------------------===*\
 *
 * Loads models compiled by kiln (shared-library artifacts, or modules the
 * compiler JIT-compiled in-process), describes their entry points and runs
 * them. The runtime depends on libc, libm, libstdc++ and libpthread only;
 * models compiled for CUDA need the CUDA driver, which it opens at run time
 * (see "CUDA" below).
 *
 * Errors: functions that can fail return a kiln_status pointer, NULL on
 * success. A non-NULL status carries a code and a message and must be freed
 * with kiln_status_free. Every call validates its arguments; a bad call
 * returns an error, it never crashes or reads out of bounds.
 *
 * Threads: a kiln_context owns a thread pool; pass it to kiln_model_run.
 * A model may run on several threads at once (each run takes its own
 * workspace when the model's is in use). A model is independent of the
 * compiler that produced it and may outlive it.
\*===----------------------------------------------------------------------===*/

#ifndef KILN_RUNTIME_H
#define KILN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_RUNTIME_ABI_VERSION 1

#if defined(__GNUC__)
#define KILN_API __attribute__((visibility("default")))
#else
#define KILN_API
#endif

/*===-- Status -----------------------------------------------------------===*/

typedef enum kiln_status_code {
  KILN_OK = 0,
  KILN_INVALID_ARGUMENT = 1, /* a bad call: count, dtype, shape, null, ... */
  KILN_IO_ERROR = 2,         /* a file could not be read or written */
  KILN_FORMAT_ERROR = 3,     /* a file is not what it claims to be */
  KILN_OUT_OF_MEMORY = 4,
  KILN_UNSUPPORTED = 5,
  KILN_INTERNAL = 6,
  KILN_DEVICE_ERROR = 7, /* the GPU driver failed a call (its message says) */
  KILN_STATUS_CODE_MAX_ENUM = 0x7fffffff, /* not a code: int-wide enum */
} kiln_status_code;

typedef struct kiln_status kiln_status;

KILN_API kiln_status_code kiln_status_get_code(const kiln_status *status);
KILN_API const char *kiln_status_get_message(const kiln_status *status);
KILN_API void kiln_status_free(kiln_status *status);

/*===-- Element types ----------------------------------------------------===*/

typedef enum kiln_dtype {
  KILN_F32 = 0,
  KILN_F16 = 1,
  KILN_BF16 = 2,
  KILN_F64 = 3,
  KILN_I64 = 4,
  KILN_I32 = 5,
  KILN_I16 = 6,
  KILN_I8 = 7,
  KILN_U8 = 8,
  KILN_BOOL = 9, /* one byte per element, 0 or 1 */
  /* Not a dtype: makes the enum as wide as an int, so that any value a
     caller passes is a valid kiln_dtype (the functions below reject the
     unknown ones) rather than undefined behaviour in C++. */
  KILN_DTYPE_MAX_ENUM = 0x7fffffff,
} kiln_dtype;

/* The dtype's name ("f32", ...) and its size in bytes (0 if unknown). */
KILN_API const char *kiln_dtype_name(kiln_dtype dtype);
KILN_API size_t kiln_dtype_size(kiln_dtype dtype);

/*===-- Tensors ----------------------------------------------------------===*/

#define KILN_MAX_RANK 16

/* A tensor: dense, row-major, `data` holds `size_bytes` bytes. */
typedef struct kiln_tensor {
  kiln_dtype dtype;
  int32_t rank;
  int64_t shape[KILN_MAX_RANK];
  void *data;
  size_t size_bytes;
} kiln_tensor;

/* Element count of a tensor described by `rank` and `shape`, or -1 when a
 * dimension is negative or the count overflows. */
KILN_API int64_t kiln_num_elements(int32_t rank, const int64_t *shape);

/* Frees memory the runtime allocated for an output (kiln_model_run with
 * data == NULL). */
KILN_API void kiln_free(void *data);

/*===-- Contexts (thread pools) ------------------------------------------===*/

typedef struct kiln_context kiln_context;

/* A pool of `num_threads` threads, the caller's included; 0 means one per
 * online core. */
KILN_API kiln_status *kiln_context_create(int num_threads, kiln_context **out);
KILN_API int kiln_context_num_threads(const kiln_context *context);
KILN_API void kiln_context_destroy(kiln_context *context);

/*===-- Models -----------------------------------------------------------===*/

typedef struct kiln_model kiln_model;

/* Opens an artifact written by `kiln-compile` (a .so). Loading one compiled
 * with --target=cuda opens the CUDA driver and loads its GPU modules: it
 * fails with the CUDA error (see kiln_cuda_init) where that fails. */
KILN_API kiln_status *kiln_model_load(const char *path, kiln_model **out);
/* Closes a model. A CUDA artifact releases its modules and device memory
 * here; the driver's errors in doing so are discarded, never printed. */
KILN_API void kiln_model_free(kiln_model *model);

/* The target the model was compiled for: "cpu" or "cuda" (NULL for a NULL
 * model). A "cuda" model runs its kernels on the GPU and takes host
 * buffers like any other; it needs kiln_cuda_init to succeed. */
KILN_API const char *kiln_model_target(const kiln_model *model);

KILN_API int kiln_model_num_entries(const kiln_model *model);
/* Entry point `index`'s name, or NULL when out of range. */
KILN_API const char *kiln_model_entry_name(const kiln_model *model, int index);
/* The index of the entry point called `name`, or -1. */
KILN_API int kiln_model_find_entry(const kiln_model *model, const char *name);
KILN_API int kiln_model_num_inputs(const kiln_model *model, int entry);
KILN_API int kiln_model_num_outputs(const kiln_model *model, int entry);
/* Bytes of scratch memory one run of the entry point uses. */
KILN_API int64_t kiln_model_workspace_bytes(const kiln_model *model, int entry);

/* Describes input/output `index` of `entry`; `*name` stays valid as long as
 * the model. `info->data` is NULL and `info->size_bytes` the size a buffer
 * for it must have. */
KILN_API kiln_status *kiln_model_input_info(const kiln_model *model, int entry,
                                            int index, const char **name,
                                            kiln_tensor *info);
KILN_API kiln_status *kiln_model_output_info(const kiln_model *model, int entry,
                                             int index, const char **name,
                                             kiln_tensor *info);

/* Runs `entry` on `context` (NULL: on the calling thread only). Inputs must
 * match the entry point's dtypes and shapes exactly. An output with a
 * non-NULL `data` is written there (it must match too); an output with NULL
 * `data` gets a buffer from the runtime, which the caller frees with
 * kiln_free. For a "cuda" model, the first CUDA error of the run is
 * returned (KILN_DEVICE_ERROR, KILN_OUT_OF_MEMORY, ...; the message names
 * the failed driver call and its CUDA error) and the outputs' contents are
 * then undefined; the process is never aborted. */
KILN_API kiln_status *kiln_model_run(kiln_model *model, kiln_context *context,
                                     int entry, const kiln_tensor *inputs,
                                     int num_inputs, kiln_tensor *outputs,
                                     int num_outputs);

/*===-- Text generation (decoder LLMs) -----------------------------------===*/

/* A decoder artifact (kiln-compile on a checkpoint directory, docs/llm.md)
 * has two entry points over a KV cache:
 *   prefill(tokens [1,P] i64, len i64, pos i64, kv_cache) -> logits [V] f32
 *   decode(token [1,1] i64, pos i64, kv_cache) -> logits [V] f32
 * kv_cache ([layers, 2, kv_heads, max_context, head_dim] f32) is state: both
 * entry points write the keys and values of their tokens into it in place,
 * at positions pos.., and attend over positions [0, pos]. A recurrent
 * model (Mamba) has the same entry points over an input named "state"
 * (f32, any shape) instead of kv_cache: its conv and SSM states, with no
 * max context; each entry point also returns the updated state as a
 * second output "state" (same shape), the next call's input. kiln_generate
 * owns the cache or the states (zeroed) per call and runs the loop below. */

typedef struct kiln_generate_options {
  int64_t max_new_tokens; /* tokens to generate (>= 1) */
  float temperature;      /* <= 0: greedy (argmax, first on ties) */
  int32_t top_k;          /* sample among the k likeliest; 0: all */
  uint64_t seed;          /* of the sampler's generator */
  int64_t eos_token;      /* stop after generating it; -1: never */
} kiln_generate_options;

/* Fills `options` with greedy decoding of 16 tokens, seed 0, no EOS. */
KILN_API void kiln_generate_options_init(kiln_generate_options *options);

typedef struct kiln_generate_stats {
  int64_t prompt_tokens;    /* tokens run through prefill */
  int64_t generated_tokens; /* tokens written to out_tokens */
  int64_t decode_steps;     /* decode calls */
  double prefill_seconds;   /* wall time of the prefill calls */
  double decode_seconds;    /* wall time of the decode calls and sampling */
} kiln_generate_stats;

/* Generates up to options->max_new_tokens tokens after `prompt` (ids in
 * [0, V)) into `out_tokens` (room for max_new_tokens ids): prefill over the
 * prompt in chunks of P, then one decode per further token. Fails with
 * KILN_INVALID_ARGUMENT when the model is not a decoder artifact, a token
 * id is out of range, or prompt_len + max_new_tokens - 1 exceeds the max
 * context. `stats` may be NULL. */
KILN_API kiln_status *kiln_generate(kiln_model *model, kiln_context *context,
                                    const int64_t *prompt, int64_t prompt_len,
                                    const kiln_generate_options *options,
                                    int64_t *out_tokens,
                                    kiln_generate_stats *stats);

/*===-- CUDA -------------------------------------------------------------===*/

/* The runtime has no link-time CUDA dependency: it opens the driver,
 * libcuda.so.1, with dlopen the first time a CUDA model or this function
 * needs it (once per process, thread-safe; the outcome is kept). This
 * returns NULL when the driver loads, cuInit succeeds, there is at least one
 * device and device 0's primary context can be retained, and then sets
 * `*device_count` (if not NULL) to the number of devices. Otherwise it
 * returns why, e.g. "CUDA driver libcuda.so.1 not found: <dlerror>"
 * (KILN_UNSUPPORTED: no driver, no device) or the CUDA error of the call
 * that failed (KILN_DEVICE_ERROR), and sets `*device_count` to 0. The CPU
 * path never needs it. See docs/cuda-runtime.md. */
KILN_API kiln_status *kiln_cuda_init(int *device_count);

/*===-- .npy files -------------------------------------------------------===*/

/* Reads a .npy file (format 1.0-3.0, little-endian, C order) into a tensor
 * whose data the caller frees with kiln_free. */
KILN_API kiln_status *kiln_npy_read(const char *path, kiln_tensor *out);
/* Parses .npy bytes already in memory. */
KILN_API kiln_status *kiln_npy_parse(const void *bytes, size_t size,
                                     kiln_tensor *out);
KILN_API kiln_status *kiln_npy_write(const char *path,
                                     const kiln_tensor *tensor);

/*===-- For the compiler: models from code already in memory -------------===*/

/* An entry point's code: buffers (inputs then outputs), the weight table and
 * a workspace of the size the metadata gives. */
typedef void (*kiln_entry_fn)(void **buffers, void *const *weights,
                              void *workspace);

/* Resolves an entry point's function by name (kiln_entry_<name>). */
typedef kiln_entry_fn (*kiln_entry_resolver)(void *user, const char *symbol);

/* Builds a model from artifact metadata text, a resolver for the entry
 * functions, and the weight table (`num_weights` pointers, which must stay
 * valid as long as the model). `owner` is released with `release(owner)`
 * when the model is freed (the JIT engine, say). */
KILN_API kiln_status *
kiln_model_create(const char *metadata, kiln_entry_resolver resolve, void *user,
                  void *const *weights, int64_t num_weights, void *owner,
                  void (*release)(void *owner), kiln_model **out);

/*===-- For generated code ----------------------------------------------===*/

/* The runtime also exports the mgpu* functions that MLIR's gpu-to-llvm
 * lowering calls (mgpuModuleLoad, mgpuLaunchKernel, mgpuMemAlloc, ...; not
 * declared here), with upstream LLVM 22's signatures, over the driver that
 * kiln_cuda_init opens; docs/cuda-runtime.md lists them. */

/* Runs task(captures, begin, end) over [0, count) on the calling thread's
 * current pool (the one kiln_model_run was given), and returns when every
 * index is done. */
KILN_API void kiln_rt_parallel_for(int64_t count,
                                   void (*task)(void *captures, int64_t begin,
                                                int64_t end),
                                   void *captures);

#ifdef __cplusplus
}
#endif

#endif /* KILN_RUNTIME_H */
