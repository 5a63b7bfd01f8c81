//===- QMatmulUkernelTest.cpp - int8 / int4 matmul kernels vs a reference -===//
//
// Every case draws random quantized values, scales (and zero points), packs
// them with matmul_qpack.h, runs kiln_uk_matmul_q{8,4,4h}_f32 (4h: f16
// scales) and compares each
// element of C with a double-precision reference computed from the
// dequantized weight W[k, n] = (q - z) * s. Shapes cover decode (1-4 rows,
// the streaming path) and prefill (the dequantize-a-chunk path), N that is
// not a multiple of the 64-column panel, odd K, every group size, batches,
// strided A and C, bias, activations and accumulation. C starts as NaN
// unless the case accumulates, and C's padding must stay untouched. Cases
// run on 1 and 2 threads, with the AVX-512 and the portable kernels.
//
//===----------------------------------------------------------------------===//

#include "matmul_qpack.h"
#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

extern "C" void kiln_uk_qmatmul_limit_isa_for_testing(int isa);
extern "C" int kiln_uk_matmul_limit_isa_for_testing(int isa);

namespace {

struct QCase {
  int bits = 8;
  int64_t m, n, k;
  int64_t groups = 1; // K / group size
  int64_t batch = 1, aBatch = 1;
  bool zeroPoints = false, bias = false, accumulate = false;
  bool halfScales = false; // int4 with f16 scales (kiln_uk_matmul_q4h_f32)
  int act = KILN_UK_ACT_NONE;
  int64_t aPad = 0, cPad = 0, cStep = 1; // extra per row; C's inner stride

  std::string str() const {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "bits=%d M=%lld N=%lld K=%lld G=%lld batch=%lld/%lld zp=%d "
                  "bias=%d acc=%d act=%d f16=%d",
                  bits, (long long)m, (long long)n, (long long)k,
                  (long long)groups, (long long)batch, (long long)aBatch,
                  zeroPoints, bias, accumulate, act, halfScales);
    return buf;
  }
};

double activate(double x, int act) {
  switch (act) {
  case KILN_UK_ACT_RELU:
    return x > 0 ? x : 0;
  case KILN_UK_ACT_GELU_ERF:
    return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
  case KILN_UK_ACT_GELU_TANH:
    return x / (1 + std::exp(-2 * std::sqrt(2 / M_PI) *
                             (x + 0.044715 * x * x * x)));
  case KILN_UK_ACT_SILU:
    return x / (1 + std::exp(-x));
  default:
    return x;
  }
}

constexpr float kGap = 12345.0f;

void runCase(const QCase &cs, uint32_t seed = 7) {
  SCOPED_TRACE(cs.str());
  ASSERT_EQ(cs.k % cs.groups, 0);
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1, 1);
  const int64_t gs = cs.k / cs.groups;
  // Quantized values, row-major [K, N], and the parameters [G, N].
  std::vector<int8_t> q(size_t(cs.k * cs.n));
  std::uniform_int_distribution<int> qd(cs.bits == 8 ? -127 : 0,
                                        cs.bits == 8 ? 127 : 15);
  for (int8_t &x : q)
    x = int8_t(qd(rng));
  std::vector<float> s(size_t(cs.groups * cs.n));
  for (float &x : s)
    x = 0.01f + 0.05f * std::fabs(dist(rng));
  // f16 scales: the reference uses the values f16 holds.
  std::vector<uint16_t> sh(s.size());
  if (cs.halfScales)
    for (size_t i = 0; i < s.size(); ++i) {
      _Float16 h = static_cast<_Float16>(s[i]);
      std::memcpy(&sh[i], &h, sizeof h);
      s[i] = static_cast<float>(h);
    }
  std::vector<uint8_t> z(size_t(cs.groups * cs.n), 8);
  if (cs.zeroPoints)
    for (uint8_t &x : z)
      x = uint8_t(qd(rng));
  std::vector<uint8_t> packed(
      size_t(kiln_uk_qmatmul_packed_bytes(cs.k, cs.n, cs.bits)));
  kiln_uk_qmatmul_pack(q.data(), cs.k, cs.n, cs.bits, packed.data());
  // The layout's accessor reads back what was packed.
  for (int64_t kk = 0; kk < cs.k; kk += std::max<int64_t>(1, cs.k / 5))
    for (int64_t j = 0; j < cs.n; ++j)
      ASSERT_EQ(kiln_uk_qmatmul_get(packed.data(), cs.k, cs.bits, kk, j),
                q[kk * cs.n + j]);

  const int64_t aSM = cs.k + cs.aPad, aSB = cs.m * aSM;
  std::vector<float> a(size_t(cs.aBatch * aSB + 1));
  for (float &x : a)
    x = dist(rng);
  const int64_t cSM = cs.n * cs.cStep + cs.cPad, cSB = cs.m * cSM;
  std::vector<float> c(size_t(cs.batch * cSB + 1), kGap);
  std::vector<bool> logical(c.size(), false);
  for (int64_t x = 0; x < cs.batch; ++x)
    for (int64_t i = 0; i < cs.m; ++i)
      for (int64_t j = 0; j < cs.n; ++j) {
        size_t at = size_t(x * cSB + i * cSM + j * cs.cStep);
        c[at] = cs.accumulate ? dist(rng) : std::nanf("");
        logical[at] = true;
      }
  std::vector<float> cOld = c;
  std::vector<float> bias(size_t(cs.n));
  for (float &x : bias)
    x = dist(rng);

  const int64_t flags = (cs.accumulate ? KILN_UK_ACCUMULATE : 0) |
                        (int64_t(cs.act) << KILN_UK_ACT_SHIFT) |
                        (cs.bias ? KILN_UK_Q_BIAS : 0) |
                        (cs.zeroPoints ? KILN_UK_Q_ZERO_POINTS : 0);
  const int64_t panels = kiln_uk_qmatmul_panels(cs.n);
  const int64_t width = kiln_uk_qmatmul_panel_width(cs.bits);
  const int64_t aStrideB = cs.aBatch == 1 ? 0 : aSB;
  if (cs.bits == 8)
    kiln_uk_matmul_q8_f32(a.data(), cs.aBatch, cs.m, cs.k, aStrideB, aSM, 1,
                          reinterpret_cast<const int8_t *>(packed.data()),
                          panels, cs.k, width, cs.k * width, width, 1, s.data(),
                          cs.groups, cs.n, cs.n, 1, bias.data(), cs.n, 1, flags,
                          c.data(), cs.batch, cs.m, cs.n, cSB, cSM, cs.cStep);
  else if (cs.halfScales)
    kiln_uk_matmul_q4h_f32(
        a.data(), cs.aBatch, cs.m, cs.k, aStrideB, aSM, 1, packed.data(),
        panels, cs.k, width, cs.k * width, width, 1, sh.data(), cs.groups, cs.n,
        cs.n, 1, z.data(), cs.groups, cs.n, cs.n, 1, bias.data(), cs.n, 1,
        flags, c.data(), cs.batch, cs.m, cs.n, cSB, cSM, cs.cStep);
  else
    kiln_uk_matmul_q4_f32(
        a.data(), cs.aBatch, cs.m, cs.k, aStrideB, aSM, 1, packed.data(),
        panels, cs.k, width, cs.k * width, width, 1, s.data(), cs.groups, cs.n,
        cs.n, 1, z.data(), cs.groups, cs.n, cs.n, 1, bias.data(), cs.n, 1,
        flags, c.data(), cs.batch, cs.m, cs.n, cSB, cSM, cs.cStep);

  int bad = 0;
  for (int64_t x = 0; x < cs.batch && bad < 5; ++x) {
    const float *ab = a.data() + (cs.aBatch == 1 ? 0 : x * aSB);
    for (int64_t i = 0; i < cs.m && bad < 5; ++i) {
      for (int64_t j = 0; j < cs.n && bad < 5; ++j) {
        double dot = 0, absDot = 0, actError = 0;
        for (int64_t g = 0; g * gs < cs.k; ++g) {
          double amax = 0, absW = 0;
          for (int64_t kk = g * gs; kk < (g + 1) * gs; ++kk) {
            double zp = cs.bits == 4 ? double(z[g * cs.n + j]) : 0.0;
            double w = (double(q[kk * cs.n + j]) - zp) * s[g * cs.n + j];
            double p = double(ab[i * aSM + kk]) * w;
            dot += p;
            absDot += std::fabs(p);
            amax = std::max(amax, std::fabs(double(ab[i * aSM + kk])));
            absW += std::fabs(w);
          }
          // One-row products may round the activations to int8 per weight
          // group or finer (VNNI): each by at most half a step, amax / 254.
          actError += amax / 254.0 * absW;
        }
        if (cs.batch * cs.m != 1)
          actError = 0;
        double bj = cs.bias ? bias[j] : 0.0;
        size_t at = size_t(x * cSB + i * cSM + j * cs.cStep);
        double old = cs.accumulate ? double(cOld[at]) : 0.0;
        double ref = activate(dot + bj, cs.act) + old;
        // fp32 accumulation (with the zero-point term: sums of |a| * 16 s).
        double tol = 4e-7 * double(cs.k + 16) * (absDot + std::fabs(bj)) +
                     1e-6 * (std::fabs(ref) + std::fabs(old)) + 1e-6 + actError;
        if (!(std::fabs(c[at] - ref) <= tol)) {
          ADD_FAILURE() << "C[" << x << "][" << i << "][" << j
                        << "] = " << c[at] << ", expected " << ref
                        << " (tolerance " << tol << ")";
          ++bad;
        }
      }
    }
  }
  for (size_t i = 0; i < c.size() && bad < 5; ++i)
    if (!logical[i] && !(c[i] == kGap)) {
      ADD_FAILURE() << "C's padding at " << i << " was overwritten: " << c[i];
      ++bad;
    }
}

void withThreads(int threads, const std::function<void()> &body) {
  kiln_context *ctx = nullptr;
  kiln_status *status = kiln_context_create(threads, &ctx);
  ASSERT_EQ(status, nullptr);
  kiln::rt::setCurrentContext(ctx);
  body();
  kiln::rt::setCurrentContext(nullptr);
  kiln_context_destroy(ctx);
}

/// Runs the cases on 1 and 2 threads, with the AVX-512 kernels (where the
/// CPU has them) and the portable ones.
void runCases(const std::vector<QCase> &cases) {
  for (int isa : {-1, 1, 0}) {
    SCOPED_TRACE(isa == 0   ? "portable"
                 : isa == 1 ? "AVX-512 without VNNI"
                            : "best ISA");
    kiln_uk_qmatmul_limit_isa_for_testing(isa);
    kiln_uk_matmul_limit_isa_for_testing(isa);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      withThreads(threads, [&] {
        for (const QCase &c : cases)
          runCase(c);
      });
    }
  }
  kiln_uk_qmatmul_limit_isa_for_testing(-1);
  kiln_uk_matmul_limit_isa_for_testing(-1);
}

std::vector<QCase> shapes(int bits) {
  // {M, N, K, groups}: decode rows (1-4), prefill rows, N off the panel
  // width, odd K (per-channel int8), several groups.
  const int64_t dims[][4] = {
      {1, 1, 1, 1},    {1, 64, 32, 1},    {1, 65, 33, 1},    {2, 100, 64, 2},
      {3, 129, 96, 3}, {4, 200, 128, 4},  {1, 768, 768, 24}, {5, 70, 64, 2},
      {17, 33, 96, 3}, {64, 130, 256, 8}, {130, 64, 128, 1}, {1, 3000, 64, 1},
      {4, 63, 160, 5}, {9, 257, 192, 6}};
  std::vector<QCase> out;
  for (auto &d : dims) {
    QCase c;
    c.bits = bits;
    c.m = d[0];
    c.n = d[1];
    c.k = d[2];
    c.groups = d[3];
    if (bits == 8 && c.k % 2 == 1)
      c.groups = 1;
    out.push_back(c);
  }
  return out;
}

TEST(QMatmulUkernel, ShapesInt8) { runCases(shapes(8)); }

TEST(QMatmulUkernel, ShapesInt4) { runCases(shapes(4)); }

TEST(QMatmulUkernel, ShapesInt4HalfScales) {
  std::vector<QCase> cases = shapes(4);
  for (QCase &c : cases)
    c.halfScales = true;
  QCase zp = cases[6]; // 1 x 768 x 768, groups of 32: the VNNI path
  zp.zeroPoints = true;
  cases.push_back(zp);
  runCases(cases);
}

TEST(QMatmulUkernel, ZeroPointsAndGroups) {
  std::vector<QCase> cases;
  for (int64_t m : {1, 2, 4, 20})
    for (int64_t gsize : {32, 64, 128}) {
      QCase c;
      c.bits = 4;
      c.m = m;
      c.n = 150;
      c.k = 256;
      c.groups = 256 / gsize;
      c.zeroPoints = true;
      cases.push_back(c);
    }
  runCases(cases);
}

TEST(QMatmulUkernel, Epilogues) {
  std::vector<QCase> cases;
  for (int bits : {8, 4})
    for (int64_t m : {1, 3, 40})
      for (int act : {KILN_UK_ACT_NONE, KILN_UK_ACT_RELU, KILN_UK_ACT_GELU_ERF,
                      KILN_UK_ACT_GELU_TANH, KILN_UK_ACT_SILU})
        for (bool acc : {false, true}) {
          QCase c;
          c.bits = bits;
          c.m = m;
          c.n = 97;
          c.k = 64;
          c.groups = 2;
          c.bias = act != KILN_UK_ACT_RELU;
          c.act = act;
          c.accumulate = acc;
          cases.push_back(c);
        }
  runCases(cases);
}

TEST(QMatmulUkernel, BatchesAndStrides) {
  std::vector<QCase> cases;
  for (int bits : {8, 4})
    for (int64_t m : {1, 2, 7})
      for (int64_t aBatch : {1, 3}) {
        QCase c;
        c.bits = bits;
        c.m = m;
        c.n = 80;
        c.k = 64;
        c.groups = 2;
        c.batch = 3;
        c.aBatch = aBatch;
        c.aPad = 5;
        c.cPad = 3;
        c.cStep = 2;
        c.bias = true;
        cases.push_back(c);
      }
  runCases(cases);
}

TEST(QMatmulUkernel, EmptyK) {
  std::vector<QCase> cases;
  for (int bits : {8, 4})
    for (bool acc : {false, true}) {
      QCase c;
      c.bits = bits;
      c.m = 2;
      c.n = 70;
      c.k = 0;
      c.groups = 1;
      c.bias = true;
      c.accumulate = acc;
      cases.push_back(c);
    }
  runCases(cases);
}

} // namespace
