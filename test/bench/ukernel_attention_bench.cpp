//===- ukernel_attention_bench.cpp - times the attention micro-kernels ----===//
//
// kiln-bench-attention [threads=2] [runs=10]: median (and min) milliseconds
// of kiln_uk_attention_f32 over `runs` timed calls after a warm-up, on
// prefill (causal or not), grouped-query and decode shapes, and the extra
// memory of one call: the most scratch (posix_memalign, counted here by
// interposing it) live at once, all threads together.
//
//===----------------------------------------------------------------------===//

#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace {

struct BenchCase {
  const char *name;
  int64_t B, Hq, Hkv, Sq, Skv, D;
  bool causal;
};

// Scratch accounting: the kernels take their scratch with posix_memalign;
// this executable interposes it (and free) to count the live bytes.
extern "C" void *__libc_memalign(size_t alignment, size_t size);
extern "C" void __libc_free(void *ptr);

std::atomic<int64_t> liveBytes{0}, peakBytes{0};
constexpr int kSlots = 4096; // open addressing, no allocation inside
std::atomic<void *> slotPtr[kSlots];
int64_t slotSize[kSlots];

size_t slotOf(void *p) {
  return (reinterpret_cast<uintptr_t>(p) >> 6) * 0x9E3779B97F4A7C15ull >> 52;
}

} // namespace

extern "C" int posix_memalign(void **out, size_t alignment, size_t size) {
  void *p = __libc_memalign(alignment, size);
  if (!p)
    return ENOMEM;
  for (size_t i = slotOf(p), n = 0; n < kSlots; ++n, i = (i + 1) % kSlots) {
    void *expected = nullptr;
    if (slotPtr[i].compare_exchange_strong(expected, p)) {
      slotSize[i] = static_cast<int64_t>(size);
      int64_t live = liveBytes += static_cast<int64_t>(size);
      int64_t peak = peakBytes.load();
      while (live > peak && !peakBytes.compare_exchange_weak(peak, live))
        ;
      break;
    }
  }
  *out = p;
  return 0;
}

extern "C" void free(void *p) {
  if (p)
    for (size_t i = slotOf(p), n = 0; n < kSlots; ++n, i = (i + 1) % kSlots) {
      void *cur = slotPtr[i].load();
      if (cur == p) {
        liveBytes -= slotSize[i];
        slotPtr[i].store(nullptr);
        break;
      }
      if (!cur)
        break;
    }
  __libc_free(p);
}

namespace {

void call(const BenchCase &c, const float *q, const float *k, const float *v,
          float *o) {
  int64_t D = c.D;
  kiln_uk_attention_f32(q, c.B, c.Hq, c.Sq, D, c.Hq * c.Sq * D, c.Sq * D, D, 1,
                        k, c.B, c.Hkv, c.Skv, D, c.Hkv * c.Skv * D, c.Skv * D,
                        D, 1, v, c.B, c.Hkv, c.Skv, D, c.Hkv * c.Skv * D,
                        c.Skv * D, D, 1, 1.0 / std::sqrt(double(D)),
                        c.causal ? KILN_UK_CAUSAL : 0, o, c.B, c.Hq, c.Sq, D,
                        c.Hq * c.Sq * D, c.Sq * D, D, 1);
}

/// FLOPs of Q K^T and P V over the visible (query, key) pairs.
double flops(const BenchCase &c) {
  double pairs = 0;
  for (int64_t i = 0; i < c.Sq; ++i)
    pairs +=
        c.causal ? std::clamp<int64_t>(i + c.Skv - c.Sq + 1, 0, c.Skv) : c.Skv;
  return 4.0 * c.B * c.Hq * pairs * c.D;
}

} // namespace

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : 2;
  int runs = argc > 2 ? std::max(1, atoi(argv[2])) : 10;
  kiln_context *ctx = nullptr;
  if (kiln_status *s = kiln_context_create(threads, &ctx)) {
    fprintf(stderr, "%s\n", kiln_status_get_message(s));
    kiln_status_free(s);
    return 1;
  }
  kiln::rt::setCurrentContext(ctx);

  const BenchCase cases[] = {
      {"prefill 1x8x2048x64", 1, 8, 8, 2048, 2048, 64, false},
      {"prefill 1x8x2048x64 causal", 1, 8, 8, 2048, 2048, 64, true},
      {"gqa 32/8 x1024x128", 1, 32, 8, 1024, 1024, 128, false},
      {"gqa 32/8 x1024x128 causal", 1, 32, 8, 1024, 1024, 128, true},
      {"decode 32 heads, 4096x128", 1, 32, 32, 1, 4096, 128, true},
      {"decode gqa 32/8, 4096x128", 1, 32, 8, 1, 4096, 128, true},
      {"decode 1 head, 4096x128", 1, 1, 1, 1, 4096, 128, true},
  };
  printf("threads %d, %d timed runs per case\n", threads, runs);
  printf("%-28s %10s %10s %9s %14s\n", "case", "median ms", "min ms", "GFLOP/s",
         "scratch KiB");
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> val(-1.f, 1.f);
  for (const BenchCase &c : cases) {
    std::vector<float> q(c.B * c.Hq * c.Sq * c.D), k(c.B * c.Hkv * c.Skv * c.D),
        v(k.size()), o(q.size());
    for (auto *t : {&q, &k, &v})
      for (float &x : *t)
        x = val(rng);
    std::fill(o.begin(), o.end(), 0.f);

    // Extra peak memory: the most scratch live at once during a call.
    peakBytes = liveBytes.load();
    int64_t base = liveBytes.load();
    call(c, q.data(), k.data(), v.data(), o.data());
    int64_t extra = peakBytes.load() - base;

    for (int w = 0; w < 2; ++w)
      call(c, q.data(), k.data(), v.data(), o.data());
    std::vector<double> ms;
    for (int r = 0; r < runs; ++r) {
      auto t0 = std::chrono::steady_clock::now();
      call(c, q.data(), k.data(), v.data(), o.data());
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    double med = ms.size() % 2
                     ? ms[ms.size() / 2]
                     : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    printf("%-28s %10.3f %10.3f %9.1f %14.1f\n", c.name, med, ms[0],
           flops(c) / (med * 1e6), extra / 1024.0);
  }
  kiln::rt::setCurrentContext(nullptr);
  kiln_context_destroy(ctx);
  return 0;
}
