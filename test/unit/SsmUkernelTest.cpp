//===- SsmUkernelTest.cpp - tests of the Mamba micro-kernels -------------===//
//
// Compares kiln_uk_selective_scan_f32 and kiln_uk_causal_conv1d_f32 with
// naive double-precision references over state sizes (16: the unrolled
// kernel; others: the general one), channel counts with and without a
// partial last block, sequence lengths (decode: 1), every optional operand
// and flag, strided layouts, thread counts, with the AVX-512 kernels and
// with the portable ones (KILN_UK_GENERIC=1); and checks that a state may
// be updated in place and that bad shapes are rejected.
//
//===----------------------------------------------------------------------===//

#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr float kSentinel = 12345.f;

/// A 3-D view: dimension `perm[2]` innermost with `pad` unused elements
/// after each innermost run (a non-dense layout), `perm[0]` outermost.
struct View {
  int64_t dims[3] = {0, 0, 0};
  int64_t strides[3] = {0, 0, 0};
  std::vector<float> buf;

  View() = default;
  View(std::vector<int64_t> d, std::vector<int> perm = {0, 1, 2},
       int64_t pad = 0) {
    for (int i = 0; i < 3; ++i)
      dims[i] = d[i];
    strides[perm[2]] = 1;
    strides[perm[1]] = dims[perm[2]] + pad;
    strides[perm[0]] = strides[perm[1]] * dims[perm[1]];
    buf.assign(static_cast<size_t>(strides[perm[0]] * dims[perm[0]]) + 1,
               kSentinel);
  }
  float &at(int64_t a, int64_t b, int64_t c) {
    return buf[a * strides[0] + b * strides[1] + c * strides[2]];
  }
  void fill(std::mt19937 &rng, float lo, float hi) {
    std::uniform_real_distribution<float> dist(lo, hi);
    for (int64_t a = 0; a < dims[0]; ++a)
      for (int64_t b = 0; b < dims[1]; ++b)
        for (int64_t c = 0; c < dims[2]; ++c)
          at(a, b, c) = dist(rng);
  }
};

#define DIMS3(v)                                                               \
  v.dims[0], v.dims[1], v.dims[2], v.strides[0], v.strides[1], v.strides[2]

/// Runs `fn` on a pool of `threads` threads, with the portable kernels when
/// `generic`.
template <typename Fn> void onPool(int threads, bool generic, Fn fn) {
  kiln_context *ctx = nullptr;
  ASSERT_EQ(kiln_context_create(threads, &ctx), nullptr);
  kiln::rt::setCurrentContext(ctx);
  if (generic)
    setenv("KILN_UK_GENERIC", "1", 1);
  fn();
  unsetenv("KILN_UK_GENERIC");
  kiln::rt::setCurrentContext(nullptr);
  kiln_context_destroy(ctx);
}

double softplusRef(double x) { return x > 20 ? x : std::log1p(std::exp(x)); }
double siluRef(double x) { return x / (1 + std::exp(-x)); }

//===-- Selective scan ---------------------------------------------------===//

struct ScanCase {
  std::string name;
  int64_t Bt, L, Di, N;
  int64_t flags = 0;
  bool strided = false; // channel-padded (unit stride) rows + permuted B, C
  bool channelStrided = false; // channels not contiguous: portable path
  float dtLo = 0.f, dtHi = 0.5f;
};

struct ScanData {
  View u, dt, A, B, C, D, z, bias, h0, y, hN;

  explicit ScanData(const ScanCase &c, uint32_t seed = 1) {
    std::mt19937 rng(seed);
    int64_t pad = c.strided ? 3 : 0;
    std::vector<int> seq = c.channelStrided ? std::vector<int>{0, 2, 1}
                                            : std::vector<int>{0, 1, 2};
    u = View({c.Bt, c.L, c.Di}, seq, pad);
    dt = View({c.Bt, c.L, c.Di}, seq, pad);
    z = View({c.Bt, c.L, c.Di}, seq, pad);
    y = View({c.Bt, c.L, c.Di}, seq, pad);
    std::vector<int> bc =
        c.strided ? std::vector<int>{0, 2, 1} : std::vector<int>{0, 1, 2};
    B = View({c.Bt, c.L, c.N}, bc, pad);
    C = View({c.Bt, c.L, c.N}, bc, pad);
    A = View({1, c.Di, c.N}, {0, 1, 2}, pad);
    D = View({1, 1, c.Di});
    bias = View({1, 1, c.Di});
    h0 = View({c.Bt, c.Di, c.N}, c.strided ? std::vector<int>{0, 2, 1}
                                           : std::vector<int>{0, 1, 2});
    hN = View({c.Bt, c.Di, c.N}, {0, 1, 2}, pad);
    u.fill(rng, -1, 1);
    dt.fill(rng, c.dtLo, c.dtHi);
    z.fill(rng, -3, 3);
    B.fill(rng, -1, 1);
    C.fill(rng, -1, 1);
    A.fill(rng, -4, -0.25f);
    D.fill(rng, -1, 1);
    bias.fill(rng, -0.5f, 0.5f);
    h0.fill(rng, -1, 1);
  }

  void run(int64_t flags) { runInto(flags, hN); }

  void runInto(int64_t flags, View &out) {
    kiln_uk_selective_scan_f32(
        u.buf.data(), DIMS3(u), dt.buf.data(), DIMS3(dt), A.buf.data(),
        A.dims[1], A.dims[2], A.strides[1], A.strides[2], B.buf.data(),
        DIMS3(B), C.buf.data(), DIMS3(C), D.buf.data(), D.dims[2], D.strides[2],
        z.buf.data(), DIMS3(z), bias.buf.data(), bias.dims[2], bias.strides[2],
        h0.buf.data(), DIMS3(h0), flags, y.buf.data(), DIMS3(y), out.buf.data(),
        DIMS3(out));
  }

  /// The expected y and final state, in double precision.
  void reference(int64_t flags, std::vector<double> &yRef,
                 std::vector<double> &hRef) {
    int64_t Bt = u.dims[0], L = u.dims[1], Di = u.dims[2], N = A.dims[2];
    yRef.assign(Bt * L * Di, 0);
    hRef.assign(Bt * Di * N, 0);
    for (int64_t b = 0; b < Bt; ++b)
      for (int64_t d = 0; d < Di; ++d) {
        std::vector<double> h(N, 0);
        if (flags & KILN_UK_SSM_STATE)
          for (int64_t n = 0; n < N; ++n)
            h[n] = h0.at(b, d, n);
        for (int64_t t = 0; t < L; ++t) {
          double del = dt.at(b, t, d);
          if (flags & KILN_UK_SSM_DELTA_BIAS)
            del += bias.at(0, 0, d);
          if (flags & KILN_UK_SSM_DELTA_SOFTPLUS)
            del = softplusRef(del);
          double uu = u.at(b, t, d), acc = 0;
          for (int64_t n = 0; n < N; ++n) {
            h[n] =
                std::exp(del * A.at(0, d, n)) * h[n] + del * B.at(b, t, n) * uu;
            acc += h[n] * C.at(b, t, n);
          }
          if (flags & KILN_UK_SSM_D)
            acc += D.at(0, 0, d) * uu;
          if (flags & KILN_UK_SSM_Z)
            acc *= siluRef(z.at(b, t, d));
          yRef[(b * L + t) * Di + d] = acc;
        }
        for (int64_t n = 0; n < N; ++n)
          hRef[(b * Di + d) * N + n] = h[n];
      }
  }
};

void expectNear(double got, double want, const std::string &what) {
  double tol = 2e-5 + 2e-5 * std::abs(want);
  ASSERT_TRUE(std::isfinite(got)) << what;
  ASSERT_NEAR(got, want, tol) << what;
}

void checkScan(const ScanCase &c, int threads, bool generic) {
  ScanData data(c);
  onPool(threads, generic, [&] { data.run(c.flags); });
  std::vector<double> yRef, hRef;
  data.reference(c.flags, yRef, hRef);
  int64_t Bt = c.Bt, L = c.L, Di = c.Di, N = c.N;
  for (int64_t b = 0; b < Bt; ++b)
    for (int64_t t = 0; t < L; ++t)
      for (int64_t d = 0; d < Di; ++d)
        expectNear(data.y.at(b, t, d), yRef[(b * L + t) * Di + d],
                   "y[" + std::to_string(b) + "," + std::to_string(t) + "," +
                       std::to_string(d) + "]");
  for (int64_t b = 0; b < Bt; ++b)
    for (int64_t d = 0; d < Di; ++d)
      for (int64_t n = 0; n < N; ++n)
        expectNear(data.hN.at(b, d, n), hRef[(b * Di + d) * N + n],
                   "h[" + std::to_string(b) + "," + std::to_string(d) + "," +
                       std::to_string(n) + "]");
  // Padding and the element past the end are never written.
  int64_t written = 0;
  for (float x : data.y.buf)
    written += x != kSentinel;
  EXPECT_EQ(written, Bt * L * Di);
}

constexpr int64_t kAll = KILN_UK_SSM_D | KILN_UK_SSM_Z |
                         KILN_UK_SSM_DELTA_BIAS | KILN_UK_SSM_STATE |
                         KILN_UK_SSM_DELTA_SOFTPLUS;

std::vector<ScanCase> scanCases() {
  std::vector<ScanCase> cs = {
      {"plain_n16", 1, 33, 32, 16},
      {"plain_n16_tail", 2, 9, 37, 16},
      {"plain_n5", 1, 17, 20, 5},
      {"plain_n1", 1, 5, 16, 1},
      {"n64", 1, 6, 16, 64},
      {"decode", 3, 1, 48, 16, KILN_UK_SSM_STATE | KILN_UK_SSM_D},
      {"decode_all", 1, 1, 40, 16, kAll, false, false, -3, 3},
      {"with_d", 1, 12, 16, 16, KILN_UK_SSM_D},
      {"with_z", 1, 12, 16, 8, KILN_UK_SSM_Z},
      {"with_state", 2, 12, 24, 16, KILN_UK_SSM_STATE},
      {"bias_softplus", 1, 20, 32, 16,
       KILN_UK_SSM_DELTA_BIAS | KILN_UK_SSM_DELTA_SOFTPLUS, false, false, -6,
       25},
      {"all", 2, 40, 50, 16, kAll, false, false, -3, 3},
      {"all_n7", 1, 25, 19, 7, kAll, false, false, -3, 3},
      {"strided", 2, 15, 33, 16, kAll, true, false, -3, 3},
      {"channel_strided", 1, 15, 33, 16, kAll, false, true, -3, 3},
      {"large_decay", 1, 10, 16, 16, 0, false, false, 20, 60},
      {"empty_sequence", 1, 0, 16, 16, KILN_UK_SSM_STATE},
      // Longer than the kernel's time chunk (64 steps), several channel
      // blocks per task (one thread runs every item in one call).
      {"long_chunks", 2, 150, 80, 16, kAll, false, false, -3, 3},
      {"long_chunks_n7", 1, 131, 40, 7, kAll, true, false, -3, 3},
  };
  return cs;
}

struct ScanParam {
  ScanCase c;
  int threads;
  bool generic;
};

std::ostream &operator<<(std::ostream &os, const ScanParam &p) {
  return os << p.c.name << "_t" << p.threads << (p.generic ? "_generic" : "");
}

std::vector<ScanParam> scanParams() {
  std::vector<ScanParam> ps;
  for (const ScanCase &c : scanCases())
    for (int threads : {1, 2})
      for (bool generic : {false, true})
        ps.push_back({c, threads, generic});
  return ps;
}

class SelectiveScan : public ::testing::TestWithParam<ScanParam> {};

TEST_P(SelectiveScan, MatchesReference) {
  const ScanParam &p = GetParam();
  checkScan(p.c, p.threads, p.generic);
}

INSTANTIATE_TEST_SUITE_P(Ukernel, SelectiveScan,
                         ::testing::ValuesIn(scanParams()),
                         [](const ::testing::TestParamInfo<ScanParam> &info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

TEST(SelectiveScanUkernel, StateUpdatesInPlace) {
  // L = 130: several time chunks, all of one task's items initialized
  // before the first writes its final state.
  for (int64_t L : {3, 130})
    for (int threads : {1, 2})
      for (bool generic : {false, true}) {
        ScanCase c{"inplace", 2, L, 40, 16, kAll, false, false, -3, 3};
        ScanData data(c);
        std::vector<double> yRef, hRef;
        data.reference(c.flags, yRef, hRef);
        onPool(threads, generic, [&] { data.runInto(c.flags, data.h0); });
        for (int64_t b = 0; b < c.Bt; ++b)
          for (int64_t d = 0; d < c.Di; ++d)
            for (int64_t n = 0; n < c.N; ++n)
              expectNear(data.h0.at(b, d, n), hRef[(b * c.Di + d) * c.N + n],
                         "in-place state");
      }
}

TEST(SelectiveScanUkernel, SplitSequenceEqualsWhole) {
  // Prefill of 10 steps = prefill of 6, then 4 decode steps from its state.
  ScanCase c{"whole", 1, 10, 32, 16, KILN_UK_SSM_D | KILN_UK_SSM_Z};
  ScanData whole(c);
  onPool(2, false, [&] { whole.run(c.flags); });
  View state({1, c.Di, c.N});
  for (int64_t d = 0; d < c.Di; ++d)
    for (int64_t n = 0; n < c.N; ++n)
      state.at(0, d, n) = 0.f;
  for (int64_t t0 : {0, 6, 7, 8, 9}) {
    int64_t len = t0 == 0 ? 6 : 1;
    ScanCase part = c;
    part.L = len;
    ScanData p(part);
    p.A = whole.A;
    p.D = whole.D;
    for (int64_t t = 0; t < len; ++t) {
      for (int64_t d = 0; d < c.Di; ++d) {
        p.u.at(0, t, d) = whole.u.at(0, t0 + t, d);
        p.dt.at(0, t, d) = whole.dt.at(0, t0 + t, d);
        p.z.at(0, t, d) = whole.z.at(0, t0 + t, d);
      }
      for (int64_t n = 0; n < c.N; ++n) {
        p.B.at(0, t, n) = whole.B.at(0, t0 + t, n);
        p.C.at(0, t, n) = whole.C.at(0, t0 + t, n);
      }
    }
    p.h0 = state;
    onPool(2, false, [&] { p.runInto(c.flags | KILN_UK_SSM_STATE, state); });
    for (int64_t t = 0; t < len; ++t)
      for (int64_t d = 0; d < c.Di; ++d)
        EXPECT_NEAR(p.y.at(0, t, d), whole.y.at(0, t0 + t, d), 1e-5)
            << "t=" << t0 + t << " d=" << d;
  }
  for (int64_t d = 0; d < c.Di; ++d)
    for (int64_t n = 0; n < c.N; ++n)
      EXPECT_NEAR(state.at(0, d, n), whole.hN.at(0, d, n), 1e-5);
}

TEST(SelectiveScanUkernel, RejectsBadShapes) {
  ScanCase c{"bad", 1, 4, 16, 16, KILN_UK_SSM_D};
  ScanData data(c);
  data.D.dims[2] = 15; // D must have Di elements
  data.run(c.flags);
  for (float x : data.y.buf)
    ASSERT_EQ(x, kSentinel);
  ScanData other(c);
  other.B.dims[1] = 3; // B must have L steps
  other.run(0);
  for (float x : other.y.buf)
    ASSERT_EQ(x, kSentinel);
}

//===-- Causal conv1d ----------------------------------------------------===//

struct ConvCase {
  std::string name;
  int64_t Bt, L, Di, K;
  int64_t flags = 0;
  bool strided = false;
};

struct ConvData {
  View x, w, bias, state, y, sOut;
  explicit ConvData(const ConvCase &c) {
    std::mt19937 rng(7);
    int64_t pad = c.strided ? 5 : 0;
    x = View({c.Bt, c.L, c.Di}, {0, 1, 2}, pad);
    y = View({c.Bt, c.L, c.Di}, {0, 1, 2}, pad);
    w = View({1, c.Di, c.K}, {0, 2, 1});
    bias = View({1, 1, c.Di});
    state = View({c.Bt, c.Di, c.K - 1}, c.strided ? std::vector<int>{0, 2, 1}
                                                  : std::vector<int>{0, 1, 2});
    sOut = View({c.Bt, c.Di, c.K - 1}, {0, 1, 2}, pad);
    x.fill(rng, -2, 2);
    w.fill(rng, -1, 1);
    bias.fill(rng, -1, 1);
    state.fill(rng, -2, 2);
  }
  void runInto(int64_t flags, View &out) {
    kiln_uk_causal_conv1d_f32(
        x.buf.data(), DIMS3(x), w.buf.data(), w.dims[1], w.dims[2],
        w.strides[1], w.strides[2], bias.buf.data(), bias.dims[2],
        bias.strides[2], state.buf.data(), DIMS3(state), flags, y.buf.data(),
        DIMS3(y), out.buf.data(), DIMS3(out));
  }
  /// x' at step s (s < 0: the state, or zeros).
  double xp(int64_t flags, int64_t b, int64_t s, int64_t d, int64_t K) {
    if (s >= 0)
      return x.at(b, s, d);
    return (flags & KILN_UK_CONV_STATE) ? state.at(b, d, K - 1 + s) : 0.0;
  }
};

void checkConv(const ConvCase &c, int threads, bool generic, bool inPlace) {
  ConvData data(c);
  ConvData orig(c);
  onPool(threads, generic,
         [&] { data.runInto(c.flags, inPlace ? data.state : data.sOut); });
  View &out = inPlace ? data.state : data.sOut;
  for (int64_t b = 0; b < c.Bt; ++b)
    for (int64_t d = 0; d < c.Di; ++d) {
      for (int64_t t = 0; t < c.L; ++t) {
        double acc = (c.flags & KILN_UK_CONV_BIAS) ? orig.bias.at(0, 0, d) : 0;
        for (int64_t k = 0; k < c.K; ++k)
          acc +=
              orig.w.at(0, d, k) * orig.xp(c.flags, b, t - c.K + 1 + k, d, c.K);
        if (c.flags & KILN_UK_CONV_SILU)
          acc = siluRef(acc);
        expectNear(data.y.at(b, t, d), acc,
                   "y[" + std::to_string(b) + "," + std::to_string(t) + "," +
                       std::to_string(d) + "]");
      }
      for (int64_t j = 0; j < c.K - 1; ++j)
        expectNear(
            out.at(b, d, j), orig.xp(c.flags, b, c.L - (c.K - 1) + j, d, c.K),
            "state[" + std::to_string(d) + "," + std::to_string(j) + "]");
    }
}

struct ConvParam {
  ConvCase c;
  int threads;
  bool generic;
  bool inPlace;
};

std::ostream &operator<<(std::ostream &os, const ConvParam &p) {
  return os << p.c.name << "_t" << p.threads << (p.generic ? "_generic" : "")
            << (p.inPlace ? "_inplace" : "");
}

std::vector<ConvParam> convParams() {
  constexpr int64_t all =
      KILN_UK_CONV_BIAS | KILN_UK_CONV_STATE | KILN_UK_CONV_SILU;
  std::vector<ConvCase> cs = {
      {"k4", 1, 40, 32, 4},
      {"k4_all", 2, 40, 37, 4, all},
      {"k4_bias_silu", 1, 13, 16, 4, KILN_UK_CONV_BIAS | KILN_UK_CONV_SILU},
      {"k1", 1, 5, 20, 1, all},
      {"k2_short", 1, 1, 20, 2, all},
      {"k4_decode", 3, 1, 48, 4, all},
      {"k4_shorter_than_state", 1, 2, 16, 4, all},
      {"k7", 1, 30, 24, 7, KILN_UK_CONV_STATE},
      {"strided", 2, 9, 19, 4, all, true},
  };
  std::vector<ConvParam> ps;
  for (const ConvCase &c : cs)
    for (int threads : {1, 2})
      for (bool generic : {false, true})
        ps.push_back({c, threads, generic, false});
  for (const ConvCase &c : cs)
    if (c.flags & KILN_UK_CONV_STATE)
      ps.push_back({c, 2, false, true});
  return ps;
}

class CausalConv1d : public ::testing::TestWithParam<ConvParam> {};

TEST_P(CausalConv1d, MatchesReference) {
  const ConvParam &p = GetParam();
  checkConv(p.c, p.threads, p.generic, p.inPlace);
}

INSTANTIATE_TEST_SUITE_P(Ukernel, CausalConv1d,
                         ::testing::ValuesIn(convParams()),
                         [](const ::testing::TestParamInfo<ConvParam> &info) {
                           std::ostringstream os;
                           os << info.param;
                           return os.str();
                         });

TEST(CausalConv1dUkernel, RejectsBadShapes) {
  ConvCase c{"bad", 1, 4, 16, 4, KILN_UK_CONV_STATE};
  ConvData data(c);
  data.state.dims[2] = 2; // the state must hold K-1 steps
  data.runInto(c.flags, data.sOut);
  for (float x : data.y.buf)
    ASSERT_EQ(x, kSentinel);
}

} // namespace
