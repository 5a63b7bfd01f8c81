//===- fake_cuda.cpp - a CUDA driver on host memory, for tests ------------===//
//
// libkiln_fake_cuda.so exports the driver entry points the runtime resolves
// (runtime/src/cuda/cuda_api.h), implemented on host memory, so that the
// loader and the mgpu* functions can be tested on machines without a GPU.
// The unit tests point the runtime at it through
// kiln::rt::cuda::setDriverPathForTesting. It also exports fake_cuda_*
// functions that the tests call to inject failures and look at its state.
//
// Modules: the text "fake-module" has these kernels, run on the host at
// launch:
//   add_one(float *p, int64_t n): p[i] += 1 for i < n
//   fill(float *p, float value, int64_t n): p[i] = value for i < n
// A real image (an ELF cubin, or PTX text with a .version directive), as
// kiln-compile --target=cuda embeds, loads as a module whose kernels, of
// any name, do nothing but count their launches. Anything else fails with
// CUDA_ERROR_INVALID_IMAGE and an error log.
// Every call that needs a context checks that one is current (pushed), as
// the real driver does.
//
//===----------------------------------------------------------------------===//

#include <atomic>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>

#define FAKE_EXPORT extern "C" __attribute__((visibility("default")))

namespace {

using CUresult = int;
constexpr CUresult kSuccess = 0;
constexpr CUresult kInvalidValue = 1;
constexpr CUresult kNotInitialized = 3;
constexpr CUresult kInvalidDevice = 101;
constexpr CUresult kInvalidImage = 200;
constexpr CUresult kInvalidContext = 201;
constexpr CUresult kInvalidHandle = 400;
constexpr CUresult kNotFound = 500;

struct Kernel {
  std::string name;
};
struct Module {
  Kernel addOne{"add_one"}, fill{"fill"};
  bool opaque = false; // a real cubin or PTX: no-op kernels
  std::map<std::string, Kernel> kernels;
};
struct Object {}; // streams, events, the context

std::mutex gMutex;
int gDeviceCount = 1;
std::atomic<bool> gInitialized{false};
Object gContext;
std::map<std::string, int> gCalls;
struct Failure {
  CUresult result;
  int countdown;
};
std::map<std::string, Failure> gFailures;
std::set<void *> gAllocations, gStreams, gEvents, gModules, gRegistered;
int gLastLaunch[10]; // grid xyz, block xyz, smem, cluster xyz
int gLastJitOptLevel = -1;
int gMaxDynamicShared = 0;

thread_local int tContextDepth = 0;

/// Counts the call and returns an injected failure if one is due.
CUresult enter(const char *name) {
  std::lock_guard<std::mutex> lock(gMutex);
  ++gCalls[name];
  auto it = gFailures.find(name);
  if (it != gFailures.end() && --it->second.countdown == 0) {
    CUresult r = it->second.result;
    gFailures.erase(it);
    return r;
  }
  return kSuccess;
}

#define ENTER(name)                                                            \
  if (CUresult injected = enter(name))                                         \
  return injected
#define NEED_INIT()                                                            \
  if (!gInitialized)                                                           \
  return kNotInitialized
#define NEED_CONTEXT()                                                         \
  NEED_INIT();                                                                 \
  if (tContextDepth == 0)                                                      \
  return kInvalidContext

bool live(std::set<void *> &set, void *p) {
  std::lock_guard<std::mutex> lock(gMutex);
  return set.count(p) != 0;
}

void *add(std::set<void *> &set, void *p) {
  std::lock_guard<std::mutex> lock(gMutex);
  set.insert(p);
  return p;
}

bool remove(std::set<void *> &set, void *p) {
  std::lock_guard<std::mutex> lock(gMutex);
  return set.erase(p) != 0;
}

/// The allocation containing [p, p + bytes), if any.
bool inAllocation(uintptr_t p, size_t bytes) {
  std::lock_guard<std::mutex> lock(gMutex);
  for (void *a : gAllocations) {
    auto base = reinterpret_cast<uintptr_t>(a);
    size_t size = *reinterpret_cast<size_t *>(base - 64);
    if (p >= base && p + bytes <= base + size)
      return true;
  }
  return false;
}

const struct {
  CUresult code;
  const char *name, *text;
} kErrors[] = {
    {0, "CUDA_SUCCESS", "no error"},
    {1, "CUDA_ERROR_INVALID_VALUE", "invalid argument"},
    {2, "CUDA_ERROR_OUT_OF_MEMORY", "out of memory"},
    {3, "CUDA_ERROR_NOT_INITIALIZED", "initialization error"},
    {100, "CUDA_ERROR_NO_DEVICE", "no CUDA-capable device is detected"},
    {101, "CUDA_ERROR_INVALID_DEVICE", "invalid device ordinal"},
    {200, "CUDA_ERROR_INVALID_IMAGE", "device kernel image is invalid"},
    {201, "CUDA_ERROR_INVALID_CONTEXT", "invalid device context"},
    {218, "CUDA_ERROR_INVALID_PTX", "a PTX JIT compilation failed"},
    {400, "CUDA_ERROR_INVALID_HANDLE", "invalid resource handle"},
    {500, "CUDA_ERROR_NOT_FOUND", "named symbol not found"},
    {719, "CUDA_ERROR_LAUNCH_FAILED", "unspecified launch failure"},
};

} // namespace

//===-- Test controls ----------------------------------------------------===//

/// Forgets every call, failure and object (leaking the objects' memory).
FAKE_EXPORT void fake_cuda_reset() {
  std::lock_guard<std::mutex> lock(gMutex);
  gDeviceCount = 1;
  gInitialized = false;
  gCalls.clear();
  gFailures.clear();
  gAllocations.clear();
  gStreams.clear();
  gEvents.clear();
  gModules.clear();
  gRegistered.clear();
  memset(gLastLaunch, 0, sizeof(gLastLaunch));
  gLastJitOptLevel = -1;
  gMaxDynamicShared = 0;
}

/// Makes the `nth` next call of `name` (1: the next one) return `result`.
FAKE_EXPORT void fake_cuda_fail(const char *name, int result, int nth) {
  std::lock_guard<std::mutex> lock(gMutex);
  gFailures[name] = {result, nth};
}

FAKE_EXPORT void fake_cuda_set_device_count(int n) {
  std::lock_guard<std::mutex> lock(gMutex);
  gDeviceCount = n;
}

/// How often `name` was called since the last reset.
FAKE_EXPORT int fake_cuda_calls(const char *name) {
  std::lock_guard<std::mutex> lock(gMutex);
  auto it = gCalls.find(name);
  return it == gCalls.end() ? 0 : it->second;
}

/// Live objects of a kind: "memory", "stream", "event", "module", "host".
FAKE_EXPORT int fake_cuda_live(const char *kind) {
  std::lock_guard<std::mutex> lock(gMutex);
  std::string k = kind;
  if (k == "memory")
    return gAllocations.size();
  if (k == "stream")
    return gStreams.size();
  if (k == "event")
    return gEvents.size();
  if (k == "module")
    return gModules.size();
  if (k == "host")
    return gRegistered.size();
  return -1;
}

/// The last launch: grid xyz, block xyz, dynamic shared memory, cluster xyz
/// (1 for a launch without clusters); the JIT level; the kernel's dynamic
/// shared memory attribute.
FAKE_EXPORT void fake_cuda_last_launch(int out[12]) {
  std::lock_guard<std::mutex> lock(gMutex);
  memcpy(out, gLastLaunch, sizeof(gLastLaunch));
  out[10] = gLastJitOptLevel;
  out[11] = gMaxDynamicShared;
}

//===-- The driver API ---------------------------------------------------===//

FAKE_EXPORT CUresult cuInit(unsigned flags) {
  ENTER("cuInit");
  if (flags != 0)
    return kInvalidValue;
  gInitialized = true;
  return kSuccess;
}

FAKE_EXPORT CUresult cuDriverGetVersion(int *version) {
  ENTER("cuDriverGetVersion");
  *version = 13000;
  return kSuccess;
}

FAKE_EXPORT CUresult cuGetErrorName(CUresult code, const char **name) {
  for (auto &e : kErrors)
    if (e.code == code) {
      *name = e.name;
      return kSuccess;
    }
  *name = nullptr;
  return kInvalidValue;
}

FAKE_EXPORT CUresult cuGetErrorString(CUresult code, const char **text) {
  for (auto &e : kErrors)
    if (e.code == code) {
      *text = e.text;
      return kSuccess;
    }
  *text = nullptr;
  return kInvalidValue;
}

FAKE_EXPORT CUresult cuDeviceGetCount(int *count) {
  ENTER("cuDeviceGetCount");
  NEED_INIT();
  *count = gDeviceCount;
  return kSuccess;
}

FAKE_EXPORT CUresult cuDeviceGet(int *device, int ordinal) {
  ENTER("cuDeviceGet");
  NEED_INIT();
  if (ordinal < 0 || ordinal >= gDeviceCount)
    return kInvalidDevice;
  *device = ordinal;
  return kSuccess;
}

FAKE_EXPORT CUresult cuDeviceGetName(char *name, int len, int device) {
  ENTER("cuDeviceGetName");
  NEED_INIT();
  if (device < 0 || device >= gDeviceCount)
    return kInvalidDevice;
  snprintf(name, len, "kiln fake GPU %d", device);
  return kSuccess;
}

FAKE_EXPORT CUresult cuDeviceGetAttribute(int *value, int attribute,
                                          int device) {
  ENTER("cuDeviceGetAttribute");
  NEED_INIT();
  if (device < 0 || device >= gDeviceCount)
    return kInvalidDevice;
  switch (attribute) {
  case 75: // compute capability
    *value = 9;
    return kSuccess;
  case 76:
    *value = 0;
    return kSuccess;
  case 97: // max shared memory per block, opt-in (an H100's)
    *value = 232448;
    return kSuccess;
  }
  return kInvalidValue;
}

FAKE_EXPORT CUresult cuDevicePrimaryCtxRetain(void **context, int device) {
  ENTER("cuDevicePrimaryCtxRetain");
  NEED_INIT();
  if (device < 0 || device >= gDeviceCount)
    return kInvalidDevice;
  *context = &gContext;
  return kSuccess;
}

FAKE_EXPORT CUresult cuCtxPushCurrent_v2(void *context) {
  ENTER("cuCtxPushCurrent_v2");
  NEED_INIT();
  if (context != &gContext)
    return kInvalidContext;
  ++tContextDepth;
  return kSuccess;
}

FAKE_EXPORT CUresult cuCtxPopCurrent_v2(void **context) {
  ENTER("cuCtxPopCurrent_v2");
  NEED_INIT();
  if (tContextDepth == 0)
    return kInvalidContext;
  --tContextDepth;
  if (context)
    *context = &gContext;
  return kSuccess;
}

FAKE_EXPORT CUresult cuModuleLoadDataEx(void **module, const void *image,
                                        unsigned numOptions, int *options,
                                        void **values) {
  ENTER("cuModuleLoadDataEx");
  NEED_CONTEXT();
  char *log = nullptr;
  size_t logSize = 0;
  for (unsigned i = 0; i < numOptions; ++i) {
    if (options[i] == 5)
      log = static_cast<char *>(values[i]);
    else if (options[i] == 6)
      logSize = reinterpret_cast<uintptr_t>(values[i]);
    else if (options[i] == 7) {
      std::lock_guard<std::mutex> lock(gMutex);
      gLastJitOptLevel =
          static_cast<int>(reinterpret_cast<uintptr_t>(values[i]));
    }
  }
  const char *text = static_cast<const char *>(image);
  bool real = strncmp(text,
                      "\x7f"
                      "ELF",
                      4) == 0 ||
              (text[0] == '/' && strstr(text, ".version") != nullptr);
  if (!real && strcmp(text, "fake-module") != 0) {
    if (log && logSize)
      snprintf(log, logSize, "fake ptxas: line 1: not a fake module");
    return kInvalidImage;
  }
  auto *m = new Module();
  m->opaque = real;
  *module = add(gModules, m);
  return kSuccess;
}

FAKE_EXPORT CUresult cuModuleLoadData(void **module, const void *image) {
  ENTER("cuModuleLoadData");
  return cuModuleLoadDataEx(module, image, 0, nullptr, nullptr);
}

FAKE_EXPORT CUresult cuModuleUnload(void *module) {
  ENTER("cuModuleUnload");
  NEED_CONTEXT();
  if (!remove(gModules, module))
    return kInvalidHandle;
  delete static_cast<Module *>(module);
  return kSuccess;
}

FAKE_EXPORT CUresult cuModuleGetFunction(void **function, void *module,
                                         const char *name) {
  ENTER("cuModuleGetFunction");
  NEED_INIT();
  if (!live(gModules, module))
    return kInvalidHandle;
  auto *m = static_cast<Module *>(module);
  if (m->opaque) {
    Kernel &k = m->kernels[name];
    k.name = std::string("opaque:") + name;
    *function = &k;
  } else if (m->addOne.name == name)
    *function = &m->addOne;
  else if (m->fill.name == name)
    *function = &m->fill;
  else
    return kNotFound;
  return kSuccess;
}

FAKE_EXPORT CUresult cuFuncSetAttribute(void *function, int attribute,
                                        int value) {
  ENTER("cuFuncSetAttribute");
  NEED_INIT();
  if (!function)
    return kInvalidHandle;
  if (attribute == 8) {
    std::lock_guard<std::mutex> lock(gMutex);
    gMaxDynamicShared = value;
  }
  return kSuccess;
}

namespace {
CUresult runKernel(void *function, void **params) {
  auto *k = static_cast<Kernel *>(function);
  if (!k || !params)
    return kInvalidValue;
  if (k->name.rfind("opaque:", 0) == 0)
    return kSuccess;
  if (k->name == "add_one") {
    float *p = *static_cast<float **>(params[0]);
    int64_t n = *static_cast<int64_t *>(params[1]);
    if (!inAllocation(reinterpret_cast<uintptr_t>(p), n * sizeof(float)))
      return 719; // an illegal address: the launch fails
    for (int64_t i = 0; i < n; ++i)
      p[i] += 1;
  } else if (k->name == "fill") {
    float *p = *static_cast<float **>(params[0]);
    float v = *static_cast<float *>(params[1]);
    int64_t n = *static_cast<int64_t *>(params[2]);
    if (!inAllocation(reinterpret_cast<uintptr_t>(p), n * sizeof(float)))
      return 719;
    for (int64_t i = 0; i < n; ++i)
      p[i] = v;
  } else {
    return kInvalidHandle;
  }
  return kSuccess;
}
} // namespace

FAKE_EXPORT CUresult cuLaunchKernel(void *function, unsigned gx, unsigned gy,
                                    unsigned gz, unsigned bx, unsigned by,
                                    unsigned bz, unsigned smem, void *stream,
                                    void **params, void **extra) {
  ENTER("cuLaunchKernel");
  NEED_CONTEXT();
  if (extra || (stream && !live(gStreams, stream)))
    return kInvalidValue;
  {
    std::lock_guard<std::mutex> lock(gMutex);
    int l[10] = {int(gx), int(gy),   int(gz), int(bx), int(by),
                 int(bz), int(smem), 1,       1,       1};
    memcpy(gLastLaunch, l, sizeof(l));
  }
  return runKernel(function, params);
}

/// cuda.h's CUlaunchConfig and CUlaunchAttribute (cluster dimensions only).
struct FakeLaunchAttribute {
  int id;
  char pad[4];
  union {
    char bytes[64];
    struct {
      unsigned x, y, z;
    } clusterDim;
  } value;
};
struct FakeLaunchConfig {
  unsigned gx, gy, gz, bx, by, bz, smem;
  void *stream;
  FakeLaunchAttribute *attrs;
  unsigned numAttrs;
};

FAKE_EXPORT CUresult cuLaunchKernelEx(const FakeLaunchConfig *c, void *function,
                                      void **params, void **extra) {
  ENTER("cuLaunchKernelEx");
  NEED_CONTEXT();
  if (extra || (c->stream && !live(gStreams, c->stream)))
    return kInvalidValue;
  unsigned cluster[3] = {1, 1, 1};
  for (unsigned i = 0; i < c->numAttrs; ++i)
    if (c->attrs[i].id == 4) {
      cluster[0] = c->attrs[i].value.clusterDim.x;
      cluster[1] = c->attrs[i].value.clusterDim.y;
      cluster[2] = c->attrs[i].value.clusterDim.z;
    }
  {
    std::lock_guard<std::mutex> lock(gMutex);
    int l[10] = {int(c->gx),      int(c->gy),     int(c->gz),   int(c->bx),
                 int(c->by),      int(c->bz),     int(c->smem), int(cluster[0]),
                 int(cluster[1]), int(cluster[2])};
    memcpy(gLastLaunch, l, sizeof(l));
  }
  return runKernel(function, params);
}

/// Device memory: host memory with its size stored 64 bytes before it.
FAKE_EXPORT CUresult cuMemAlloc_v2(uint64_t *ptr, size_t bytes) {
  ENTER("cuMemAlloc_v2");
  NEED_CONTEXT();
  if (bytes == 0)
    return kInvalidValue;
  char *p = static_cast<char *>(malloc(bytes + 64));
  if (!p)
    return 2;
  *reinterpret_cast<size_t *>(p) = bytes;
  add(gAllocations, p + 64);
  *ptr = reinterpret_cast<uintptr_t>(p + 64);
  return kSuccess;
}

FAKE_EXPORT CUresult cuMemAllocManaged(uint64_t *ptr, size_t bytes,
                                       unsigned flags) {
  ENTER("cuMemAllocManaged");
  if (flags != 1)
    return kInvalidValue;
  return cuMemAlloc_v2(ptr, bytes);
}

FAKE_EXPORT CUresult cuMemFree_v2(uint64_t ptr) {
  ENTER("cuMemFree_v2");
  NEED_INIT();
  void *p = reinterpret_cast<void *>(ptr);
  if (!remove(gAllocations, p))
    return kInvalidValue;
  free(static_cast<char *>(p) - 64);
  return kSuccess;
}

/// With unified addressing, either side may be host or device memory; a
/// device pointer must lie inside an allocation.
FAKE_EXPORT CUresult cuMemcpyAsync(uint64_t dst, uint64_t src, size_t bytes,
                                   void *stream) {
  ENTER("cuMemcpyAsync");
  NEED_CONTEXT();
  if (stream && !live(gStreams, stream))
    return kInvalidHandle;
  if (!inAllocation(dst, bytes) && !inAllocation(src, bytes))
    return kInvalidValue; // host to host: not what kiln should do
  memmove(reinterpret_cast<void *>(dst), reinterpret_cast<void *>(src), bytes);
  return kSuccess;
}

FAKE_EXPORT CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void *src,
                                          size_t bytes, void *stream) {
  ENTER("cuMemcpyHtoDAsync_v2");
  return cuMemcpyAsync(dst, reinterpret_cast<uintptr_t>(src), bytes, stream);
}

FAKE_EXPORT CUresult cuMemcpyDtoHAsync_v2(void *dst, uint64_t src, size_t bytes,
                                          void *stream) {
  ENTER("cuMemcpyDtoHAsync_v2");
  return cuMemcpyAsync(reinterpret_cast<uintptr_t>(dst), src, bytes, stream);
}

FAKE_EXPORT CUresult cuMemcpyHtoD_v2(uint64_t dst, const void *src,
                                     size_t bytes) {
  ENTER("cuMemcpyHtoD_v2");
  return cuMemcpyAsync(dst, reinterpret_cast<uintptr_t>(src), bytes, nullptr);
}

FAKE_EXPORT CUresult cuMemcpyDtoD_v2(uint64_t dst, uint64_t src, size_t bytes) {
  ENTER("cuMemcpyDtoD_v2");
  return cuMemcpyAsync(dst, src, bytes, nullptr);
}

FAKE_EXPORT CUresult cuMemsetD32Async(uint64_t dst, unsigned value,
                                      size_t count, void *stream) {
  ENTER("cuMemsetD32Async");
  NEED_CONTEXT();
  if ((stream && !live(gStreams, stream)) || !inAllocation(dst, 4 * count))
    return kInvalidValue;
  auto *p = reinterpret_cast<unsigned *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return kSuccess;
}

FAKE_EXPORT CUresult cuMemsetD16Async(uint64_t dst, unsigned short value,
                                      size_t count, void *stream) {
  ENTER("cuMemsetD16Async");
  NEED_CONTEXT();
  if ((stream && !live(gStreams, stream)) || !inAllocation(dst, 2 * count))
    return kInvalidValue;
  auto *p = reinterpret_cast<unsigned short *>(dst);
  for (size_t i = 0; i < count; ++i)
    p[i] = value;
  return kSuccess;
}

FAKE_EXPORT CUresult cuMemHostRegister_v2(void *p, size_t bytes,
                                          unsigned flags) {
  ENTER("cuMemHostRegister_v2");
  NEED_CONTEXT();
  if (!p || bytes == 0 || flags != 0 || live(gRegistered, p))
    return kInvalidValue;
  add(gRegistered, p);
  return kSuccess;
}

FAKE_EXPORT CUresult cuMemHostUnregister(void *p) {
  ENTER("cuMemHostUnregister");
  NEED_CONTEXT();
  return remove(gRegistered, p) ? kSuccess : kInvalidValue;
}

FAKE_EXPORT CUresult cuStreamCreate(void **stream, unsigned flags) {
  ENTER("cuStreamCreate");
  NEED_CONTEXT();
  if (flags > 1)
    return kInvalidValue;
  *stream = add(gStreams, new Object());
  return kSuccess;
}

FAKE_EXPORT CUresult cuStreamSynchronize(void *stream) {
  ENTER("cuStreamSynchronize");
  NEED_CONTEXT();
  return !stream || live(gStreams, stream) ? kSuccess : kInvalidHandle;
}

FAKE_EXPORT CUresult cuStreamDestroy_v2(void *stream) {
  ENTER("cuStreamDestroy_v2");
  NEED_INIT();
  if (!remove(gStreams, stream))
    return kInvalidHandle;
  delete static_cast<Object *>(stream);
  return kSuccess;
}

FAKE_EXPORT CUresult cuStreamWaitEvent(void *stream, void *event,
                                       unsigned flags) {
  ENTER("cuStreamWaitEvent");
  NEED_CONTEXT();
  if ((stream && !live(gStreams, stream)) || !live(gEvents, event) || flags)
    return kInvalidHandle;
  return kSuccess;
}

FAKE_EXPORT CUresult cuEventCreate(void **event, unsigned flags) {
  ENTER("cuEventCreate");
  NEED_CONTEXT();
  if (flags != 2)
    return kInvalidValue;
  *event = add(gEvents, new Object());
  return kSuccess;
}

FAKE_EXPORT CUresult cuEventRecord(void *event, void *stream) {
  ENTER("cuEventRecord");
  NEED_CONTEXT();
  if ((stream && !live(gStreams, stream)) || !live(gEvents, event))
    return kInvalidHandle;
  return kSuccess;
}

FAKE_EXPORT CUresult cuEventSynchronize(void *event) {
  ENTER("cuEventSynchronize");
  NEED_CONTEXT();
  return live(gEvents, event) ? kSuccess : kInvalidHandle;
}

FAKE_EXPORT CUresult cuEventDestroy_v2(void *event) {
  ENTER("cuEventDestroy_v2");
  NEED_INIT();
  if (!remove(gEvents, event))
    return kInvalidHandle;
  delete static_cast<Object *>(event);
  return kSuccess;
}

/// A "descriptor" that spells out its arguments: data type, rank, address,
/// then per dimension (innermost first) size and box size, then the
/// rank - 1 strides in bytes, then interleave, swizzle, L2 promotion and OOB
/// fill (which fits 16 words for ranks up to 3, the fake's limit; element
/// strides must be 1).
FAKE_EXPORT CUresult cuTensorMapEncodeTiled(
    uint64_t *map, int dataType, unsigned rank, void *address,
    const uint64_t *dims, const uint64_t *strides, const unsigned *box,
    const unsigned *elementStrides, int interleave, int swizzle, int l2,
    int oob) {
  ENTER("cuTensorMapEncodeTiled");
  if (rank < 1 || rank > 3 || reinterpret_cast<uintptr_t>(address) % 16)
    return kInvalidValue;
  for (unsigned r = 0; r < rank; ++r)
    if (elementStrides[r] != 1)
      return kInvalidValue;
  memset(map, 0, 128);
  int i = 0;
  map[i++] = dataType;
  map[i++] = rank;
  map[i++] = reinterpret_cast<uintptr_t>(address);
  for (unsigned r = 0; r < rank; ++r) {
    map[i++] = dims[r];
    map[i++] = box[r];
  }
  for (unsigned r = 0; r + 1 < rank; ++r)
    map[i++] = strides[r];
  map[i++] = interleave;
  map[i++] = swizzle;
  map[i++] = l2;
  map[i++] = oob;
  return kSuccess;
}
