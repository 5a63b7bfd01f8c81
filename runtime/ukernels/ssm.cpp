//===- ssm.cpp - Mamba micro-kernels: selective scan, causal conv1d -------===//
//
// Selective scan. For every batch b and channel d, from the state h[N]:
//
//   dt   = delta[b,t,d] (+ bias[d]) (softplus'd)
//   h[n] = exp(dt A[d,n]) h[n] + dt u[b,t,d] B[b,t,n]
//   y    = (sum_n h[n] C[b,t,n] + D[d] u[b,t,d]) (* silu(z[b,t,d]))
//
// Layout: u, delta, z and y are [Bt, L, Di] (time-major, channels
// contiguous: how a Mamba layer computes them), B and C [Bt, L, N], A
// [Di, N], the states [Bt, Di, N]. A work item is (batch, block of 16
// channels); the AVX-512 kernel vectorizes over those 16 channels, so that
// the output contraction over n is a chain of FMAs (no horizontal sums),
// B[b,t,n] and C[b,t,n] are scalar broadcasts shared by the block, and the
// block's state -- N vectors -- stays in registers (N = 16 is compiled with
// the n loop unrolled) or in L1. A task runs its items 64 time steps at a
// time each (the state goes to a small scratch between chunks), so that
// the rows of u, delta, z and y a chunk touches are reused by the task's
// other items while they are in cache and in the TLB. The decay
// exp(dt A) is computed in place as 2^(dt * A log2 e) (A scaled once per
// item): the fraction by vreduceps, a degree-6 polynomial, vscalefps;
// about one ulp. Nothing of size L x Di x N ever exists; the extra memory is
// each item's state, scaled A, delta_bias and D (2 N + 2 vectors).
//
// Causal conv1d. y[b,t,d] = act(bias[d] + sum_k w[d,k] x'[b,t-K+1+k,d]) with
// x' the input preceded by the state ([Bt, Di, K-1]) or zeros, x and y
// [Bt, L, Di]. A work item is (batch, block of 16 channels); the K taps of
// the block stay in registers and each time step is K FMAs on a row of 16
// channels. The new state is the last K-1 steps of x'.
//
// Both kernels read a work item's part of an input state before writing
// the same part of the output state, so a state may be updated in place
// (the output buffer aliasing the input one).
//
// Portability: the AVX-512 versions are compiled for that target only and
// chosen at run time; they need unit stride along the channels of u, delta,
// z, y (or x, y for the convolution). Elsewhere scalar versions run, which
// KILN_UK_GENERIC=1 in the environment forces (for tests).
//
//===----------------------------------------------------------------------===//

#include "ukernels.h"

#include "../src/internal.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#define KILN_SSM_X86 1
#define KILN_AVX512                                                            \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#endif

namespace {

/// Channels per work item (one AVX-512 vector).
constexpr int64_t kW = 16;
/// Largest state size and kernel width the vector kernels hold in their
/// local buffers; larger ones take the scalar path.
constexpr int64_t kMaxN = 256;
constexpr int64_t kMaxK = 64;

float softplusScalar(float x) { return x > 20.f ? x : std::log1p(std::exp(x)); }
float siluScalar(float x) { return x / (1.f + std::exp(-x)); }

bool forceGeneric() {
  const char *generic = getenv("KILN_UK_GENERIC");
  return generic && generic[0] == '1';
}

#ifdef KILN_SSM_X86
bool haveAvx512() {
  static const bool have = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") &&
           __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
  }();
  return have;
}
#else
bool haveAvx512() { return false; }
#endif

//===-- Selective scan ---------------------------------------------------===//

struct Scan {
  const float *u, *dt, *A, *B, *C, *D, *z, *bias, *h0;
  float *y, *hN;
  int64_t Bt, L, Di, N;
  int64_t us[3], dts[3], as[2], bs[3], cs[3], ds, zs[3], biass, h0s[3], ys[3],
      hs[3];
  bool hasD, hasZ, hasBias, hasState, softplus;
  int64_t blocks;
  bool avx512;
};

void scanItemGeneric(const Scan &P, int64_t b, int64_t blk) {
  int64_t d0 = blk * kW, nd = std::min(kW, P.Di - d0), N = P.N;
  std::vector<float> h(nd * N, 0.f);
  if (P.hasState)
    for (int64_t c = 0; c < nd; ++c)
      for (int64_t n = 0; n < N; ++n)
        h[c * N + n] = P.h0[b * P.h0s[0] + (d0 + c) * P.h0s[1] + n * P.h0s[2]];
  for (int64_t t = 0; t < P.L; ++t) {
    const float *bt = P.B + b * P.bs[0] + t * P.bs[1];
    const float *ct = P.C + b * P.cs[0] + t * P.cs[1];
    for (int64_t c = 0; c < nd; ++c) {
      int64_t d = d0 + c;
      float dt = P.dt[b * P.dts[0] + t * P.dts[1] + d * P.dts[2]];
      if (P.hasBias)
        dt += P.bias[d * P.biass];
      if (P.softplus)
        dt = softplusScalar(dt);
      float u = P.u[b * P.us[0] + t * P.us[1] + d * P.us[2]];
      float acc = 0.f;
      float *hc = &h[c * N];
      for (int64_t n = 0; n < N; ++n) {
        float e = std::exp(dt * P.A[d * P.as[0] + n * P.as[1]]);
        hc[n] = e * hc[n] + dt * bt[n * P.bs[2]] * u;
        acc += hc[n] * ct[n * P.cs[2]];
      }
      if (P.hasD)
        acc += P.D[d * P.ds] * u;
      if (P.hasZ)
        acc *= siluScalar(P.z[b * P.zs[0] + t * P.zs[1] + d * P.zs[2]]);
      P.y[b * P.ys[0] + t * P.ys[1] + d * P.ys[2]] = acc;
    }
  }
  for (int64_t c = 0; c < nd; ++c)
    for (int64_t n = 0; n < N; ++n)
      P.hN[b * P.hs[0] + (d0 + c) * P.hs[1] + n * P.hs[2]] = h[c * N + n];
}

#ifdef KILN_SSM_X86

constexpr float kLog2e = 1.44269504088896340736f;

/// 2^x, about one ulp (0 below -150 and for -inf): x = i + f with i =
/// floor(x), f in [0, 1) (vreduceps), 2^f a minimax polynomial for the
/// relative error, and vscalefps multiplies by 2^floor(x) itself, handling
/// overflow and gradual underflow. 9 instructions with the clamp.
KILN_AVX512 inline __m512 exp2v(__m512 x) {
  x = _mm512_max_ps(x, _mm512_set1_ps(-150.f));
  __m512 f = _mm512_reduce_ps(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  __m512 p = _mm512_set1_ps(2.170225551e-04f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.243968801e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.678840949e-03f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.548334203e-02f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.402298363e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931469838e-01f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, x);
}

/// log(w) for w >= 1 (Cephes' logf polynomial on [sqrt(1/2), sqrt(2))).
KILN_AVX512 inline __m512 logv(__m512 w) {
  __m512 m = _mm512_getmant_ps(w, _MM_MANT_NORM_1_2, _MM_MANT_SIGN_src);
  __m512 k = _mm512_getexp_ps(w);
  __mmask16 big =
      _mm512_cmp_ps_mask(m, _mm512_set1_ps(1.41421356f), _CMP_GT_OQ);
  m = _mm512_mask_mul_ps(m, big, m, _mm512_set1_ps(0.5f));
  k = _mm512_mask_add_ps(k, big, k, _mm512_set1_ps(1.f));
  __m512 f = _mm512_sub_ps(m, _mm512_set1_ps(1.f));
  __m512 z = _mm512_mul_ps(f, f);
  __m512 p = _mm512_set1_ps(7.0376836292E-2f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.1514610310E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.1676998740E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.2420140846E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.4249322787E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-1.6668057665E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.0000714765E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(-2.4999993993E-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(3.3333331174E-1f));
  __m512 y = _mm512_mul_ps(_mm512_mul_ps(p, f), z);
  y = _mm512_fmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), y);
  y = _mm512_fmadd_ps(z, _mm512_set1_ps(-0.5f), y);
  __m512 r = _mm512_add_ps(f, y);
  return _mm512_fmadd_ps(k, _mm512_set1_ps(0.693359375f), r);
}

/// softplus(x) = log(1 + e^x), or x above 20 (as PyTorch).
KILN_AVX512 inline __m512 softplusv(__m512 x) {
  __m512 e = exp2v(_mm512_mul_ps(_mm512_min_ps(x, _mm512_set1_ps(20.f)),
                                 _mm512_set1_ps(kLog2e)));
  __m512 one = _mm512_set1_ps(1.f);
  __m512 w = _mm512_add_ps(one, e);
  // log1p(e) = log(w) - ((w - 1) - e) / w: the rounding of 1 + e undone.
  __m512 corr = _mm512_div_ps(_mm512_sub_ps(_mm512_sub_ps(w, one), e), w);
  __m512 l = _mm512_sub_ps(logv(w), corr);
  __mmask16 big = _mm512_cmp_ps_mask(x, _mm512_set1_ps(20.f), _CMP_GT_OQ);
  return _mm512_mask_blend_ps(big, l, x);
}

/// x * sigmoid(x).
KILN_AVX512 inline __m512 siluv(__m512 x) {
  __m512 e = exp2v(_mm512_mul_ps(x, _mm512_set1_ps(-kLog2e)));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.f), e));
}

/// One state element of a block: h = exp(dt A) h + dt u B; acc += h C.
KILN_AVX512 inline void scanStep(__m512 &h, __m512 a2, __m512 dt, __m512 dtu,
                                 float b, float c, __m512 &acc) {
  __m512 e = exp2v(_mm512_mul_ps(dt, a2));
  h = _mm512_fmadd_ps(e, h, _mm512_mul_ps(dtu, _mm512_set1_ps(b)));
  acc = _mm512_fmadd_ps(h, _mm512_set1_ps(c), acc);
}

/// Time steps a task runs for each of its items before going on to the
/// next item: the items' rows of u, delta, z and y for a chunk (kT rows of
/// 16 channels per item, each row in another page when Di is large) are
/// reused from L1/L2 and the TLB by the task's next items, instead of every
/// item sweeping all L rows alone (which, at L = 1024 and Di = 1536, made
/// the scan 2.5x slower per step than at L = 128).
constexpr int64_t kT = 64;

/// What a work item carries from one time chunk to the next: its state h
/// and A log2(e) (N vectors of 16 channels each), delta_bias and D.
inline int64_t scanScratchFloats(int64_t N) { return (2 * N + 2) * kW; }

/// Fills an item's scratch: A, the initial state (zeros without one),
/// delta_bias and D, each channel in its lane (lanes past Di are zeros).
KILN_AVX512 void scanInitAvx512(const Scan &P, int64_t b, int64_t blk,
                                float *s) {
  const int64_t N = P.N, d0 = blk * kW, nd = std::min(kW, P.Di - d0);
  float *h = s, *a2 = s + N * kW, *bias = a2 + N * kW, *dv = bias + kW;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < kW; ++c) {
      int64_t d = d0 + c;
      a2[n * kW + c] = c < nd ? P.A[d * P.as[0] + n * P.as[1]] * kLog2e : 0.f;
      h[n * kW + c] = P.hasState && c < nd
                          ? P.h0[b * P.h0s[0] + d * P.h0s[1] + n * P.h0s[2]]
                          : 0.f;
    }
  for (int64_t c = 0; c < kW; ++c) {
    bias[c] = P.hasBias && c < nd ? P.bias[(d0 + c) * P.biass] : 0.f;
    dv[c] = P.hasD && c < nd ? P.D[(d0 + c) * P.ds] : 0.f;
  }
}

/// Runs time steps [t0, t1) of one (batch, channel block) from the state in
/// its scratch, and leaves the state there. NC is N when known at compile
/// time (the n loops unroll and the state and A live in registers), else 0.
template <int NC>
KILN_AVX512 void scanRunAvx512(const Scan &P, int64_t b, int64_t blk,
                               int64_t t0, int64_t t1, float *s) {
  const int64_t N = NC ? NC : P.N;
  int64_t d0 = blk * kW, nd = std::min(kW, P.Di - d0);
  __mmask16 m = nd == kW ? 0xffff : static_cast<__mmask16>((1u << nd) - 1);
  constexpr int64_t cap = NC ? NC : kMaxN;
  __m512 h[cap], a2[cap];
  float *hs = s, *as = s + N * kW;
  for (int64_t n = 0; n < N; ++n) {
    h[n] = _mm512_loadu_ps(hs + n * kW);
    a2[n] = _mm512_loadu_ps(as + n * kW);
  }
  __m512 biasv = _mm512_loadu_ps(as + N * kW);
  __m512 dv = _mm512_loadu_ps(as + N * kW + kW);

  const float *up = P.u + b * P.us[0] + d0;
  const float *dtp = P.dt + b * P.dts[0] + d0;
  const float *zp = P.hasZ ? P.z + b * P.zs[0] + d0 : nullptr;
  float *yp = P.y + b * P.ys[0] + d0;
  const float *bp = P.B + b * P.bs[0], *cp = P.C + b * P.cs[0];
  const int64_t bsn = P.bs[2], csn = P.cs[2];
  for (int64_t t = t0; t < t1; ++t) {
    __m512 dt = _mm512_maskz_loadu_ps(m, dtp + t * P.dts[1]);
    if (P.hasBias)
      dt = _mm512_add_ps(dt, biasv);
    if (P.softplus)
      dt = softplusv(dt);
    __m512 uv = _mm512_maskz_loadu_ps(m, up + t * P.us[1]);
    __m512 dtu = _mm512_mul_ps(dt, uv);
    __m512 acc = _mm512_mul_ps(dv, uv);
    const float *bt = bp + t * P.bs[1], *ct = cp + t * P.cs[1];
    if constexpr (NC != 0) {
#pragma unroll
      for (int64_t n = 0; n < NC; ++n)
        scanStep(h[n], a2[n], dt, dtu, bt[n * bsn], ct[n * csn], acc);
    } else {
      for (int64_t n = 0; n < N; ++n)
        scanStep(h[n], a2[n], dt, dtu, bt[n * bsn], ct[n * csn], acc);
    }
    if (P.hasZ)
      acc =
          _mm512_mul_ps(acc, siluv(_mm512_maskz_loadu_ps(m, zp + t * P.zs[1])));
    _mm512_mask_storeu_ps(yp + t * P.ys[1], m, acc);
  }
  for (int64_t n = 0; n < N; ++n)
    _mm512_storeu_ps(hs + n * kW, h[n]);
}

/// Writes an item's final state from its scratch.
void scanFinish(const Scan &P, int64_t b, int64_t blk, const float *s) {
  int64_t d0 = blk * kW, nd = std::min(kW, P.Di - d0);
  for (int64_t n = 0; n < P.N; ++n)
    for (int64_t c = 0; c < nd; ++c)
      P.hN[b * P.hs[0] + (d0 + c) * P.hs[1] + n * P.hs[2]] = s[n * kW + c];
}

/// Items [begin, end) together, kT time steps at a time. Every item's part
/// of the initial state is read (scanInitAvx512) before any part of the
/// final state is written (scanFinish), so hN may alias h0.
KILN_AVX512 void scanItemsAvx512(const Scan &P, int64_t begin, int64_t end) {
  const int64_t per = scanScratchFloats(P.N);
  std::vector<float> scratch((end - begin) * per);
  for (int64_t i = begin; i < end; ++i)
    scanInitAvx512(P, i / P.blocks, i % P.blocks, &scratch[(i - begin) * per]);
  for (int64_t t0 = 0; t0 < P.L; t0 += kT) {
    int64_t t1 = std::min(P.L, t0 + kT);
    for (int64_t i = begin; i < end; ++i) {
      float *s = &scratch[(i - begin) * per];
      if (P.N == 16)
        scanRunAvx512<16>(P, i / P.blocks, i % P.blocks, t0, t1, s);
      else
        scanRunAvx512<0>(P, i / P.blocks, i % P.blocks, t0, t1, s);
    }
  }
  for (int64_t i = begin; i < end; ++i)
    scanFinish(P, i / P.blocks, i % P.blocks, &scratch[(i - begin) * per]);
}

#endif // KILN_SSM_X86

void scanTask(void *captures, int64_t begin, int64_t end) {
  const Scan &P = *static_cast<const Scan *>(captures);
#ifdef KILN_SSM_X86
  if (P.avx512) {
    scanItemsAvx512(P, begin, end);
    return;
  }
#endif
  for (int64_t i = begin; i < end; ++i)
    scanItemGeneric(P, i / P.blocks, i % P.blocks);
}

//===-- Causal conv1d ----------------------------------------------------===//

struct Conv {
  const float *x, *w, *bias, *state;
  float *y, *sOut;
  int64_t Bt, L, Di, K;
  int64_t xs[3], ws[2], biass, ss[3], ys[3], os[3];
  bool hasBias, hasState, silu;
  int64_t blocks;
  bool avx512;
};

void convItemGeneric(const Conv &P, int64_t b, int64_t blk) {
  int64_t d0 = blk * kW, nd = std::min(kW, P.Di - d0), K = P.K, H = K - 1;
  std::vector<float> hist(H), next(H);
  for (int64_t c = 0; c < nd; ++c) {
    int64_t d = d0 + c;
    for (int64_t j = 0; j < H; ++j)
      hist[j] =
          P.hasState ? P.state[b * P.ss[0] + d * P.ss[1] + j * P.ss[2]] : 0.f;
    auto at = [&](int64_t s) {
      return s >= 0 ? P.x[b * P.xs[0] + s * P.xs[1] + d * P.xs[2]]
                    : hist[H + s];
    };
    for (int64_t j = 0; j < H; ++j)
      next[j] = at(P.L - H + j);
    for (int64_t t = 0; t < P.L; ++t) {
      float acc = P.hasBias ? P.bias[d * P.biass] : 0.f;
      for (int64_t k = 0; k < K; ++k)
        acc += P.w[d * P.ws[0] + k * P.ws[1]] * at(t - H + k);
      if (P.silu)
        acc = siluScalar(acc);
      P.y[b * P.ys[0] + t * P.ys[1] + d * P.ys[2]] = acc;
    }
    for (int64_t j = 0; j < H; ++j)
      P.sOut[b * P.os[0] + d * P.os[1] + j * P.os[2]] = next[j];
  }
}

#ifdef KILN_SSM_X86
KILN_AVX512 void convItemAvx512(const Conv &P, int64_t b, int64_t blk) {
  int64_t d0 = blk * kW, nd = std::min(kW, P.Di - d0), K = P.K, H = K - 1;
  __mmask16 m = nd == kW ? 0xffff : static_cast<__mmask16>((1u << nd) - 1);
  __m512 wv[kMaxK], hist[kMaxK], next[kMaxK];
  alignas(64) float tmp[kW];
  for (int64_t k = 0; k < K; ++k) {
    for (int64_t c = 0; c < kW; ++c)
      tmp[c] = c < nd ? P.w[(d0 + c) * P.ws[0] + k * P.ws[1]] : 0.f;
    wv[k] = _mm512_load_ps(tmp);
  }
  for (int64_t j = 0; j < H; ++j) {
    for (int64_t c = 0; c < kW; ++c)
      tmp[c] = P.hasState && c < nd
                   ? P.state[b * P.ss[0] + (d0 + c) * P.ss[1] + j * P.ss[2]]
                   : 0.f;
    hist[j] = _mm512_load_ps(tmp);
  }
  for (int64_t c = 0; c < kW; ++c)
    tmp[c] = P.hasBias && c < nd ? P.bias[(d0 + c) * P.biass] : 0.f;
  __m512 biasv = _mm512_load_ps(tmp);
  const float *xp = P.x + b * P.xs[0] + d0;
  float *yp = P.y + b * P.ys[0] + d0;
  const int64_t xl = P.xs[1];
#define KILN_CONV_ROW(s)                                                       \
  ((s) >= 0 ? _mm512_maskz_loadu_ps(m, xp + (s)*xl) : hist[H + (s)])
  for (int64_t j = 0; j < H; ++j)
    next[j] = KILN_CONV_ROW(P.L - H + j);
  int64_t t = 0;
  for (; t < std::min(P.L, H); ++t) {
    __m512 acc = biasv;
    for (int64_t k = 0; k < K; ++k)
      acc = _mm512_fmadd_ps(wv[k], KILN_CONV_ROW(t - H + k), acc);
    if (P.silu)
      acc = siluv(acc);
    _mm512_mask_storeu_ps(yp + t * P.ys[1], m, acc);
  }
#undef KILN_CONV_ROW
  for (; t < P.L; ++t) {
    __m512 acc = biasv;
    const float *r = xp + (t - H) * xl;
    for (int64_t k = 0; k < K; ++k)
      acc = _mm512_fmadd_ps(wv[k], _mm512_maskz_loadu_ps(m, r + k * xl), acc);
    if (P.silu)
      acc = siluv(acc);
    _mm512_mask_storeu_ps(yp + t * P.ys[1], m, acc);
  }
  for (int64_t j = 0; j < H; ++j) {
    _mm512_store_ps(tmp, next[j]);
    for (int64_t c = 0; c < nd; ++c)
      P.sOut[b * P.os[0] + (d0 + c) * P.os[1] + j * P.os[2]] = tmp[c];
  }
}
#endif

void convTask(void *captures, int64_t begin, int64_t end) {
  const Conv &P = *static_cast<const Conv *>(captures);
  for (int64_t i = begin; i < end; ++i) {
    int64_t b = i / P.blocks, blk = i % P.blocks;
#ifdef KILN_SSM_X86
    if (P.avx512) {
      convItemAvx512(P, b, blk);
      continue;
    }
#endif
    convItemGeneric(P, b, blk);
  }
}

bool is3(const int64_t *d, int64_t a, int64_t b, int64_t c) {
  return d[0] == a && d[1] == b && d[2] == c;
}

} // namespace

extern "C" void kiln_uk_selective_scan_f32(
    const float *u, int64_t uB, int64_t uL, int64_t uD, int64_t uSB,
    int64_t uSL, int64_t uSD, const float *delta, int64_t dtB, int64_t dtL,
    int64_t dtD, int64_t dtSB, int64_t dtSL, int64_t dtSD, const float *A,
    int64_t aD, int64_t aN, int64_t aSD, int64_t aSN, const float *B,
    int64_t bB, int64_t bL, int64_t bN, int64_t bSB, int64_t bSL, int64_t bSN,
    const float *C, int64_t cB, int64_t cL, int64_t cN, int64_t cSB,
    int64_t cSL, int64_t cSN, const float *D, int64_t dD, int64_t dS,
    const float *z, int64_t zB, int64_t zL, int64_t zD, int64_t zSB,
    int64_t zSL, int64_t zSD, const float *bias, int64_t biasD, int64_t biasS,
    const float *h0, int64_t h0B, int64_t h0D, int64_t h0N, int64_t h0SB,
    int64_t h0SD, int64_t h0SN, int64_t flags, float *y, int64_t yB, int64_t yL,
    int64_t yD, int64_t ySB, int64_t ySL, int64_t ySD, float *hN, int64_t hB,
    int64_t hD, int64_t hN_, int64_t hSB, int64_t hSD, int64_t hSN) {
  Scan P;
  P.Bt = uB;
  P.L = uL;
  P.Di = uD;
  P.N = aN;
  P.hasD = flags & KILN_UK_SSM_D;
  P.hasZ = flags & KILN_UK_SSM_Z;
  P.hasBias = flags & KILN_UK_SSM_DELTA_BIAS;
  P.hasState = flags & KILN_UK_SSM_STATE;
  P.softplus = flags & KILN_UK_SSM_DELTA_SOFTPLUS;
  const int64_t ud[3] = {uB, uL, uD}, dtd[3] = {dtB, dtL, dtD},
                bd[3] = {bB, bL, bN}, cd[3] = {cB, cL, cN},
                zd[3] = {zB, zL, zD}, h0d[3] = {h0B, h0D, h0N},
                yd[3] = {yB, yL, yD}, hd[3] = {hB, hD, hN_};
  int64_t Bt = P.Bt, L = P.L, Di = P.Di, N = P.N;
  if (Bt < 0 || L < 0 || Di < 0 || N < 0 || !is3(ud, Bt, L, Di) ||
      !is3(dtd, Bt, L, Di) || aD != Di || !is3(bd, Bt, L, N) ||
      !is3(cd, Bt, L, N) || !is3(yd, Bt, L, Di) || !is3(hd, Bt, Di, N) ||
      (P.hasD && dD != Di) || (P.hasZ && !is3(zd, Bt, L, Di)) ||
      (P.hasBias && biasD != Di) || (P.hasState && !is3(h0d, Bt, Di, N)))
    return;
  P.u = u;
  P.dt = delta;
  P.A = A;
  P.B = B;
  P.C = C;
  P.D = D;
  P.z = z;
  P.bias = bias;
  P.h0 = h0;
  P.y = y;
  P.hN = hN;
  const int64_t us[3] = {uSB, uSL, uSD}, dts[3] = {dtSB, dtSL, dtSD},
                bs[3] = {bSB, bSL, bSN}, cs[3] = {cSB, cSL, cSN},
                zs[3] = {zSB, zSL, zSD}, h0s[3] = {h0SB, h0SD, h0SN},
                ys[3] = {ySB, ySL, ySD}, hs[3] = {hSB, hSD, hSN};
  for (int i = 0; i < 3; ++i) {
    P.us[i] = us[i];
    P.dts[i] = dts[i];
    P.bs[i] = bs[i];
    P.cs[i] = cs[i];
    P.zs[i] = zs[i];
    P.h0s[i] = h0s[i];
    P.ys[i] = ys[i];
    P.hs[i] = hs[i];
  }
  P.as[0] = aSD;
  P.as[1] = aSN;
  P.ds = dS;
  P.biass = biasS;
  P.blocks = (Di + kW - 1) / kW;
  P.avx512 = haveAvx512() && !forceGeneric() && N <= kMaxN && uSD == 1 &&
             dtSD == 1 && ySD == 1 && (!P.hasZ || zSD == 1);
  if (Bt == 0 || Di == 0)
    return;
  kiln_rt_parallel_for(Bt * P.blocks, scanTask, &P);
}

extern "C" void kiln_uk_causal_conv1d_f32(
    const float *x, int64_t xB, int64_t xL, int64_t xD, int64_t xSB,
    int64_t xSL, int64_t xSD, const float *w, int64_t wD, int64_t wK,
    int64_t wSD, int64_t wSK, const float *bias, int64_t biasD, int64_t biasS,
    const float *state, int64_t sB, int64_t sD, int64_t sK, int64_t sSB,
    int64_t sSD, int64_t sSK, int64_t flags, float *y, int64_t yB, int64_t yL,
    int64_t yD, int64_t ySB, int64_t ySL, int64_t ySD, float *sOut, int64_t oB,
    int64_t oD, int64_t oK, int64_t oSB, int64_t oSD, int64_t oSK) {
  Conv P;
  P.Bt = xB;
  P.L = xL;
  P.Di = xD;
  P.K = wK;
  P.hasBias = flags & KILN_UK_CONV_BIAS;
  P.hasState = flags & KILN_UK_CONV_STATE;
  P.silu = flags & KILN_UK_CONV_SILU;
  const int64_t sd[3] = {sB, sD, sK}, yd[3] = {yB, yL, yD},
                od[3] = {oB, oD, oK};
  int64_t Bt = P.Bt, L = P.L, Di = P.Di, K = P.K;
  if (Bt < 0 || L < 0 || Di < 0 || K < 1 || wD != Di || !is3(yd, Bt, L, Di) ||
      !is3(od, Bt, Di, K - 1) || (P.hasBias && biasD != Di) ||
      (P.hasState && !is3(sd, Bt, Di, K - 1)))
    return;
  P.x = x;
  P.w = w;
  P.bias = bias;
  P.state = state;
  P.y = y;
  P.sOut = sOut;
  const int64_t xs[3] = {xSB, xSL, xSD}, ss[3] = {sSB, sSD, sSK},
                ys[3] = {ySB, ySL, ySD}, os[3] = {oSB, oSD, oSK};
  for (int i = 0; i < 3; ++i) {
    P.xs[i] = xs[i];
    P.ss[i] = ss[i];
    P.ys[i] = ys[i];
    P.os[i] = os[i];
  }
  P.ws[0] = wSD;
  P.ws[1] = wSK;
  P.biass = biasS;
  P.blocks = (Di + kW - 1) / kW;
  P.avx512 =
      haveAvx512() && !forceGeneric() && K <= kMaxK && xSD == 1 && ySD == 1;
  if (Bt == 0 || Di == 0)
    return;
  kiln_rt_parallel_for(Bt * P.blocks, convTask, &P);
}
