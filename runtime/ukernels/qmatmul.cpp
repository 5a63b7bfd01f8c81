//===- qmatmul.cpp - matmul micro-kernels on int8 / int4 weights ----------===//
//
// kiln_uk_matmul_q8_f32 and kiln_uk_matmul_q4_f32: C = act(A W + bias) (+ C)
// with W quantized and packed in the layout of matmul_qpack.h (64-column
// panels, K-major). The fp32 weight is never materialized:
//
// Decode (rows = batch x M <= kGemvMaxRows): the product is bound by the
// bandwidth the weights stream at, so the kernel reads each panel once, as
// one sequential stream, converts the int8 / int4 values to fp32 in
// registers and multiplies them with broadcast activations into 4 x 16-lane
// accumulators per row. Scales are applied once per group, not per weight:
//   acc += s[g] * (sum_{k in g} a_k q_k)  -  s[g] z[g] * (sum_{k in g} a_k)
// so a k step costs one conversion and one FMA per 16 weights and row. The
// panels are spread over the thread pool.
//
// One row (batch-1 decode) on CPUs with AVX512-VNNI: converting weights to
// fp32 costs more instructions than the FMA that uses them (for int4, plus
// the nibble work), so the fp32 path above is bound by the vector ALUs, not
// by memory. This path rounds the row's activations to int8 once per call
// (symmetric, one scale per int4 weight group or per 32 k for int8, as
// llama.cpp's Q4 x Q8 and Q8 x Q8 products do) and multiplies weights and
// activations with vpdpbusd, 4 k steps per instruction, in int32; each
// group's sum is then scaled in fp32:
//   acc += s[g] sa[g] (sum_{k in g} q_k aq_k - z[g] sum_{k in g} aq_k)
// The weights keep their layout: 4 k rows are interleaved in registers
// (byte and word unpacks) into the k-quads vpdpbusd reads.
//
// Prefill (more rows): compute-bound, so the weights are dequantized a
// column chunk at a time (at most ~2 MiB of fp32, in the layout of
// matmul_pack.h) and the chunk runs through the fp32 packed-B kernels
// (kiln_uk_matmul_packed_f32), whose blocking does the rest. Dequantizing
// costs K x N conversions against M x K x N FMAs.
//
// Portability: the AVX-512 code carries target attributes and is chosen at
// run time; portable C++ covers other CPUs (and the unit tests force it).
//
//===----------------------------------------------------------------------===//

#include "matmul_pack.h"
#include "matmul_qpack.h"
#include "ukernels.h"

#include "../src/internal.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <type_traits>

namespace {

/// Largest row count (batch x M) of the streaming (decode) path.
constexpr int64_t kGemvMaxRows = 4;
/// Rows per register block of the streaming kernels (4 accumulator vectors
/// and 4 group sums per row, plus 4 weight vectors: 8 x 3 + 4 = 28 zmm).
constexpr int kGemvRowBlock = 3;
/// Below this many multiply-adds a product runs on the calling thread.
constexpr int64_t kMinParallelWork = int64_t(1) << 17;
/// Bytes of fp32 weights dequantized per chunk on the prefill path.
constexpr int64_t kChunkBytes = int64_t(2) << 20;
constexpr int64_t kNR = KILN_UK_QMATMUL_NR;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/// A 64-byte aligned buffer, grown on demand.
struct Buffer {
  float *data = nullptr;
  int64_t size = 0;
  ~Buffer() { std::free(data); }
  float *get(int64_t n) {
    if (n > size) {
      std::free(data);
      size = std::max<int64_t>(n, 1024);
      data = static_cast<float *>(
          std::aligned_alloc(64, ceilDiv(size * sizeof(float), 64) * 64));
      if (!data) {
        std::fprintf(stderr, "kiln: out of memory in a quantized matmul\n");
        std::abort();
      }
    }
    return data;
  }
};

template <typename F> void parallelFor(int64_t count, bool parallel, F &&f) {
  if (count <= 0)
    return;
  using Fn = std::remove_reference_t<F>;
  if (!parallel || count == 1) {
    f(int64_t(0), count);
    return;
  }
  kiln_rt_parallel_for(
      count,
      [](void *captures, int64_t begin, int64_t end) {
        (*static_cast<Fn *>(captures))(begin, end);
      },
      &f);
}

float activate(float xf, int act) {
  double x = xf;
  switch (act) {
  case KILN_UK_ACT_RELU:
    return xf > 0.0f ? xf : 0.0f;
  case KILN_UK_ACT_GELU_ERF:
    return float(0.5 * x * std::erfc(-x * M_SQRT1_2));
  case KILN_UK_ACT_GELU_TANH: {
    double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return float(x / (1.0 + std::exp(-2.0 * u)));
  }
  case KILN_UK_ACT_SILU:
    return float(x / (1.0 + std::exp(-x)));
  default:
    return xf;
  }
}

/// IEEE half-precision bits as a float (exact: every f16 is an f32).
inline float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000u) << 16, exp = (h >> 10) & 0x1fu,
           man = h & 0x3ffu;
  if (exp == 0) { // zero or subnormal: man * 2^-24
    float f = std::ldexp(float(man), -24);
    return sign ? -f : f;
  }
  uint32_t bits = sign | (exp == 31 ? 0x7f800000u | (man << 13)
                                    : ((exp + 112) << 23) | (man << 13));
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

/// One call, its operands normalized.
struct Problem {
  int bits;
  int64_t batch, aBatch, m, k, n, groups, gs;
  const float *a;
  int64_t aSB, aSM, aSK;
  const uint8_t *w;   // dense [P, K, width]
  const float *s;     // f32 scales, or null and
  const uint16_t *sh; // f16 scales (kiln_uk_matmul_q4h_f32)
  int64_t sSG, sSN;
  const uint8_t *z; // null: 8 (int4) or 0 (int8)
  int64_t zSG, zSN;
  const float *bias;
  int64_t biasS;
  int act;
  bool accumulate;
  float *c;
  int64_t cSB, cSM, cSN;

  int64_t rows() const { return batch * m; }
  const float *aRow(int64_t r) const {
    int64_t b = aBatch == 1 ? 0 : r / m;
    return a + b * aSB + (r % m) * aSM;
  }
  float *cRow(int64_t r) const { return c + (r / m) * cSB + (r % m) * cSM; }
  int64_t width() const { return kiln_uk_qmatmul_panel_width(bits); }
  const uint8_t *panel(int64_t p) const { return w + p * k * width(); }
  float scale(int64_t g, int64_t col) const {
    return sh ? halfToFloat(sh[g * sSG + col * sSN]) : s[g * sSG + col * sSN];
  }
  float zero(int64_t g, int64_t col) const {
    if (z)
      return float(z[g * zSG + col * zSN]);
    return bits == 4 ? 8.0f : 0.0f;
  }
};

/// Writes `acc` (the product of row r with panel p, `cols` columns) through
/// the epilogue into C.
void storeRow(const Problem &pb, int64_t r, int64_t n0, int cols,
              const float *acc) {
  float *c = pb.cRow(r) + n0 * pb.cSN;
  if (!pb.bias && pb.act == KILN_UK_ACT_NONE && !pb.accumulate && pb.cSN == 1) {
    std::memcpy(c, acc, size_t(cols) * sizeof(float));
    return;
  }
  for (int j = 0; j < cols; ++j) {
    float x = acc[j];
    if (pb.bias)
      x += pb.bias[(n0 + j) * pb.biasS];
    x = activate(x, pb.act);
    if (pb.accumulate)
      x += c[j * pb.cSN];
    c[j * pb.cSN] = x;
  }
}

/// Contiguous copies of `count` rows of A from row r0, and their sums per
/// group (for the zero points): rows [count][K], sums [count][G].
void gatherRows(const Problem &pb, int64_t r0, int count, float *rows,
                float *sums) {
  for (int i = 0; i < count; ++i) {
    const float *src = pb.aRow(r0 + i);
    float *dst = rows + i * pb.k;
    for (int64_t kk = 0; kk < pb.k; ++kk)
      dst[kk] = src[kk * pb.aSK];
    for (int64_t g = 0; g < pb.groups; ++g) {
      float sum = 0;
      for (int64_t kk = g * pb.gs; kk < (g + 1) * pb.gs; ++kk)
        sum += dst[kk];
      sums[i * pb.groups + g] = sum;
    }
  }
}

//===----------------------------------------------------------------------===//
// Portable kernels
//===----------------------------------------------------------------------===//

/// Panels [p0, p1) for `count` contiguous rows (decode path).
void gemvGeneric(const Problem &pb, int64_t p0, int64_t p1, int64_t r0,
                 int count, const float *rows, const float *sums) {
  float acc[kNR], part[kNR];
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *panel = pb.panel(p);
    int64_t n0 = p * kNR;
    int cols = int(std::min<int64_t>(kNR, pb.n - n0));
    for (int i = 0; i < count; ++i) {
      const float *a = rows + i * pb.k;
      std::fill(acc, acc + kNR, 0.0f);
      for (int64_t g = 0; g < pb.groups; ++g) {
        std::fill(part, part + kNR, 0.0f);
        for (int64_t kk = g * pb.gs; kk < (g + 1) * pb.gs; ++kk) {
          const uint8_t *wr = panel + kk * pb.width();
          float ak = a[kk];
          if (pb.bits == 8) {
            for (int j = 0; j < kNR; ++j)
              part[j] += ak * float(int8_t(wr[j]));
          } else {
            for (int j = 0; j < 32; ++j) {
              part[j] += ak * float(wr[j] & 15);
              part[j + 32] += ak * float(wr[j] >> 4);
            }
          }
        }
        float sum = sums[i * pb.groups + g];
        for (int j = 0; j < cols; ++j)
          acc[j] += pb.scale(g, n0 + j) * (part[j] - pb.zero(g, n0 + j) * sum);
      }
      storeRow(pb, r0 + i, n0, cols, acc);
    }
  }
}

/// Dequantizes panels [p0, p1) into `out`, in the fp32 packed-B layout of
/// matmul_pack.h (32-column panels) for the columns from 64 p0.
void dequantGeneric(const Problem &pb, int64_t p0, int64_t p1, float *out) {
  const int64_t half = KILN_UK_MATMUL_PACK_NR;
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *panel = pb.panel(p);
    for (int h = 0; h < 2; ++h) {
      float *dst = out + ((p - p0) * 2 + h) * pb.k * half;
      for (int64_t g = 0; g < pb.groups; ++g) {
        float s[32], zs[32];
        for (int j = 0; j < 32; ++j) {
          int64_t col = p * kNR + h * 32 + j;
          s[j] = col < pb.n ? pb.scale(g, col) : 0.0f;
          zs[j] = col < pb.n ? pb.zero(g, col) : 0.0f;
        }
        for (int64_t kk = g * pb.gs; kk < (g + 1) * pb.gs; ++kk) {
          const uint8_t *wr = panel + kk * pb.width();
          for (int j = 0; j < 32; ++j) {
            float q = pb.bits == 8 ? float(int8_t(wr[h * 32 + j]))
                                   : float(h ? wr[j] >> 4 : wr[j] & 15);
            dst[kk * half + j] = (q - zs[j]) * s[j];
          }
        }
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// AVX-512 kernels
//===----------------------------------------------------------------------===//

#define KILN_AVX512                                                            \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))

KILN_AVX512 inline __mmask16 lanes16(int n) {
  return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << std::max(n, 0)) - 1);
}

/// The 64 weights of one k step of a panel, as 4 x 16 fp32 lanes (columns
/// 0-15, 16-31, 32-47, 48-63).
template <int BITS>
KILN_AVX512 inline void loadWeights(const uint8_t *row, __m512 w[4]) {
  if constexpr (BITS == 8) {
    for (int v = 0; v < 4; ++v)
      w[v] = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(row + 16 * v))));
  } else {
    const __m512i mask = _mm512_set1_epi32(15);
    for (int v = 0; v < 2; ++v) {
      __m512i d = _mm512_cvtepu8_epi32(
          _mm_loadu_si128(reinterpret_cast<const __m128i *>(row + 16 * v)));
      w[v] = _mm512_cvtepi32_ps(_mm512_and_si512(d, mask));
      w[v + 2] = _mm512_cvtepi32_ps(_mm512_srli_epi32(d, 4));
    }
  }
}

/// Per-group scales (and scale x zero point) of a panel's 64 columns.
KILN_AVX512 inline void loadGroupParams(const Problem &pb, int64_t g,
                                        int64_t n0, int cols, __m512 s[4],
                                        __m512 sz[4]) {
  for (int v = 0; v < 4; ++v) {
    __mmask16 m = lanes16(cols - 16 * v);
    if (pb.sSN == 1 && pb.sh) {
      s[v] = _mm512_cvtph_ps(
          _mm256_maskz_loadu_epi16(m, pb.sh + g * pb.sSG + n0 + 16 * v));
    } else if (pb.sSN == 1) {
      s[v] = _mm512_maskz_loadu_ps(m, pb.s + g * pb.sSG + n0 + 16 * v);
    } else {
      alignas(64) float tmp[16] = {};
      for (int j = 0; j < 16 && 16 * v + j < cols; ++j)
        tmp[j] = pb.scale(g, n0 + 16 * v + j);
      s[v] = _mm512_load_ps(tmp);
    }
    if (pb.z) {
      alignas(64) float tmp[16] = {};
      for (int j = 0; j < 16 && 16 * v + j < cols; ++j)
        tmp[j] = pb.zero(g, n0 + 16 * v + j);
      sz[v] = _mm512_mul_ps(s[v], _mm512_load_ps(tmp));
    } else {
      sz[v] = _mm512_mul_ps(s[v], _mm512_set1_ps(pb.bits == 4 ? 8.0f : 0.0f));
    }
  }
}

/// RB rows (contiguous, K apart) times panels [p0, p1). Group sums `part`
/// are folded into `acc` with the group's scales at the end of each group.
/// One row runs two sets of group sums (even and odd k) so that 8 FMA
/// chains hide the FMA latency.
template <int BITS, int RB>
KILN_AVX512 void gemvAvx512(const Problem &pb, int64_t p0, int64_t p1,
                            int64_t r0, const float *rows, const float *sums) {
  const int64_t width = kiln_uk_qmatmul_panel_width(BITS);
  const bool hasZero = BITS == 4 || pb.z;
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *panel = pb.panel(p);
    int64_t n0 = p * kNR;
    int cols = int(std::min<int64_t>(kNR, pb.n - n0));
    __m512 acc[RB][4];
    for (int i = 0; i < RB; ++i)
      for (int v = 0; v < 4; ++v)
        acc[i][v] = _mm512_setzero_ps();
    for (int64_t g = 0; g < pb.groups; ++g) {
      __m512 part[RB][4], part2[4];
      for (int i = 0; i < RB; ++i)
        for (int v = 0; v < 4; ++v)
          part[i][v] = _mm512_setzero_ps();
      for (int v = 0; v < 4; ++v)
        part2[v] = _mm512_setzero_ps();
      int64_t k0 = g * pb.gs, k1 = k0 + pb.gs, kk = k0;
      const uint8_t *wr = panel + k0 * width;
      if (RB == 1) {
        for (; kk + 2 <= k1; kk += 2, wr += 2 * width) {
          __m512 w0[4], w1[4];
          _mm_prefetch(reinterpret_cast<const char *>(wr + 16 * width),
                       _MM_HINT_T0);
          loadWeights<BITS>(wr, w0);
          loadWeights<BITS>(wr + width, w1);
          __m512 x0 = _mm512_set1_ps(rows[kk]);
          __m512 x1 = _mm512_set1_ps(rows[kk + 1]);
          for (int v = 0; v < 4; ++v) {
            part[0][v] = _mm512_fmadd_ps(x0, w0[v], part[0][v]);
            part2[v] = _mm512_fmadd_ps(x1, w1[v], part2[v]);
          }
        }
      }
      for (; kk < k1; ++kk, wr += width) {
        __m512 w[4];
        loadWeights<BITS>(wr, w);
        for (int i = 0; i < RB; ++i) {
          __m512 x = _mm512_set1_ps(rows[i * pb.k + kk]);
          for (int v = 0; v < 4; ++v)
            part[i][v] = _mm512_fmadd_ps(x, w[v], part[i][v]);
        }
      }
      if (RB == 1)
        for (int v = 0; v < 4; ++v)
          part[0][v] = _mm512_add_ps(part[0][v], part2[v]);
      __m512 s[4], sz[4];
      loadGroupParams(pb, g, n0, cols, s, sz);
      for (int i = 0; i < RB; ++i) {
        __m512 sum = _mm512_set1_ps(sums[i * pb.groups + g]);
        for (int v = 0; v < 4; ++v) {
          acc[i][v] = _mm512_fmadd_ps(s[v], part[i][v], acc[i][v]);
          if (hasZero)
            acc[i][v] = _mm512_fnmadd_ps(sz[v], sum, acc[i][v]);
        }
      }
    }
    for (int i = 0; i < RB; ++i) {
      alignas(64) float out[kNR];
      for (int v = 0; v < 4; ++v)
        _mm512_store_ps(out + 16 * v, acc[i][v]);
      storeRow(pb, r0 + i, n0, cols, out);
    }
  }
}

#define KILN_AVX512_VNNI                                                       \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512vnni,fma")))

/// The activations of one row as int8, symmetric per block of `bs` values
/// (a multiple of 8): aq = round(a / sa[b]) with
/// sa[b] = max_{k in b} |a_k| / 127, and the integer sums
/// sq[b] = sum_{k in b} aq_k (for the zero points and the int8 offset).
KILN_AVX512_VNNI void quantizeActivations(const float *a, int64_t blocks,
                                          int64_t bs, int8_t *aq, float *sa,
                                          int32_t *sq) {
  for (int64_t b = 0; b < blocks; ++b) {
    const float *ab = a + b * bs;
    __m512 vmax = _mm512_setzero_ps();
    for (int64_t kk = 0; kk < bs; kk += 16) {
      __mmask16 m = lanes16(int(bs - kk));
      vmax =
          _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_maskz_loadu_ps(m, ab + kk)));
    }
    float amax = _mm512_reduce_max_ps(vmax);
    __m512 inv = _mm512_set1_ps(amax > 0 ? 127.0f / amax : 0.0f);
    __m512i sum = _mm512_setzero_si512();
    for (int64_t kk = 0; kk < bs; kk += 16) {
      __mmask16 m = lanes16(int(bs - kk));
      // Round to nearest even; |a / sa| <= 127, and the pack saturates.
      __m512i v = _mm512_cvtps_epi32(
          _mm512_mul_ps(_mm512_maskz_loadu_ps(m, ab + kk), inv));
      sum = _mm512_add_epi32(sum, v);
      _mm_mask_storeu_epi8(aq + b * bs + kk, m, _mm512_cvtsepi32_epi8(v));
    }
    sa[b] = amax / 127.0f;
    sq[b] = _mm512_reduce_add_epi32(sum);
  }
}

/// Activation blocks of the int8 VNNI path (its weights have one scale per
/// column over all of K, too coarse for the activations).
constexpr int64_t kQ8ActBlock = 32;

/// One row times int8 panels [p0, p1) with vpdpbusd (K a multiple of
/// kQ8ActBlock). vpdpbusd multiplies unsigned by signed bytes: the weights
/// are offset to w + 128 (an xor of the sign bit), whose products exceed
/// the true ones by 128 sum(aq) per block. Four k rows (64 bytes each) are
/// interleaved into k-quads by byte and word unpacks, so that dword lane d
/// of vector v holds column 16 (d / 4) + 4 v + d % 4; the columns are put
/// back in order once per panel.
KILN_AVX512_VNNI void gemvQ8Vnni(const Problem &pb, int64_t p0, int64_t p1,
                                 int64_t r, const int8_t *aq, const float *sa,
                                 const int32_t *sq) {
  const int64_t width = kiln_uk_qmatmul_panel_width(8);
  const __m512i sign = _mm512_set1_epi8(char(0x80));
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *panel = pb.panel(p);
    int64_t n0 = p * kNR;
    int cols = int(std::min<int64_t>(kNR, pb.n - n0));
    __m512 acc[4];
    for (int v = 0; v < 4; ++v)
      acc[v] = _mm512_setzero_ps();
    const uint8_t *wr = panel;
    for (int64_t b = 0; b * kQ8ActBlock < pb.k; ++b) {
      __m512i dot[4];
      for (int v = 0; v < 4; ++v)
        dot[v] = _mm512_setzero_si512();
      const int8_t *ab = aq + b * kQ8ActBlock;
      for (int64_t kk = 0; kk < kQ8ActBlock; kk += 4, wr += 4 * width) {
        __m512i rows[4];
        for (int t = 0; t < 4; ++t)
          rows[t] = _mm512_xor_si512(_mm512_loadu_si512(wr + t * width), sign);
        __m512i p01lo = _mm512_unpacklo_epi8(rows[0], rows[1]);
        __m512i p01hi = _mm512_unpackhi_epi8(rows[0], rows[1]);
        __m512i p23lo = _mm512_unpacklo_epi8(rows[2], rows[3]);
        __m512i p23hi = _mm512_unpackhi_epi8(rows[2], rows[3]);
        int32_t a4;
        std::memcpy(&a4, ab + kk, sizeof a4);
        __m512i av = _mm512_set1_epi32(a4);
        dot[0] = _mm512_dpbusd_epi32(dot[0],
                                     _mm512_unpacklo_epi16(p01lo, p23lo), av);
        dot[1] = _mm512_dpbusd_epi32(dot[1],
                                     _mm512_unpackhi_epi16(p01lo, p23lo), av);
        dot[2] = _mm512_dpbusd_epi32(dot[2],
                                     _mm512_unpacklo_epi16(p01hi, p23hi), av);
        dot[3] = _mm512_dpbusd_epi32(dot[3],
                                     _mm512_unpackhi_epi16(p01hi, p23hi), av);
      }
      __m512 sab = _mm512_set1_ps(sa[b]);
      __m512i offset = _mm512_set1_epi32(128 * sq[b]);
      for (int v = 0; v < 4; ++v)
        acc[v] = _mm512_fmadd_ps(
            sab, _mm512_cvtepi32_ps(_mm512_sub_epi32(dot[v], offset)), acc[v]);
    }
    alignas(64) float lanes[4][16], out[kNR];
    for (int v = 0; v < 4; ++v)
      _mm512_store_ps(lanes[v], acc[v]);
    for (int v = 0; v < 4; ++v)
      for (int d = 0; d < 16; ++d) {
        int col = 16 * (d / 4) + 4 * v + d % 4;
        out[col] = col < cols ? lanes[v][d] * pb.scale(0, n0 + col) : 0.0f;
      }
    storeRow(pb, r, n0, cols, out);
  }
}

/// One row times int4 panels [p0, p1) with vpdpbusd (gs a multiple of 8).
/// Eight k rows of a panel (32 bytes each: column j in the low nibble of
/// byte j, column 32 + j in the high one) are loaded as four registers,
/// rows k + t and k + 4 + t in the low and high 256 bits; byte then word
/// unpacks turn them into k-quads, so that dword lane d of unpacked vector
/// v holds the 4 k values of column 4v + d (d < 4) or 4v + 12 + d (d >= 4),
/// and its high nibbles those of the columns 32 further on. The two 256-bit
/// halves (k and k + 4) are added at the end of each group.
KILN_AVX512_VNNI void gemvQ4Vnni(const Problem &pb, int64_t p0, int64_t p1,
                                 int64_t r, const int8_t *aq, const float *sa,
                                 const int32_t *sq) {
  const int64_t width = kiln_uk_qmatmul_panel_width(4);
  const __m512i nibble = _mm512_set1_epi8(0x0f);
  // Dword 0 of a qword into the low 256 bits, dword 1 into the high ones.
  const __m512i halves =
      _mm512_set_epi32(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *panel = pb.panel(p);
    int64_t n0 = p * kNR;
    int cols = int(std::min<int64_t>(kNR, pb.n - n0));
    bool direct = cols == kNR && pb.sSN == 1 && !pb.z;
    __m256 acc[8];
    for (int v = 0; v < 8; ++v)
      acc[v] = _mm256_setzero_ps();
    for (int64_t g = 0; g < pb.groups; ++g) {
      __m512i dot[8];
      for (int v = 0; v < 8; ++v)
        dot[v] = _mm512_setzero_si512();
      const uint8_t *wr = panel + g * pb.gs * width;
      const int8_t *ag = aq + g * pb.gs;
      for (int64_t kk = 0; kk < pb.gs; kk += 8, wr += 8 * width) {
        __m512i rows[4];
        for (int t = 0; t < 4; ++t)
          rows[t] = _mm512_inserti64x4(
              _mm512_castsi256_si512(_mm256_loadu_si256(
                  reinterpret_cast<const __m256i *>(wr + t * width))),
              _mm256_loadu_si256(
                  reinterpret_cast<const __m256i *>(wr + (t + 4) * width)),
              1);
        __m512i p01lo = _mm512_unpacklo_epi8(rows[0], rows[1]);
        __m512i p01hi = _mm512_unpackhi_epi8(rows[0], rows[1]);
        __m512i p23lo = _mm512_unpacklo_epi8(rows[2], rows[3]);
        __m512i p23hi = _mm512_unpackhi_epi8(rows[2], rows[3]);
        __m512i quads[4] = {_mm512_unpacklo_epi16(p01lo, p23lo),
                            _mm512_unpackhi_epi16(p01lo, p23lo),
                            _mm512_unpacklo_epi16(p01hi, p23hi),
                            _mm512_unpackhi_epi16(p01hi, p23hi)};
        int64_t a8;
        std::memcpy(&a8, ag + kk, sizeof a8);
        __m512i av = _mm512_permutexvar_epi32(halves, _mm512_set1_epi64(a8));
        for (int v = 0; v < 4; ++v) {
          __m512i lo = _mm512_and_si512(quads[v], nibble);
          __m512i hi = _mm512_and_si512(_mm512_srli_epi16(quads[v], 4), nibble);
          dot[v] = _mm512_dpbusd_epi32(dot[v], lo, av);
          dot[v + 4] = _mm512_dpbusd_epi32(dot[v + 4], hi, av);
        }
      }
      alignas(64) float sbuf[kNR];
      alignas(64) int32_t zbuf[kNR];
      // The group's 64 scales: in place (f32), converted (f16) or gathered.
      const float *sg = sbuf;
      if (direct && pb.sh) {
        const uint16_t *hg = pb.sh + g * pb.sSG + n0;
        for (int v = 0; v < 4; ++v)
          _mm512_store_ps(sbuf + 16 * v,
                          _mm512_cvtph_ps(_mm256_loadu_si256(
                              reinterpret_cast<const __m256i *>(hg + 16 * v))));
      } else if (direct) {
        sg = pb.s + g * pb.sSG + n0;
      } else {
        for (int j = 0; j < kNR; ++j) {
          sbuf[j] = j < cols ? pb.scale(g, n0 + j) : 0.0f;
          zbuf[j] = j < cols ? int32_t(pb.zero(g, n0 + j)) : 0;
        }
      }
      __m256 sag = _mm256_set1_ps(sa[g]);
      __m256i sqg = _mm256_set1_epi32(sq[g]);
      for (int v = 0; v < 8; ++v) {
        int base = (v & 3) * 4 + (v >= 4 ? 32 : 0);
        __m256i d = _mm256_add_epi32(_mm512_castsi512_si256(dot[v]),
                                     _mm512_extracti64x4_epi64(dot[v], 1));
        __m256i z =
            direct ? _mm256_set1_epi32(8)
                   : _mm256_loadu2_m128i(
                         reinterpret_cast<const __m128i *>(zbuf + base + 16),
                         reinterpret_cast<const __m128i *>(zbuf + base));
        d = _mm256_sub_epi32(d, _mm256_mullo_epi32(z, sqg));
        __m256 sc = _mm256_loadu2_m128(sg + base + 16, sg + base);
        acc[v] = _mm256_fmadd_ps(_mm256_mul_ps(sc, sag), _mm256_cvtepi32_ps(d),
                                 acc[v]);
      }
    }
    alignas(64) float out[kNR];
    for (int v = 0; v < 8; ++v) {
      int base = (v & 3) * 4 + (v >= 4 ? 32 : 0);
      _mm_storeu_ps(out + base, _mm256_castps256_ps128(acc[v]));
      _mm_storeu_ps(out + base + 16, _mm256_extractf128_ps(acc[v], 1));
    }
    storeRow(pb, r, n0, cols, out);
  }
}

template <int BITS>
KILN_AVX512 void dequantAvx512(const Problem &pb, int64_t p0, int64_t p1,
                               float *out) {
  const int64_t half = KILN_UK_MATMUL_PACK_NR;
  const int64_t width = kiln_uk_qmatmul_panel_width(BITS);
  for (int64_t p = p0; p < p1; ++p) {
    const uint8_t *panel = pb.panel(p);
    int64_t n0 = p * kNR;
    int cols = int(std::min<int64_t>(kNR, pb.n - n0));
    float *dst0 = out + (p - p0) * 2 * pb.k * half;
    float *dst1 = dst0 + pb.k * half;
    for (int64_t g = 0; g < pb.groups; ++g) {
      __m512 s[4], sz[4];
      loadGroupParams(pb, g, n0, cols, s, sz);
      const uint8_t *wr = panel + g * pb.gs * width;
      for (int64_t kk = g * pb.gs; kk < (g + 1) * pb.gs; ++kk, wr += width) {
        __m512 w[4];
        loadWeights<BITS>(wr, w);
        // (q - z) s = q s - z s; columns past N get scale 0.
        _mm512_store_ps(dst0 + kk * half, _mm512_fmsub_ps(w[0], s[0], sz[0]));
        _mm512_store_ps(dst0 + kk * half + 16,
                        _mm512_fmsub_ps(w[1], s[1], sz[1]));
        _mm512_store_ps(dst1 + kk * half, _mm512_fmsub_ps(w[2], s[2], sz[2]));
        _mm512_store_ps(dst1 + kk * half + 16,
                        _mm512_fmsub_ps(w[3], s[3], sz[3]));
      }
    }
  }
}

//===----------------------------------------------------------------------===//
// Drivers
//===----------------------------------------------------------------------===//

bool detectAvx512() {
  __builtin_cpu_init();
  return __builtin_cpu_supports("avx512f") &&
         __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512dq") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
}

/// Tests lower the ISA to exercise the fallbacks: 0 portable, 1 AVX-512
/// without VNNI, -1 the CPU's.
std::atomic<int> isaLimit{-1};

bool useAvx512() {
  static const bool has = detectAvx512();
  return has && isaLimit.load(std::memory_order_relaxed) != 0;
}

bool useVnni() {
  static const bool has =
      detectAvx512() && __builtin_cpu_supports("avx512vnni");
  int limit = isaLimit.load(std::memory_order_relaxed);
  return has && (limit < 0 || limit >= 2);
}

struct Scratch {
  Buffer rows, sums, weights, quantized;
};

Scratch &threadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

void runGemv(const Problem &pb) {
  int64_t panels = kiln_uk_qmatmul_panels(pb.n);
  bool parallel = pb.rows() * pb.k * pb.n >= kMinParallelWork;
  Scratch &scratch = threadScratch();
  int64_t count = pb.rows();
  float *rows = scratch.rows.get(count * pb.k);
  float *sums = scratch.sums.get(count * pb.groups);
  gatherRows(pb, 0, int(count), rows, sums);
  bool avx = useAvx512();
  // One row on VNNI: int8 activations, per weight group (int4) or per
  // block of kQ8ActBlock (int8, whose kernel takes one scale per column:
  // the compiler's per-channel weights).
  int64_t actBlock = pb.bits == 4 ? pb.gs : kQ8ActBlock;
  if (count == 1 && pb.k % actBlock == 0 && actBlock % 8 == 0 &&
      (pb.bits == 4 || pb.groups == 1) && useVnni()) {
    int64_t blocks = pb.k / actBlock;
    // Scratch as floats: aq (K bytes), then sa and sq (one per block).
    float *q = scratch.quantized.get(ceilDiv(pb.k, 4) + 2 * blocks);
    float *sa = q + ceilDiv(pb.k, 4);
    int32_t *sq = reinterpret_cast<int32_t *>(sa + blocks);
    int8_t *aq = reinterpret_cast<int8_t *>(q);
    quantizeActivations(rows, blocks, actBlock, aq, sa, sq);
    parallelFor(panels, parallel, [&](int64_t p0, int64_t p1) {
      if (pb.bits == 4)
        gemvQ4Vnni(pb, p0, p1, 0, aq, sa, sq);
      else
        gemvQ8Vnni(pb, p0, p1, 0, aq, sa, sq);
    });
    return;
  }
  parallelFor(panels, parallel, [&](int64_t p0, int64_t p1) {
    for (int64_t r = 0; r < count; r += kGemvRowBlock) {
      int rb = int(std::min<int64_t>(kGemvRowBlock, count - r));
      const float *ar = rows + r * pb.k;
      const float *sr = sums + r * pb.groups;
      if (!avx) {
        gemvGeneric(pb, p0, p1, r, rb, ar, sr);
        continue;
      }
      auto run = [&](auto bitsTag) {
        constexpr int B = decltype(bitsTag)::value;
        switch (rb) {
        case 1:
          return gemvAvx512<B, 1>(pb, p0, p1, r, ar, sr);
        case 2:
          return gemvAvx512<B, 2>(pb, p0, p1, r, ar, sr);
        default:
          return gemvAvx512<B, 3>(pb, p0, p1, r, ar, sr);
        }
      };
      if (pb.bits == 8)
        run(std::integral_constant<int, 8>());
      else
        run(std::integral_constant<int, 4>());
    }
  });
}

void runChunked(const Problem &pb, int64_t flags) {
  int64_t panels = kiln_uk_qmatmul_panels(pb.n);
  int64_t chunkPanels =
      std::max<int64_t>(1, kChunkBytes / (pb.k * kNR * int64_t(sizeof(float))));
  Scratch &scratch = threadScratch();
  float *buf = scratch.weights.get(std::min(chunkPanels, panels) * kNR * pb.k);
  bool avx = useAvx512();
  int64_t passFlags = flags & (KILN_UK_ACCUMULATE | KILN_UK_ACT_MASK);
  for (int64_t c0 = 0; c0 < panels; c0 += chunkPanels) {
    int64_t c1 = std::min(panels, c0 + chunkPanels);
    parallelFor(c1 - c0, pb.k * (c1 - c0) * kNR >= kMinParallelWork,
                [&](int64_t b, int64_t e) {
                  float *out = buf + b * 2 * pb.k * KILN_UK_MATMUL_PACK_NR;
                  if (!avx)
                    dequantGeneric(pb, c0 + b, c0 + e, out);
                  else if (pb.bits == 8)
                    dequantAvx512<8>(pb, c0 + b, c0 + e, out);
                  else
                    dequantAvx512<4>(pb, c0 + b, c0 + e, out);
                });
    int64_t n0 = c0 * kNR, n = std::min(pb.n, c1 * kNR) - n0;
    int64_t size = kiln_uk_matmul_packed_size(pb.k, n);
    float *c = pb.c + n0 * pb.cSN;
    if (pb.bias)
      kiln_uk_matmul_packed_bias_f32(
          pb.a, pb.aBatch, pb.m, pb.k, pb.aSB, pb.aSM, pb.aSK, buf, size, 1,
          pb.k, n, pb.bias + n0 * pb.biasS, n, pb.biasS, passFlags, c, pb.batch,
          pb.m, n, pb.cSB, pb.cSM, pb.cSN);
    else
      kiln_uk_matmul_packed_f32(pb.a, pb.aBatch, pb.m, pb.k, pb.aSB, pb.aSM,
                                pb.aSK, buf, size, 1, pb.k, n, passFlags, c,
                                pb.batch, pb.m, n, pb.cSB, pb.cSM, pb.cSN);
  }
}

[[noreturn]] void fail(const char *what) {
  std::fprintf(stderr, "kiln: quantized matmul: %s\n", what);
  std::abort();
}

void run(Problem &pb, int64_t wP, int64_t wK, int64_t wJ, int64_t wSP,
         int64_t wSK, int64_t wSJ, int64_t sG, int64_t sN, int64_t flags) {
  // The compiler checks these (kiln.qmatmul's verifier); a mismatch here is
  // a bug in generated code, not bad user input.
  if (wP != kiln_uk_qmatmul_panels(pb.n) || wK != pb.k ||
      wJ != kiln_uk_qmatmul_panel_width(pb.bits) || sN != pb.n || sG <= 0 ||
      pb.k % sG != 0)
    fail("operand shapes do not match the packed layout");
  pb.groups = sG;
  pb.gs = pb.k / sG;
  pb.act = int((flags & KILN_UK_ACT_MASK) >> KILN_UK_ACT_SHIFT);
  pb.accumulate = flags & KILN_UK_ACCUMULATE;
  if (!(flags & KILN_UK_Q_BIAS))
    pb.bias = nullptr;
  if (pb.rows() == 0 || pb.n == 0)
    return;
  if (pb.k == 0) {
    // An empty sum: C = act(bias) (+ C).
    float zeros[kNR] = {};
    for (int64_t r = 0; r < pb.rows(); ++r)
      for (int64_t n0 = 0; n0 < pb.n; n0 += kNR)
        storeRow(pb, r, n0, int(std::min<int64_t>(kNR, pb.n - n0)), zeros);
    return;
  }
  // Generated code passes the dense constant; copy anything else.
  Buffer dense;
  int64_t width = wJ;
  if (wSJ != 1 || wSK != width || wSP != wK * width) {
    uint8_t *d = reinterpret_cast<uint8_t *>(
        dense.get(ceilDiv(wP * wK * width, int64_t(sizeof(float)))));
    for (int64_t p = 0; p < wP; ++p)
      for (int64_t kk = 0; kk < wK; ++kk)
        for (int64_t j = 0; j < width; ++j)
          d[(p * wK + kk) * width + j] = pb.w[p * wSP + kk * wSK + j * wSJ];
    pb.w = d;
  }
  if (pb.rows() <= kGemvMaxRows)
    runGemv(pb);
  else
    runChunked(pb, flags);
}

/// The entry points' common part: `bits`-bit weights with f32 scales `s` or
/// f16 scales `sh`; zero points `z` (int4) with KILN_UK_Q_ZERO_POINTS.
void matmulQ(int bits, const float *a, int64_t aBatch, int64_t aK,
             int64_t aStrideB, int64_t aStrideM, int64_t aStrideK,
             const uint8_t *w, int64_t wP, int64_t wK, int64_t wJ,
             int64_t wStrideP, int64_t wStrideK, int64_t wStrideJ,
             const float *s, const uint16_t *sh, int64_t sG, int64_t sN,
             int64_t sStrideG, int64_t sStrideN, const uint8_t *z, int64_t zG,
             int64_t zN, int64_t zStrideG, int64_t zStrideN, const float *bias,
             int64_t biasStride, int64_t flags, float *c, int64_t cBatch,
             int64_t cM, int64_t cN, int64_t cStrideB, int64_t cStrideM,
             int64_t cStrideN) {
  Problem pb{};
  pb.bits = bits;
  pb.batch = cBatch;
  pb.aBatch = aBatch;
  pb.m = cM;
  pb.k = aK;
  pb.n = cN;
  pb.a = a;
  pb.aSB = aStrideB;
  pb.aSM = aStrideM;
  pb.aSK = aStrideK;
  pb.w = w;
  pb.s = s;
  pb.sh = sh;
  pb.sSG = sStrideG;
  pb.sSN = sStrideN;
  if (bits == 4 && (flags & KILN_UK_Q_ZERO_POINTS)) {
    if (zG != sG || zN != sN)
      fail("zero points and scales differ in shape");
    pb.z = z;
    pb.zSG = zStrideG;
    pb.zSN = zStrideN;
  }
  pb.bias = bias;
  pb.biasS = biasStride;
  pb.c = c;
  pb.cSB = cStrideB;
  pb.cSM = cStrideM;
  pb.cSN = cStrideN;
  run(pb, wP, wK, wJ, wStrideP, wStrideK, wStrideJ, sG, sN, flags);
}
} // namespace

extern "C" {

void kiln_uk_matmul_q8_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const int8_t *w, int64_t wP, int64_t wK,
    int64_t wJ, int64_t wStrideP, int64_t wStrideK, int64_t wStrideJ,
    const float *s, int64_t sG, int64_t sN, int64_t sStrideG, int64_t sStrideN,
    const float *bias, int64_t biasN, int64_t biasStride, int64_t flags,
    float *c, int64_t cBatch, int64_t cM, int64_t cN, int64_t cStrideB,
    int64_t cStrideM, int64_t cStrideN) {
  (void)biasN;
  (void)aM;
  matmulQ(8, a, aBatch, aK, aStrideB, aStrideM, aStrideK,
          reinterpret_cast<const uint8_t *>(w), wP, wK, wJ, wStrideP, wStrideK,
          wStrideJ, s, nullptr, sG, sN, sStrideG, sStrideN, nullptr, 0, 0, 0, 0,
          bias, biasStride, flags, c, cBatch, cM, cN, cStrideB, cStrideM,
          cStrideN);
}

void kiln_uk_matmul_q4_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const uint8_t *w, int64_t wP,
    int64_t wK, int64_t wJ, int64_t wStrideP, int64_t wStrideK,
    int64_t wStrideJ, const float *s, int64_t sG, int64_t sN, int64_t sStrideG,
    int64_t sStrideN, const uint8_t *z, int64_t zG, int64_t zN,
    int64_t zStrideG, int64_t zStrideN, const float *bias, int64_t biasN,
    int64_t biasStride, int64_t flags, float *c, int64_t cBatch, int64_t cM,
    int64_t cN, int64_t cStrideB, int64_t cStrideM, int64_t cStrideN) {
  (void)biasN;
  (void)aM;
  matmulQ(4, a, aBatch, aK, aStrideB, aStrideM, aStrideK, w, wP, wK, wJ,
          wStrideP, wStrideK, wStrideJ, s, nullptr, sG, sN, sStrideG, sStrideN,
          z, zG, zN, zStrideG, zStrideN, bias, biasStride, flags, c, cBatch, cM,
          cN, cStrideB, cStrideM, cStrideN);
}

void kiln_uk_matmul_q4h_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const uint8_t *w, int64_t wP,
    int64_t wK, int64_t wJ, int64_t wStrideP, int64_t wStrideK,
    int64_t wStrideJ, const uint16_t *s, int64_t sG, int64_t sN,
    int64_t sStrideG, int64_t sStrideN, const uint8_t *z, int64_t zG,
    int64_t zN, int64_t zStrideG, int64_t zStrideN, const float *bias,
    int64_t biasN, int64_t biasStride, int64_t flags, float *c, int64_t cBatch,
    int64_t cM, int64_t cN, int64_t cStrideB, int64_t cStrideM,
    int64_t cStrideN) {
  (void)biasN;
  (void)aM;
  matmulQ(4, a, aBatch, aK, aStrideB, aStrideM, aStrideK, w, wP, wK, wJ,
          wStrideP, wStrideK, wStrideJ, nullptr, s, sG, sN, sStrideG, sStrideN,
          z, zG, zN, zStrideG, zStrideN, bias, biasStride, flags, c, cBatch, cM,
          cN, cStrideB, cStrideM, cStrideN);
}

/// For the unit tests: 0 forces the portable kernels, 1 the AVX-512 ones
/// without VNNI, -1 restores the CPU's. Not in ukernels.h: not for
/// generated code.
KILN_UK_API void kiln_uk_qmatmul_limit_isa_for_testing(int isa) {
  isaLimit.store(isa, std::memory_order_relaxed);
}

} // extern "C"
