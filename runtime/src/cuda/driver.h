//===- driver.h - the CUDA driver, opened at first use ----------*- C++ -*-===//
//
// The runtime's CUDA support: libcuda.so.1 opened with dlopen on first use
// (thread-safe, once), its entry points resolved into a table, the primary
// context of each device, and the error state of the mgpu* functions that
// compiled code calls (mgpu.cpp).
//
// Errors: the mgpu* functions never abort. Inside an ErrorScope (which
// kiln_model_load and kiln_model_run open around foreign code) the first
// failure of the calling thread is recorded and every later mgpu* call of
// the scope does nothing, except the ones that release memory, streams,
// events and modules, which still run; the scope's owner turns the record
// into a kiln_status. Outside any scope a failure is printed to stderr, as
// upstream's wrappers do, and later calls go on.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_CUDA_DRIVER_H
#define KILN_RUNTIME_CUDA_DRIVER_H

#include "../internal.h"
#include "cuda_api.h"

#include <string>

namespace kiln::rt::cuda {

/// The resolved driver entry points.
struct Driver {
#define KILN_CUDA_FIELD(name, symbol, type, required)                          \
  using name##_fn = type;                                                      \
  name##_fn name = nullptr;
  KILN_CUDA_DRIVER_FUNCTIONS(KILN_CUDA_FIELD)
#undef KILN_CUDA_FIELD
  int deviceCount = 0;
  int version = 0; // cuDriverGetVersion: 1000 * major + 10 * minor
};

/// The driver, loaded and initialized (cuInit) on the first call from any
/// thread; null when that failed, with `*error` (if given) set to a status
/// saying why. The outcome of the first attempt is kept: later calls return
/// it without trying again.
const Driver *getDriver(kiln_status **error = nullptr);

/// "CUDA_ERROR_X: description" for a driver result.
std::string describe(const Driver &driver, CUresult result);

/// Records a failure of an mgpu* function (see the file comment): `what` is
/// the message ("cuMemAlloc failed: ...").
void recordError(kiln_status_code code, const std::string &what);

/// Whether the calling thread is in an ErrorScope that has recorded an
/// error (then mgpu* calls other than releases do nothing).
bool failed();

/// How many errors the calling thread has recorded so far, in ErrorScopes
/// or not (a count that only grows): a caller compares two readings to see
/// whether the calls between them failed.
uint64_t errorCount();

/// Collects the first CUDA error of the calling thread's mgpu* calls while
/// it lives; scopes nest (an inner one hides and then restores the outer
/// one's state). Exported for the unit tests.
class KILN_API ErrorScope {
public:
  ErrorScope();
  ~ErrorScope();
  ErrorScope(const ErrorScope &) = delete;
  ErrorScope &operator=(const ErrorScope &) = delete;
  /// The recorded error as a status (and clears it), or null.
  kiln_status *take();

private:
  bool savedActive, savedFailed;
  kiln_status_code savedCode;
  std::string savedMessage;
};

/// The calling thread's default device (mgpuSetDefaultDevice; 0 at first).
void setDefaultDevice(int device);
int defaultDevice();

/// The primary context of the calling thread's default device (see
/// mgpuSetDefaultDevice), retained on first use; null after recording an
/// error.
CUcontext primaryContext(const Driver &driver);

/// For tests only: forgets the loaded driver (its contexts are not
/// released) and makes the next getDriver() open `path` instead of
/// libcuda.so.1 (null: libcuda.so.1 again). Not thread-safe against
/// concurrent CUDA use.
KILN_API void setDriverPathForTesting(const char *path);

} // namespace kiln::rt::cuda

#endif // KILN_RUNTIME_CUDA_DRIVER_H
