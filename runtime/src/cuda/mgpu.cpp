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
  const Driver *d = enterRelease(module);
  if (!d)
    return;
  ScopedContext context(*d, "mgpuModuleUnload");
  if (CUresult r = d->cuModuleUnload(static_cast<CUmodule>(module)))
    report(*d, "mgpuModuleUnload", "cuModuleUnload", r);
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
  if (CUresult r = d->cuModuleGetFunction(&function,
                                          static_cast<CUmodule>(module), name))
    report(*d, "mgpuModuleGetFunction", "cuModuleGetFunction", r,
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
  const Driver *d = enter();
  if (!d)
    return nullptr;
  ScopedContext context(*d, "mgpuStreamCreate");
  if (!context)
    return nullptr;
  CUstream stream = nullptr;
  if (CUresult r = d->cuStreamCreate(&stream, CU_STREAM_NON_BLOCKING))
    report(*d, "mgpuStreamCreate", "cuStreamCreate", r);
  return stream;
}

MGPU_EXPORT void mgpuStreamDestroy(void *stream) {
  const Driver *d = enterRelease(stream);
  if (!d)
    return;
  if (CUresult r = d->cuStreamDestroy(static_cast<CUstream>(stream)))
    report(*d, "mgpuStreamDestroy", "cuStreamDestroy", r);
}

MGPU_EXPORT void mgpuStreamSynchronize(void *stream) {
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuStreamSynchronize");
  if (!context)
    return;
  if (CUresult r = d->cuStreamSynchronize(static_cast<CUstream>(stream)))
    report(*d, "mgpuStreamSynchronize", "cuStreamSynchronize", r);
}

MGPU_EXPORT void mgpuStreamWaitEvent(void *stream, void *event) {
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuStreamWaitEvent");
  if (!context)
    return;
  if (CUresult r = d->cuStreamWaitEvent(static_cast<CUstream>(stream),
                                        static_cast<CUevent>(event), 0))
    report(*d, "mgpuStreamWaitEvent", "cuStreamWaitEvent", r);
}

MGPU_EXPORT void *mgpuEventCreate() {
  const Driver *d = enter();
  if (!d)
    return nullptr;
  ScopedContext context(*d, "mgpuEventCreate");
  if (!context)
    return nullptr;
  CUevent event = nullptr;
  if (CUresult r = d->cuEventCreate(&event, CU_EVENT_DISABLE_TIMING))
    report(*d, "mgpuEventCreate", "cuEventCreate", r);
  return event;
}

MGPU_EXPORT void mgpuEventDestroy(void *event) {
  const Driver *d = enterRelease(event);
  if (!d)
    return;
  if (CUresult r = d->cuEventDestroy(static_cast<CUevent>(event)))
    report(*d, "mgpuEventDestroy", "cuEventDestroy", r);
}

MGPU_EXPORT void mgpuEventSynchronize(void *event) {
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuEventSynchronize");
  if (!context)
    return;
  if (CUresult r = d->cuEventSynchronize(static_cast<CUevent>(event)))
    report(*d, "mgpuEventSynchronize", "cuEventSynchronize", r);
}

MGPU_EXPORT void mgpuEventRecord(void *event, void *stream) {
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuEventRecord");
  if (!context)
    return;
  if (CUresult r = d->cuEventRecord(static_cast<CUevent>(event),
                                    static_cast<CUstream>(stream)))
    report(*d, "mgpuEventRecord", "cuEventRecord", r);
}

//===-- Memory -----------------------------------------------------------===//

MGPU_EXPORT void *mgpuMemAlloc(uint64_t sizeBytes, void * /*stream*/,
                               bool isHostShared) {
  if (sizeBytes == 0)
    return nullptr;
  const Driver *d = enter();
  if (!d)
    return nullptr;
  ScopedContext context(*d, "mgpuMemAlloc");
  if (!context)
    return nullptr;
  CUdeviceptr ptr = 0;
  CUresult r = isHostShared
                   ? d->cuMemAllocManaged(&ptr, sizeBytes, CU_MEM_ATTACH_GLOBAL)
                   : d->cuMemAlloc(&ptr, sizeBytes);
  if (r) {
    report(*d, "mgpuMemAlloc",
           isHostShared ? "cuMemAllocManaged" : "cuMemAlloc", r,
           " (" + std::to_string(sizeBytes) + " bytes)");
    return nullptr;
  }
  return reinterpret_cast<void *>(static_cast<uintptr_t>(ptr));
}

MGPU_EXPORT void mgpuMemFree(void *ptr, void * /*stream*/) {
  const Driver *d = enterRelease(ptr);
  if (!d)
    return;
  ScopedContext context(*d, "mgpuMemFree");
  if (CUresult r = d->cuMemFree(devicePtr(ptr)))
    report(*d, "mgpuMemFree", "cuMemFree", r);
}

MGPU_EXPORT void mgpuMemcpy(void *dst, void *src, size_t sizeBytes,
                            void *stream) {
  if (sizeBytes == 0)
    return;
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuMemcpy");
  if (!context)
    return;
  if (CUresult r = d->cuMemcpyAsync(devicePtr(dst), devicePtr(src), sizeBytes,
                                    static_cast<CUstream>(stream)))
    report(*d, "mgpuMemcpy", "cuMemcpyAsync", r);
}

MGPU_EXPORT void mgpuMemset32(void *dst, unsigned int value, size_t count,
                              void *stream) {
  if (count == 0)
    return;
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuMemset32");
  if (!context)
    return;
  if (CUresult r = d->cuMemsetD32Async(devicePtr(dst), value, count,
                                       static_cast<CUstream>(stream)))
    report(*d, "mgpuMemset32", "cuMemsetD32Async", r);
}

MGPU_EXPORT void mgpuMemset16(void *dst, unsigned short value, size_t count,
                              void *stream) {
  if (count == 0)
    return;
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuMemset16");
  if (!context)
    return;
  if (CUresult r = d->cuMemsetD16Async(devicePtr(dst), value, count,
                                       static_cast<CUstream>(stream)))
    report(*d, "mgpuMemset16", "cuMemsetD16Async", r);
}

MGPU_EXPORT void mgpuMemHostRegister(void *ptr, uint64_t sizeBytes) {
  if (!ptr || sizeBytes == 0)
    return;
  const Driver *d = enter();
  if (!d)
    return;
  ScopedContext context(*d, "mgpuMemHostRegister");
  if (!context)
    return;
  if (CUresult r = d->cuMemHostRegister(ptr, sizeBytes, 0))
    report(*d, "mgpuMemHostRegister", "cuMemHostRegister", r);
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
  const Driver *d = enterRelease(ptr);
  if (!d)
    return;
  ScopedContext context(*d, "mgpuMemHostUnregister");
  if (CUresult r = d->cuMemHostUnregister(ptr))
    report(*d, "mgpuMemHostUnregister", "cuMemHostUnregister", r);
}

MGPU_EXPORT void mgpuMemHostUnregisterMemRef(int64_t /*rank*/, void *descriptor,
                                             int64_t elementSizeBytes) {
  auto *m = static_cast<const MemRefDescriptor *>(descriptor);
  if (m)
    mgpuMemHostUnregister(m->data + m->offset * elementSizeBytes);
}

//===-- TMA descriptors (nvgpu.tma.create.descriptor)
//----------------------===//

/// Encodes a tiled TMA descriptor for the memref (rank 1..5) and copies it
/// to device memory, where the kernel reads it; returns that copy (never
/// freed, as upstream's is not). The enums are passed as i64, as
/// convert-nvgpu-to-nvvm emits them; `boxDims` holds `rank` sizes,
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
  CUtensorMap map;
  std::memset(&map, 0, sizeof(map));
  if (CUresult r = d->cuTensorMapEncodeTiled(
          &map, dataType, rank, m->data + m->offset * elementBytes, globalDim,
          globalStrides, boxDim, elementStrides, interleave, swizzle,
          l2Promotion, oobFill)) {
    report(*d, fn, "cuTensorMapEncodeTiled", r);
    return nullptr;
  }
  ScopedContext context(*d, fn);
  if (!context)
    return nullptr;
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
