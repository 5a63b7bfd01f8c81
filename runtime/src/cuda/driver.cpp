//===- driver.cpp - the CUDA driver, opened at first use ------------------===//

#include "driver.h"

#include <atomic>
#include <cstdio>
#include <dlfcn.h>
#include <mutex>

using namespace kiln::rt;
using namespace kiln::rt::cuda;

namespace {

constexpr const char *kDefaultPath = "libcuda.so.1";
constexpr int kMaxDevices = 64;

// The driver's state, written under gMutex; gDriver publishes a loaded
// table to the lock-free fast path.
std::mutex gMutex;
std::atomic<const Driver *> gDriver{nullptr};
Driver gTable;
bool gTried = false;
kiln_status_code gCode = KILN_OK;
std::string gError;
std::string gPath = kDefaultPath;
void *gHandle = nullptr;
std::atomic<CUcontext> gContexts[kMaxDevices];

thread_local int tDevice = 0;

/// The calling thread's mgpu* error state (see driver.h).
struct ThreadState {
  bool active = false; // inside an ErrorScope
  bool failed = false; // an error was recorded in it
  kiln_status_code code = KILN_OK;
  std::string message;
  uint64_t errors = 0; // every error recorded, in a scope or not
};
thread_local ThreadState tState;

/// Resolves and initializes the driver opened as gHandle into `d`; false
/// (with gCode and gError set) when it cannot be used.
bool init(Driver &d) {
#define KILN_CUDA_RESOLVE(name, symbol, type, required)                        \
  d.name = reinterpret_cast<type>(dlsym(gHandle, symbol));                     \
  if (!d.name && required) {                                                   \
    gCode = KILN_UNSUPPORTED;                                                  \
    gError = "CUDA driver " + gPath +                                          \
             " lacks the entry point " symbol                                  \
             " (a driver older than CUDA 11?)";                                \
    return false;                                                              \
  }
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_CUDA_RESOLVE)
#undef KILN_CUDA_RESOLVE
  if (CUresult r = d.cuInit(0)) {
    gCode = r == CUDA_ERROR_NO_DEVICE ? KILN_UNSUPPORTED : KILN_DEVICE_ERROR;
    gError = "CUDA driver " + gPath + ": cuInit failed: " + describe(d, r);
    return false;
  }
  if (d.cuDriverGetVersion(&d.version) != CUDA_SUCCESS)
    d.version = 0;
  if (CUresult r = d.cuDeviceGetCount(&d.deviceCount)) {
    gCode = KILN_DEVICE_ERROR;
    gError =
        "CUDA driver " + gPath + ": cuDeviceGetCount failed: " + describe(d, r);
    return false;
  }
  if (d.deviceCount <= 0) {
    gCode = KILN_UNSUPPORTED;
    gError = "no CUDA device: the driver (" + gPath + ", version " +
             std::to_string(d.version / 1000) + "." +
             std::to_string(d.version % 1000 / 10) + ") found none";
    return false;
  }
  return true;
}

/// Opens the driver and initializes it; under gMutex. A driver that cannot
/// be used is closed again.
void load() {
  gHandle = dlopen(gPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!gHandle) {
    const char *msg = dlerror();
    gCode = KILN_UNSUPPORTED;
    gError =
        "CUDA driver " + gPath + " not found: " + (msg ? msg : "dlopen failed");
    return;
  }
  Driver d;
  if (!init(d)) {
    dlclose(gHandle);
    gHandle = nullptr;
    return;
  }
  gTable = d;
  gDriver.store(&gTable, std::memory_order_release);
}

} // namespace

const Driver *kiln::rt::cuda::getDriver(kiln_status **error) {
  if (error)
    *error = nullptr;
  if (const Driver *d = gDriver.load(std::memory_order_acquire))
    return d;
  std::lock_guard<std::mutex> lock(gMutex);
  if (!gTried) {
    gTried = true;
    load();
  }
  if (const Driver *d = gDriver.load(std::memory_order_acquire))
    return d;
  if (error)
    *error = kiln::rt::error(gCode, "%s", gError.c_str());
  return nullptr;
}

std::string kiln::rt::cuda::describe(const Driver &driver, CUresult result) {
  const char *name = nullptr, *text = nullptr;
  if (driver.cuGetErrorName(result, &name) != CUDA_SUCCESS || !name)
    return "CUDA error " + std::to_string(result);
  std::string s = name;
  if (driver.cuGetErrorString(result, &text) == CUDA_SUCCESS && text)
    s += std::string(": ") + text;
  return s;
}

void kiln::rt::cuda::recordError(kiln_status_code code,
                                 const std::string &what) {
  ++tState.errors;
  if (!tState.active) {
    std::fprintf(stderr, "kiln runtime: %s\n", what.c_str());
    return;
  }
  if (tState.failed)
    return;
  tState.failed = true;
  tState.code = code;
  tState.message = what;
}

bool kiln::rt::cuda::failed() { return tState.active && tState.failed; }

uint64_t kiln::rt::cuda::errorCount() { return tState.errors; }

ErrorScope::ErrorScope()
    : savedActive(tState.active), savedFailed(tState.failed),
      savedCode(tState.code), savedMessage(std::move(tState.message)) {
  tState.active = true;
  tState.failed = false;
  tState.code = KILN_OK;
  tState.message.clear();
}

ErrorScope::~ErrorScope() {
  tState.active = savedActive;
  tState.failed = savedFailed;
  tState.code = savedCode;
  tState.message = std::move(savedMessage);
}

kiln_status *ErrorScope::take() {
  if (!tState.failed)
    return nullptr;
  tState.failed = false;
  return kiln::rt::error(tState.code, "%s", tState.message.c_str());
}

void kiln::rt::cuda::setDefaultDevice(int device) { tDevice = device; }
int kiln::rt::cuda::defaultDevice() { return tDevice; }

CUcontext kiln::rt::cuda::primaryContext(const Driver &d) {
  int device = tDevice;
  if (device < 0 || device >= d.deviceCount || device >= kMaxDevices) {
    recordError(KILN_INVALID_ARGUMENT,
                "CUDA device " + std::to_string(device) + " does not exist (" +
                    std::to_string(d.deviceCount) + " devices)");
    return nullptr;
  }
  if (CUcontext c = gContexts[device].load(std::memory_order_acquire))
    return c;
  std::lock_guard<std::mutex> lock(gMutex);
  if (CUcontext c = gContexts[device].load(std::memory_order_acquire))
    return c;
  CUdevice handle;
  if (CUresult r = d.cuDeviceGet(&handle, device)) {
    recordError(KILN_DEVICE_ERROR, "cuDeviceGet(" + std::to_string(device) +
                                       ") failed: " + describe(d, r));
    return nullptr;
  }
  CUcontext c = nullptr;
  if (CUresult r = d.cuDevicePrimaryCtxRetain(&c, handle)) {
    recordError(KILN_DEVICE_ERROR, "cuDevicePrimaryCtxRetain(device " +
                                       std::to_string(device) +
                                       ") failed: " + describe(d, r));
    return nullptr;
  }
  gContexts[device].store(c, std::memory_order_release);
  return c;
}

void kiln::rt::cuda::setDriverPathForTesting(const char *path) {
  std::lock_guard<std::mutex> lock(gMutex);
  gDriver.store(nullptr, std::memory_order_release);
  for (auto &c : gContexts)
    c.store(nullptr, std::memory_order_relaxed);
  if (gHandle)
    dlclose(gHandle);
  gHandle = nullptr;
  gTable = Driver();
  gTried = false;
  gCode = KILN_OK;
  gError.clear();
  gPath = path ? path : kDefaultPath;
}

extern "C" kiln_status *kiln_cuda_init(int *device_count) {
  if (device_count)
    *device_count = 0;
  kiln_status *status = nullptr;
  const Driver *d = getDriver(&status);
  if (!d)
    return status;
  // The primary context of device 0 too: a device that cannot host one
  // (exclusive-process mode, out of memory) cannot run models either.
  ErrorScope scope;
  int saved = tDevice;
  tDevice = 0;
  primaryContext(*d);
  tDevice = saved;
  if (kiln_status *s = scope.take())
    return s;
  if (device_count)
    *device_count = d->deviceCount;
  return nullptr;
}
