//===- cuda_api.h - the CUDA driver API types kiln uses ---------*- C++ -*-===//
//
// The few types, constants and entry-point signatures of the CUDA driver API
// (cuda.h) that the runtime calls, declared here so that the runtime builds
// on machines without the CUDA toolkit and never links against libcuda: the
// driver is opened with dlopen at first use (driver.cpp). The values are
// those of cuda.h, which keeps them stable across driver versions.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_CUDA_API_H
#define KILN_RUNTIME_CUDA_CUDA_API_H

#include <cstddef>
#include <cstdint>

namespace kiln::rt::cuda {

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st *;
using CUmodule = struct CUmod_st *;
using CUfunction = struct CUfunc_st *;
using CUstream = struct CUstream_st *;
using CUevent = struct CUevent_st *;

constexpr CUresult CUDA_SUCCESS = 0;
constexpr CUresult CUDA_ERROR_OUT_OF_MEMORY = 2;
constexpr CUresult CUDA_ERROR_NO_DEVICE = 100;

constexpr unsigned CU_STREAM_NON_BLOCKING = 0x1;
constexpr unsigned CU_EVENT_DISABLE_TIMING = 0x2;
constexpr unsigned CU_MEM_ATTACH_GLOBAL = 0x1;

// CUdevice_attribute
constexpr int CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN = 97;

// CUfunction_attribute
constexpr int CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES = 8;
constexpr int CU_FUNC_ATTRIBUTE_NON_PORTABLE_CLUSTER_SIZE_ALLOWED = 14;

// CUjit_option
constexpr int CU_JIT_ERROR_LOG_BUFFER = 5;
constexpr int CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES = 6;
constexpr int CU_JIT_OPTIMIZATION_LEVEL = 7;

// CUlaunchAttributeID
constexpr int CU_LAUNCH_ATTRIBUTE_CLUSTER_DIMENSION = 4;

/// cuda.h's CUlaunchAttribute: an id, padding to 8 bytes, and a 64-byte
/// value union (of which kiln sets the cluster dimensions only).
struct CUlaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
    void *align; // the union holds pointers in cuda.h
  } value;
};
static_assert(sizeof(CUlaunchAttribute) == 72, "layout of cuda.h");

/// cuda.h's CUtensorMap (CUDA 12+): an opaque 128-byte TMA descriptor.
struct alignas(128) CUtensorMap {
  uint64_t opaque[16];
};

/// cuda.h's CUlaunchConfig.
struct CUlaunchConfig {
  unsigned gridDimX, gridDimY, gridDimZ;
  unsigned blockDimX, blockDimY, blockDimZ;
  unsigned sharedMemBytes;
  CUstream hStream;
  CUlaunchAttribute *attrs;
  unsigned numAttrs;
};

/// Every driver entry point the runtime resolves: X(name, symbol, type,
/// required). `symbol` is the name libcuda exports (the `_v2` ones where
/// cuda.h maps the API name onto them); a driver that lacks a required one
/// is refused, one that lacks an optional one (cuLaunchKernelEx: CUDA 11.8,
/// cuTensorMapEncodeTiled: CUDA 12) fails the calls that need it.
#define KILN_CUDA_DRIVER_FUNCTIONS(X)                                          \
  X(cuInit, "cuInit", CUresult (*)(unsigned), true)                            \
  X(cuDriverGetVersion, "cuDriverGetVersion", CUresult (*)(int *), true)       \
  X(cuGetErrorName, "cuGetErrorName", CUresult (*)(CUresult, const char **),   \
    true)                                                                      \
  X(cuGetErrorString, "cuGetErrorString",                                      \
    CUresult (*)(CUresult, const char **), true)                               \
  X(cuDeviceGetCount, "cuDeviceGetCount", CUresult (*)(int *), true)           \
  X(cuDeviceGet, "cuDeviceGet", CUresult (*)(CUdevice *, int), true)           \
  X(cuDeviceGetAttribute, "cuDeviceGetAttribute",                              \
    CUresult (*)(int *, int, CUdevice), true)                                  \
  X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain",                      \
    CUresult (*)(CUcontext *, CUdevice), true)                                 \
  X(cuCtxPushCurrent, "cuCtxPushCurrent_v2", CUresult (*)(CUcontext), true)    \
  X(cuCtxPopCurrent, "cuCtxPopCurrent_v2", CUresult (*)(CUcontext *), true)    \
  X(cuModuleLoadDataEx, "cuModuleLoadDataEx",                                  \
    CUresult (*)(CUmodule *, const void *, unsigned, int *, void **), true)    \
  X(cuModuleUnload, "cuModuleUnload", CUresult (*)(CUmodule), true)            \
  X(cuModuleGetFunction, "cuModuleGetFunction",                                \
    CUresult (*)(CUfunction *, CUmodule, const char *), true)                  \
  X(cuFuncSetAttribute, "cuFuncSetAttribute",                                  \
    CUresult (*)(CUfunction, int, int), true)                                  \
  X(cuLaunchKernel, "cuLaunchKernel",                                          \
    CUresult (*)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, \
                 unsigned, unsigned, CUstream, void **, void **),              \
    true)                                                                      \
  X(cuLaunchKernelEx, "cuLaunchKernelEx",                                      \
    CUresult (*)(const CUlaunchConfig *, CUfunction, void **, void **), false) \
  X(cuMemAlloc, "cuMemAlloc_v2", CUresult (*)(CUdeviceptr *, size_t), true)    \
  X(cuMemAllocManaged, "cuMemAllocManaged",                                    \
    CUresult (*)(CUdeviceptr *, size_t, unsigned), true)                       \
  X(cuMemFree, "cuMemFree_v2", CUresult (*)(CUdeviceptr), true)                \
  X(cuMemcpyAsync, "cuMemcpyAsync",                                            \
    CUresult (*)(CUdeviceptr, CUdeviceptr, size_t, CUstream), true)            \
  X(cuMemcpyHtoD, "cuMemcpyHtoD_v2",                                           \
    CUresult (*)(CUdeviceptr, const void *, size_t), true)                     \
  X(cuMemsetD32Async, "cuMemsetD32Async",                                      \
    CUresult (*)(CUdeviceptr, unsigned, size_t, CUstream), true)               \
  X(cuMemsetD16Async, "cuMemsetD16Async",                                      \
    CUresult (*)(CUdeviceptr, unsigned short, size_t, CUstream), true)         \
  X(cuMemHostRegister, "cuMemHostRegister_v2",                                 \
    CUresult (*)(void *, size_t, unsigned), true)                              \
  X(cuMemHostUnregister, "cuMemHostUnregister", CUresult (*)(void *), true)    \
  X(cuStreamCreate, "cuStreamCreate", CUresult (*)(CUstream *, unsigned),      \
    true)                                                                      \
  X(cuStreamSynchronize, "cuStreamSynchronize", CUresult (*)(CUstream), true)  \
  X(cuStreamDestroy, "cuStreamDestroy_v2", CUresult (*)(CUstream), true)       \
  X(cuStreamWaitEvent, "cuStreamWaitEvent",                                    \
    CUresult (*)(CUstream, CUevent, unsigned), true)                           \
  X(cuEventCreate, "cuEventCreate", CUresult (*)(CUevent *, unsigned), true)   \
  X(cuEventRecord, "cuEventRecord", CUresult (*)(CUevent, CUstream), true)     \
  X(cuEventSynchronize, "cuEventSynchronize", CUresult (*)(CUevent), true)     \
  X(cuEventDestroy, "cuEventDestroy_v2", CUresult (*)(CUevent), true)          \
  X(cuTensorMapEncodeTiled, "cuTensorMapEncodeTiled",                          \
    CUresult (*)(CUtensorMap *, int, unsigned, void *, const uint64_t *,       \
                 const uint64_t *, const unsigned *, const unsigned *, int,    \
                 int, int, int),                                               \
    false)

} // namespace kiln::rt::cuda

#endif // KILN_RUNTIME_CUDA_CUDA_API_H
