//===- ukernel_matmul_bench.cpp - times the matmul micro-kernels ----------===//
//
// kiln-bench-ukernels [--runs N] [--threads 1,2] [--all] [FILTER]: median
// and best GFLOP/s (2 M N K / time) of the matmul micro-kernels over N calls
// (default 10) after a warm-up, for each thread count. FILTER keeps the cases
// whose name contains it; --all adds the secondary cases (transposed or
// pre-packed B, small M). Compare with numpy (OpenBLAS):
//
//   OPENBLAS_NUM_THREADS=2 python3 -c 'import numpy as np, time; ...'
//
//===----------------------------------------------------------------------===//

#include "matmul_pack.h"
#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

namespace {

enum class Kind { F32, F32TransB, F32Packed, Bf16 };

struct Case {
  const char *name;
  Kind kind;
  int64_t m, n, k;
  bool secondary;
};

const Case kCases[] = {
    {"f32 1024x1024x1024", Kind::F32, 1024, 1024, 1024, false},
    {"f32 2048x2048x2048", Kind::F32, 2048, 2048, 2048, false},
    {"f32 M128 K768 N3072", Kind::F32, 128, 3072, 768, false},
    {"f32 M1 K4096 N4096", Kind::F32, 1, 4096, 4096, false},
    {"bf16 2048x2048x2048", Kind::Bf16, 2048, 2048, 2048, false},
    {"f32 B^T 1024x1024x1024", Kind::F32TransB, 1024, 1024, 1024, true},
    {"f32 B^T M128 K768 N3072", Kind::F32TransB, 128, 3072, 768, true},
    {"f32 B^T M1 K4096 N4096", Kind::F32TransB, 1, 4096, 4096, true},
    {"f32 packed M128 K768 N3072", Kind::F32Packed, 128, 3072, 768, true},
    {"f32 packed M1 K4096 N4096", Kind::F32Packed, 1, 4096, 4096, true},
    {"f32 packed M4 K4096 N4096", Kind::F32Packed, 4, 4096, 4096, true},
    {"f32 M4 K4096 N4096", Kind::F32, 4, 4096, 4096, true},
    {"f32 M14 K4096 N4096", Kind::F32, 14, 4096, 4096, true},
    {"f32 M8 K4096 N4096", Kind::F32, 8, 4096, 4096, true},
    {"f32 M12 K4096 N4096", Kind::F32, 12, 4096, 4096, true},
    {"f32 M16 K4096 N4096", Kind::F32, 16, 4096, 4096, true},
    {"f32 M24 K4096 N4096", Kind::F32, 24, 4096, 4096, true},
    {"f32 M32 K4096 N4096", Kind::F32, 32, 4096, 4096, true},
    {"f32 M1 K768 N3072", Kind::F32, 1, 3072, 768, true},
    {"bf16 1024x1024x1024", Kind::Bf16, 1024, 1024, 1024, true},
    {"bf16 M128 K768 N3072", Kind::Bf16, 128, 3072, 768, true},
    {"bf16 M1 K4096 N4096", Kind::Bf16, 1, 4096, 4096, true},
    {"bf16 B^T M1 K4096 N4096", Kind::Bf16, 1, 4096, 4096, true},
};

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

struct Timing {
  double median, best; // seconds
};

Timing timeRuns(const std::function<void()> &run, int runs) {
  run(); // warm-up: caches, scratch buffers, the pool's threads
  run();
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    run();
    auto t1 = std::chrono::steady_clock::now();
    times.push_back(std::chrono::duration<double>(t1 - t0).count());
  }
  std::sort(times.begin(), times.end());
  return {times[times.size() / 2], times.front()};
}

/// GFLOP/s of the case: median and best.
std::pair<double, double> benchCase(const Case &c, int runs) {
  const int64_t m = c.m, n = c.n, k = c.k;
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(size_t(m * k)), b(size_t(k * n)), out(size_t(m * n));
  for (float &x : a)
    x = dist(rng);
  for (float &x : b)
    x = dist(rng);
  std::function<void()> run;
  std::vector<uint16_t> a16, b16;
  std::vector<float> packed;
  switch (c.kind) {
  case Kind::F32:
    run = [&] {
      kiln_uk_matmul_f32(a.data(), 1, m, k, m * k, k, 1, b.data(), 1, k, n,
                         k * n, n, 1, 0, out.data(), 1, m, n, m * n, n, 1);
    };
    break;
  case Kind::F32TransB: // b holds B^T ([N, K])
    run = [&] {
      kiln_uk_matmul_f32(a.data(), 1, m, k, m * k, k, 1, b.data(), 1, k, n,
                         k * n, 1, k, 0, out.data(), 1, m, n, m * n, n, 1);
    };
    break;
  case Kind::F32Packed:
    packed.resize(size_t(kiln_uk_matmul_packed_size(k, n)));
    kiln_uk_matmul_pack_b_f32(b.data(), k, n, n, 1, packed.data());
    run = [&] {
      kiln_uk_matmul_packed_f32(a.data(), 1, m, k, m * k, k, 1, packed.data(),
                                int64_t(packed.size()), 1, k, n, 0, out.data(),
                                1, m, n, m * n, n, 1);
    };
    break;
  case Kind::Bf16: {
    a16.resize(a.size());
    b16.resize(b.size());
    for (size_t i = 0; i < a.size(); ++i)
      a16[i] = toBf16(a[i]);
    for (size_t i = 0; i < b.size(); ++i)
      b16[i] = toBf16(b[i]);
    bool transB = std::strstr(c.name, "B^T") != nullptr;
    run = [&, transB] {
      kiln_uk_matmul_bf16(a16.data(), 1, m, k, m * k, k, 1, b16.data(), 1, k, n,
                          k * n, transB ? 1 : n, transB ? k : 1, 0, out.data(),
                          1, m, n, m * n, n, 1);
    };
    break;
  }
  }
  Timing t = timeRuns(run, runs);
  double flop = 2.0 * double(m) * double(n) * double(k);
  return {flop / t.median * 1e-9, flop / t.best * 1e-9};
}

} // namespace

int main(int argc, char **argv) {
  int runs = 10;
  std::vector<int> threads = {1, 2};
  bool all = false;
  std::string filter;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--runs" && i + 1 < argc) {
      runs = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--threads" && i + 1 < argc) {
      threads.clear();
      for (const char *s = argv[++i]; *s;) {
        threads.push_back(std::atoi(s));
        while (*s && *s != ',')
          ++s;
        if (*s == ',')
          ++s;
      }
    } else if (arg == "--all") {
      all = true;
    } else if (arg == "-h" || arg == "--help") {
      std::printf("usage: %s [--runs N] [--threads 1,2] [--all] [FILTER]\n",
                  argv[0]);
      return 0;
    } else {
      filter = arg;
    }
  }
  std::printf("%-30s", "GFLOP/s: median (best)");
  for (int t : threads)
    std::printf(" %13d thr", t);
  std::printf("\n");
  for (const Case &c : kCases) {
    if ((c.secondary && !all && filter.empty()) ||
        (!filter.empty() && !std::strstr(c.name, filter.c_str())))
      continue;
    std::printf("%-30s", c.name);
    std::fflush(stdout);
    for (int t : threads) {
      kiln_context *ctx = nullptr;
      if (kiln_status *s = kiln_context_create(t, &ctx)) {
        std::fprintf(stderr, "cannot create a context of %d threads\n", t);
        kiln_status_free(s);
        return 1;
      }
      kiln::rt::setCurrentContext(ctx);
      std::pair<double, double> gflops = benchCase(c, runs);
      kiln::rt::setCurrentContext(nullptr);
      kiln_context_destroy(ctx);
      std::printf(" %9.1f (%5.1f)", gflops.first, gflops.second);
      std::fflush(stdout);
    }
    std::printf("\n");
  }
  return 0;
}
