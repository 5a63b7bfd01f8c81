//===- threadpool.cpp - the thread pool behind kiln_rt_parallel_for -------===//
//
// Generated code calls kiln_rt_parallel_for once per parallel kernel, often
// thousands of times per model run, so waking workers must cost little:
// workers spin on a job counter for a while before they sleep, and the
// calling thread takes part in every job. Workers join a job explicitly;
// once the items are all taken the caller closes it and waits only for the
// workers that joined, so a worker the OS has not scheduled yet (a busy
// machine) never holds a job up: the items it would have run were run by
// the others.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <mutex>
#include <new>
#include <thread>
#include <unistd.h>
#include <vector>

using namespace kiln::rt;

using TaskFn = void (*)(void *, int64_t, int64_t);

struct kiln_context {
  int numThreads = 1;
  std::vector<std::thread> workers;

  // The current job; written before `generation` is bumped (release).
  std::atomic<uint64_t> generation{0};
  std::atomic<int64_t> next{0};
  int64_t count = 0;
  int64_t grain = 1;
  TaskFn task = nullptr;
  void *captures = nullptr;
  // Joining: (job generation << 32) | closed << 31 | workers that joined.
  std::atomic<uint64_t> entry{0};
  std::atomic<int> finished{0};
  static constexpr uint64_t kClosed = uint64_t(1) << 31;

  std::mutex mutex;
  std::condition_variable wake;
  int sleepers = 0;
  bool stop = false;

  // One job at a time per pool; a second thread runs its loops inline.
  std::mutex jobMutex;

  void runShare() {
    int64_t i;
    while ((i = next.fetch_add(grain, std::memory_order_relaxed)) < count)
      task(captures, i, std::min(i + grain, count));
  }

  void workerLoop();
};

namespace {
thread_local kiln_context *tlsContext = nullptr;
thread_local bool tlsIsWorker = false;

inline void cpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}
} // namespace

kiln_context *kiln::rt::currentContext() { return tlsContext; }
void kiln::rt::setCurrentContext(kiln_context *context) {
  tlsContext = context;
}

void kiln_context::workerLoop() {
  tlsIsWorker = true;
  uint64_t seen = 0;
  for (;;) {
    // Spin for a while (about a millisecond), then sleep.
    bool got = false;
    for (int spin = 0; spin < 20000; ++spin) {
      if (generation.load(std::memory_order_acquire) != seen) {
        got = true;
        break;
      }
      cpuRelax();
    }
    if (!got) {
      std::unique_lock<std::mutex> lock(mutex);
      ++sleepers;
      wake.wait(lock, [&] {
        return stop || generation.load(std::memory_order_acquire) != seen;
      });
      --sleepers;
      if (stop)
        return;
    }
    seen = generation.load(std::memory_order_acquire);
    // Join the job unless it is closed or already another one.
    uint64_t v = entry.load(std::memory_order_acquire);
    while ((v >> 32) == (seen & 0xffffffff) && !(v & kClosed)) {
      if (entry.compare_exchange_weak(v, v + 1, std::memory_order_acq_rel)) {
        runShare();
        finished.fetch_add(1, std::memory_order_release);
        break;
      }
    }
  }
}

extern "C" kiln_status *kiln_context_create(int numThreads,
                                            kiln_context **out) {
  if (!out)
    return error(KILN_INVALID_ARGUMENT, "kiln_context_create: out is NULL");
  *out = nullptr;
  if (numThreads < 0 || numThreads > 1024)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_context_create: %d threads is out of range [0, 1024]",
                 numThreads);
  if (numThreads == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    numThreads = n > 0 ? static_cast<int>(std::min<long>(n, 1024)) : 1;
  }
  auto *ctx = new (std::nothrow) kiln_context();
  if (!ctx)
    return error(KILN_OUT_OF_MEMORY, "kiln_context_create: out of memory");
  ctx->numThreads = numThreads;
  try {
    for (int i = 1; i < numThreads; ++i)
      ctx->workers.emplace_back([ctx] { ctx->workerLoop(); });
  } catch (...) {
    kiln_context_destroy(ctx);
    return error(KILN_INTERNAL, "kiln_context_create: cannot start threads");
  }
  *out = ctx;
  return nullptr;
}

extern "C" int kiln_context_num_threads(const kiln_context *context) {
  return context ? context->numThreads : 1;
}

extern "C" void kiln_context_destroy(kiln_context *context) {
  if (!context)
    return;
  {
    std::lock_guard<std::mutex> lock(context->mutex);
    context->stop = true;
  }
  context->wake.notify_all();
  for (std::thread &t : context->workers)
    t.join();
  delete context;
}

extern "C" void kiln_rt_parallel_for(int64_t count, TaskFn task,
                                     void *captures) {
  if (count <= 0)
    return;
  kiln_context *ctx = tlsContext;
  if (!ctx || ctx->numThreads <= 1 || count == 1 || tlsIsWorker ||
      !ctx->jobMutex.try_lock()) {
    task(captures, 0, count);
    return;
  }
  ctx->count = count;
  ctx->task = task;
  ctx->captures = captures;
  ctx->grain = std::max<int64_t>(1, count / (int64_t(ctx->numThreads) * 8));
  ctx->next.store(0, std::memory_order_relaxed);
  ctx->finished.store(0, std::memory_order_relaxed);
  uint64_t gen = ctx->generation.load(std::memory_order_relaxed) + 1;
  ctx->entry.store((gen & 0xffffffff) << 32, std::memory_order_release);
  ctx->generation.store(gen, std::memory_order_release);
  {
    std::lock_guard<std::mutex> lock(ctx->mutex);
    if (ctx->sleepers > 0)
      ctx->wake.notify_all();
  }
  ctx->runShare();
  // Every item is taken: close the job and wait for the workers that
  // joined it to finish theirs.
  uint64_t joined =
      ctx->entry.fetch_or(kiln_context::kClosed, std::memory_order_acq_rel) &
      (kiln_context::kClosed - 1);
  for (int spin = 0;
       ctx->finished.load(std::memory_order_acquire) != int(joined); ++spin) {
    if (spin < 4096)
      cpuRelax();
    else
      std::this_thread::yield();
  }
  ctx->jobMutex.unlock();
}
