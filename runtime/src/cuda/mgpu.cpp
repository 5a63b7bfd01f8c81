//===- mgpu.cpp - the mgpu* functions that gpu-to-llvm code calls ---------===//
//
// MLIR's host-side GPU lowering (gpu-to-llvm, and the LLVM IR translation
// of gpu.binary / gpu.launch_func) emits calls to mgpu* functions that
// upstream implements in libmlir_cuda_runtime (CudaRuntimeWrappers.cpp),
// which links against libcuda and aborts or prints on errors. These are the
// same functions, with the signatures LLVM 22 emits, over the driver that
// driver.cpp opens with dlopen, and with kiln's error handling: the first
// failure is recorded for kiln_model_load / kiln_model_run to return, and
// later calls of the same run do nothing (driver.h).
//
// CUmodule, CUfunction, CUstream and CUevent travel as opaque pointers, a
// device pointer as a void *, exactly as in the generated code.
//
//===----------------------------------------------------------------------===//

#include "driver.h"

#include <cstring>
#include <thread>

using namespace kiln::rt;
using namespace kiln::rt::cuda;

#define MGPU_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

/// Records a failed driver call made for `fn`.
void report(const Driver &d, const char *fn, const char *call, CUresult r,
            const std::string &detail = "") {
  recordError(
      r == CUDA_ERROR_OUT_OF_MEMORY ? KILN_OUT_OF_MEMORY : KILN_DEVICE_ERROR,
      std::string(fn) + ": " + call + " failed: " + describe(d, r) + detail);
}

/// The driver for an mgpu* call that does work, or null when the call must
/// do nothing: an earlier call of this scope failed, or the driver is
/// missing (recorded as this call's error).
const Driver *enter() {
  if (failed())
    return nullptr;
  kiln_status *status = nullptr;
  const Driver *d = getDriver(&status);
  if (!d) {
    recordError(kiln_status_get_code(status), kiln_status_get_message(status));
    kiln_status_free(status);
  }
  return d;
}

/// The driver for a call that releases `handle`: these run even after an
/// error, so that a failed run does not leak device memory.
const Driver *enterRelease(const void *handle) {
  if (!handle)
    return nullptr;
  return getDriver();
}

/// Makes the default device's primary context current while it lives.
class ScopedContext {
public:
  ScopedContext(const Driver &d, const char *fn) : d(d), fn(fn) {
    CUcontext c = primaryContext(d);
    if (!c)
      return;
    if (CUresult r = d.cuCtxPushCurrent(c)) {
      report(d, fn, "cuCtxPushCurrent", r);
      return;
    }
    pushed = true;
  }
  ~ScopedContext() {
    if (!pushed)
      return;
    if (CUresult r = d.cuCtxPopCurrent(nullptr))
      report(d, fn, "cuCtxPopCurrent", r);
  }
  explicit operator bool() const { return pushed; }

private:
  const Driver &d;
  const char *fn;
  bool pushed = false;
};

CUdeviceptr devicePtr(const void *p) {
  return static_cast<CUdeviceptr>(reinterpret_cast<uintptr_t>(p));
}

/// Makes the context current and runs `f(d)`, the driver call `api` of the
/// mgpu* function `fn`, reporting its failure (with `detail` appended).
/// Nothing runs when the context cannot be made current (that is recorded
/// as the error). Returns whether `f` ran and succeeded.
template <class F>
bool inContext(const Driver &d, const char *fn, const char *api, F f,
               const std::string &detail = std::string()) {
  ScopedContext context(d, fn);
  if (!context)
    return false;
  if (CUresult r = f(d)) {
    report(d, fn, api, r, detail);
    return false;
  }
  return true;
}

/// An mgpu* call that does work: one driver call, skipped when the scope
/// has failed or there is no driver (see enter()).
template <class F> bool call(const char *fn, const char *api, F f) {
  const Driver *d = enter();
  return d && inContext(*d, fn, api, f);
}

/// An mgpu* call that releases `handle`: runs even after an error of the
/// scope (see enterRelease()); nothing for a null handle.
template <class F>
void release(const void *handle, const char *fn, const char *api, F f) {
  if (const Driver *d = enterRelease(handle))
    inContext(*d, fn, api, f);
}

/// Loads a module image with error and info logs; `optLevel` < 0 leaves the
/// JIT optimization level at the driver's default.
void *loadModule(const char *fn, const void *data, int optLevel) {
  const Driver *d = enter();
  if (!d)
    return nullptr;
  if (!data) {
    recordError(KILN_INVALID_ARGUMENT, std::string(fn) + ": no module image");
    return nullptr;
  }
  ScopedContext context(*d, fn);
  if (!context)
    return nullptr;
  char errorLog[4096] = {0};
  int options[3] = {CU_JIT_ERROR_LOG_BUFFER, CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES,
                    CU_JIT_OPTIMIZATION_LEVEL};
  void *values[3] = {errorLog,
                     reinterpret_cast<void *>(uintptr_t(sizeof(errorLog) - 1)),
                     reinterpret_cast<void *>(uintptr_t(optLevel))};
  unsigned numOptions = optLevel >= 0 ? 3 : 2;
  CUmodule module = nullptr;
  if (CUresult r =
          d->cuModuleLoadDataEx(&module, data, numOptions, options, values)) {
    errorLog[sizeof(errorLog) - 1] = 0;
    report(*d, fn, "cuModuleLoadDataEx", r,
           errorLog[0] ? std::string(" (") + errorLog + ")" : "");
    return nullptr;
  }
  return module;
}

/// Checks launch dimensions (the driver takes unsigned ones).
bool checkDims(const char *fn, const char *what, intptr_t x, intptr_t y,
               intptr_t z) {
  auto ok = [](intptr_t v) { return v >= 1 && v <= intptr_t(0xffffffffu); };
  if (ok(x) && ok(y) && ok(z))
    return true;
  recordError(KILN_INVALID_ARGUMENT,
              std::string(fn) + ": bad " + what + " size " + std::to_string(x) +
                  "x" + std::to_string(y) + "x" + std::to_string(z));
  return false;
}

/// Allows `smem` bytes of dynamic shared memory for `function` where it is
/// beyond the default 48 KiB.
bool allowSharedMemory(const Driver &d, const char *fn, CUfunction function,
                       int32_t smem) {
  if (smem < 0) {
    recordError(KILN_INVALID_ARGUMENT,
                std::string(fn) + ": negative shared memory size");
    return false;
  }
  if (smem <= 48 * 1024)
    return true;
  CUdevice device;
  int maxOptin = 0;
  if (CUresult e = d.cuDeviceGet(&device, defaultDevice())) {
    report(d, fn, "cuDeviceGet", e);
    return false;
  }
  if (CUresult e = d.cuDeviceGetAttribute(
          &maxOptin, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN,
          device)) {
    report(d, fn, "cuDeviceGetAttribute", e);
    return false;
  }
  if (smem > maxOptin) {
    recordError(KILN_INVALID_ARGUMENT,
                std::string(fn) + ": the kernel asks for " +
                    std::to_string(smem) +
                    " bytes of dynamic shared memory; the device allows " +
                    std::to_string(maxOptin));
    return false;
  }
  if (CUresult e = d.cuFuncSetAttribute(
          function, CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES, smem)) {
    report(d, fn, "cuFuncSetAttribute", e);
    return false;
  }
  return true;
}

/// The layout of a ranked memref descriptor: base, aligned data, offset,
/// then `rank` sizes and `rank` strides.
struct MemRefDescriptor {
  char *base;
  char *data;
  int64_t offset;
  int64_t sizesAndStrides[1];
};

/// The bytes a dense memref covers, or -1 when it is not dense.
int64_t denseBytes(int64_t rank, const MemRefDescriptor *m,
                   int64_t elementBytes) {
  const int64_t *sizes = m->sizesAndStrides;
  const int64_t *strides = sizes + rank;
  int64_t expect = 1;
  for (int64_t i = rank - 1; i >= 0; --i) {
    if (sizes[i] < 0 || (sizes[i] > 1 && strides[i] != expect))
      return -1;
    if (__builtin_mul_overflow(expect, sizes[i], &expect))
      return -1;
  }
  int64_t bytes;
  if (elementBytes <= 0 || __builtin_mul_overflow(expect, elementBytes, &bytes))
    return -1;
  return bytes;
}

} // namespace

//===-- Modules and launches ---------------------------------------------===//

MGPU_EXPORT void *mgpuModuleLoad(void *data, size_t /*gpuBlobSize*/) {
  return loadModule("mgpuModuleLoad", data, -1);
}

MGPU_EXPORT void *mgpuModuleLoadJIT(void *data, int optLevel) {
  return loadModule("mgpuModuleLoadJIT", data,
                    optLevel < 0 ? 0 : (optLevel > 4 ? 4 : optLevel));
}

MGPU_EXPORT void mgpuModuleUnload(void *module) {
  release(module, "mgpuModuleUnload", "cuModuleUnload", [&](const Driver &d) {
    return d.cuModuleUnload(static_cast<CUmodule>(module));
  });
}

MGPU_EXPORT void *mgpuModuleGetFunction(void *module, const char *name) {
  const Driver *d = enter();
  if (!d)
    return nullptr;
  if (!module || !name) {
    recordError(KILN_INVALID_ARGUMENT,
                module ? "mgpuModuleGetFunction: no kernel name"
                       : "mgpuModuleGetFunction: no module (the mgpuModuleLoad "
                         "of the artifact's constructor did not run)");
    return nullptr;
  }
  CUfunction function = nullptr;
  inContext(
      *d, "mgpuModuleGetFunction", "cuModuleGetFunction",
      [&](const Driver &driver) {
        return driver.cuModuleGetFunction(&function,
                                          static_cast<CUmodule>(module), name);
      },
      std::string(" (kernel '") + name + "')");
  return function;
}

MGPU_EXPORT void mgpuLaunchKernel(void *function, intptr_t gridX,
                                  intptr_t gridY, intptr_t gridZ,
                                  intptr_t blockX, intptr_t blockY,
                                  intptr_t blockZ, int32_t smem, void *stream,
                                  void **params, void **extra,
                                  size_t /*paramsCount*/) {
  const char *fn = "mgpuLaunchKernel";
  const Driver *d = enter();
  if (!d)
    return;
  if (!function) {
    recordError(KILN_INVALID_ARGUMENT, std::string(fn) + ": no kernel");
    return;
  }
  if (!checkDims(fn, "grid", gridX, gridY, gridZ) ||
      !checkDims(fn, "block", blockX, blockY, blockZ))
    return;
  ScopedContext context(*d, fn);
  if (!context)
    return;
  auto *f = static_cast<CUfunction>(function);
  if (!allowSharedMemory(*d, fn, f, smem))
    return;
  if (CUresult r =
          d->cuLaunchKernel(f, gridX, gridY, gridZ, blockX, blockY, blockZ,
                            smem, static_cast<CUstream>(stream), params, extra))
    report(*d, fn, "cuLaunchKernel", r);
}

MGPU_EXPORT void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                                         intptr_t clusterY, intptr_t clusterZ,
                                         intptr_t gridX, intptr_t gridY,
                                         intptr_t gridZ, intptr_t blockX,
                                         intptr_t blockY, intptr_t blockZ,
                                         int32_t smem, void *stream,
                                         void **params, void **extra) {
  const char *fn = "mgpuLaunchClusterKernel";
  const Driver *d = enter();
  if (!d)
    return;
  if (!function) {
    recordError(KILN_INVALID_ARGUMENT, std::string(fn) + ": no kernel");
    return;
  }
  if (!d->cuLaunchKernelEx) {
    recordError(KILN_UNSUPPORTED,
                std::string(fn) +
                    ": the CUDA driver lacks cuLaunchKernelEx (CUDA 11.8+)");
    return;
  }
  if (!checkDims(fn, "cluster", clusterX, clusterY, clusterZ) ||
      !checkDims(fn, "grid", gridX, gridY, gridZ) ||
      !checkDims(fn, "block", blockX, blockY, blockZ))
    return;
  ScopedContext context(*d, fn);
  if (!context)
    return;
  auto *f = static_cast<CUfunction>(function);
  if (!allowSharedMemory(*d, fn, f, smem))
    return;
  if (CUresult r = d->cuFuncSetAttribute(
          f, CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED, 1)) {
    report(*d, fn, "cuFuncSetAttribute", r);
    return;
  }
  CUlaunchAttribute attribute;
  std::memset(&attribute, 0, sizeof(attribute));
  attribute.id = CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION;
  attribute.value.clusterDim.x = clusterX;
  attribute.value.clusterDim.y = clusterY;
  attribute.value.clusterDim.z = clusterZ;
  CUlaunchConfig config;
  std::memset(&config, 0, sizeof(config));
  config.gridDimX = gridX;
  config.gridDimY = gridY;
  config.gridDimZ = gridZ;
  config.blockDimX = blockX;
  config.blockDimY = blockY;
  config.blockDimZ = blockZ;
  config.sharedMemBytes = smem;
  config.hStream = static_cast<CUstream>(stream);
  config.attrs = &attribute;
  config.numAttrs = 1;
  if (CUresult r = d->cuLaunchKernelEx(&config, f, params, extra))
    report(*d, fn, "cuLaunchKernelEx", r);
}

//===-- Streams and events -----------------------------------------------===//

MGPU_EXPORT void *mgpuStreamCreate() {
  CUstream stream = nullptr;
  call("mgpuStreamCreate", "cuStreamCreate", [&](const Driver &d) {
    return d.cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING);
  });
  return stream;
}

MGPU_EXPORT void mgpuStreamDestroy(void *stream) {
  release(stream, "mgpuStreamDestroy", "cuStreamDestroy", [&](const Driver &d) {
    return d.cuStreamDestroy(static_cast<CUstream>(stream));
  });
}

MGPU_EXPORT void mgpuStreamSynchronize(void *stream) {
  call("mgpuStreamSynchronize", "cuStreamSynchronize", [&](const Driver &d) {
    return d.cuStreamSynchronize(static_cast<CUstream>(stream));
  });
}

MGPU_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  call("mgpuStreamWaitEvent", "cuStreamWaitEvent", [&](const Driver &d) {
    return d.cuStreamWaitEvent(static_cast<CUstream>(stream),
                               static_cast<CUevent>(event), 0);
  });
}

MGPU_EXPORT void *mgpuEventCreate() {
  CUevent event = nullptr;
  call("mgpuEventCreate", "cuEventCreate", [&](const Driver &d) {
    return d.cuEventCreate(&event, CU_EVENT_DISABLE_TIMING);
  });
  return event;
}

MGPU_EXPORT void mgpuEventDestroy(void *event) {
  release(event, "mgpuEventDestroy", "cuEventDestroy", [&](const Driver &d) {
    return d.cuEventDestroy(static_cast<CUevent>(event));
  });
}

MGPU_EXPORT void mgpuEventSynchronize(void *event) {
  call("mgpuEventSynchronize", "cuEventSynchronize", [&](const Driver &d) {
    return d.cuEventSynchronize(static_cast<CUevent>(event));
  });
}

MGPU_EXPORT void mgpuEventRecord(void *event, void *stream) {
  call("mgpuEventRecord", "cuEventRecord", [&](const Driver &d) {
    return d.cuEventRecord(static_cast<CUevent>(event),
                           static_cast<CUstream>(stream));
  });
}

//===-- Memory -----------------------------------------------------------===//

MGPU_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/,
                               bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  const Driver *d = enter();
  if (!d)
    return nullptr;
  CUdeviceptr ptr = 0;
  if (!inContext(
          *d, "mgpuMemAlloc", isHostShared ? "cuMemAllocManaged" : "cuMemAlloc",
          [&](const Driver &driver) {
            return isHostShared ? driver.cuMemAllocManaged(&ptr, sizeBytes,
                                                           CU_MEM_ATTACH_GLOBAL)
                                : driver.cuMemAlloc(&ptr, sizeBytes);
          },
          " (" + std::to_string(sizeBytes) + " bytes)"))
    return nullptr;
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

MGPU_EXPORT void mgpuMemFree(void *ptr, void * /*stream*/) {
  release(ptr, "mgpuMemFree", "cuMemFree",
          [&](const Driver &d) { return d.cuMemFree(devicePtr(ptr)); });
}

MGPU_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                            void *stream) {
  if (sizeBytes == 0)
    return;
  call("mgpuMemcpy", "cuMemcpyAsync", [&](const Driver &d) {
    return d.cuMemcpyAsync(devicePtr(dst), devicePtr(src), sizeBytes,
                           static_cast<CUstream>(stream));
  });
}

MGPU_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                              void *stream) {
  if (count == 0)
    return;
  call("mgpuMemset32", "cuMemsetD32Async", [&](const Driver &d) {
    return d.cuMemsetD32Async(devicePtr(dst), value, count,
                              static_cast<CUstream>(stream));
  });
}

MGPU_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                              void *stream) {
  if (count == 0)
    return;
  call("mgpuMemset16", "cuMemsetD16Async", [&](const Driver &d) {
    return d.cuMemsetD16Async(devicePtr(dst), value, count,
                              static_cast<CUstream>(stream));
  });
}

MGPU_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (!ptr || sizeBytes == 0)
    return;
  call("mgpuMemHostRegister", "cuMemHostRegister",
       [&](const Driver &d) { return d.cuMemHostRegister(ptr, sizeBytes, 0); });
}

MGPU_EXPORT void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                                           int64_t elementSizeBytes) {
  if (failed())
    return;
  auto *m = static_cast<const MemRefDescriptor *>(descriptor);
  int64_t bytes = m && rank >= 0 ? denseBytes(rank, m, elementSizeBytes) : -1;
  if (bytes < 0) {
    recordError(KILN_INVALID_ARGUMENT,
                "mgpuMemHostRegisterMemRef: the memref is not dense");
    return;
  }
  mgpuMemHostRegister(m->data + m->offset * elementSizeBytes, bytes);
}

MGPU_EXPORT void mgpuMemHostUnregister(void *ptr) {
  release(ptr, "mgpuMemHostUnregister", "cuMemHostUnregister",
          [&](const Driver &d) { return d.cuMemHostUnregister(ptr); });
}

MGPU_EXPORT void mgpuMemHostUnregisterMemRef(int64_t /*rank*/, void *descriptor,
                                             int64_t elementSizeBytes) {
  auto *m = static_cast<const MemRefDescriptor *>(descriptor);
  if (m)
    mgpuMemHostUnregister(m->data + m->offset * elementSizeBytes);
}

//===-- TMA descriptors (nvgpu.tma.create.descriptor) --------------------===//

/// Encodes a tiled TMA descriptor for the memref (rank 1..5) and copies it
/// to device memory, where the kernel reads it; returns that copy (never
/// freed, as upstream's is not: 128 bytes leak per call). No kiln pass emits
/// nvgpu TMA ops, so kiln's pipeline never calls this; it is kept for the
/// upstream ABI (IR from kiln-opt or a host's own code). The enums are passed
/// as i64, as convert-nvgpu-to-nvvm emits them; `boxDims` holds `rank` sizes,
/// outermost first.
MGPU_EXPORT void *mgpuTensorMapEncodeTiledMemref(
    int64_t rank, void *descriptor, int64_t dataType, int64_t interleave,
    int64_t swizzle, int64_t l2Promotion, int64_t oobFill, int64_t *boxDims) {
  const char *fn = "mgpuTensorMapEncodeTiledMemref";
  const Driver *d = enter();
  if (!d)
    return nullptr;
  if (!d->cuTensorMapEncodeTiled) {
    recordError(
        KILN_UNSUPPORTED,
        std::string(fn) +
            ": the CUDA driver lacks cuTensorMapEncodeTiled (CUDA 12+)");
    return nullptr;
  }
  // Element sizes of CUtensorMapDataType 0..12.
  static const int kElementBytes[] = {1, 2, 4, 4, 8, 8, 2, 4, 8, 2, 4, 4, 4};
  auto *m = static_cast<const MemRefDescriptor *>(descriptor);
  if (!m || !boxDims || rank < 1 || rank > 5 || dataType < 0 ||
      dataType >= int64_t(sizeof(kElementBytes) / sizeof(int))) {
    recordError(KILN_INVALID_ARGUMENT,
                std::string(fn) + ": bad rank " + std::to_string(rank) +
                    " or data type " + std::to_string(dataType));
    return nullptr;
  }
  int64_t elementBytes = kElementBytes[dataType];
  const int64_t *sizes = m->sizesAndStrides;
  const int64_t *strides = sizes + rank;
  // The driver counts dimensions innermost first.
  uint64_t globalDim[5] = {0}, globalStrides[5] = {0};
  unsigned boxDim[5] = {0}, elementStrides[5] = {0};
  for (int64_t r = 0; r < rank; ++r) {
    globalDim[r] = sizes[rank - 1 - r];
    boxDim[r] = boxDims[rank - 1 - r];
    elementStrides[r] = 1;
    if (r > 0)
      globalStrides[r - 1] = strides[rank - 1 - r] * elementBytes;
  }
  ScopedContext context(*d, fn);
  if (!context)
    return nullptr;
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  if (CUresult r = d->cuTensorMapEncodeTiled(
          &map, dataType, rank, m->data + m->offset * elementBytes, globalDim,
          globalStrides, boxDim, elementStrides, interleave, swizzle,
          l2Promotion, oobFill)) {
    report(*d, fn, "cuTensorMapEncodeTiled", r);
    return nullptr;
  }
  CUdeviceptr copy = 0;
  if (CUresult r = d->cuMemAlloc(&copy, sizeof(map))) {
    report(*d, fn, "cuMemAlloc", r);
    return nullptr;
  }
  if (CUresult r = d->cuMemcpyHtoD(copy, &map, sizeof(map))) {
    report(*d, fn, "cuMemcpyHtoD", r);
    d->cuMemFree(copy);
    return nullptr;
  }
  return reinterpret_cast<void *>(static_cast<uintptr_t>(copy));
}

MGPU_EXPORT void mgpuSetDefaultDevice(int32_t device) {
  setDefaultDevice(device);
}

//===-- Resident weights -------------------------------------------------===//
//
// The code that kiln-cuda-resident-weights generates uploads an artifact's
// weights once, on the first call, guarded by a state word (0: not
// uploaded, 1: uploading, 2: uploaded). These functions are its runtime
// side: whether the upload's mgpu* calls failed, and the wait of the
// concurrent first calls.

/// A reading of the calling thread's error count, taken before an upload.
MGPU_EXPORT uint64_t kiln_rt_cuda_error_count() { return errorCount(); }

/// 1 if no mgpu* call of the calling thread recorded an error since
/// `before` (a kiln_rt_cuda_error_count reading) and its ErrorScope, if
/// any, has none recorded either (then the calls in between did nothing).
MGPU_EXPORT int32_t kiln_rt_cuda_ok_since(uint64_t before) {
  return errorCount() == before && !failed();
}

/// Returns once `*state` is no longer 1 (another thread's upload under
/// way), yielding the processor while it waits.
MGPU_EXPORT void kiln_rt_cuda_wait(int32_t *state) {
  while (__atomic_load_n(state, __ATOMIC_ACQUIRE) == 1)
    std::this_thread::yield();
}
