//===- MatmulUkernelTest.cpp - the matmul micro-kernels against a reference
//===//
//
// Every case runs the kernel on operands laid out as the case says (strides,
// transposes, padding, broadcast batches) and compares each element of C
// with a double-precision reference computed from the same (for bf16:
// bf16-rounded) inputs, with a tolerance proportional to K. C starts as NaN
// unless the case accumulates (so a kernel that reads C when it should not
// fails), and the padding around C's elements must stay untouched. Cases run
// on 1 and 2 threads, and the common ones also on the portable fallbacks.
//
//===----------------------------------------------------------------------===//

#include "matmul_pack.h"
#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

// Exported by the runtime for these tests (see matmul.cpp): caps the ISA the
// kernels use (0: portable, 1: AVX-512 without bf16, 2: everything, -1: the
// CPU's) and returns the CPU's.
extern "C" int kiln_uk_matmul_limit_isa_for_testing(int isa);

namespace {

enum class Kind { F32, F32Bias, Bf16, Packed, PackedBias };

struct Case {
  int64_t m, n, k;
  Kind kind = Kind::F32;
  int64_t batch = 1, aBatch = 1, bBatch = 1;
  bool transA = false, transB = false;     // A stored [K, M], B stored [N, K]
  int64_t aStep = 1, bStep = 1, cStep = 1; // stride of the inner dimension
  int64_t aPad = 0, bPad = 0, cPad = 0;    // extra elements per outer row
  int64_t batchPad = 0;                    // extra elements per batch
  int64_t biasStride = 1;                  // 0: one value broadcast
  int act = KILN_UK_ACT_NONE;
  bool accumulate = false;
  float range = 1.0f; // inputs uniform in [-range, range]
  /// Pass B as the [N, K] buffer (its sizes and strides in that order) with
  /// KILN_UK_TRANSPOSE_B rather than as a strided [K, N] view.
  bool transposeFlag = false;

  std::string str() const {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "kind=%d M=%lld N=%lld K=%lld batch=%lld/%lld/%lld "
                  "transA=%d transB=%d steps=%lld/%lld/%lld act=%d acc=%d",
                  int(kind), (long long)m, (long long)n, (long long)k,
                  (long long)batch, (long long)aBatch, (long long)bBatch,
                  transA, transB, (long long)aStep, (long long)bStep,
                  (long long)cStep, act, accumulate);
    return buf;
  }
};

uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}
float fromBf16(uint16_t h) {
  uint32_t u = uint32_t(h) << 16;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

double activate(double x, int act) {
  switch (act) {
  case KILN_UK_ACT_RELU:
    return x > 0 ? x : 0;
  case KILN_UK_ACT_GELU_ERF:
    return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  case KILN_UK_ACT_GELU_TANH: // x (1 + tanh u) / 2 without cancellation
    return x / (1 + std::exp(-2 * std::sqrt(2 / M_PI) *
                             (x + 0.044715 * x * x * x)));
  case KILN_UK_ACT_SILU:
    return x / (1 + std::exp(-x));
  default:
    return x;
  }
}

/// A strided 3-D operand: element (b, i, j) at data[b * sb + i * si + j * sj].
struct Strided {
  int64_t sb, si, sj, size;
};

/// Rows x cols per batch, stored transposed or not, with the case's step
/// (inner stride) and padding.
Strided layout(int64_t batches, int64_t rows, int64_t cols, bool trans,
               int64_t step, int64_t pad, int64_t batchPad) {
  Strided s;
  int64_t outer = trans ? cols : rows, inner = trans ? rows : cols;
  int64_t outerStride = inner * step + pad;
  s.sb = outer * outerStride + batchPad;
  s.si = trans ? step : outerStride;
  s.sj = trans ? outerStride : step;
  s.size = batches * s.sb + 1;
  return s;
}

constexpr float kGap = 12345.0f; // what C's padding holds

/// Runs one case on the current context and checks it (failures through
/// gtest).
void runCase(const Case &cs, uint32_t seed = 1) {
  SCOPED_TRACE(cs.str());
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-cs.range, cs.range);
  const bool bf16 = cs.kind == Kind::Bf16;
  const bool hasBias = cs.kind == Kind::F32Bias || cs.kind == Kind::PackedBias;
  auto value = [&] {
    float x = dist(rng);
    return bf16 ? fromBf16(toBf16(x)) : x;
  };

  Strided la =
      layout(cs.aBatch, cs.m, cs.k, cs.transA, cs.aStep, cs.aPad, cs.batchPad);
  Strided lb =
      layout(cs.bBatch, cs.k, cs.n, cs.transB, cs.bStep, cs.bPad, cs.batchPad);
  Strided lc = layout(cs.batch, cs.m, cs.n, false, cs.cStep, cs.cPad, 0);
  std::vector<float> a(size_t(la.size), 0.0f), b(size_t(lb.size), 0.0f);
  for (int64_t x = 0; x < cs.aBatch; ++x)
    for (int64_t i = 0; i < cs.m; ++i)
      for (int64_t k = 0; k < cs.k; ++k)
        a[x * la.sb + i * la.si + k * la.sj] = value();
  for (int64_t x = 0; x < cs.bBatch; ++x)
    for (int64_t k = 0; k < cs.k; ++k)
      for (int64_t j = 0; j < cs.n; ++j)
        b[x * lb.sb + k * lb.si + j * lb.sj] = value();
  std::vector<float> bias(size_t(cs.n * std::max<int64_t>(cs.biasStride, 1)));
  for (float &x : bias)
    x = dist(rng);
  std::vector<float> c(size_t(lc.size), kGap), cOld;
  for (int64_t x = 0; x < cs.batch; ++x)
    for (int64_t i = 0; i < cs.m; ++i)
      for (int64_t j = 0; j < cs.n; ++j)
        c[x * lc.sb + i * lc.si + j * lc.sj] =
            cs.accumulate ? dist(rng) : std::nanf("");
  cOld = c;

  const int64_t flags = (cs.accumulate ? KILN_UK_ACCUMULATE : 0) |
                        (cs.transposeFlag ? KILN_UK_TRANSPOSE_B : 0) |
                        (int64_t(cs.act) << KILN_UK_ACT_SHIFT);
  // B's sizes and strides as passed: [K, N], or [N, K] with the flag.
  const int64_t bD0 = cs.transposeFlag ? cs.n : cs.k;
  const int64_t bD1 = cs.transposeFlag ? cs.k : cs.n;
  const int64_t bS0 = cs.transposeFlag ? lb.sj : lb.si;
  const int64_t bS1 = cs.transposeFlag ? lb.si : lb.sj;
  const int64_t aSB = cs.aBatch == 1 ? 0 : la.sb;
  const int64_t bSB = cs.bBatch == 1 ? 0 : lb.sb;
  const int64_t biasN = cs.biasStride == 0 ? 1 : cs.n;
  switch (cs.kind) {
  case Kind::F32:
    kiln_uk_matmul_f32(a.data(), cs.aBatch, cs.m, cs.k, aSB, la.si, la.sj,
                       b.data(), cs.bBatch, bD0, bD1, bSB, bS0, bS1, flags,
                       c.data(), cs.batch, cs.m, cs.n, lc.sb, lc.si, lc.sj);
    break;
  case Kind::F32Bias:
    kiln_uk_matmul_bias_f32(a.data(), cs.aBatch, cs.m, cs.k, aSB, la.si, la.sj,
                            b.data(), cs.bBatch, bD0, bD1, bSB, bS0, bS1,
                            bias.data(), biasN, cs.biasStride, flags, c.data(),
                            cs.batch, cs.m, cs.n, lc.sb, lc.si, lc.sj);
    break;
  case Kind::Bf16: {
    std::vector<uint16_t> a16(a.size()), b16(b.size());
    for (size_t i = 0; i < a.size(); ++i)
      a16[i] = toBf16(a[i]);
    for (size_t i = 0; i < b.size(); ++i)
      b16[i] = toBf16(b[i]);
    kiln_uk_matmul_bf16(a16.data(), cs.aBatch, cs.m, cs.k, aSB, la.si, la.sj,
                        b16.data(), cs.bBatch, bD0, bD1, bSB, bS0, bS1, flags,
                        c.data(), cs.batch, cs.m, cs.n, lc.sb, lc.si, lc.sj);
    break;
  }
  case Kind::Packed:
  case Kind::PackedBias: {
    ASSERT_EQ(cs.bBatch, 1) << "a packed B is shared by all batches";
    std::vector<float> pb(size_t(kiln_uk_matmul_packed_size(cs.k, cs.n)),
                          std::nanf(""));
    kiln_uk_matmul_pack_b_f32(b.data(), cs.k, cs.n, lb.si, lb.sj, pb.data());
    if (cs.kind == Kind::Packed)
      kiln_uk_matmul_packed_f32(a.data(), cs.aBatch, cs.m, cs.k, aSB, la.si,
                                la.sj, pb.data(), int64_t(pb.size()), 1, cs.k,
                                cs.n, flags, c.data(), cs.batch, cs.m, cs.n,
                                lc.sb, lc.si, lc.sj);
    else
      kiln_uk_matmul_packed_bias_f32(
          a.data(), cs.aBatch, cs.m, cs.k, aSB, la.si, la.sj, pb.data(),
          int64_t(pb.size()), 1, cs.k, cs.n, bias.data(), biasN, cs.biasStride,
          flags, c.data(), cs.batch, cs.m, cs.n, lc.sb, lc.si, lc.sj);
    break;
  }
  }

  // Compare.
  int bad = 0;
  std::vector<bool> logical(c.size(), false);
  for (int64_t x = 0; x < cs.batch && bad < 5; ++x) {
    const float *ab = a.data() + (cs.aBatch == 1 ? 0 : x * la.sb);
    const float *bb = b.data() + (cs.bBatch == 1 ? 0 : x * lb.sb);
    for (int64_t i = 0; i < cs.m && bad < 5; ++i) {
      for (int64_t j = 0; j < cs.n && bad < 5; ++j) {
        double dot = 0, absDot = 0;
        for (int64_t k = 0; k < cs.k; ++k) {
          double p = double(ab[i * la.si + k * la.sj]) *
                     double(bb[k * lb.si + j * lb.sj]);
          dot += p;
          absDot += std::fabs(p);
        }
        double bj = hasBias ? bias[size_t(j * cs.biasStride)] : 0.0;
        size_t at = size_t(x * lc.sb + i * lc.si + j * lc.sj);
        logical[at] = true;
        double old = cs.accumulate ? double(cOld[at]) : 0.0;
        double ref = activate(dot + bj, cs.act) + old;
        // fp32 accumulation over K (and bias, C, activation) rounding.
        double tol = 2.5e-7 * double(cs.k + 8) * (absDot + std::fabs(bj)) +
                     1e-6 * (std::fabs(ref) + std::fabs(old)) + 1e-30;
        double got = c[at];
        if (!(std::fabs(got - ref) <= tol)) {
          ADD_FAILURE() << "C[" << x << "][" << i << "][" << j << "] = " << got
                        << ", expected " << ref << " (tolerance " << tol << ")";
          ++bad;
        }
      }
    }
  }
  for (size_t i = 0; i < c.size() && bad < 5; ++i) {
    if (!logical[i] && !(c[i] == kGap)) {
      ADD_FAILURE() << "C's padding at " << i << " was overwritten: " << c[i];
      ++bad;
    }
  }
}

/// Runs `body` on a context of `threads` threads (the kernels' pool).
void withThreads(int threads, const std::function<void()> &body) {
  kiln_context *ctx = nullptr;
  kiln_status *status = kiln_context_create(threads, &ctx);
  ASSERT_EQ(status, nullptr);
  kiln::rt::setCurrentContext(ctx);
  body();
  kiln::rt::setCurrentContext(nullptr);
  kiln_context_destroy(ctx);
}

/// Each ISA the CPU has, from the best down to the portable one.
std::vector<int> isas() {
  int best = kiln_uk_matmul_limit_isa_for_testing(-1);
  std::vector<int> out;
  for (int isa = best; isa >= 0; --isa)
    out.push_back(isa);
  return out;
}

/// Runs the cases on 1 and 2 threads, on every ISA if `allIsas`.
void runCases(const std::vector<Case> &cases, bool allIsas) {
  for (int isa : allIsas ? isas() : std::vector<int>{-1}) {
    SCOPED_TRACE("isa " + std::to_string(isa));
    kiln_uk_matmul_limit_isa_for_testing(isa);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      withThreads(threads, [&] {
        for (const Case &c : cases)
          runCase(c);
      });
    }
  }
  kiln_uk_matmul_limit_isa_for_testing(-1);
}

std::vector<Case> shapes(Kind kind) {
  std::vector<Case> out;
  const int64_t dims[][3] = {{1, 1, 1},     {17, 33, 65},    {3, 5, 7},
                             {14, 32, 256}, {15, 33, 257},   {1, 300, 700},
                             {2, 100, 50},  {3, 77, 33},     {4, 257, 300},
                             {5, 64, 9},    {13, 47, 130},   {64, 64, 64},
                             {29, 65, 513}, {130, 70, 1030}, {1, 1, 2049},
                             {2, 2, 3},     {40, 16, 1},     {1, 4100, 64}};
  for (auto &d : dims) {
    Case c;
    c.m = d[0];
    c.n = d[1];
    c.k = d[2];
    c.kind = kind;
    out.push_back(c);
  }
  return out;
}

TEST(MatmulUkernel, ShapesF32) { runCases(shapes(Kind::F32), true); }

TEST(MatmulUkernel, ShapesBf16) { runCases(shapes(Kind::Bf16), true); }

TEST(MatmulUkernel, ShapesPacked) { runCases(shapes(Kind::Packed), true); }

// KILN_UK_TRANSPOSE_B: B given as the [N, K] buffer torch Linear weights
// are, for decode-sized and prefill-sized products, with bias, activation,
// residual and batches.
TEST(MatmulUkernel, TransposeFlag) {
  std::vector<Case> cases;
  const int64_t dims[][3] = {{1, 300, 700}, {1, 33, 65},   {3, 64, 128},
                             {5, 77, 33},   {17, 40, 260}, {130, 70, 300}};
  for (Kind kind : {Kind::F32, Kind::F32Bias, Kind::Bf16})
    for (auto &d : dims) {
      Case c;
      c.m = d[0];
      c.n = d[1];
      c.k = d[2];
      c.kind = kind;
      c.transB = true;
      c.transposeFlag = true;
      cases.push_back(c);
    }
  Case e{1, 96, 64, Kind::F32Bias};
  e.transB = e.transposeFlag = true;
  e.act = KILN_UK_ACT_SILU;
  e.accumulate = true;
  cases.push_back(e);
  Case b{4, 24, 40, Kind::F32};
  b.batch = b.aBatch = b.bBatch = 3;
  b.transB = b.transposeFlag = true;
  cases.push_back(b);
  // The flag with a B that is not K-contiguous (padding and steps).
  Case s{2, 19, 23, Kind::F32};
  s.transB = s.transposeFlag = true;
  s.bStep = 2;
  s.bPad = 5;
  cases.push_back(s);
  runCases(cases, true);
}

TEST(MatmulUkernel, Large) {
  std::vector<Case> cases;
  for (Kind kind : {Kind::F32, Kind::Bf16}) {
    Case c;
    c.m = 300;
    c.n = 500;
    c.k = 700;
    c.kind = kind;
    cases.push_back(c);
  }
  for (Kind kind : {Kind::F32, Kind::Bf16}) {
    Case c; // several K blocks (K > KC, also in bf16 pairs)
    c.m = 100;
    c.n = 200;
    c.k = 2100;
    c.kind = kind;
    cases.push_back(c);
  }
  Case wide; // several B~ blocks (N > NC)
  wide.m = 20;
  wide.n = 4200;
  wide.k = 30;
  cases.push_back(wide);
  Case tall; // several A~ blocks (M > MCO)
  tall.m = 2100;
  tall.n = 40;
  tall.k = 20;
  tall.kind = Kind::F32Bias;
  tall.act = KILN_UK_ACT_GELU_TANH;
  cases.push_back(tall);
  runCases(cases, false);
}

TEST(MatmulUkernel, EmptyK) {
  std::vector<Case> cases;
  for (Kind kind : {Kind::F32, Kind::F32Bias, Kind::Bf16, Kind::Packed}) {
    for (bool acc : {false, true}) {
      Case c;
      c.m = 5;
      c.n = 37;
      c.k = 0;
      c.kind = kind;
      c.accumulate = acc;
      c.act = acc ? KILN_UK_ACT_SILU : KILN_UK_ACT_NONE;
      cases.push_back(c);
    }
  }
  runCases(cases, true);
}

TEST(MatmulUkernel, Strides) {
  std::vector<Case> cases;
  const int64_t dims[][3] = {{1, 100, 64},  {3, 40, 50},   {4, 70, 33},
                             {9, 45, 300},  {37, 70, 260}, {128, 96, 64},
                             {2, 2000, 300}};
  for (Kind kind : {Kind::F32, Kind::Bf16}) {
    for (auto &d : dims) {
      for (int variant = 0; variant < 6; ++variant) {
        Case c;
        c.m = d[0];
        c.n = d[1];
        c.k = d[2];
        c.kind = kind;
        switch (variant) {
        case 0: // B transposed ([N, K], torch Linear weights)
          c.transB = true;
          break;
        case 1: // A transposed
          c.transA = true;
          break;
        case 2: // both, padded
          c.transA = c.transB = true;
          c.aPad = 3;
          c.bPad = 5;
          break;
        case 3: // non-unit inner strides everywhere
          c.aStep = 2;
          c.bStep = 3;
          c.cStep = 2;
          break;
        case 4: // padded rows
          c.aPad = 7;
          c.bPad = 1;
          c.cPad = 9;
          break;
        case 5: // transposed B with a non-unit stride, C strided
          c.transB = true;
          c.bStep = 2;
          c.cStep = 3;
          c.act = KILN_UK_ACT_RELU;
          break;
        }
        cases.push_back(c);
      }
    }
  }
  runCases(cases, false);
  // The portable code on a few.
  std::vector<Case> few = {cases[0], cases[3], cases[13], cases[20]};
  runCases(few, true);
}

TEST(MatmulUkernel, ZeroStrideBroadcast) {
  // Every row of A the same row (stride 0), B's columns all alike.
  std::vector<float> a(64), b(64 * 3), c(7 * 3, 0.0f);
  for (int i = 0; i < 64; ++i)
    a[i] = float(i % 5) - 2.0f;
  for (int i = 0; i < 64 * 3; ++i)
    b[i] = float(i % 3);
  for (int threads : {1, 2}) {
    withThreads(threads, [&] {
      kiln_uk_matmul_f32(a.data(), 1, 7, 64, 0, 0, 1, b.data(), 1, 64, 3, 0, 3,
                         1, 0, c.data(), 1, 7, 3, 21, 3, 1);
      for (int i = 0; i < 7; ++i)
        for (int j = 0; j < 3; ++j) {
          double ref = 0;
          for (int k = 0; k < 64; ++k)
            ref += double(a[k]) * b[k * 3 + j];
          EXPECT_EQ(c[i * 3 + j], float(ref)) << i << "," << j;
        }
    });
  }
}

TEST(MatmulUkernel, Batches) {
  std::vector<Case> cases;
  for (Kind kind : {Kind::F32, Kind::F32Bias, Kind::Bf16, Kind::Packed}) {
    const int64_t dims[][3] = {
        {1, 70, 40}, {3, 20, 30}, {33, 50, 70}, {100, 130, 80}};
    for (auto &d : dims) {
      for (int variant = 0; variant < 5; ++variant) {
        Case c;
        c.m = d[0];
        c.n = d[1];
        c.k = d[2];
        c.kind = kind;
        switch (variant) {
        case 0: // weights shared: folded into M
          c.batch = c.aBatch = 3;
          break;
        case 1: // weights shared, A's batches apart: not folded
          c.batch = c.aBatch = 3;
          c.batchPad = 5;
          break;
        case 2: // A shared
          c.batch = c.bBatch = 3;
          break;
        case 3: // nothing shared, many batches (spread over the pool)
          c.batch = c.aBatch = c.bBatch = 8;
          break;
        case 4: // nothing shared, accumulate
          c.batch = c.aBatch = c.bBatch = 2;
          c.accumulate = true;
          break;
        }
        if (kind == Kind::Packed && c.bBatch != 1)
          continue;
        cases.push_back(c);
      }
    }
  }
  runCases(cases, false);
}

TEST(MatmulUkernel, EpilogueF32) {
  std::vector<Case> cases;
  const int64_t dims[][3] = {{1, 300, 600}, {3, 33, 20},   {4, 70, 700},
                             {9, 40, 20},   {20, 50, 40},  {70, 90, 600},
                             {1, 5, 3},     {16, 1000, 5}, {2, 64, 300}};
  for (Kind kind : {Kind::F32Bias, Kind::PackedBias, Kind::Bf16}) {
    for (auto &d : dims) {
      for (int act = KILN_UK_ACT_NONE; act <= KILN_UK_ACT_SILU; ++act) {
        for (bool acc : {false, true}) {
          Case c;
          c.m = d[0];
          c.n = d[1];
          c.k = d[2];
          c.kind = kind;
          c.act = act;
          c.accumulate = acc;
          c.range = 0.3f; // A B around +-(0.3^2 sqrt K): all of GELU's shape
          c.biasStride = (act % 3 == 0) ? 2 : (act == 1 ? 0 : 1);
          if (act == KILN_UK_ACT_GELU_ERF)
            c.transB = acc; // the dot kernels' epilogue too
          cases.push_back(c);
        }
      }
    }
  }
  runCases(cases, false);
  std::vector<Case> few;
  for (size_t i = 0; i < cases.size(); i += 7)
    few.push_back(cases[i]);
  runCases(few, true);
}

/// The activations on their own, against double precision, with a tight
/// tolerance: C = act(A B + 0) with K = 1, A = 1.
TEST(MatmulUkernel, ActivationAccuracy) {
  std::vector<float> xs;
  for (double x = -30; x <= 30; x += 0.01)
    xs.push_back(float(x));
  for (float x : {0.0f, -0.0f, 1e-30f, -1e-30f, 1e-6f, -1e-6f, 88.0f, 100.0f,
                  -100.0f, 1e20f, -1e20f})
    xs.push_back(x);
  const int64_t n = int64_t(xs.size());
  float one = 1.0f;
  for (int isa : isas()) {
    kiln_uk_matmul_limit_isa_for_testing(isa);
    for (int act = KILN_UK_ACT_RELU; act <= KILN_UK_ACT_SILU; ++act) {
      std::vector<float> c(xs.size());
      kiln_uk_matmul_f32(&one, 1, 1, 1, 1, 1, 1, xs.data(), 1, 1, n, n, n, 1,
                         int64_t(act) << KILN_UK_ACT_SHIFT, c.data(), 1, 1, n,
                         n, n, 1);
      double worst = 0;
      for (int64_t j = 0; j < n; ++j) {
        double x = xs[j];
        double ref = activate(x, act);
        double err = std::fabs(c[j] - ref);
        // A few ulp of the value, plus what a few ulp of x change it by
        // (GELU's tails are ill-conditioned: x f'(x) / f(x) ~ x^2), plus an
        // absolute bit for the underflowing tails.
        double cond =
            std::max(std::fabs(activate(x * (1 + 2.5e-7), act) - ref),
                     std::fabs(activate(x * (1 - 2.5e-7), act) - ref));
        double tol = 2e-6 * std::fabs(ref) + cond + 1e-37;
        EXPECT_LE(err, tol) << "isa " << isa << " act " << act << " x " << xs[j]
                            << " got " << c[j] << " ref " << ref;
        if (std::fabs(ref) > 1e-30)
          worst = std::max(worst, err / std::fabs(ref));
      }
      RecordProperty("worst_rel_error_act" + std::to_string(act) + "_isa" +
                         std::to_string(isa),
                     std::to_string(worst));
    }
  }
  kiln_uk_matmul_limit_isa_for_testing(-1);
}

TEST(MatmulUkernel, AccumulateAfterActivationOverManyKBlocks) {
  // K beyond one K block with a nonlinear activation and ACCUMULATE: the
  // partial sums cannot live in C.
  std::vector<Case> cases;
  for (Kind kind : {Kind::F32Bias, Kind::Bf16, Kind::PackedBias}) {
    for (int64_t m : {1, 7, 40}) {
      Case c;
      c.m = m;
      c.n = 45;
      c.k = 2100; // several K blocks for fp32 and bf16 pairs alike
      c.kind = kind;
      c.act = KILN_UK_ACT_GELU_ERF;
      c.accumulate = true;
      c.range = 0.1f;
      cases.push_back(c);
    }
  }
  runCases(cases, true);
}

TEST(MatmulUkernel, PackLayout) {
  // The layout matmul_pack.h documents.
  const int64_t k = 5, n = 70;
  std::vector<float> b(size_t(k * n));
  for (size_t i = 0; i < b.size(); ++i)
    b[i] = float(i + 1);
  std::vector<float> p(size_t(kiln_uk_matmul_packed_size(k, n)), -1.0f);
  ASSERT_EQ(p.size(), size_t(3 * 32 * k));
  kiln_uk_matmul_pack_b_f32(b.data(), k, n, n, 1, p.data());
  for (int64_t kk = 0; kk < k; ++kk)
    for (int64_t j = 0; j < 96; ++j) {
      float want = j < n ? b[size_t(kk * n + j)] : 0.0f;
      EXPECT_EQ(p[size_t(kiln_uk_matmul_packed_offset(k, kk, j))], want);
      EXPECT_EQ(p[size_t((j / 32) * k * 32 + kk * 32 + j % 32)], want);
    }
}

TEST(MatmulUkernel, ConcurrentCallers) {
  // Two threads calling at once (two models), each with its own context.
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t)
    threads.emplace_back([t] {
      withThreads(1 + t, [&] {
        for (int rep = 0; rep < 3; ++rep) {
          Case c;
          c.m = 90 + 13 * t;
          c.n = 77;
          c.k = 300;
          c.kind = t ? Kind::Bf16 : Kind::F32;
          runCase(c, uint32_t(rep));
        }
      });
    });
  for (auto &th : threads)
    th.join();
}

} // namespace
