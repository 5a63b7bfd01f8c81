//===- CudaRuntimeTest.cpp - the CUDA driver loader and mgpu* functions ---===//
//
// Without a GPU: the no-driver path, and the loader and mgpu* functions
// against libkiln_fake_cuda.so (test/unit/fake_cuda), a driver on host
// memory with failure injection. Models here are built with
// kiln_model_create around host functions that call the mgpu* functions as
// code lowered by gpu-to-llvm does.
//
//===----------------------------------------------------------------------===//

#include "kiln/runtime.h"

#include "../../runtime/src/cuda/driver.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <vector>

// The mgpu* functions, as LLVM 22's gpu-to-llvm declares them.
extern "C" {
void *mgpuModuleLoad(void *data, size_t size);
void *mgpuModuleLoadJIT(void *data, int optLevel);
void mgpuModuleUnload(void *module);
void *mgpuModuleGetFunction(void *module, const char *name);
void mgpuLaunchKernel(void *function, intptr_t gridX, intptr_t gridY,
                      intptr_t gridZ, intptr_t blockX, intptr_t blockY,
                      intptr_t blockZ, int32_t smem, void *stream,
                      void **params, void **extra, size_t paramsCount);
void mgpuLaunchClusterKernel(void *function, intptr_t clusterX,
                             intptr_t clusterY, intptr_t clusterZ,
                             intptr_t gridX, intptr_t gridY, intptr_t gridZ,
                             intptr_t blockX, intptr_t blockY, intptr_t blockZ,
                             int32_t smem, void *stream, void **params,
                             void **extra);
void *mgpuStreamCreate();
void mgpuStreamDestroy(void *stream);
void mgpuStreamSynchronize(void *stream);
void mgpuStreamWaitEvent(void *stream, void *event);
void *mgpuEventCreate();
void mgpuEventDestroy(void *event);
void mgpuEventSynchronize(void *event);
void mgpuEventRecord(void *event, void *stream);
void *mgpuMemAlloc(uint64_t sizeBytes, void *stream, bool isHostShared);
void mgpuMemFree(void *ptr, void *stream);
void mgpuMemcpy(void *dst, void *src, size_t sizeBytes, void *stream);
void mgpuMemset32(void *dst, unsigned int value, size_t count, void *stream);
void mgpuMemset16(void *dst, unsigned short value, size_t count, void *stream);
void mgpuMemHostRegisterMemRef(int64_t rank, void *descriptor,
                               int64_t elementSizeBytes);
void mgpuMemHostUnregisterMemRef(int64_t rank, void *descriptor,
                                 int64_t elementSizeBytes);
void mgpuSetDefaultDevice(int32_t device);
void *mgpuTensorMapEncodeTiledMemref(int64_t rank, void *descriptor,
                                     int64_t dataType, int64_t interleave,
                                     int64_t swizzle, int64_t l2Promotion,
                                     int64_t oobFill, int64_t *boxDims);
// The runtime's side of kiln-cuda-resident-weights.
uint64_t kiln_rt_cuda_error_count();
int32_t kiln_rt_cuda_ok_since(uint64_t before);
void kiln_rt_cuda_wait(int32_t *state);
}

namespace {

using kiln::rt::cuda::ErrorScope;
using kiln::rt::cuda::setDriverPathForTesting;

struct Status {
  kiln_status_code code;
  std::string message;
};

/// Frees a status and returns its code and message.
Status take(kiln_status *s) {
  Status r{kiln_status_get_code(s), s ? kiln_status_get_message(s) : ""};
  kiln_status_free(s);
  return r;
}

bool startsWith(const std::string &s, const std::string &prefix) {
  return s.rfind(prefix, 0) == 0;
}

//===-- A model whose entry point drives the GPU -------------------------===//

/// What the entry point below does; tests change it.
struct Plan {
  const char *image = "fake-module";
  int jitLevel = -1; // >= 0: mgpuModuleLoadJIT
  const char *kernel = "add_one";
  intptr_t grid = 1;
  int32_t smem = 0;
  intptr_t cluster = 0; // > 0: mgpuLaunchClusterKernel
  bool memset = false;  // fill with mgpuMemset32 and mgpuMemset16 first
} plan;

constexpr int64_t kN = 8;

/// y = add_one(x) on the device: the sequence of mgpu* calls gpu-to-llvm
/// emits for a launch between two copies.
void entryMain(void **buffers, void *const *, void *) {
  void *module =
      plan.jitLevel >= 0
          ? mgpuModuleLoadJIT(const_cast<char *>(plan.image), plan.jitLevel)
          : mgpuModuleLoad(const_cast<char *>(plan.image),
                           strlen(plan.image) + 1);
  void *function = mgpuModuleGetFunction(module, plan.kernel);
  void *stream = mgpuStreamCreate();
  void *event = mgpuEventCreate();
  void *device = mgpuMemAlloc(kN * sizeof(float), stream, false);
  mgpuMemcpy(device, buffers[0], kN * sizeof(float), stream);
  if (plan.memset) {
    float two = 2.0f;
    unsigned bits;
    memcpy(&bits, &two, 4);
    mgpuMemset32(device, bits, kN, stream);
    mgpuMemset16(device, 0, 2, stream); // element 0: 0.0f
  }
  int64_t n = kN;
  void *params[] = {&device, &n};
  if (plan.cluster > 0)
    mgpuLaunchClusterKernel(function, plan.cluster, 1, 1, plan.grid, 1, 1, kN,
                            1, 1, plan.smem, stream, params, nullptr);
  else
    mgpuLaunchKernel(function, plan.grid, 1, 1, kN, 1, 1, plan.smem, stream,
                     params, nullptr, 2);
  mgpuEventRecord(event, stream);
  mgpuStreamWaitEvent(stream, event);
  mgpuMemcpy(buffers[1], device, kN * sizeof(float), stream);
  mgpuEventSynchronize(event);
  mgpuStreamSynchronize(stream);
  mgpuMemFree(device, stream);
  mgpuEventDestroy(event);
  mgpuStreamDestroy(stream);
  mgpuModuleUnload(module);
}

kiln_entry_fn resolveMain(void *, const char *symbol) {
  return strcmp(symbol, "kiln_entry_main") == 0 ? entryMain : nullptr;
}

const char *kCudaMetadata = "kiln-artifact 1\n"
                            "target cuda\n"
                            "weights 0\n"
                            "entry main 0 1 1\n"
                            "input x f32 1 8\n"
                            "output y f32 1 8\n"
                            "end\n";

/// Runs the model on x = 0..7; `y` gets the output (runtime-allocated).
Status runModel(std::vector<float> *y = nullptr) {
  kiln_model *model = nullptr;
  Status s = take(kiln_model_create(kCudaMetadata, resolveMain, nullptr,
                                    nullptr, 0, nullptr, nullptr, &model));
  if (s.code != KILN_OK)
    return s;
  std::vector<float> x(kN);
  for (int i = 0; i < kN; ++i)
    x[i] = i;
  kiln_tensor in{}, out{};
  in.dtype = out.dtype = KILN_F32;
  in.rank = out.rank = 1;
  in.shape[0] = out.shape[0] = kN;
  in.data = x.data();
  in.size_bytes = x.size() * sizeof(float);
  s = take(kiln_model_run(model, nullptr, 0, &in, 1, &out, 1));
  if (s.code == KILN_OK && y)
    y->assign(static_cast<float *>(out.data),
              static_cast<float *>(out.data) + kN);
  // A failed run frees the outputs it allocated.
  if (s.code != KILN_OK)
    EXPECT_EQ(out.data, nullptr);
  kiln_free(out.data);
  kiln_model_free(model);
  return s;
}

//===-- No driver --------------------------------------------------------===//

class CudaNoDriver : public ::testing::Test {
protected:
  void TearDown() override { setDriverPathForTesting(nullptr); }
};

TEST_F(CudaNoDriver, MissingLibraryIsAClearError) {
  setDriverPathForTesting("/nonexistent/libcuda.so.1");
  int count = 7;
  Status s = take(kiln_cuda_init(&count));
  EXPECT_EQ(s.code, KILN_UNSUPPORTED);
  EXPECT_TRUE(startsWith(s.message, "CUDA driver /nonexistent/libcuda.so.1 "
                                    "not found: /nonexistent/libcuda.so.1: "))
      << s.message;
  EXPECT_EQ(count, 0);
  // The outcome is kept.
  EXPECT_EQ(take(kiln_cuda_init(nullptr)).message, s.message);
  // A CUDA model's run fails with it instead of crashing.
  Status run = runModel();
  EXPECT_EQ(run.code, KILN_UNSUPPORTED);
  EXPECT_EQ(run.message, "main: " + s.message);
}

TEST_F(CudaNoDriver, ThisMachinesDriver) {
  setDriverPathForTesting(nullptr);
  int count = 0;
  Status s = take(kiln_cuda_init(&count));
  if (s.code == KILN_OK) {
    std::printf("[   NOTE   ] a CUDA driver with %d device(s) is present: "
                "the no-driver path is covered by MissingLibraryIsAClearError "
                "only\n",
                count);
    GTEST_SKIP() << "a CUDA driver and device are present";
  }
  EXPECT_EQ(count, 0);
  // No driver, or a driver without a usable GPU.
  EXPECT_TRUE(startsWith(s.message, "CUDA driver libcuda.so.1 not found: ") ||
              s.message.find("cuInit failed") != std::string::npos ||
              startsWith(s.message, "no CUDA device"))
      << s.message;
}

TEST_F(CudaNoDriver, LibraryWithoutTheEntryPoints) {
  setDriverPathForTesting("libm.so.6");
  Status s = take(kiln_cuda_init(nullptr));
  EXPECT_EQ(s.code, KILN_UNSUPPORTED);
  EXPECT_TRUE(startsWith(s.message,
                         "CUDA driver libm.so.6 lacks the entry point cuInit"))
      << s.message;
}

TEST(CudaModel, TargetLine) {
  kiln_model *model = nullptr;
  ASSERT_EQ(take(kiln_model_create(kCudaMetadata, resolveMain, nullptr, nullptr,
                                   0, nullptr, nullptr, &model))
                .code,
            KILN_OK);
  EXPECT_STREQ(kiln_model_target(model), "cuda");
  kiln_model_free(model);
  EXPECT_EQ(kiln_model_target(nullptr), nullptr);

  std::string cpu = kCudaMetadata;
  cpu.replace(cpu.find("target cuda\n"), 12, "");
  ASSERT_EQ(take(kiln_model_create(cpu.c_str(), resolveMain, nullptr, nullptr,
                                   0, nullptr, nullptr, &model))
                .code,
            KILN_OK);
  EXPECT_STREQ(kiln_model_target(model), "cpu");
  kiln_model_free(model);

  std::string rocm = kCudaMetadata;
  rocm.replace(rocm.find("cuda"), 4, "rocm");
  Status s = take(kiln_model_create(rocm.c_str(), resolveMain, nullptr, nullptr,
                                    0, nullptr, nullptr, &model));
  EXPECT_EQ(s.code, KILN_UNSUPPORTED);
  EXPECT_EQ(s.message, "the artifact targets 'rocm'; this runtime runs 'cpu' "
                       "and 'cuda' artifacts");

  std::string late = cpu;
  late.replace(late.find("end\n"), 4, "target cuda\nend\n");
  s = take(kiln_model_create(late.c_str(), resolveMain, nullptr, nullptr, 0,
                             nullptr, nullptr, &model));
  EXPECT_EQ(s.code, KILN_FORMAT_ERROR);
  EXPECT_NE(s.message.find("expected 'target <name>' before the entries"),
            std::string::npos)
      << s.message;
}

//===-- The fake driver --------------------------------------------------===//

class FakeCuda : public ::testing::Test {
protected:
  void SetUp() override {
    handle = dlopen(KILN_FAKE_CUDA_PATH, RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(handle, nullptr) << dlerror();
    reset = sym<void (*)()>("fake_cuda_reset");
    fail = sym<void (*)(const char *, int, int)>("fake_cuda_fail");
    setDeviceCount = sym<void (*)(int)>("fake_cuda_set_device_count");
    calls = sym<int (*)(const char *)>("fake_cuda_calls");
    live = sym<int (*)(const char *)>("fake_cuda_live");
    lastLaunch = sym<void (*)(int *)>("fake_cuda_last_launch");
    reset();
    plan = Plan();
    setDriverPathForTesting(KILN_FAKE_CUDA_PATH);
  }
  void TearDown() override {
    mgpuSetDefaultDevice(0);
    setDriverPathForTesting(nullptr);
    if (handle)
      dlclose(handle);
  }
  template <typename T> T sym(const char *name) {
    void *p = dlsym(handle, name);
    EXPECT_NE(p, nullptr) << name;
    return reinterpret_cast<T>(p);
  }
  /// Everything the model allocated was released.
  void expectNothingLive() {
    for (const char *kind : {"memory", "stream", "event", "module", "host"})
      EXPECT_EQ(live(kind), 0) << kind;
    EXPECT_EQ(calls("cuCtxPushCurrent_v2"), calls("cuCtxPopCurrent_v2"));
  }

  void *handle = nullptr;
  void (*reset)();
  void (*fail)(const char *, int, int);
  void (*setDeviceCount)(int);
  int (*calls)(const char *);
  int (*live)(const char *);
  void (*lastLaunch)(int *);
};

TEST_F(FakeCuda, Init) {
  int count = 0;
  EXPECT_EQ(take(kiln_cuda_init(&count)).code, KILN_OK);
  EXPECT_EQ(count, 1);
  EXPECT_EQ(calls("cuInit"), 1);
  EXPECT_EQ(calls("cuDevicePrimaryCtxRetain"), 1);
  EXPECT_EQ(take(kiln_cuda_init(&count)).code, KILN_OK);
  EXPECT_EQ(calls("cuInit"), 1);
  EXPECT_EQ(calls("cuDevicePrimaryCtxRetain"), 1);
}

TEST_F(FakeCuda, InitOnceAcrossThreads) {
  std::vector<std::thread> threads;
  std::vector<int> counts(8, -1);
  for (int i = 0; i < 8; ++i)
    threads.emplace_back(
        [&, i] { EXPECT_EQ(take(kiln_cuda_init(&counts[i])).code, KILN_OK); });
  for (auto &t : threads)
    t.join();
  for (int c : counts)
    EXPECT_EQ(c, 1);
  EXPECT_EQ(calls("cuInit"), 1);
  EXPECT_EQ(calls("cuDevicePrimaryCtxRetain"), 1);
}

TEST_F(FakeCuda, NoDevice) {
  setDeviceCount(0);
  Status s = take(kiln_cuda_init(nullptr));
  EXPECT_EQ(s.code, KILN_UNSUPPORTED);
  EXPECT_EQ(s.message, std::string("no CUDA device: the driver (") +
                           KILN_FAKE_CUDA_PATH + ", version 13.0) found none");
  // The runtime closed the driver it cannot use: once the test's own handle
  // is closed, the library is unloaded.
  dlclose(handle);
  handle = nullptr;
  EXPECT_EQ(dlopen(KILN_FAKE_CUDA_PATH, RTLD_NOW | RTLD_NOLOAD), nullptr);
}

TEST_F(FakeCuda, InitFailure) {
  fail("cuInit", 100, 1);
  Status s = take(kiln_cuda_init(nullptr));
  EXPECT_EQ(s.code, KILN_UNSUPPORTED);
  EXPECT_EQ(s.message, std::string("CUDA driver ") + KILN_FAKE_CUDA_PATH +
                           ": cuInit failed: CUDA_ERROR_NO_DEVICE: no "
                           "CUDA-capable device is detected");
  // Kept: no second cuInit.
  EXPECT_EQ(take(kiln_cuda_init(nullptr)).message, s.message);
  EXPECT_EQ(calls("cuInit"), 1);
}

TEST_F(FakeCuda, ContextFailure) {
  fail("cuDevicePrimaryCtxRetain", 2, 1);
  Status s = take(kiln_cuda_init(nullptr));
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_EQ(s.message, "cuDevicePrimaryCtxRetain(device 0) failed: "
                       "CUDA_ERROR_OUT_OF_MEMORY: out of memory");
  // Not kept: the context is retried.
  EXPECT_EQ(take(kiln_cuda_init(nullptr)).code, KILN_OK);
}

TEST_F(FakeCuda, RunsAModel) {
  std::vector<float> y;
  Status s = runModel(&y);
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  for (int i = 0; i < kN; ++i)
    EXPECT_EQ(y[i], i + 1.0f);
  int launch[12];
  lastLaunch(launch);
  EXPECT_EQ(launch[0], 1);   // grid x
  EXPECT_EQ(launch[3], kN);  // block x
  EXPECT_EQ(launch[7], 1);   // no cluster
  EXPECT_EQ(launch[10], -1); // no JIT options: a cubin
  EXPECT_EQ(calls("cuLaunchKernel"), 1);
  expectNothingLive();
}

TEST_F(FakeCuda, Memset) {
  plan.memset = true;
  std::vector<float> y;
  Status s = runModel(&y);
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  EXPECT_EQ(y[0], 1.0f);
  for (int i = 1; i < kN; ++i)
    EXPECT_EQ(y[i], 3.0f) << i;
  EXPECT_EQ(calls("cuMemsetD32Async"), 1);
  EXPECT_EQ(calls("cuMemsetD16Async"), 1);
  expectNothingLive();
}

TEST_F(FakeCuda, JitLevelAndClusters) {
  plan.jitLevel = 9; // clamped to the driver's 0..4
  plan.cluster = 2;
  plan.grid = 4;
  std::vector<float> y;
  Status s = runModel(&y);
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  EXPECT_EQ(y[7], 8.0f);
  int launch[12];
  lastLaunch(launch);
  EXPECT_EQ(launch[0], 4);
  EXPECT_EQ(launch[7], 2); // cluster x
  EXPECT_EQ(launch[10], 4);
  EXPECT_EQ(calls("cuLaunchKernelEx"), 1);
  EXPECT_EQ(calls("cuLaunchKernel"), 0);
  expectNothingLive();
}

TEST_F(FakeCuda, FirstErrorOfARunIsItsStatus) {
  fail("cuLaunchKernel", 719, 1);
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_EQ(s.message, "main: mgpuLaunchKernel: cuLaunchKernel failed: "
                       "CUDA_ERROR_LAUNCH_FAILED: unspecified launch failure");
  // The calls after the launch did nothing, except the releases.
  EXPECT_EQ(calls("cuMemcpyAsync"), 1);
  EXPECT_EQ(calls("cuEventRecord"), 0);
  EXPECT_EQ(calls("cuStreamSynchronize"), 0);
  expectNothingLive();
  // The next run starts afresh.
  std::vector<float> y;
  s = runModel(&y);
  EXPECT_EQ(s.code, KILN_OK) << s.message;
  EXPECT_EQ(y[0], 1.0f);
  expectNothingLive();
}

TEST_F(FakeCuda, ErrorsStayInTheirRun) {
  // 4 threads x 10 runs; one launch fails: exactly that run reports it.
  fail("cuLaunchKernel", 719, 17);
  std::atomic<int> ok{0}, failedRuns{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 10; ++i) {
        std::vector<float> y;
        Status s = runModel(&y);
        if (s.code == KILN_OK && y[3] == 4.0f)
          ++ok;
        else if (s.code == KILN_DEVICE_ERROR &&
                 s.message.find("CUDA_ERROR_LAUNCH_FAILED") !=
                     std::string::npos)
          ++failedRuns;
      }
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(ok, 39);
  EXPECT_EQ(failedRuns, 1);
  EXPECT_EQ(calls("cuLaunchKernel"), 40);
  expectNothingLive();
}

TEST_F(FakeCuda, OutOfDeviceMemory) {
  fail("cuMemAlloc_v2", 2, 1);
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_OUT_OF_MEMORY);
  EXPECT_EQ(s.message, "main: mgpuMemAlloc: cuMemAlloc failed: "
                       "CUDA_ERROR_OUT_OF_MEMORY: out of memory (32 bytes)");
  EXPECT_EQ(calls("cuMemcpyAsync"), 0);
  expectNothingLive();
}

TEST_F(FakeCuda, BadModuleImageCarriesTheLog) {
  plan.image = "not a module";
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_EQ(s.message, "main: mgpuModuleLoad: cuModuleLoadDataEx failed: "
                       "CUDA_ERROR_INVALID_IMAGE: device kernel image is "
                       "invalid (fake ptxas: line 1: not a fake module)");
  EXPECT_EQ(calls("cuModuleGetFunction"), 0);
  EXPECT_EQ(calls("cuStreamCreate"), 0);
  expectNothingLive();
}

TEST_F(FakeCuda, UnknownKernel) {
  plan.kernel = "nope";
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_EQ(s.message, "main: mgpuModuleGetFunction: cuModuleGetFunction "
                       "failed: CUDA_ERROR_NOT_FOUND: named symbol not found "
                       "(kernel 'nope')");
  expectNothingLive();
}

TEST_F(FakeCuda, LaunchChecks) {
  plan.grid = 0;
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_INVALID_ARGUMENT);
  EXPECT_EQ(s.message, "main: mgpuLaunchKernel: bad grid size 0x1x1");
  EXPECT_EQ(calls("cuLaunchKernel"), 0);

  plan.grid = 1;
  plan.smem = 100000; // beyond 48 KiB: opted in
  s = runModel();
  EXPECT_EQ(s.code, KILN_OK) << s.message;
  int launch[12];
  lastLaunch(launch);
  EXPECT_EQ(launch[6], 100000);
  EXPECT_EQ(launch[11], 100000);

  plan.smem = 300000;
  s = runModel();
  EXPECT_EQ(s.code, KILN_INVALID_ARGUMENT);
  EXPECT_EQ(s.message, "main: mgpuLaunchKernel: the kernel asks for 300000 "
                       "bytes of dynamic shared memory; the device allows "
                       "232448");
  expectNothingLive();
}

TEST_F(FakeCuda, DefaultDevice) {
  mgpuSetDefaultDevice(3);
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_INVALID_ARGUMENT);
  EXPECT_EQ(s.message, "main: CUDA device 3 does not exist (1 devices)");
  mgpuSetDefaultDevice(0);
  EXPECT_EQ(runModel().code, KILN_OK);
  expectNothingLive();
}

TEST_F(FakeCuda, OutsideARunErrorsArePrintedAndCallsGoOn) {
  fail("cuMemAlloc_v2", 2, 1);
  ::testing::internal::CaptureStderr();
  void *a = mgpuMemAlloc(64, nullptr, false);
  void *b = mgpuMemAlloc(64, nullptr, true);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(a, nullptr);
  EXPECT_NE(b, nullptr);
  EXPECT_EQ(err, "kiln runtime: mgpuMemAlloc: cuMemAlloc failed: "
                 "CUDA_ERROR_OUT_OF_MEMORY: out of memory (64 bytes)\n");
  EXPECT_EQ(calls("cuMemAllocManaged"), 1);
  mgpuMemFree(b, nullptr);
  EXPECT_EQ(mgpuMemAlloc(0, nullptr, false), nullptr);
  expectNothingLive();
}

TEST_F(FakeCuda, HostRegisterMemRef) {
  float data[2 * 3];
  struct {
    float *base, *aligned;
    int64_t offset, sizes[2], strides[2];
  } dense = {data, data, 0, {2, 3}, {3, 1}},
    strided = {data, data, 0, {2, 3}, {6, 2}};
  ::testing::internal::CaptureStderr();
  mgpuMemHostRegisterMemRef(2, &dense, 4);
  EXPECT_EQ(live("host"), 1);
  mgpuMemHostUnregisterMemRef(2, &dense, 4);
  mgpuMemHostRegisterMemRef(2, &strided, 4);
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "kiln runtime: mgpuMemHostRegisterMemRef: the memref is not "
                 "dense\n");
  EXPECT_EQ(calls("cuMemHostRegister_v2"), 1);
  expectNothingLive();
}

TEST_F(FakeCuda, TmaDescriptor) {
  alignas(16) static uint16_t data[4 * 64 * 128];
  // memref<4x64x128xf16> at offset 128 elements (256 bytes).
  struct {
    uint16_t *base, *aligned;
    int64_t offset, sizes[3], strides[3];
  } m = {data, data, 128, {4, 64, 120}, {64 * 128, 128, 1}};
  int64_t box[3] = {1, 64, 64};
  kiln::rt::cuda::ErrorScope scope;
  void *d =
      mgpuTensorMapEncodeTiledMemref(3, &m, /*FLOAT16*/ 6, 0, 3, 2, 0, box);
  ASSERT_EQ(take(scope.take()).message, "");
  ASSERT_NE(d, nullptr);
  uint64_t map[16];
  mgpuMemcpy(map, d, sizeof(map), nullptr);
  uint64_t want[] = {6,
                     3,
                     reinterpret_cast<uintptr_t>(data + 128),
                     120,
                     64, // innermost: size, box
                     64,
                     64, // middle
                     4,
                     1,            // outermost
                     128 * 2,      // the middle dimension's stride in bytes
                     64 * 128 * 2, // the outermost's
                     0,
                     3,
                     2,
                     0,
                     0};
  ASSERT_EQ(sizeof(want), sizeof(map));
  for (int i = 0; i < 16; ++i)
    EXPECT_EQ(map[i], want[i]) << i;
  mgpuMemFree(d, nullptr);
  expectNothingLive();

  // A misaligned address: the driver's error, and nothing allocated.
  m.offset = 1;
  void *bad = mgpuTensorMapEncodeTiledMemref(3, &m, 6, 0, 3, 2, 0, box);
  EXPECT_EQ(bad, nullptr);
  EXPECT_EQ(take(scope.take()).message,
            "mgpuTensorMapEncodeTiledMemref: cuTensorMapEncodeTiled failed: "
            "CUDA_ERROR_INVALID_VALUE: invalid argument");
  EXPECT_EQ(mgpuTensorMapEncodeTiledMemref(6, &m, 6, 0, 3, 2, 0, box), nullptr);
  EXPECT_EQ(take(scope.take()).message,
            "mgpuTensorMapEncodeTiledMemref: bad rank 6 or data type 6");
  expectNothingLive();
}

/// Whether the ELF file at `path` has a non-empty .ctors section: code there
/// runs only through crtbegin.o, never from the dynamic loader, so an
/// artifact's module-loading constructor would not run.
bool hasCtorsSection(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::vector<char> b((std::istreambuf_iterator<char>(f)),
                      std::istreambuf_iterator<char>());
  if (b.size() < sizeof(Elf64_Ehdr))
    return false;
  Elf64_Ehdr eh;
  memcpy(&eh, b.data(), sizeof(eh));
  if (eh.e_shoff == 0 || eh.e_shstrndx >= eh.e_shnum ||
      eh.e_shoff + eh.e_shnum * sizeof(Elf64_Shdr) > b.size())
    return false;
  auto section = [&](int i) {
    Elf64_Shdr sh;
    memcpy(&sh, b.data() + eh.e_shoff + i * sizeof(Elf64_Shdr), sizeof(sh));
    return sh;
  };
  Elf64_Shdr names = section(eh.e_shstrndx);
  for (int i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh = section(i);
    if (names.sh_offset + sh.sh_name + 7 <= b.size() &&
        strncmp(b.data() + names.sh_offset + sh.sh_name, ".ctors", 7) == 0 &&
        sh.sh_size > 0)
      return true;
  }
  return false;
}

/// An artifact from kiln-compile --target=cuda, loaded and run on the fake
/// driver: its kernels do nothing there, but its host code makes the real
/// sequence of mgpu* calls (module load at dlopen, launches, copies,
/// releases at dlclose).
TEST_F(FakeCuda, KilnCompiledArtifact) {
  std::string dir = ::testing::TempDir() + "kiln-cuda-artifact-XXXXXX";
  ASSERT_NE(mkdtemp(dir.data()), nullptr);
  std::string so = dir + "/add.so";
  std::string cmd = std::string(KILN_COMPILE_PATH) + " " + KILN_SOURCE_DIR +
                    "/test/tools/Inputs/add.mlir --target=cuda -o " + so;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  // kiln-compile sets TargetOptions::UseInitArray: the constructor that
  // loads the module must be in .init_array, since the dynamic loader never
  // runs .ctors.
  ASSERT_FALSE(hasCtorsSection(so))
      << so << ": the artifact's module constructor is in .ctors";
  kiln_model *model = nullptr;
  Status s = take(kiln_model_load(so.c_str(), &model));
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  EXPECT_STREQ(kiln_model_target(model), "cuda");
  EXPECT_EQ(calls("cuModuleLoadDataEx"), 1); // by the artifact's constructor

  std::vector<kiln_tensor> in(kiln_model_num_inputs(model, 0));
  std::vector<kiln_tensor> out(kiln_model_num_outputs(model, 0));
  std::vector<std::vector<char>> data;
  for (size_t i = 0; i < in.size(); ++i) {
    ASSERT_EQ(take(kiln_model_input_info(model, 0, i, nullptr, &in[i])).code,
              KILN_OK);
    data.emplace_back(in[i].size_bytes);
    in[i].data = data.back().data();
  }
  for (size_t i = 0; i < out.size(); ++i)
    ASSERT_EQ(take(kiln_model_output_info(model, 0, i, nullptr, &out[i])).code,
              KILN_OK);
  for (int run = 0; run < 2; ++run) {
    s = take(kiln_model_run(model, nullptr, 0, in.data(), in.size(), out.data(),
                            out.size()));
    ASSERT_EQ(s.code, KILN_OK) << s.message;
    for (kiln_tensor &t : out) {
      kiln_free(t.data);
      t.data = nullptr;
    }
  }
  EXPECT_GE(calls("cuLaunchKernel") + calls("cuLaunchKernelEx"), 2);
  EXPECT_GE(calls("cuMemcpyAsync"), 2);

  // A failure in a run is its status.
  fail("cuLaunchKernel", 719, 1);
  s = take(kiln_model_run(model, nullptr, 0, in.data(), in.size(), out.data(),
                          out.size()));
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_NE(s.message.find("cuLaunchKernel failed: CUDA_ERROR_LAUNCH_FAILED"),
            std::string::npos)
      << s.message;
  kiln_model_free(model);
  expectNothingLive(); // the module too, by the destructor
  std::system(("rm -rf " + dir).c_str());
}

/// y = x * w0 + w1: two weights, uploaded on the first run.
const char *kTwoWeights = R"(
func.func @main(%x: tensor<2x3xf32> {kiln.name = "x"})
    -> (tensor<2x3xf32> {kiln.name = "y"}) {
  %w0 = kiln.constant dense_resource<w0> : tensor<2x3xf32>
  %w1 = kiln.constant dense_resource<w1> : tensor<3xf32>
  %0 = kiln.mul %x, %w0 : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kiln.add %0, %w1 : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F0000004000004040000080400000A0400000C040",
      w1: "0x040000000000803F0000004000004040"
    }
  }
#-}
)";

/// A CUDA artifact of kTwoWeights, loaded on the fake driver, with its
/// inputs and outputs ready for runs.
class ResidentWeights : public FakeCuda {
protected:
  void SetUp() override {
    FakeCuda::SetUp();
    dir = ::testing::TempDir() + "kiln-cuda-weights-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    std::string src = dir + "/w.mlir", so = dir + "/w.so";
    std::ofstream(src) << kTwoWeights;
    std::string cmd =
        std::string(KILN_COMPILE_PATH) + " " + src + " --target=cuda -o " + so;
    ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
    Status s = take(kiln_model_load(so.c_str(), &model));
    ASSERT_EQ(s.code, KILN_OK) << s.message;
    in.resize(kiln_model_num_inputs(model, 0));
    for (size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(take(kiln_model_input_info(model, 0, i, nullptr, &in[i])).code,
                KILN_OK);
      data.emplace_back(in[i].size_bytes);
      in[i].data = data.back().data();
    }
  }
  void TearDown() override {
    if (model)
      kiln_model_free(model);
    expectNothingLive(); // the weights too, by the artifact's destructor
    std::system(("rm -rf " + dir).c_str());
    FakeCuda::TearDown();
  }
  /// One run, its outputs allocated by the runtime and freed.
  Status run() {
    std::vector<kiln_tensor> out(kiln_model_num_outputs(model, 0));
    for (size_t i = 0; i < out.size(); ++i)
      EXPECT_EQ(
          take(kiln_model_output_info(model, 0, i, nullptr, &out[i])).code,
          KILN_OK);
    Status s = take(kiln_model_run(model, nullptr, 0, in.data(), in.size(),
                                   out.data(), out.size()));
    for (kiln_tensor &t : out)
      kiln_free(t.data);
    return s;
  }

  std::string dir;
  kiln_model *model = nullptr;
  std::vector<kiln_tensor> in;
  std::vector<std::vector<char>> data;
};

TEST_F(ResidentWeights, UploadedOnceAndKept) {
  ASSERT_EQ(run().code, KILN_OK);
  EXPECT_EQ(live("memory"), 2); // the two weights, nothing of the run
  int allocs = calls("cuMemAlloc_v2");
  ASSERT_EQ(run().code, KILN_OK);
  EXPECT_EQ(live("memory"), 2);
  // The second run allocates only its own buffers.
  int perRun = calls("cuMemAlloc_v2") - allocs;
  EXPECT_EQ(allocs, perRun + 2);
}

TEST_F(ResidentWeights, FailedAllocationFreesTheOthersAndRetries) {
  // The second weight's allocation fails: the first is freed, the run
  // fails with the error, and the next run uploads both.
  fail("cuMemAlloc_v2", 2, 2);
  Status s = run();
  EXPECT_EQ(s.code, KILN_OUT_OF_MEMORY);
  EXPECT_NE(s.message.find("mgpuMemAlloc: cuMemAlloc failed"),
            std::string::npos)
      << s.message;
  EXPECT_EQ(live("memory"), 0);
  EXPECT_EQ(calls("cuMemFree_v2"), 1);
  ASSERT_EQ(run().code, KILN_OK);
  EXPECT_EQ(live("memory"), 2);
  ASSERT_EQ(run().code, KILN_OK);
  EXPECT_EQ(live("memory"), 2);
}

TEST_F(ResidentWeights, FailedCopyIsAnErrorAndNotUploaded) {
  // The last weight's copy fails: an error of that run, and the upload is
  // discarded rather than kept with a weight never filled.
  fail("cuMemcpyAsync", 1, 2);
  Status s = run();
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_NE(s.message.find("mgpuMemcpy: cuMemcpyAsync failed"),
            std::string::npos)
      << s.message;
  EXPECT_EQ(live("memory"), 0);
  int allocs = calls("cuMemAlloc_v2");
  ASSERT_EQ(run().code, KILN_OK); // uploads again
  EXPECT_EQ(live("memory"), 2);
  int retry = calls("cuMemAlloc_v2") - allocs;
  allocs = calls("cuMemAlloc_v2");
  ASSERT_EQ(run().code, KILN_OK);
  EXPECT_EQ(retry, calls("cuMemAlloc_v2") - allocs + 2);
}

TEST_F(ResidentWeights, ConcurrentFirstCalls) {
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      Status s = run();
      EXPECT_EQ(s.code, KILN_OK) << s.message;
      ok += s.code == KILN_OK;
    });
  for (auto &t : threads)
    t.join();
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(live("memory"), 2); // one upload
}

TEST_F(ResidentWeights, UnloadErrorsAreNotPrinted) {
  // The artifact's destructors run in kiln_model_free's dlclose, inside an
  // error scope: a failed module unload is dropped, not printed.
  ASSERT_EQ(run().code, KILN_OK);
  fail("cuModuleUnload", 1, 1);
  testing::internal::CaptureStderr();
  kiln_model_free(model);
  model = nullptr;
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
  EXPECT_EQ(calls("cuModuleUnload"), 1);
  EXPECT_EQ(live("memory"), 0); // the weights were freed all the same
  reset();                      // forget the module the fake kept
}

TEST_F(FakeCuda, ResidentWeightsRuntimeSide) {
  // The error count grows with every recorded error, in a scope or not.
  uint64_t before = kiln_rt_cuda_error_count();
  EXPECT_EQ(kiln_rt_cuda_ok_since(before), 1);
  fail("cuMemAlloc_v2", 2, 1);
  testing::internal::CaptureStderr();
  EXPECT_EQ(mgpuMemAlloc(16, nullptr, false), nullptr);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(kiln_rt_cuda_ok_since(before), 0);
  before = kiln_rt_cuda_error_count();
  {
    ErrorScope scope;
    EXPECT_EQ(kiln_rt_cuda_ok_since(before), 1);
    fail("cuMemAlloc_v2", 2, 1);
    EXPECT_EQ(mgpuMemAlloc(16, nullptr, false), nullptr);
    EXPECT_EQ(kiln_rt_cuda_ok_since(before), 0);
    // A scope that has failed: later calls do nothing, so an upload that
    // starts then is not OK either.
    uint64_t now = kiln_rt_cuda_error_count();
    EXPECT_EQ(kiln_rt_cuda_ok_since(now), 0);
    EXPECT_EQ(take(scope.take()).code, KILN_OUT_OF_MEMORY);
  }
  // The wait returns once the state is no longer 1.
  int32_t state = 1;
  std::thread setter([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    __atomic_store_n(&state, 2, __ATOMIC_RELEASE);
  });
  kiln_rt_cuda_wait(&state);
  EXPECT_EQ(__atomic_load_n(&state, __ATOMIC_ACQUIRE), 2);
  setter.join();
  state = 0;
  kiln_rt_cuda_wait(&state); // returns at once
}

//===-- On a GPU ---------------------------------------------------------===//

/// add_one(float *p, int64_t n) for sm_80 and later: LLVM's NVPTX back end
/// (llc -mcpu=sm_80 -mattr=+ptx70), accepted by ptxas.
const char *kAddOnePtx = ".version 7.0\n"
                         ".target sm_80\n"
                         ".address_size 64\n"
                         ".visible .entry add_one(\n"
                         " .param .u64 .ptr .global .align 1 add_one_param_0,\n"
                         " .param .u64 add_one_param_1\n"
                         ")\n"
                         "{\n"
                         " .reg .pred  %p<2>;\n"
                         " .reg .b32  %r<7>;\n"
                         " .reg .b64  %rd<6>;\n"
                         " ld.param.b64  %rd3, [add_one_param_1];\n"
                         " mov.u32  %r1, %tid.x;\n"
                         " mov.u32  %r2, %ctaid.x;\n"
                         " mov.u32  %r3, %ntid.x;\n"
                         " mad.lo.s32  %r4, %r2, %r3, %r1;\n"
                         " cvt.u64.u32  %rd4, %r4;\n"
                         " setp.ge.s64  %p1, %rd4, %rd3;\n"
                         " @%p1 bra  $L__BB0_2;\n"
                         " ld.param.b64  %rd2, [add_one_param_0];\n"
                         " mul.wide.u32  %rd5, %r4, 4;\n"
                         " add.s64  %rd1, %rd2, %rd5;\n"
                         " ld.global.b32  %r5, [%rd1];\n"
                         " add.rn.f32  %r6, %r5, 0f3F800000;\n"
                         " st.global.b32  [%rd1], %r6;\n"
                         "$L__BB0_2:\n"
                         " ret;\n"
                         "}\n";

/// The real driver, where there is one with a GPU; skipped with a notice
/// elsewhere.
class CudaGpu : public ::testing::Test {
protected:
  void SetUp() override {
    setDriverPathForTesting(nullptr);
    plan = Plan();
    int count = 0;
    Status s = take(kiln_cuda_init(&count));
    if (s.code != KILN_OK) {
      std::printf("[   NOTE   ] no CUDA GPU here (%s): skipped\n",
                  s.message.c_str());
      GTEST_SKIP() << s.message;
    }
  }
  void TearDown() override { setDriverPathForTesting(nullptr); }
};

TEST_F(CudaGpu, RunsAPtxKernel) {
  plan.image = kAddOnePtx;
  plan.jitLevel = 3;
  std::vector<float> y;
  Status s = runModel(&y);
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  for (int i = 0; i < kN; ++i)
    EXPECT_EQ(y[i], i + 1.0f);
  // The same image through mgpuModuleLoad (the driver takes PTX there too).
  plan.jitLevel = -1;
  s = runModel(&y);
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  EXPECT_EQ(y[7], 8.0f);
}

TEST_F(CudaGpu, ErrorsOfTheRealDriver) {
  plan.image = kAddOnePtx;
  plan.kernel = "no_such_kernel";
  Status s = runModel();
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_EQ(s.message, "main: mgpuModuleGetFunction: cuModuleGetFunction "
                       "failed: CUDA_ERROR_NOT_FOUND: named symbol not found "
                       "(kernel 'no_such_kernel')");
  plan.kernel = "add_one";
  plan.image = "not a module";
  s = runModel();
  EXPECT_EQ(s.code, KILN_DEVICE_ERROR);
  EXPECT_NE(s.message.find("main: mgpuModuleLoad: cuModuleLoadDataEx failed: "),
            std::string::npos)
      << s.message;
  // A good run afterwards.
  plan.image = kAddOnePtx;
  std::vector<float> y;
  s = runModel(&y);
  ASSERT_EQ(s.code, KILN_OK) << s.message;
  EXPECT_EQ(y[0], 1.0f);
}

} // namespace
