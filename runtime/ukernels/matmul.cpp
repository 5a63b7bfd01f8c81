//===- matmul.cpp - the runtime's matmul micro-kernels --------------------===//
//
// kiln_uk_matmul_{f32,bias_f32,bf16,packed_f32,packed_bias_f32}: batched
// C = act(A B + bias) (+ C), in the GotoBLAS/BLIS structure.
//
// The large-matrix path ("blocked"):
//
//   for jc in N step NC                      B~ block (KC x NC) lives in L3
//     for pc in K step KC
//       for ic0 in M step MCO
//         [parallel] pack A~ (MCO x KC, MR-row panels) and, once per
//                    (jc, pc), B~ (KC x NC, NR-column panels)
//         [parallel] for each macro tile (MC x NCT) of C:
//           for ir in MC step MR                A~ micro-panel (MR x KC): L1
//             for jr in NCT step NR             B~ tile (KC x NCT): L2
//               micro-kernel MR x NR over KC
//
// Blocking parameters (AMD Zen 4: 32 zmm registers, 1 FMA zmm/cycle, 32 KiB
// L1d, 1 MiB L2 per core, 32 MiB L3 shared) and why:
//
//  - NR = 32 (two zmm) and MR = 14: 28 accumulators + 2 B vectors = 30 zmm;
//    A is read with embedded broadcasts, so it needs no register. Per k step:
//    2 vector loads + 14 broadcasts for 28 FMAs, far below the load ports'
//    limit. The last row panel of an A block is run by a kernel specialized
//    for its row count (1..14) so that no FMA is wasted on padding rows.
//  - KC = 1024 k steps (fp32 elements or bf16 pairs): most models' K fits
//    in one block, so each C tile is loaded and stored once, not once per
//    256 k steps (at KC = 256, the C traffic of a 2048^3 product was 9% of
//    its time). The A~ micro-panel (14 x 1024 x 4 B = 56 KiB) then lives in
//    L2, not L1: per k step the kernel reads 184 bytes for 28 FMAs (28
//    cycles), far below L2's bandwidth, and the streams are sequential.
//  - NCT = 128 columns per macro tile: the B~ tile it reads (1024 x 128 x
//    4 B = 512 KiB) stays in the core's 1 MiB L2 across the tile's row
//    panels, next to the A~ micro-panel.
//  - MC ~ 112 rows per macro tile (balanced over M): enough tiles for the
//    pool's dynamic scheduling to keep every thread busy (also when another
//    process steals a core), small enough that A~ rows come from L2.
//  - NC = 2048 and MCO = 2044: the shared B~ block (8 MiB) and A~ block
//    (8 MiB) live in the 32 MiB L3.
//  Measured on 2 threads (best of 3 medians, ms; KC/NCT/NC 256/512/4096 ->
//  1024/128/2048): 2048^3 92.6 -> 85.9, 1024^3 10.9 -> 10.7, 512^3 1.47 ->
//  1.30, 128x3072x768 3.08 -> 2.87, bf16 2048^3 46.5 -> 43.4.
//  Packing runs in parallel and is shared: each (jc, pc) is two fork-joins.
//  A row-major B is packed a few rows at a time across groups of panels, so
//  that its rows are read in 1 KiB runs rather than 128-byte pieces.
//
// Small M (LLM decode, M <= 8): packing B would cost as much as the product,
// which is bound by the memory bandwidth B streams at. So B is not packed:
//  - row-major B: whole rows of B are streamed (long sequential runs, which
//    DRAM and the hardware prefetchers serve best; reading a narrow strip of
//    many rows instead runs at half the speed), a few rows per pass into
//    partial sums of all of C's row (in L1/L2); K is split over the pool and
//    the partial sums are reduced with the epilogue;
//  - K-contiguous B ([N, K], torch Linear weights), M <= 4: dot products
//    vectorized along K, over groups of 4 columns;
//  - pre-packed B (kiln_uk_matmul_packed_f32), M <= MR: the panels are read
//    in place (one sequential stream per panel), several panels per kernel
//    for M <= 4; nothing at all is packed.
// A pre-packed B also skips B's packing in the blocked path.
//
// Batches: batches that share B and lay out A and C densely are folded into
// M; otherwise the batch is spread over the pool when it is large enough,
// each thread running whole products, or else each product is spread.
//
// bf16: vdpbf16ps (avx512_bf16) with fp32 accumulation; A~ and B~ hold pairs
// of consecutive k values in 32-bit words. Without avx512_bf16, bf16 operands
// are converted to fp32 while packing and the fp32 kernels run.
//
// Portability: the AVX-512 code carries target attributes and is chosen at
// run time (__builtin_cpu_supports); a portable kernel (plain C++ the
// compiler vectorizes for the baseline ISA) covers other CPUs.
//
//===----------------------------------------------------------------------===//

#include "matmul_pack.h"
#include "ukernels.h"

#include "../src/internal.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <immintrin.h>
#include <type_traits>
#include <vector>

namespace {

//===----------------------------------------------------------------------===//
// Blocking parameters (see the header comment)
//===----------------------------------------------------------------------===//

constexpr int kNR = KILN_UK_MATMUL_PACK_NR; // columns per B~ panel
constexpr int kMR = 14;                     // rows per A~ panel
constexpr int64_t kKC = 1024;               // k steps per K block
constexpr int64_t kNC = 2048;               // columns per B~ block
constexpr int64_t kMCO = 2048 / kMR * kMR;  // rows per A~ block
constexpr int64_t kMCMax = 8 * kMR;         // rows per macro tile (at most)
constexpr int64_t kNCT = 128;               // columns per macro tile
/// Packing B~: panels per task, and rows per pass over a row-major B (so
/// that each row is read in runs of 1 KiB rather than 128 bytes).
constexpr int64_t kPackGroup = 8;
constexpr int64_t kPackRows = 16;
/// Below this many multiply-adds a product runs on the calling thread.
constexpr int64_t kMinParallelWork = int64_t(1) << 18;
/// Small M on a pre-packed B: k steps per block.
constexpr int64_t kDirectKC = 256;
/// Largest M of the wide kernels (pre-packed B), and their width in vectors.
constexpr int kWideMaxM = 4;
constexpr int wideVectors(int m) { return m == 1 ? 16 : m <= 3 ? 8 : 4; }
/// Largest M of the row-streaming kernels (row-major B, small M), and the
/// fewest K rows per chunk when they split K.
constexpr int kRowStreamMaxM = 8;
constexpr int64_t kRowStreamMinK = 128;
/// Largest M of the dot-product kernels (B K-contiguous).
constexpr int kDotMaxM = 4;

static_assert(kNR == 32, "the micro-kernels hold a row of B~ in two zmm");
constexpr bool wideTilesFit() {
  for (int m = 1; m <= kWideMaxM; ++m)
    if (m * 16 * wideVectors(m) > kMR * kNR)
      return false;
  return true;
}
static_assert(wideTilesFit(), "tile buffers hold MR x NR floats");
static_assert(kNC % kNR == 0 && kNCT % kNR == 0, "tiles are whole panels");
static_assert(kMR <= 14, "28 accumulators + 2 B vectors use 30 of 32 zmm");

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

//===----------------------------------------------------------------------===//
// Scratch buffers: per thread, 64-byte aligned, grown on demand
//===----------------------------------------------------------------------===//

class AlignedBuffer {
public:
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer &) = delete;
  AlignedBuffer &operator=(const AlignedBuffer &) = delete;
  ~AlignedBuffer() { std::free(data); }

  /// At least `bytes` bytes; the contents are lost when it grows.
  float *get(size_t bytes) {
    if (bytes > size) {
      std::free(data);
      size_t rounded = (bytes + 63) & ~size_t(63);
      data = std::aligned_alloc(64, rounded);
      if (!data) {
        std::fprintf(stderr, "kiln: matmul: cannot allocate %zu bytes\n",
                     rounded);
        std::abort();
      }
      size = rounded;
    }
    return static_cast<float *>(data);
  }

private:
  void *data = nullptr;
  size_t size = 0;
};

/// The packing buffers of the calling thread. While a product runs in
/// parallel, the workers read the buffers of the thread that called it.
struct Scratch {
  AlignedBuffer a, b;
};

Scratch &threadScratch() {
  thread_local Scratch scratch;
  return scratch;
}

/// Runs f(begin, end) over [0, count) on the current pool if `parallel`,
/// else on the calling thread.
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

//===----------------------------------------------------------------------===//
// Scalar helpers
//===----------------------------------------------------------------------===//

inline float bf16ToFloat(uint16_t bits) {
  uint32_t u = uint32_t(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}
inline float toFloat(float x) { return x; }
inline float toFloat(uint16_t x) { return bf16ToFloat(x); }

/// The activations in double precision (the portable path).
float activateScalar(float xf, int act) {
  double x = xf;
  switch (act) {
  case KILN_UK_ACT_RELU:
    return xf > 0.0f ? xf : 0.0f;
  case KILN_UK_ACT_GELU_ERF:
    return float(0.5 * x * std::erfc(-x * M_SQRT1_2));
  case KILN_UK_ACT_GELU_TANH: {
    // x (1 + tanh u) / 2, without its cancellation for negative x.
    double u = 0.7978845608028654 * (x + 0.044715 * x * x * x);
    return float(x / (1.0 + std::exp(-2.0 * u)));
  }
  case KILN_UK_ACT_SILU:
    return float(x / (1.0 + std::exp(-x)));
  default:
    return xf;
  }
}

//===----------------------------------------------------------------------===//
// What the drivers hand the micro-kernels
//===----------------------------------------------------------------------===//

/// One MR x NR tile of C: C = epilogue(A~ panel x B panel).
struct TileArgs {
  int64_t kSteps;       // k steps (fp32 values or bf16 pairs)
  const void *a;        // A~ panel: kSteps x mr (the kernel's row count)
  const void *b;        // B~ panel (or panels: wide kernels)
  int64_t ldb;          // between consecutive k steps of b
  int64_t panelStride;  // wide kernels: between panels
  int nr;               // valid columns, 1..kNR
  float *c;             // C at (row0, n0); unit column stride
  int64_t ldc;          // C's row stride
  const float *partial; // partial sums to add (ldp apart), or null
  int64_t ldp;
  const float *bias; // bias + n0 (contiguous) or null
  int act;           // KILN_UK_ACT_*
  bool loadC;        // add C before bias and activation
  bool addCAfter;    // add C after the activation
};

using TileFn = void (*)(const TileArgs &);

/// A small-M product with a K-contiguous B, on up to 4 columns.
struct DotArgs {
  int64_t k;         // K
  const void *a;     // A (K-contiguous rows)
  int64_t lda;       // A's row stride
  const void *b;     // B at column n0 (column n at b + n * ldb)
  int64_t ldb;       // B's column stride
  float *c;          // C at (0, n0)
  int64_t ldc, ccs;  // C's strides
  const float *bias; // bias + n0 or null
  int act;
  bool loadC, addCAfter;
};

using DotFn = void (*)(const DotArgs &);

/// Small M with a row-major B: out (M x n) = A~ B over kRows whole rows.
struct RowStreamArgs {
  const float *a; // A~ in fp32: kRows steps x M
  const void *b;  // B at (k0, n0), row-major
  int64_t ldb;    // B's row stride
  int64_t kRows, n;
  float *out; // M rows, ldo apart; overwritten
  int64_t ldo;
};

using RowStreamFn = void (*)(const RowStreamArgs &);

/// One ISA's kernels for one operand type.
struct Backend {
  int kStep;       // source k values per packed k step (bf16 pairs: 2)
  size_t srcBytes; // bytes per source element
  TileFn (*pickTile)(int mr, int nv);
  /// Packs mr rows x kc values of A (src at (row0, k0)) into an A~ panel of
  /// ceil(kc / kStep) steps x mr.
  void (*packA)(const void *src, int64_t rs, int64_t cs, int mr, int64_t kc,
                float *dst);
  /// Packs kc rows x nr columns of B (src at (k0, n0)) into a B~ panel of
  /// ceil(kc / kStep) steps x kNR, zero-padding columns past nr.
  void (*packB)(const void *src, int64_t rs, int64_t cs, int nr, int64_t kc,
                float *dst);
  /// Kernels for M <= kWideMaxM rows and wideVectors(M) 16-column vectors
  /// of a pre-packed fp32 B (fp32 A~: kSteps x M); null if none.
  TileFn (*pickWidePacked)(int m);
  /// Row-streaming kernels for M <= kRowStreamMaxM rows; null if none.
  RowStreamFn (*pickRowStream)(int m);
  /// Dot-product kernels for M rows (1..kDotMaxM) and 1 or 4 columns; null
  /// when the backend has none.
  DotFn (*pickDot)(int m, int cols);
};

//===----------------------------------------------------------------------===//
// Portable kernels
//===----------------------------------------------------------------------===//

void epilogueScalar(const float *acc, int mr, int nr, int accStride,
                    const TileArgs &t) {
  for (int i = 0; i < mr; ++i) {
    float *c = t.c + i * t.ldc;
    for (int j = 0; j < nr; ++j) {
      float x = acc[i * accStride + j];
      if (t.partial)
        x += t.partial[i * t.ldp + j];
      if (t.loadC)
        x += c[j];
      if (t.bias)
        x += t.bias[j];
      x = activateScalar(x, t.act);
      if (t.addCAfter)
        x += c[j];
      c[j] = x;
    }
  }
}

template <int MR> void tileGeneric(const TileArgs &t) {
  float acc[MR][kNR] = {};
  const float *a = static_cast<const float *>(t.a);
  const float *b = static_cast<const float *>(t.b);
  const int nr = t.nr;
  for (int64_t k = 0; k < t.kSteps; ++k) {
    for (int i = 0; i < MR; ++i) {
      float ai = a[k * MR + i];
      for (int j = 0; j < nr; ++j)
        acc[i][j] += ai * b[j];
    }
    b += t.ldb;
  }
  epilogueScalar(&acc[0][0], MR, nr, kNR, t);
}

template <int MR> TileFn pickTileGenericRows(int mr) {
  if constexpr (MR == 0)
    return nullptr;
  else
    return mr == MR ? &tileGeneric<MR> : pickTileGenericRows<MR - 1>(mr);
}

TileFn pickTileGeneric(int mr, int) { return pickTileGenericRows<kMR>(mr); }

template <typename Src>
void packAGeneric(const void *srcv, int64_t rs, int64_t cs, int mr, int64_t kc,
                  float *dst) {
  const Src *src = static_cast<const Src *>(srcv);
  for (int64_t k = 0; k < kc; ++k)
    for (int i = 0; i < mr; ++i)
      dst[k * mr + i] = toFloat(src[i * rs + k * cs]);
}

template <typename Src>
void packBGeneric(const void *srcv, int64_t rs, int64_t cs, int nr, int64_t kc,
                  float *dst) {
  const Src *src = static_cast<const Src *>(srcv);
  for (int64_t k = 0; k < kc; ++k) {
    for (int j = 0; j < nr; ++j)
      dst[k * kNR + j] = toFloat(src[k * rs + j * cs]);
    for (int j = nr; j < kNR; ++j)
      dst[k * kNR + j] = 0.0f;
  }
}

/// bf16 pairs (32-bit words: k even in the low half) with any strides.
void packAPairsScalar(const void *srcv, int64_t rs, int64_t cs, int mr,
                      int64_t kc, float *dstf) {
  const uint16_t *src = static_cast<const uint16_t *>(srcv);
  uint32_t *dst = reinterpret_cast<uint32_t *>(dstf);
  for (int64_t p = 0; p < ceilDiv(kc, 2); ++p) {
    int64_t k = 2 * p;
    for (int i = 0; i < mr; ++i) {
      uint32_t lo = src[i * rs + k * cs];
      uint32_t hi = k + 1 < kc ? src[i * rs + (k + 1) * cs] : 0;
      dst[p * mr + i] = lo | hi << 16;
    }
  }
}

void packBPairsScalar(const void *srcv, int64_t rs, int64_t cs, int nr,
                      int64_t kc, float *dstf) {
  const uint16_t *src = static_cast<const uint16_t *>(srcv);
  uint32_t *dst = reinterpret_cast<uint32_t *>(dstf);
  for (int64_t p = 0; p < ceilDiv(kc, 2); ++p) {
    int64_t k = 2 * p;
    for (int j = 0; j < kNR; ++j) {
      uint32_t lo = 0, hi = 0;
      if (j < nr) {
        lo = src[k * rs + j * cs];
        hi = k + 1 < kc ? src[(k + 1) * rs + j * cs] : 0;
      }
      dst[p * kNR + j] = lo | hi << 16;
    }
  }
}

//===----------------------------------------------------------------------===//
// AVX-512 code
//===----------------------------------------------------------------------===//

#define KILN_AVX512                                                            \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#define KILN_AVX512_BF16                                                       \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx512bf16,fma")))

KILN_AVX512 inline __mmask16 lanes16(int n) {
  return n >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n > 0 ? n : 0)) - 1);
}
KILN_AVX512 inline __mmask32 lanes32(int n) {
  return n >= 32 ? __mmask32(0xffffffffu)
                 : __mmask32((1u << (n > 0 ? n : 0)) - 1);
}

// --- Vectorized math ------------------------------------------------------

/// e^x, within 2 ulp: Cody-Waite reduction x = n ln2 + r, |r| <= ln2/2, a
/// degree-7 polynomial (Cephes expf), 2^n applied with vscalefps (which
/// handles overflow to inf and gradual underflow).
KILN_AVX512 inline __m512 expV(__m512 x0) {
  __m512 x = _mm512_min_ps(_mm512_max_ps(x0, _mm512_set1_ps(-104.0f)),
                           _mm512_set1_ps(89.0f));
  __m512 n = _mm512_roundscale_ps(
      _mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
      _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  __m512 y = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  y = _mm512_add_ps(y, _mm512_set1_ps(1.0f));
  y = _mm512_scalef_ps(y, n);
  // NaN in, NaN out (the clamp above would have eaten it).
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x0, x0, _CMP_UNORD_Q), x0);
}

/// erfc(z) for z >= 0, given z^2 as hi + lo (exactly, or as exactly as the
/// caller can: exp(-z^2) amplifies an error in z^2 by z^2), with a relative
/// error below 5e-7: Numerical Recipes' erfcc, t exp(-z^2 + P(t)) with
/// t = 1 / (1 + z / 2) (a Chebyshev fit, 1.2e-7 in exact arithmetic).
KILN_AVX512 inline __m512 erfcNonNegV(__m512 z, __m512 hi, __m512 lo) {
  const __m512 one = _mm512_set1_ps(1.0f);
  __m512 t = _mm512_div_ps(one, _mm512_fmadd_ps(_mm512_set1_ps(0.5f), z, one));
  __m512 p = _mm512_set1_ps(0.17087277f);
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.82215223f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.48851587f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.13520398f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.27886807f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-0.18628806f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.09678418f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(0.37409196f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(1.00002368f));
  p = _mm512_fmadd_ps(p, t, _mm512_set1_ps(-1.26551223f));
  // exp(-hi - lo + p) = exp(-hi) exp(p - lo): -hi is exact.
  __m512 e = _mm512_mul_ps(expV(_mm512_sub_ps(_mm512_setzero_ps(), hi)),
                           expV(_mm512_sub_ps(p, lo)));
  return _mm512_mul_ps(t, e);
}

/// x Phi(x) = x erfc(-x / sqrt 2) / 2, with erfc of |x| / sqrt 2 only (no
/// cancellation for negative x); z^2 = x^2 / 2 is formed exactly from x.
KILN_AVX512 inline __m512 geluErfV(__m512 x) {
  const __m512 half = _mm512_set1_ps(0.5f);
  // erfc(16 / sqrt 2) underflows: clamp to keep x^2 finite.
  __m512 xc = _mm512_min_ps(_mm512_abs_ps(x), _mm512_set1_ps(16.0f));
  __m512 z = _mm512_mul_ps(xc, _mm512_set1_ps(0.70710678118654752f));
  __m512 xx = _mm512_mul_ps(xc, xc);
  __m512 hi = _mm512_mul_ps(xx, half);
  __m512 lo = _mm512_mul_ps(_mm512_fmsub_ps(xc, xc, xx), half);
  __m512 tail = _mm512_mul_ps(half, erfcNonNegV(z, hi, lo));
  // Phi(x) = 1 - tail for x >= 0, tail for x < 0.
  __m512 phi = _mm512_mask_sub_ps(
      tail, _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_GE_OQ),
      _mm512_set1_ps(1.0f), tail);
  return _mm512_mul_ps(x, phi);
}

/// x (1 + tanh u) / 2 = x / (1 + e^(-2u)), u = sqrt(2/pi) (x + 0.044715 x^3).
KILN_AVX512 inline __m512 geluTanhV(__m512 x) {
  __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  __m512 u = _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x);
  __m512 e =
      expV(_mm512_mul_ps(u, _mm512_set1_ps(-2.0f * 0.7978845608028654f)));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/// x / (1 + e^-x).
KILN_AVX512 inline __m512 siluV(__m512 x) {
  __m512 e = expV(_mm512_sub_ps(_mm512_setzero_ps(), x));
  return _mm512_div_ps(x, _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

template <int Act> KILN_AVX512 inline __m512 activateV(__m512 x) {
  if constexpr (Act == KILN_UK_ACT_RELU)
    return _mm512_max_ps(x, _mm512_setzero_ps());
  else if constexpr (Act == KILN_UK_ACT_GELU_ERF)
    return geluErfV(x);
  else if constexpr (Act == KILN_UK_ACT_GELU_TANH)
    return geluTanhV(x);
  else if constexpr (Act == KILN_UK_ACT_SILU)
    return siluV(x);
  else
    return x;
}

// --- Epilogue ---------------------------------------------------------------

template <int MR, int NV, int Act>
KILN_AVX512 inline void storeTileAct(__m512 (&acc)[MR][NV], const TileArgs &t) {
  __mmask16 mask[NV];
  __m512 bias[NV];
  for (int v = 0; v < NV; ++v) {
    mask[v] = lanes16(t.nr - 16 * v);
    bias[v] = t.bias ? _mm512_maskz_loadu_ps(mask[v], t.bias + 16 * v)
                     : _mm512_setzero_ps();
  }
  for (int i = 0; i < MR; ++i) {
    for (int v = 0; v < NV; ++v) {
      float *c = t.c + i * t.ldc + 16 * v;
      __m512 x = acc[i][v];
      if (t.partial)
        x = _mm512_add_ps(
            x, _mm512_maskz_loadu_ps(mask[v], t.partial + i * t.ldp + 16 * v));
      if (t.loadC)
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], c));
      if (t.bias)
        x = _mm512_add_ps(x, bias[v]);
      x = activateV<Act>(x);
      if (t.addCAfter)
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask[v], c));
      _mm512_mask_storeu_ps(c, mask[v], x);
    }
  }
}

template <int MR, int NV>
KILN_AVX512 inline void storeTile(__m512 (&acc)[MR][NV], const TileArgs &t) {
  switch (t.act) {
  case KILN_UK_ACT_RELU:
    return storeTileAct<MR, NV, KILN_UK_ACT_RELU>(acc, t);
  case KILN_UK_ACT_GELU_ERF:
    return storeTileAct<MR, NV, KILN_UK_ACT_GELU_ERF>(acc, t);
  case KILN_UK_ACT_GELU_TANH:
    return storeTileAct<MR, NV, KILN_UK_ACT_GELU_TANH>(acc, t);
  case KILN_UK_ACT_SILU:
    return storeTileAct<MR, NV, KILN_UK_ACT_SILU>(acc, t);
  default:
    return storeTileAct<MR, NV, KILN_UK_ACT_NONE>(acc, t);
  }
}

/// Epilogue of one vector of results (lanes in `mask`) for C at `c` with
/// column stride `cs`.
KILN_AVX512 void storeVector(__m512 x, __mmask16 mask, float *c, int64_t cs,
                             const float *bias, int act, bool loadC,
                             bool addCAfter) {
  alignas(64) float old[16] = {};
  if (loadC || addCAfter) {
    if (cs == 1) {
      _mm512_store_ps(old, _mm512_maskz_loadu_ps(mask, c));
    } else {
      for (int j = 0; j < 16; ++j)
        if (mask >> j & 1)
          old[j] = c[j * cs];
    }
  }
  __m512 oldV = _mm512_load_ps(old);
  if (loadC)
    x = _mm512_add_ps(x, oldV);
  if (bias)
    x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, bias));
  switch (act) {
  case KILN_UK_ACT_RELU:
    x = activateV<KILN_UK_ACT_RELU>(x);
    break;
  case KILN_UK_ACT_GELU_ERF:
    x = activateV<KILN_UK_ACT_GELU_ERF>(x);
    break;
  case KILN_UK_ACT_GELU_TANH:
    x = activateV<KILN_UK_ACT_GELU_TANH>(x);
    break;
  case KILN_UK_ACT_SILU:
    x = activateV<KILN_UK_ACT_SILU>(x);
    break;
  default:
    break;
  }
  if (addCAfter)
    x = _mm512_add_ps(x, oldV);
  if (cs == 1) {
    _mm512_mask_storeu_ps(c, mask, x);
  } else {
    alignas(64) float out[16];
    _mm512_store_ps(out, x);
    for (int j = 0; j < 16; ++j)
      if (mask >> j & 1)
        c[j * cs] = out[j];
  }
}

// --- fp32 micro-kernel -------------------------------------------------------

/// C tile (MR x 16 NV) = A~ (kSteps x MR) B~ (kSteps x 16 NV), B~ zero-padded
/// past nr columns.
template <int MR, int NV> KILN_AVX512 void tileF32Avx512(const TileArgs &t) {
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = _mm512_setzero_ps();
  const float *a = static_cast<const float *>(t.a);
  const float *b = static_cast<const float *>(t.b);
  const int64_t ldb = t.ldb;
#pragma clang loop unroll_count(4)
  for (int64_t k = 0; k < t.kSteps; ++k) {
    __m512 bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = _mm512_loadu_ps(b + 16 * v);
    for (int i = 0; i < MR; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
      for (int v = 0; v < NV; ++v)
        acc[i][v] = _mm512_fmadd_ps(ai, bv[v], acc[i][v]);
    }
    a += MR;
    b += ldb;
  }
  storeTile<MR, NV>(acc, t);
}

template <int MR, int NV> TileFn pickTileF32Rows(int mr) {
  if constexpr (MR == 0)
    return nullptr;
  else
    return mr == MR ? &tileF32Avx512<MR, NV> : pickTileF32Rows<MR - 1, NV>(mr);
}

TileFn pickTileF32Avx512(int mr, int nv) {
  return nv == 1 ? pickTileF32Rows<kMR, 1>(mr) : pickTileF32Rows<kMR, 2>(mr);
}

// --- Small-M kernels on a pre-packed B ------------------------------------

/// C (MR x 16 NV) = A~ (kSteps x MR) B~ over NV / 2 panels of a pre-packed B
/// (panelStride apart; columns past nr are masked off, as panels past N do
/// not exist). Many columns per k step keep the loads streaming (one stream
/// per panel) and the FMAs independent when A has few rows.
template <int MR, int NV> KILN_AVX512 void widePackedAvx512(const TileArgs &t) {
  __m512 acc[MR][NV];
  __mmask16 mask[NV];
  const float *bv[NV];
  const float *b = static_cast<const float *>(t.b);
  for (int v = 0; v < NV; ++v) {
    for (int i = 0; i < MR; ++i)
      acc[i][v] = _mm512_setzero_ps();
    mask[v] = lanes16(t.nr - 16 * v);
    bv[v] = b + (v / 2) * t.panelStride + (v % 2) * 16;
  }
  const float *a = static_cast<const float *>(t.a);
  for (int64_t k = 0; k < t.kSteps; ++k) {
    for (int v = 0; v < NV; ++v) {
      __m512 x = _mm512_maskz_loadu_ps(mask[v], bv[v] + k * kNR);
      for (int i = 0; i < MR; ++i)
        acc[i][v] = _mm512_fmadd_ps(_mm512_set1_ps(a[i]), x, acc[i][v]);
    }
    a += MR;
  }
  storeTile<MR, NV>(acc, t);
}

TileFn pickWidePackedAvx512(int m) {
  static_assert(kWideMaxM == 4, "");
  switch (m) {
  case 1:
    return &widePackedAvx512<1, wideVectors(1)>;
  case 2:
    return &widePackedAvx512<2, wideVectors(2)>;
  case 3:
    return &widePackedAvx512<3, wideVectors(3)>;
  case 4:
    return &widePackedAvx512<4, wideVectors(4)>;
  default:
    return nullptr;
  }
}

KILN_AVX512 inline __m512 loadAsF32(__mmask16 mask, const float *p) {
  return _mm512_maskz_loadu_ps(mask, p);
}
KILN_AVX512 inline __m512 loadAsF32(__mmask16 mask, const uint16_t *p) {
  __m512i wide = _mm512_cvtepu16_epi32(_mm256_maskz_loadu_epi16(mask, p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(wide, 16));
}

// --- Row-streaming kernels (small M, row-major B) --------------------------

/// out[i][j] = sum over R rows k of a[k][i] B[k][j], plus out's contents if
/// `add`, for all n columns.
template <int M, int R, typename Src>
KILN_AVX512 inline void rowStreamRows(const float *a, const Src *b, int64_t ldb,
                                      int64_t n, float *out, int64_t ldo,
                                      bool add) {
  __m512 ak[R][M];
  for (int r = 0; r < R; ++r)
    for (int i = 0; i < M; ++i)
      ak[r][i] = _mm512_set1_ps(a[r * M + i]);
  for (int64_t j = 0; j < n; j += 16) {
    __mmask16 mask = lanes16(int(std::min<int64_t>(16, n - j)));
    __m512 bv[R];
    for (int r = 0; r < R; ++r)
      bv[r] = loadAsF32(mask, b + r * ldb + j);
    for (int i = 0; i < M; ++i) {
      // Two chains of FMAs (R/2 deep each) for latency.
      __m512 x = add ? _mm512_maskz_loadu_ps(mask, out + i * ldo + j)
                     : _mm512_setzero_ps();
      __m512 y = _mm512_setzero_ps();
      for (int r = 0; r + 1 < R; r += 2) {
        x = _mm512_fmadd_ps(ak[r][i], bv[r], x);
        y = _mm512_fmadd_ps(ak[r + 1][i], bv[r + 1], y);
      }
      if (R % 2)
        x = _mm512_fmadd_ps(ak[R - 1][i], bv[R - 1], x);
      _mm512_mask_storeu_ps(out + i * ldo + j, mask, _mm512_add_ps(x, y));
    }
  }
}

/// Streams whole rows of B (long sequential reads, which DRAM and the
/// prefetchers serve best), several at a time, into the M x n partial sums.
template <int M, typename Src>
KILN_AVX512 void rowStreamAvx512(const RowStreamArgs &r) {
  constexpr int kRows = M <= 2 ? 8 : 4; // rows of B per pass over the sums
  const Src *b = static_cast<const Src *>(r.b);
  int64_t k = 0;
  for (; k + kRows <= r.kRows; k += kRows)
    rowStreamRows<M, kRows, Src>(r.a + k * M, b + k * r.ldb, r.ldb, r.n, r.out,
                                 r.ldo, k > 0);
  for (; k < r.kRows; ++k)
    rowStreamRows<M, 1, Src>(r.a + k * M, b + k * r.ldb, r.ldb, r.n, r.out,
                             r.ldo, k > 0);
}

template <int M, typename Src> RowStreamFn pickRowStreamRows(int m) {
  if constexpr (M == 0)
    return nullptr;
  else
    return m == M ? &rowStreamAvx512<M, Src> : pickRowStreamRows<M - 1, Src>(m);
}

template <typename Src> RowStreamFn pickRowStreamAvx512(int m) {
  return pickRowStreamRows<kRowStreamMaxM, Src>(m);
}

/// C[i][j0..j1) = epilogue(the sum of `count` partial sums, `stride` apart).
KILN_AVX512 void reducePartialsAvx512(const float *partials, int count,
                                      int64_t stride, int64_t ldp, int m,
                                      int64_t j0, int64_t j1, float *c,
                                      int64_t crs, int64_t ccs,
                                      const float *bias, int act, bool loadC,
                                      bool addCAfter) {
  for (int i = 0; i < m; ++i) {
    for (int64_t j = j0; j < j1; j += 16) {
      __mmask16 mask = lanes16(int(std::min<int64_t>(16, j1 - j)));
      const float *p = partials + i * ldp + j;
      __m512 x = _mm512_maskz_loadu_ps(mask, p);
      for (int q = 1; q < count; ++q)
        x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, p + q * stride));
      storeVector(x, mask, c + i * crs + j * ccs, ccs,
                  bias ? bias + j : nullptr, act, loadC, addCAfter);
    }
  }
}

// --- fp32 packing ----------------------------------------------------------

/// r[j] = column j of the 16 x 16 matrix whose rows are r[0..15].
KILN_AVX512 inline void transpose16x16(__m512 (&r)[16]) {
  __m512 t[16];
  for (int i = 0; i < 16; i += 2) {
    t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
  }
  // u[4g + c], 128-bit lane L: column 4L + c of rows 4g..4g+3.
  __m512 u[16];
  for (int g = 0; g < 4; ++g) {
    __m512 *tg = t + 4 * g;
    u[4 * g + 0] = _mm512_shuffle_ps(tg[0], tg[2], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 1] = _mm512_shuffle_ps(tg[0], tg[2], _MM_SHUFFLE(3, 2, 3, 2));
    u[4 * g + 2] = _mm512_shuffle_ps(tg[1], tg[3], _MM_SHUFFLE(1, 0, 1, 0));
    u[4 * g + 3] = _mm512_shuffle_ps(tg[1], tg[3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  // Transpose the 4 x 4 matrix of 128-bit lanes for each c.
  for (int c = 0; c < 4; ++c) {
    __m512 w0 = _mm512_shuffle_f32x4(u[c], u[4 + c], _MM_SHUFFLE(1, 0, 1, 0));
    __m512 w1 = _mm512_shuffle_f32x4(u[c], u[4 + c], _MM_SHUFFLE(3, 2, 3, 2));
    __m512 w2 =
        _mm512_shuffle_f32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(1, 0, 1, 0));
    __m512 w3 =
        _mm512_shuffle_f32x4(u[8 + c], u[12 + c], _MM_SHUFFLE(3, 2, 3, 2));
    r[0 + c] = _mm512_shuffle_f32x4(w0, w2, _MM_SHUFFLE(2, 0, 2, 0));
    r[4 + c] = _mm512_shuffle_f32x4(w0, w2, _MM_SHUFFLE(3, 1, 3, 1));
    r[8 + c] = _mm512_shuffle_f32x4(w1, w3, _MM_SHUFFLE(2, 0, 2, 0));
    r[12 + c] = _mm512_shuffle_f32x4(w1, w3, _MM_SHUFFLE(3, 1, 3, 1));
  }
}

/// Transposes `rows` (<= 16) rows of `steps` 32-bit values (row i at
/// src + i * rs, unit stride) into dst[step * dstStride + i], writing
/// `width` (>= rows, <= 16) lanes per step (lanes past `rows` are zeros).
/// `Bf16` reads bf16 elements in pairs: `steps` pairs from `elems` values,
/// an odd count ending with half a pair.
template <bool Bf16>
KILN_AVX512 void transposePack(const void *srcv, int64_t rs, int rows,
                               int64_t steps, int64_t elems, float *dst,
                               int64_t dstStride, int width) {
  const __mmask16 widthMask = lanes16(width);
  for (int64_t s0 = 0; s0 < steps; s0 += 16) {
    int n = int(std::min<int64_t>(16, steps - s0));
    __m512 r[16];
    if constexpr (Bf16) {
      const uint16_t *src = static_cast<const uint16_t *>(srcv) + 2 * s0;
      __mmask32 m = lanes32(int(std::min<int64_t>(32, elems - 2 * s0)));
      for (int i = 0; i < 16; ++i)
        r[i] =
            i < rows
                ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi16(m, src + i * rs))
                : _mm512_setzero_ps();
    } else {
      const float *src = static_cast<const float *>(srcv) + s0;
      __mmask16 m = lanes16(n);
      for (int i = 0; i < 16; ++i)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * rs)
                        : _mm512_setzero_ps();
    }
    transpose16x16(r);
    for (int j = 0; j < n; ++j)
      _mm512_mask_storeu_ps(dst + (s0 + j) * dstStride, widthMask, r[j]);
  }
}

KILN_AVX512 void packAF32Avx512(const void *srcv, int64_t rs, int64_t cs,
                                int mr, int64_t kc, float *dst) {
  const float *src = static_cast<const float *>(srcv);
  if (cs == 1 && mr > 1) {
    transposePack<false>(src, rs, mr, kc, kc, dst, mr, mr);
  } else if (rs == 1 || mr == 1) {
    __mmask16 m = lanes16(mr);
    for (int64_t k = 0; k < kc; ++k)
      _mm512_mask_storeu_ps(dst + k * mr, m,
                            _mm512_maskz_loadu_ps(m, src + k * cs));
  } else {
    packAGeneric<float>(src, rs, cs, mr, kc, dst);
  }
}

KILN_AVX512 void packBF32Avx512(const void *srcv, int64_t rs, int64_t cs,
                                int nr, int64_t kc, float *dst) {
  const float *src = static_cast<const float *>(srcv);
  if (cs == 1) {
    __mmask16 m0 = lanes16(nr), m1 = lanes16(nr - 16);
    for (int64_t k = 0; k < kc; ++k) {
      const float *row = src + k * rs;
      _mm512_store_ps(dst + k * kNR, _mm512_maskz_loadu_ps(m0, row));
      _mm512_store_ps(dst + k * kNR + 16, _mm512_maskz_loadu_ps(m1, row + 16));
    }
  } else if (rs == 1) {
    // B^T is row-major: columns of B are K-contiguous.
    for (int half = 0; half < 2; ++half) {
      int rows = std::max(0, std::min(16, nr - 16 * half));
      transposePack<false>(src + 16 * half * cs, cs, rows, kc, kc,
                           dst + 16 * half, kNR, 16);
    }
  } else {
    packBGeneric<float>(src, rs, cs, nr, kc, dst);
  }
}

// --- bf16 micro-kernel and packing ------------------------------------------

KILN_AVX512_BF16 inline __m512 dotBf16(__m512 acc, __m512i a, __m512i b) {
  return _mm512_dpbf16_ps(acc, (__m512bh)a, (__m512bh)b);
}

/// Interleaves two rows of 32 bf16 (k and k+1) into pairs: lo holds columns
/// 0..15, hi columns 16..31.
KILN_AVX512 inline void interleavePairs(__m512i r0, __m512i r1, __m512i &lo,
                                        __m512i &hi) {
  const __m512i idxLo = _mm512_set_epi16(47, 15, 46, 14, 45, 13, 44, 12, 43, 11,
                                         42, 10, 41, 9, 40, 8, 39, 7, 38, 6, 37,
                                         5, 36, 4, 35, 3, 34, 2, 33, 1, 32, 0);
  const __m512i idxHi = _mm512_set_epi16(
      63, 31, 62, 30, 61, 29, 60, 28, 59, 27, 58, 26, 57, 25, 56, 24, 55, 23,
      54, 22, 53, 21, 52, 20, 51, 19, 50, 18, 49, 17, 48, 16);
  lo = _mm512_permutex2var_epi16(r0, idxLo, r1);
  hi = _mm512_permutex2var_epi16(r0, idxHi, r1);
}

/// acc += one k step (a pair of k values) of the bf16 tile.
template <int MR, int NV>
KILN_AVX512_BF16 inline void bf16Step(__m512 (&acc)[MR][NV], const uint32_t *a,
                                      const __m512i *bv) {
  for (int i = 0; i < MR; ++i) {
    __m512i ai = _mm512_set1_epi32(int(a[i]));
    for (int v = 0; v < NV; ++v)
      acc[i][v] = dotBf16(acc[i][v], ai, bv[v]);
  }
}

/// The bf16 tile: A~ and B~ hold (k, k+1) pairs in 32-bit words.
template <int MR, int NV>
KILN_AVX512_BF16 void tileBf16Avx512(const TileArgs &t) {
  __m512 acc[MR][NV];
  for (int i = 0; i < MR; ++i)
    for (int v = 0; v < NV; ++v)
      acc[i][v] = _mm512_setzero_ps();
  const uint32_t *a = static_cast<const uint32_t *>(t.a);
  const uint32_t *b = static_cast<const uint32_t *>(t.b);
#pragma clang loop unroll_count(4)
  for (int64_t k = 0; k < t.kSteps; ++k) {
    __m512i bv[NV];
    for (int v = 0; v < NV; ++v)
      bv[v] = _mm512_loadu_si512(b + 16 * v);
    bf16Step<MR, NV>(acc, a, bv);
    a += MR;
    b += t.ldb;
  }
  storeTile<MR, NV>(acc, t);
}

template <int MR, int NV> TileFn pickTileBf16Rows(int mr) {
  if constexpr (MR == 0)
    return nullptr;
  else
    return mr == MR ? &tileBf16Avx512<MR, NV>
                    : pickTileBf16Rows<MR - 1, NV>(mr);
}

TileFn pickTileBf16Avx512(int mr, int nv) {
  return nv == 1 ? pickTileBf16Rows<kMR, 1>(mr) : pickTileBf16Rows<kMR, 2>(mr);
}

KILN_AVX512 void packABf16Avx512(const void *srcv, int64_t rs, int64_t cs,
                                 int mr, int64_t kc, float *dst) {
  if (cs == 1) {
    // Row-major A: a pair is a 32-bit word of a row; transpose words.
    transposePack<true>(srcv, rs, mr, ceilDiv(kc, 2), kc, dst, mr, mr);
  } else {
    packAPairsScalar(srcv, rs, cs, mr, kc, dst);
  }
}

KILN_AVX512 void packBBf16Avx512(const void *srcv, int64_t rs, int64_t cs,
                                 int nr, int64_t kc, float *dst) {
  const uint16_t *src = static_cast<const uint16_t *>(srcv);
  if (cs == 1) {
    // Row-major B: interleave rows k and k+1.
    __mmask32 m = lanes32(nr);
    for (int64_t p = 0; p < ceilDiv(kc, 2); ++p) {
      __m512i r0 = _mm512_maskz_loadu_epi16(m, src + 2 * p * rs);
      __m512i r1 = 2 * p + 1 < kc
                       ? _mm512_maskz_loadu_epi16(m, src + (2 * p + 1) * rs)
                       : _mm512_setzero_si512();
      __m512i lo, hi;
      interleavePairs(r0, r1, lo, hi);
      _mm512_store_si512(dst + p * kNR, lo);
      _mm512_store_si512(dst + p * kNR + 16, hi);
    }
  } else if (rs == 1) {
    // B^T row-major: a pair is a 32-bit word of a column; transpose words.
    for (int half = 0; half < 2; ++half) {
      int rows = std::max(0, std::min(16, nr - 16 * half));
      transposePack<true>(src + 16 * half * cs, cs, rows, ceilDiv(kc, 2), kc,
                          dst + 16 * half, kNR, 16);
    }
  } else {
    packBPairsScalar(srcv, rs, cs, nr, kc, dst);
  }
}

// --- Dot-product kernels (small M, K-contiguous B) ---------------------------

/// The epilogue of the dot kernels: reduces the accumulators of each row.
template <int M, int Cols>
KILN_AVX512 inline void storeDots(__m512 (&acc)[M][Cols], const DotArgs &d) {
  for (int i = 0; i < M; ++i) {
    alignas(64) float sums[16] = {};
    for (int j = 0; j < Cols; ++j)
      sums[j] = _mm512_reduce_add_ps(acc[i][j]);
    storeVector(_mm512_load_ps(sums), lanes16(Cols), d.c + i * d.ldc, d.ccs,
                d.bias, d.act, d.loadC, d.addCAfter);
  }
}

/// C[0..M) x [0..Cols) for rows of A and columns of B that are both
/// K-contiguous (fp32), vectorized along K.
template <int M, int Cols> KILN_AVX512 void dotF32Avx512(const DotArgs &d) {
  __m512 acc[M][Cols];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < Cols; ++j)
      acc[i][j] = _mm512_setzero_ps();
  const float *a = static_cast<const float *>(d.a);
  const float *b = static_cast<const float *>(d.b);
  for (int64_t k0 = 0; k0 < d.k; k0 += 16) {
    __mmask16 m = lanes16(int(std::min<int64_t>(16, d.k - k0)));
    __m512 av[M], bv[Cols];
    for (int i = 0; i < M; ++i)
      av[i] = _mm512_maskz_loadu_ps(m, a + i * d.lda + k0);
    for (int j = 0; j < Cols; ++j)
      bv[j] = _mm512_maskz_loadu_ps(m, b + j * d.ldb + k0);
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < Cols; ++j)
        acc[i][j] = _mm512_fmadd_ps(av[i], bv[j], acc[i][j]);
  }
  storeDots<M, Cols>(acc, d);
}

/// The same for bf16: vdpbf16ps on 32 k values at a time.
template <int M, int Cols>
KILN_AVX512_BF16 void dotBf16Avx512(const DotArgs &d) {
  __m512 acc[M][Cols];
  for (int i = 0; i < M; ++i)
    for (int j = 0; j < Cols; ++j)
      acc[i][j] = _mm512_setzero_ps();
  const uint16_t *a = static_cast<const uint16_t *>(d.a);
  const uint16_t *b = static_cast<const uint16_t *>(d.b);
  for (int64_t k0 = 0; k0 < d.k; k0 += 32) {
    __mmask32 m = lanes32(int(std::min<int64_t>(32, d.k - k0)));
    __m512i av[M], bv[Cols];
    for (int i = 0; i < M; ++i)
      av[i] = _mm512_maskz_loadu_epi16(m, a + i * d.lda + k0);
    for (int j = 0; j < Cols; ++j)
      bv[j] = _mm512_maskz_loadu_epi16(m, b + j * d.ldb + k0);
    for (int i = 0; i < M; ++i)
      for (int j = 0; j < Cols; ++j)
        acc[i][j] = dotBf16(acc[i][j], av[i], bv[j]);
  }
  storeDots<M, Cols>(acc, d);
}

template <template <int, int> class Kernel> DotFn pickDot(int m, int cols) {
  switch (m * 8 + cols) {
  case 8 + 1:
    return &Kernel<1, 1>::run;
  case 8 + 4:
    return &Kernel<1, 4>::run;
  case 16 + 1:
    return &Kernel<2, 1>::run;
  case 16 + 4:
    return &Kernel<2, 4>::run;
  case 24 + 1:
    return &Kernel<3, 1>::run;
  case 24 + 4:
    return &Kernel<3, 4>::run;
  case 32 + 1:
    return &Kernel<4, 1>::run;
  case 32 + 4:
    return &Kernel<4, 4>::run;
  default:
    return nullptr;
  }
}
template <int M, int Cols> struct DotF32 {
  static void run(const DotArgs &d) { dotF32Avx512<M, Cols>(d); }
};
template <int M, int Cols> struct DotBf16 {
  static void run(const DotArgs &d) { dotBf16Avx512<M, Cols>(d); }
};

//===----------------------------------------------------------------------===//
// Backends and their selection
//===----------------------------------------------------------------------===//

// Fields: kStep, srcBytes, pickTile, packA, packB, pickWidePacked,
// pickRowStream, pickDot.
const Backend kF32Generic = {
    1,       4,       pickTileGeneric, packAGeneric<float>, packBGeneric<float>,
    nullptr, nullptr, nullptr};
const Backend kBf16Generic = {1,
                              2,
                              pickTileGeneric,
                              packAGeneric<uint16_t>,
                              packBGeneric<uint16_t>,
                              nullptr,
                              nullptr,
                              nullptr};
const Backend kF32Avx512 = {1,
                            4,
                            pickTileF32Avx512,
                            packAF32Avx512,
                            packBF32Avx512,
                            pickWidePackedAvx512,
                            pickRowStreamAvx512<float>,
                            pickDot<DotF32>};
/// AVX-512 without avx512_bf16: bf16 converted to fp32 while packing.
const Backend kBf16ViaF32Avx512 = {1,
                                   2,
                                   pickTileF32Avx512,
                                   packAGeneric<uint16_t>,
                                   packBGeneric<uint16_t>,
                                   nullptr,
                                   pickRowStreamAvx512<uint16_t>,
                                   nullptr};
const Backend kBf16Avx512 = {2,
                             2,
                             pickTileBf16Avx512,
                             packABf16Avx512,
                             packBBf16Avx512,
                             nullptr,
                             pickRowStreamAvx512<uint16_t>,
                             pickDot<DotBf16>};

enum Isa { kIsaGeneric = 0, kIsaAvx512 = 1, kIsaAvx512Bf16 = 2 };

int detectIsa() {
  __builtin_cpu_init();
  if (!(__builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma")))
    return kIsaGeneric;
  return __builtin_cpu_supports("avx512bf16") ? kIsaAvx512Bf16 : kIsaAvx512;
}

int detectedIsa() {
  static const int isa = detectIsa();
  return isa;
}

/// Tests lower the ISA to exercise the fallbacks; -1: the detected one.
std::atomic<int> isaLimit{-1};

int activeIsa() {
  int limit = isaLimit.load(std::memory_order_relaxed);
  return limit >= 0 ? std::min(limit, detectedIsa()) : detectedIsa();
}

const Backend &f32Backend() {
  return activeIsa() >= kIsaAvx512 ? kF32Avx512 : kF32Generic;
}

const Backend &bf16Backend() {
  switch (activeIsa()) {
  case kIsaAvx512Bf16:
    return kBf16Avx512;
  case kIsaAvx512:
    return kBf16ViaF32Avx512;
  default:
    return kBf16Generic;
  }
}

//===----------------------------------------------------------------------===//
// Convolutions: B as an implicit im2col
//===----------------------------------------------------------------------===//

/// A 2-D convolution's input image seen as the B of Y (F x OH*OW) =
/// W (F x C*KH*KW) . col: B(k, j) with k = (c, kh, kw) and j = (oy, ox) is
/// x[c, oy*sy - py + kh*dy, ox*sx - px + kw*dx], zero outside the image.
/// The packing reads the image directly, so col is never materialized.
struct ConvImage {
  const float *x; // the image of one batch element: [C, H, W]
  int64_t c, h, w;
  int64_t sc, sh, sw; // x's strides
  int64_t kh, kw;
  int64_t strideY, strideX, padY, padX, dilY, dilX;
  int64_t ow;
};

/// Row k of B at columns n0 .. n0 + nr into out[0 .. kNR) (zero past nr).
void convRow(const ConvImage &g, int64_t k, int64_t n0, int nr, float *out) {
  const int64_t taps = g.kh * g.kw;
  const int64_t ci = k / taps, tap = k % taps;
  const int64_t ky = tap / g.kw, kx = tap % g.kw;
  const float *plane = g.x + ci * g.sc;
  int64_t oy = n0 / g.ow, ox = n0 % g.ow;
  int j = 0;
  while (j < nr) {
    // One run of columns on output row oy.
    const int len = int(std::min<int64_t>(nr - j, g.ow - ox));
    const int64_t iy = oy * g.strideY - g.padY + ky * g.dilY;
    const int64_t ix0 = ox * g.strideX - g.padX + kx * g.dilX;
    float *o = out + j;
    if (iy < 0 || iy >= g.h) {
      std::fill(o, o + len, 0.0f);
    } else if (g.strideX == 1 && g.sw == 1) {
      // Contiguous: the part inside the image is one copy.
      const float *row = plane + iy * g.sh;
      const int lo = int(std::clamp<int64_t>(-ix0, 0, len));
      const int hi = int(std::clamp<int64_t>(g.w - ix0, lo, len));
      std::fill(o, o + lo, 0.0f);
      if (hi > lo) // (else row + ix0 + lo may point outside the image)
        std::memcpy(o + lo, row + ix0 + lo, size_t(hi - lo) * sizeof(float));
      std::fill(o + hi, o + len, 0.0f);
    } else {
      const float *row = plane + iy * g.sh;
      for (int t = 0; t < len; ++t) {
        const int64_t ix = ix0 + t * g.strideX;
        o[t] = ix >= 0 && ix < g.w ? row[ix * g.sw] : 0.0f;
      }
    }
    j += len;
    ox = 0;
    ++oy;
  }
  std::fill(out + nr, out + kNR, 0.0f);
}

/// Two rows of kNR floats (k, k+1) as one k step of a bf16 B~ panel.
KILN_AVX512_BF16 void pairRowsBf16Avx512(const float *r0, const float *r1,
                                         float *dst) {
  // cvtne2ps puts its second operand in the low half.
  __m512i b0 = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r0 + 16),
                                            _mm512_loadu_ps(r0));
  __m512i b1 = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(r1 + 16),
                                            _mm512_loadu_ps(r1));
  __m512i lo, hi;
  interleavePairs(b0, b1, lo, hi);
  _mm512_store_si512(dst, lo);
  _mm512_store_si512(dst + 16, hi);
}

/// Packs rows k0 .. k0 + kc of the implicit B at columns n0 .. n0 + nr into
/// a B~ panel in the backend's format: fp32 rows (kStep 1) or bf16 pairs
/// (kStep 2, only the avx512_bf16 backend has it). k0 is even for kStep 2.
void packConvB(const ConvImage &g, int kStep, int64_t k0, int64_t kc, int nr,
               int64_t n0, float *dst) {
  if (kStep == 1) {
    for (int64_t k = 0; k < kc; ++k)
      convRow(g, k0 + k, n0, nr, dst + k * kNR);
    return;
  }
  alignas(64) float r0[kNR], r1[kNR];
  for (int64_t p = 0; p < ceilDiv(kc, 2); ++p) {
    convRow(g, k0 + 2 * p, n0, nr, r0);
    if (2 * p + 1 < kc)
      convRow(g, k0 + 2 * p + 1, n0, nr, r1);
    else
      std::fill(r1, r1 + kNR, 0.0f);
    pairRowsBf16Avx512(r0, r1, dst + p * kNR);
  }
}

//===----------------------------------------------------------------------===//
// Drivers
//===----------------------------------------------------------------------===//

/// One product of the batch: C = act(A B + bias) (+ C).
struct Problem {
  int64_t m, n, k;
  const char *a; // element (i, k) at a + (i * ars + k * acs) * srcBytes
  int64_t ars, acs;
  const char *b; // element (k, j) at b + (k * brs + j * bcs) * srcBytes
  int64_t brs, bcs;
  const float *bPacked; // B packed as in matmul_pack.h (k rows), or null
  const ConvImage *conv =
      nullptr;       // B is this image's im2col (b unused), or null
  const float *bias; // n contiguous values, or null
  float *c;
  int64_t crs, ccs;
  int act;
  bool accumulate;
};

/// Runs a tile kernel on a C whose column stride may not be 1.
void runTile(TileFn fn, TileArgs t, int mr, int64_t ccs) {
  if (ccs == 1) {
    fn(t);
    return;
  }
  // Every kernel's tile fits (wideTilesFit).
  float tile[kMR * kNR];
  const int64_t ldt = (t.nr + 15) / 16 * 16;
  float *c = t.c;
  int64_t crs = t.ldc;
  if (t.loadC || t.addCAfter)
    for (int i = 0; i < mr; ++i)
      for (int j = 0; j < t.nr; ++j)
        tile[i * ldt + j] = c[i * crs + j * ccs];
  t.c = tile;
  t.ldc = ldt;
  fn(t);
  for (int i = 0; i < mr; ++i)
    for (int j = 0; j < t.nr; ++j)
      c[i * crs + j * ccs] = tile[i * ldt + j];
}

/// K = 0: C = act(bias) (+ C).
void runEmptyK(const Problem &p) {
  for (int64_t i = 0; i < p.m; ++i) {
    for (int64_t j = 0; j < p.n; ++j) {
      float &c = p.c[i * p.crs + j * p.ccs];
      float x = p.bias ? p.bias[j] : 0.0f;
      if (p.accumulate && p.act == KILN_UK_ACT_NONE)
        x += c;
      x = activateScalar(x, p.act);
      if (p.accumulate && p.act != KILN_UK_ACT_NONE)
        x += c;
      c = x;
    }
  }
}

/// One strip of C (mr rows, nr columns from n0) over all of K, in blocks of
/// kDirectKC steps: partial sums go to `partial` (ldp apart), the epilogue
/// runs with the last block. `setOperands(t, ks)` points t.a and t.b at k
/// step ks.
template <typename SetOperands>
void runStrip(TileFn fn, const Problem &p, int mr, int64_t kSteps, int64_t n0,
              int nr, float *partial, int64_t ldp, SetOperands &&setOperands) {
  const bool accumulateBefore = p.accumulate && p.act == KILN_UK_ACT_NONE;
  for (int64_t ks = 0; ks < kSteps; ks += kDirectKC) {
    TileArgs t;
    t.kSteps = std::min(kDirectKC, kSteps - ks);
    setOperands(t, ks);
    t.nr = nr;
    if (ks + t.kSteps < kSteps) {
      t.c = partial;
      t.ldc = ldp;
      t.partial = nullptr;
      t.ldp = 0;
      t.bias = nullptr;
      t.act = KILN_UK_ACT_NONE;
      t.loadC = ks > 0;
      t.addCAfter = false;
      fn(t);
      continue;
    }
    t.c = p.c + n0 * p.ccs;
    t.ldc = p.crs;
    t.partial = ks > 0 ? partial : nullptr;
    t.ldp = ldp;
    t.bias = p.bias ? p.bias + n0 : nullptr;
    t.act = p.act;
    t.loadC = accumulateBefore;
    t.addCAfter = p.accumulate && !accumulateBefore;
    runTile(fn, t, mr, p.ccs);
  }
}

/// A~ for the small-M kernels: fp32, one k per step (kSteps x M).
const float *packSmallA(const Backend &be, const Problem &p) {
  const int m = int(p.m);
  if (m == 1 && p.acs == 1 && be.srcBytes == 4)
    return reinterpret_cast<const float *>(p.a);
  float *buf = threadScratch().a.get(size_t(p.k * m) * 4);
  (be.srcBytes == 4 ? packAGeneric<float>
                    : packAGeneric<uint16_t>)(p.a, p.ars, p.acs, m, p.k, buf);
  return buf;
}

/// Small M with a row-major B: whole rows of B are streamed (in K chunks
/// over the pool when K is long, else in column chunks) into partial sums,
/// then the partial sums are reduced with the epilogue.
void runRowStream(const Backend &be, const Problem &p, bool parallel,
                  int threads) {
  const int m = int(p.m);
  RowStreamFn fn = be.pickRowStream(m);
  const float *aPanel = packSmallA(be, p);
  const int64_t sb = int64_t(be.srcBytes);
  // Two tasks per thread: some slack when a core is shared.
  const int64_t tasks = parallel ? 2 * int64_t(threads) : 1;
  const int64_t kChunks =
      std::max<int64_t>(1, std::min(tasks, p.k / kRowStreamMinK));
  const int64_t nChunks =
      std::max<int64_t>(1, std::min(ceilDiv(tasks, kChunks), p.n / 256));
  const int64_t kLen = ceilDiv(p.k, kChunks);
  const int64_t nLen = ceilDiv(ceilDiv(p.n, nChunks), 16) * 16;
  const int64_t ldp = ceilDiv(p.n, 16) * 16;
  const int64_t stride = m * ldp;
  float *partials = threadScratch().b.get(size_t(kChunks * stride) * 4);
  parallelFor(kChunks * nChunks, parallel, [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t kc = t / nChunks, nc = t % nChunks;
      const int64_t k0 = kc * kLen, k1 = std::min(p.k, k0 + kLen);
      const int64_t n0 = nc * nLen, n1 = std::min(p.n, n0 + nLen);
      float *out = partials + kc * stride + n0;
      if (n0 >= n1)
        continue;
      if (k0 >= k1) { // an empty chunk still owes zeros
        for (int i = 0; i < m; ++i)
          std::fill(out + i * ldp, out + i * ldp + (n1 - n0), 0.0f);
        continue;
      }
      RowStreamArgs r;
      r.a = aPanel + k0 * m;
      r.b = p.b + (k0 * p.brs + n0 * p.bcs) * sb;
      r.ldb = p.brs;
      r.kRows = k1 - k0;
      r.n = n1 - n0;
      r.out = out;
      r.ldo = ldp;
      fn(r);
    }
  });
  const bool accumulateBefore = p.accumulate && p.act == KILN_UK_ACT_NONE;
  const int64_t pieces = parallel ? std::max<int64_t>(1, p.n / 512) : 1;
  const int64_t pieceLen = ceilDiv(ceilDiv(p.n, pieces), 16) * 16;
  parallelFor(pieces, parallel, [&](int64_t q0, int64_t q1) {
    for (int64_t q = q0; q < q1; ++q) {
      const int64_t j0 = q * pieceLen, j1 = std::min(p.n, j0 + pieceLen);
      if (j0 < j1)
        reducePartialsAvx512(partials, int(kChunks), stride, ldp, m, j0, j1,
                             p.c, p.crs, p.ccs, p.bias, p.act, accumulateBefore,
                             p.accumulate && !accumulateBefore);
    }
  });
}

/// Small M (<= kMR) with a pre-packed B: nothing to pack (A~ is one panel
/// of all of K), the panels of B stream from memory; in parallel over strips
/// of columns. M <= kWideMaxM runs the wide kernels (several panels at once),
/// larger M the tile kernels.
void runPackedSmallM(const Backend &be, const Problem &p, bool parallel) {
  const int m = int(p.m);
  const bool wide = be.pickWidePacked && m <= kWideMaxM;
  const int64_t width = wide ? 16 * wideVectors(m) : kNR;
  TileFn fns[2];
  const float *aPanel;
  if (wide) {
    fns[0] = fns[1] = be.pickWidePacked(m);
    aPanel = packSmallA(be, p);
  } else {
    fns[0] = be.pickTile(m, 1);
    fns[1] = be.pickTile(m, 2);
    float *buf = threadScratch().a.get(size_t(p.k * m) * 4);
    be.packA(p.a, p.ars, p.acs, m, p.k, buf);
    aPanel = buf;
  }
  parallelFor(ceilDiv(p.n, width), parallel, [&](int64_t s0, int64_t s1) {
    alignas(64) float partial[kMR * kNR];
    // (Room for any kernel's tile, as in runTile.)
    for (int64_t strip = s0; strip < s1; ++strip) {
      const int64_t n0 = strip * width;
      const int nr = int(std::min(width, p.n - n0));
      runStrip(fns[nr > 16 ? 1 : 0], p, m, p.k, n0, nr, partial, width,
               [&](TileArgs &t, int64_t ks) {
                 t.a = aPanel + ks * m;
                 t.b = p.bPacked + (n0 / kNR) * p.k * kNR + ks * kNR;
                 t.ldb = kNR;
                 t.panelStride = p.k * kNR;
               });
    }
  });
}

/// Small M with K-contiguous A rows and B columns: dot products.
void runDot(const Backend &be, const Problem &p, bool parallel) {
  const int m = int(p.m);
  DotFn dot4 = be.pickDot(m, 4), dot1 = be.pickDot(m, 1);
  const bool accumulateBefore = p.accumulate && p.act == KILN_UK_ACT_NONE;
  // Groups of 4 columns; a task takes several.
  constexpr int64_t kGroup = 4;
  parallelFor(ceilDiv(p.n, kGroup), parallel, [&](int64_t g0, int64_t g1) {
    for (int64_t g = g0; g < g1; ++g) {
      int64_t n0 = g * kGroup;
      int cols = int(std::min<int64_t>(kGroup, p.n - n0));
      for (int j = 0; j < cols; j += (cols == kGroup ? kGroup : 1)) {
        DotArgs d;
        d.k = p.k;
        d.a = p.a;
        d.lda = p.ars;
        d.b = p.b + (n0 + j) * p.bcs * int64_t(be.srcBytes);
        d.ldb = p.bcs;
        d.c = p.c + (n0 + j) * p.ccs;
        d.ldc = p.crs;
        d.ccs = p.ccs;
        d.bias = p.bias ? p.bias + n0 + j : nullptr;
        d.act = p.act;
        d.loadC = accumulateBefore;
        d.addCAfter = p.accumulate && !accumulateBefore;
        (cols == kGroup ? dot4 : dot1)(d);
      }
    }
  });
}

/// The GotoBLAS loop nest (see the header comment). Requires that the
/// product be a single K block when it accumulates after a nonlinear
/// activation.
void runBlocked(const Backend &be, const Problem &p, bool parallel) {
  Scratch &scratch = threadScratch();
  const int64_t sb = int64_t(be.srcBytes);
  const int64_t kcMax = kKC * be.kStep;
  const bool accumulateBefore = p.accumulate && p.act == KILN_UK_ACT_NONE;
  for (int64_t jc = 0; jc < p.n; jc += kNC) {
    const int64_t nc = std::min(kNC, p.n - jc);
    const int64_t nPanelsB = ceilDiv(nc, kNR);
    for (int64_t pc = 0; pc < p.k; pc += kcMax) {
      const int64_t kc = std::min(kcMax, p.k - pc);
      const int64_t kSteps = ceilDiv(kc, be.kStep);
      const bool first = pc == 0, last = pc + kc == p.k;
      // B~: the packed panels of this block.
      const float *bBlock;
      int64_t bPanelStride;
      float *bBuf = nullptr;
      if (p.bPacked) {
        bBlock = p.bPacked + (jc / kNR) * p.k * kNR + pc * kNR;
        bPanelStride = p.k * kNR;
      } else {
        bBuf = scratch.b.get(size_t(nPanelsB * kSteps * kNR) * 4);
        bBlock = bBuf;
        bPanelStride = kSteps * kNR;
      }
      for (int64_t ic0 = 0; ic0 < p.m; ic0 += kMCO) {
        const int64_t mco = std::min(kMCO, p.m - ic0);
        const int64_t nPanelsA = ceilDiv(mco, kMR);
        float *aBlock = scratch.a.get(size_t(nPanelsA * kSteps * kMR) * 4);
        const bool packB = bBuf && ic0 == 0;

        // Phase 1: pack A~ (and B~) in parallel; B~ in groups of panels.
        const int64_t nGroupsB = packB ? ceilDiv(nPanelsB, kPackGroup) : 0;
        parallelFor(nPanelsA + nGroupsB, parallel, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) {
            if (t < nPanelsA) {
              int64_t i0 = ic0 + t * kMR;
              int mr = int(std::min<int64_t>(kMR, ic0 + mco - i0));
              be.packA(p.a + (i0 * p.ars + pc * p.acs) * sb, p.ars, p.acs, mr,
                       kc, aBlock + t * kSteps * kMR);
              continue;
            }
            const int64_t j0 = (t - nPanelsA) * kPackGroup,
                          j1 = std::min(nPanelsB, j0 + kPackGroup);
            // A row-major B is read a few rows at a time across the group's
            // panels (long runs of each row), any other by whole panels.
            // An image is read the same way: consecutive columns are
            // consecutive pixels.
            const int64_t rows = p.bcs == 1 || p.conv ? kPackRows : kc;
            for (int64_t k0 = 0; k0 < kc; k0 += rows) {
              for (int64_t j = j0; j < j1; ++j) {
                const int64_t n0 = jc + j * kNR;
                const int nr = int(std::min<int64_t>(kNR, p.n - n0));
                float *dst = bBuf + j * bPanelStride + k0 / be.kStep * kNR;
                if (p.conv)
                  packConvB(*p.conv, be.kStep, pc + k0, std::min(rows, kc - k0),
                            nr, n0, dst);
                else
                  be.packB(p.b + ((pc + k0) * p.brs + n0 * p.bcs) * sb, p.brs,
                           p.bcs, nr, std::min(rows, kc - k0), dst);
              }
            }
          }
        });

        // Phase 2: macro tiles of C in parallel.
        const int64_t mTiles = ceilDiv(mco, kMCMax);
        const int64_t mc = ceilDiv(ceilDiv(mco, mTiles), kMR) * kMR;
        const int64_t nTiles = ceilDiv(nc, kNCT);
        parallelFor(mTiles * nTiles, parallel, [&](int64_t t0, int64_t t1) {
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t r0 = (t % mTiles) * mc, r1 = std::min(mco, r0 + mc);
            const int64_t c0 = (t / mTiles) * kNCT,
                          c1 = std::min(nc, c0 + kNCT);
            for (int64_t ir = r0; ir < r1; ir += kMR) {
              const int mr = int(std::min<int64_t>(kMR, mco - ir));
              TileFn fns[2] = {be.pickTile(mr, 1), be.pickTile(mr, 2)};
              TileArgs tile;
              tile.kSteps = kSteps;
              tile.a = aBlock + (ir / kMR) * kSteps * kMR;
              tile.ldb = kNR;
              tile.ldc = p.crs;
              tile.partial = nullptr;
              tile.ldp = 0;
              tile.act = last ? p.act : KILN_UK_ACT_NONE;
              tile.loadC = !first || accumulateBefore;
              tile.addCAfter = p.accumulate && !accumulateBefore;
              float *cRow = p.c + (ic0 + ir) * p.crs;
              for (int64_t jr = c0; jr < c1; jr += kNR) {
                const int64_t n0 = jc + jr;
                tile.nr = int(std::min<int64_t>(kNR, p.n - n0));
                tile.b = bBlock + (jr / kNR) * bPanelStride;
                tile.c = cRow + n0 * p.ccs;
                tile.bias = last && p.bias ? p.bias + n0 : nullptr;
                runTile(fns[tile.nr > 16 ? 1 : 0], tile, mr, p.ccs);
              }
            }
          }
        });
      }
    }
  }
}

void runProblem(const Backend &be, const Problem &p, bool parallel,
                int threads) {
  if (p.m <= 0 || p.n <= 0)
    return;
  if (p.k <= 0) {
    runEmptyK(p);
    return;
  }
  if (p.m * p.n * p.k < kMinParallelWork)
    parallel = false;
  if (p.conv) {
    // Only the blocked path packs B; the others read it in place.
    runBlocked(be, p, parallel);
    return;
  }
  if (be.pickRowStream && p.m <= kRowStreamMaxM && !p.bPacked && p.bcs == 1) {
    runRowStream(be, p, parallel, threads);
    return;
  }
  if (p.m <= kMR && p.bPacked) {
    runPackedSmallM(be, p, parallel);
    return;
  }
  if (be.pickDot && p.m <= kDotMaxM && !p.bPacked && p.brs == 1 && p.acs == 1) {
    runDot(be, p, parallel);
    return;
  }
  if (p.accumulate && p.act != KILN_UK_ACT_NONE && p.k > kKC * be.kStep) {
    // act(A B + bias) + C over several K blocks: the partial sums need a
    // home other than C.
    std::vector<float> tmp(size_t(p.m * p.n));
    Problem q = p;
    q.c = tmp.data();
    q.crs = p.n;
    q.ccs = 1;
    q.accumulate = false;
    runBlocked(be, q, parallel);
    for (int64_t i = 0; i < p.m; ++i)
      for (int64_t j = 0; j < p.n; ++j)
        p.c[i * p.crs + j * p.ccs] += tmp[i * p.n + j];
    return;
  }
  runBlocked(be, p, parallel);
}

/// The batched call, as the entry points receive it.
struct Call {
  int64_t batch, m, n, k;
  const void *a;
  int64_t aBatch, aStrideB, aStrideM, aStrideK;
  const void *b;
  int64_t bBatch, bStrideB, bStrideK, bStrideN;
  const float *bPacked;
  const float *bias;
  int64_t biasN, biasStride;
  float *c;
  int64_t cStrideB, cStrideM, cStrideN;
  int64_t flags;
};

void runCall(const Backend &be, Call call) {
  if (call.batch <= 0 || call.m <= 0 || call.n <= 0)
    return;
  const int64_t sb = int64_t(be.srcBytes);
  int64_t aStrideB = call.aBatch == 1 ? 0 : call.aStrideB;
  int64_t bStrideB = call.bBatch == 1 ? 0 : call.bStrideB;
  if (call.bPacked)
    bStrideB = 0;

  // A bias with a stride other than 1 is copied.
  std::vector<float> biasCopy;
  const float *bias = call.bias;
  if (bias && !(call.biasStride == 1 && call.biasN >= call.n)) {
    int64_t stride = call.biasN == 1 ? 0 : call.biasStride;
    biasCopy.resize(size_t(call.n));
    for (int64_t j = 0; j < call.n; ++j)
      biasCopy[j] = bias[j * stride];
    bias = biasCopy.data();
  }

  Problem p;
  p.m = call.m;
  p.n = call.n;
  p.k = call.k;
  p.a = static_cast<const char *>(call.a);
  p.ars = call.aStrideM;
  p.acs = call.aStrideK;
  p.b = static_cast<const char *>(call.b);
  p.brs = call.bStrideK;
  p.bcs = call.bStrideN;
  p.bPacked = call.bPacked;
  p.bias = bias;
  p.c = call.c;
  p.crs = call.cStrideM;
  p.ccs = call.cStrideN;
  p.act = int((call.flags & KILN_UK_ACT_MASK) >> KILN_UK_ACT_SHIFT);
  p.accumulate = call.flags & KILN_UK_ACCUMULATE;
  int64_t batch = call.batch;

  // Batches sharing B with A and C rows evenly spaced: one product of
  // batch * M rows.
  if (batch > 1 && bStrideB == 0 && aStrideB != 0) {
    int64_t aRow = call.m == 1 ? aStrideB : call.aStrideM;
    int64_t cRow = call.m == 1 ? call.cStrideB : call.cStrideM;
    if (aStrideB == call.m * aRow && call.cStrideB == call.m * cRow) {
      p.m = batch * call.m;
      p.ars = aRow;
      p.crs = cRow;
      batch = 1;
    }
  }

  kiln_context *ctx = kiln::rt::currentContext();
  const int threads = kiln_context_num_threads(ctx);
  auto problemAt = [&](int64_t i) {
    Problem q = p;
    q.a += i * aStrideB * sb;
    q.b += i * bStrideB * sb;
    q.c += i * call.cStrideB;
    return q;
  };
  const int64_t work = p.m * p.n * std::max<int64_t>(p.k, 1);
  const bool batchParallel =
      threads > 1 && batch >= threads &&
      (batch % threads == 0 || batch >= 4 * threads || work < (1 << 22));
  if (batchParallel) {
    parallelFor(batch, true, [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i)
        runProblem(be, problemAt(i), false, 1);
    });
  } else {
    for (int64_t i = 0; i < batch; ++i)
      runProblem(be, problemAt(i), threads > 1, threads);
  }
}

/// The convolution call (kiln_uk_conv2d_*): per batch element, one
/// product of W ([F, C*KH*KW]) and the implicit im2col of the image.
struct ConvCall {
  const float *x;
  int64_t n, c, h, w, xsN, xsC, xsH, xsW;
  const void *wt; // srcBytes per element
  int64_t f, kh, kw, wsF, wsC, wsKH, wsKW;
  const float *bias;
  int64_t biasN, biasStride;
  int64_t strideY, strideX, padY, padX, dilY, dilX, flags;
  float *y;
  int64_t oh, ow, ysN, ysF, ysOH, ysOW;
};

void runConv(const Backend &be, const ConvCall &cc) {
  if (cc.n <= 0 || cc.f <= 0 || cc.oh <= 0 || cc.ow <= 0)
    return;
  const int64_t k = cc.c * cc.kh * cc.kw, cols = cc.oh * cc.ow;
  const int64_t sb = int64_t(be.srcBytes);
  // W as a [F, K] matrix: its (c, kh, kw) must merge into one dimension,
  // else it is copied (weights are constants and dense in practice).
  std::vector<char> wCopy;
  const char *wt = static_cast<const char *>(cc.wt);
  int64_t wRow = cc.wsF;
  if (!(cc.wsKW == 1 && cc.wsKH == cc.kw && cc.wsC == cc.kh * cc.kw)) {
    wCopy.resize(size_t(cc.f * k * sb));
    for (int64_t f = 0; f < cc.f; ++f)
      for (int64_t q = 0; q < k; ++q) {
        const int64_t ci = q / (cc.kh * cc.kw), t = q % (cc.kh * cc.kw);
        const int64_t off = f * cc.wsF + ci * cc.wsC + (t / cc.kw) * cc.wsKH +
                            (t % cc.kw) * cc.wsKW;
        std::memcpy(&wCopy[size_t((f * k + q) * sb)], wt + off * sb,
                    size_t(sb));
      }
    wt = wCopy.data();
    wRow = k;
  }
  // Y[n] as a [F, OH*OW] matrix: (oy, ox) must merge, else the product
  // goes to a dense buffer that is added or copied to y afterwards.
  const bool merged = cc.ysOH == cc.ow * cc.ysOW;
  std::vector<float> yDense;
  kiln_context *ctx = kiln::rt::currentContext();
  const bool parallel = kiln_context_num_threads(ctx) > 1;
  for (int64_t b = 0; b < cc.n; ++b) {
    float *y = cc.y + b * cc.ysN;
    const bool accumulate = cc.flags & KILN_UK_ACCUMULATE;
    float *c = y;
    int64_t crs = cc.ysF, ccs = cc.ysOW;
    if (!merged) {
      yDense.assign(size_t(cc.f * cols), 0.0f);
      c = yDense.data();
      crs = cols;
      ccs = 1;
    }
    // The bias is per row of the product (per output channel), which the
    // matmul epilogue (per column) does not have: C starts as the bias (or
    // the old y plus the bias) and the product accumulates onto it.
    bool acc = accumulate && merged;
    if (cc.bias) {
      const int64_t bs = cc.biasN == 1 ? 0 : cc.biasStride;
      parallelFor(cc.f, parallel && cc.f * cols >= kMinParallelWork,
                  [&](int64_t f0, int64_t f1) {
                    for (int64_t f = f0; f < f1; ++f) {
                      const float v = cc.bias[f * bs];
                      float *row = c + f * crs;
                      for (int64_t j = 0; j < cols; ++j)
                        row[j * ccs] = (acc ? row[j * ccs] : 0.0f) + v;
                    }
                  });
      acc = true;
    }
    ConvImage g{cc.x + b * cc.xsN,
                cc.c,
                cc.h,
                cc.w,
                cc.xsC,
                cc.xsH,
                cc.xsW,
                cc.kh,
                cc.kw,
                cc.strideY,
                cc.strideX,
                cc.padY,
                cc.padX,
                cc.dilY,
                cc.dilX,
                cc.ow};
    Problem p;
    p.m = cc.f;
    p.n = cols;
    p.k = k;
    p.a = wt;
    p.ars = wRow;
    p.acs = 1;
    p.b = nullptr;
    p.brs = p.bcs = 0;
    p.bPacked = nullptr;
    p.conv = &g;
    p.bias = nullptr;
    p.c = c;
    p.crs = crs;
    p.ccs = ccs;
    p.act = KILN_UK_ACT_NONE;
    p.accumulate = acc;
    runProblem(be, p, parallel, kiln_context_num_threads(ctx));
    if (!merged)
      for (int64_t f = 0; f < cc.f; ++f)
        for (int64_t oy = 0; oy < cc.oh; ++oy)
          for (int64_t ox = 0; ox < cc.ow; ++ox) {
            float &dst = y[f * cc.ysF + oy * cc.ysOH + ox * cc.ysOW];
            const float v = yDense[size_t(f * cols + oy * cc.ow + ox)];
            dst = accumulate ? dst + v : v;
          }
  }
}

} // namespace

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

extern "C" {

void kiln_uk_matmul_f32(const float *a, int64_t aBatch, int64_t aM, int64_t aK,
                        int64_t aStrideB, int64_t aStrideM, int64_t aStrideK,
                        const float *b, int64_t bBatch, int64_t bK, int64_t bN,
                        int64_t bStrideB, int64_t bStrideK, int64_t bStrideN,
                        int64_t flags, float *c, int64_t cBatch, int64_t cM,
                        int64_t cN, int64_t cStrideB, int64_t cStrideM,
                        int64_t cStrideN) {
  if (flags & KILN_UK_TRANSPOSE_B)
    std::swap(bStrideK, bStrideN);
  runCall(f32Backend(),
          {cBatch,   cM,       cN,       aK,       a,      aBatch,
           aStrideB, aStrideM, aStrideK, b,        bBatch, bStrideB,
           bStrideK, bStrideN, nullptr,  nullptr,  0,      0,
           c,        cStrideB, cStrideM, cStrideN, flags});
}

void kiln_uk_matmul_bias_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const float *b, int64_t bBatch,
    int64_t bK, int64_t bN, int64_t bStrideB, int64_t bStrideK,
    int64_t bStrideN, const float *bias, int64_t biasN, int64_t biasStride,
    int64_t flags, float *c, int64_t cBatch, int64_t cM, int64_t cN,
    int64_t cStrideB, int64_t cStrideM, int64_t cStrideN) {
  if (flags & KILN_UK_TRANSPOSE_B)
    std::swap(bStrideK, bStrideN);
  runCall(f32Backend(),
          {cBatch,   cM,       cN,       aK,       a,      aBatch,
           aStrideB, aStrideM, aStrideK, b,        bBatch, bStrideB,
           bStrideK, bStrideN, nullptr,  bias,     biasN,  biasStride,
           c,        cStrideB, cStrideM, cStrideN, flags});
}

void kiln_uk_matmul_bf16(const uint16_t *a, int64_t aBatch, int64_t aM,
                         int64_t aK, int64_t aStrideB, int64_t aStrideM,
                         int64_t aStrideK, const uint16_t *b, int64_t bBatch,
                         int64_t bK, int64_t bN, int64_t bStrideB,
                         int64_t bStrideK, int64_t bStrideN, int64_t flags,
                         float *c, int64_t cBatch, int64_t cM, int64_t cN,
                         int64_t cStrideB, int64_t cStrideM, int64_t cStrideN) {
  if (flags & KILN_UK_TRANSPOSE_B)
    std::swap(bStrideK, bStrideN);
  runCall(bf16Backend(),
          {cBatch,   cM,       cN,       aK,       a,      aBatch,
           aStrideB, aStrideM, aStrideK, b,        bBatch, bStrideB,
           bStrideK, bStrideN, nullptr,  nullptr,  0,      0,
           c,        cStrideB, cStrideM, cStrideN, flags});
}

void kiln_uk_matmul_packed_f32(const float *a, int64_t aBatch, int64_t aM,
                               int64_t aK, int64_t aStrideB, int64_t aStrideM,
                               int64_t aStrideK, const float *bPacked,
                               int64_t bSize, int64_t bStride, int64_t k,
                               int64_t n, int64_t flags, float *c,
                               int64_t cBatch, int64_t cM, int64_t cN,
                               int64_t cStrideB, int64_t cStrideM,
                               int64_t cStrideN) {
  runCall(f32Backend(), {cBatch,   cM,       cN,       aK,       a,    aBatch,
                         aStrideB, aStrideM, aStrideK, bPacked,  1,    0,
                         0,        0,        bPacked,  nullptr,  0,    0,
                         c,        cStrideB, cStrideM, cStrideN, flags});
}

void kiln_uk_matmul_packed_bias_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const float *bPacked, int64_t bSize,
    int64_t bStride, int64_t k, int64_t n, const float *bias, int64_t biasN,
    int64_t biasStride, int64_t flags, float *c, int64_t cBatch, int64_t cM,
    int64_t cN, int64_t cStrideB, int64_t cStrideM, int64_t cStrideN) {
  runCall(f32Backend(),
          {cBatch,   cM,       cN,       aK,       a,     aBatch,
           aStrideB, aStrideM, aStrideK, bPacked,  1,     0,
           0,        0,        bPacked,  bias,     biasN, biasStride,
           c,        cStrideB, cStrideM, cStrideN, flags});
}

void kiln_uk_conv2d_f32(
    const float *x, int64_t xN, int64_t xC, int64_t xH, int64_t xW,
    int64_t xStrideN, int64_t xStrideC, int64_t xStrideH, int64_t xStrideW,
    const float *w, int64_t wF, int64_t wC, int64_t wKH, int64_t wKW,
    int64_t wStrideF, int64_t wStrideC, int64_t wStrideKH, int64_t wStrideKW,
    const float *bias, int64_t biasN, int64_t biasStride, int64_t strideY,
    int64_t strideX, int64_t padY, int64_t padX, int64_t dilY, int64_t dilX,
    int64_t flags, float *y, int64_t yN, int64_t yF, int64_t yOH, int64_t yOW,
    int64_t yStrideN, int64_t yStrideF, int64_t yStrideOH, int64_t yStrideOW) {
  runConv(f32Backend(),
          {x,         xN,         xC,
           xH,        xW,         xStrideN,
           xStrideC,  xStrideH,   xStrideW,
           w,         wF,         wKH,
           wKW,       wStrideF,   wStrideC,
           wStrideKH, wStrideKW,  flags & KILN_UK_CONV2D_BIAS ? bias : nullptr,
           biasN,     biasStride, strideY,
           strideX,   padY,       padX,
           dilY,      dilX,       flags,
           y,         yOH,        yOW,
           yStrideN,  yStrideF,   yStrideOH,
           yStrideOW});
  (void)wC;
  (void)yN;
  (void)yF;
}

void kiln_uk_conv2d_bf16(
    const float *x, int64_t xN, int64_t xC, int64_t xH, int64_t xW,
    int64_t xStrideN, int64_t xStrideC, int64_t xStrideH, int64_t xStrideW,
    const uint16_t *w, int64_t wF, int64_t wC, int64_t wKH, int64_t wKW,
    int64_t wStrideF, int64_t wStrideC, int64_t wStrideKH, int64_t wStrideKW,
    const float *bias, int64_t biasN, int64_t biasStride, int64_t strideY,
    int64_t strideX, int64_t padY, int64_t padX, int64_t dilY, int64_t dilX,
    int64_t flags, float *y, int64_t yN, int64_t yF, int64_t yOH, int64_t yOW,
    int64_t yStrideN, int64_t yStrideF, int64_t yStrideOH, int64_t yStrideOW) {
  runConv(bf16Backend(),
          {x,         xN,         xC,
           xH,        xW,         xStrideN,
           xStrideC,  xStrideH,   xStrideW,
           w,         wF,         wKH,
           wKW,       wStrideF,   wStrideC,
           wStrideKH, wStrideKW,  flags & KILN_UK_CONV2D_BIAS ? bias : nullptr,
           biasN,     biasStride, strideY,
           strideX,   padY,       padX,
           dilY,      dilX,       flags,
           y,         yOH,        yOW,
           yStrideN,  yStrideF,   yStrideOH,
           yStrideOW});
  (void)wC;
  (void)yN;
  (void)yF;
}

/// For the unit tests: caps the instruction set the kernels use (0: portable,
/// 1: AVX-512 without bf16, 2: AVX-512 with bf16, -1: what the CPU has) and
/// returns what the CPU has. Not in ukernels.h: not for generated code.
KILN_UK_API int kiln_uk_matmul_limit_isa_for_testing(int isa) {
  isaLimit.store(isa, std::memory_order_relaxed);
  return detectedIsa();
}

} // extern "C"
