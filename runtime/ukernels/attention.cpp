//===- attention.cpp - flash-attention micro-kernels ----------------------===//
//
// O = softmax(scale Q K^T [+ mask]) V, computed block by block with an online
// softmax (running max m and sum l per query), so the extra memory is a few
// blocks per thread, never Sq x Skv.
//
// Layout ("column" kernel, used for prefill): a work item is (batch, KV head
// group, query block). Its queries -- the query block of every query head of
// the group, stacked -- are the *columns* (about 64: blocks of
// max(16, 64 / group size) queries per head): Q is packed transposed and
// scaled (by scale * log2 e, so that the softmax uses exp2) into slabs
// Qt[D][64] of 64 columns. For each key block of 64 keys (read once per
// group, in place when the stride along D is 1, else packed):
//   S^T[key][col] = sum_d K[key][d] Qt[d][col]   (vectorized along columns,
//                                                 K elements broadcast)
//   mask; online softmax, all vertical: the max and sum over keys of a column
//   are element-wise operations on 16-column vectors;
//   O^T[dv][col] = alpha[col] O^T[dv][col] + sum_key V[key][dv] P^T[key][col]
// so neither K nor V needs a transposition, and no dimension but the column
// count is padded. Register tiles: 6 keys x 64 columns for S^T, 6 dv x 64
// columns for O^T (24 zmm accumulators). Causal attention stops at the last
// key block a column tile can see and masks only the diagonal blocks.
//
// "Row" kernel (AVX-512 only, used when an item has fewer than 8 queries,
// i.e. decode): each query row is a vector along D / Dv; the scores of a key
// are dot products. It is bound by reading K and V, which happens once per
// KV head for all the query heads of its group.
//
// Scratch per thread: Qt, O^T and S^T blocks, about
// 4 * (cols * (D + Dv + 3) + 64 * 64) bytes (+ 64 * (D + Dv) floats when K or
// V must be packed), taken per parallel task and freed at its end.
//
// Portability: the AVX-512 kernels are compiled for that target only and
// chosen at run time (__builtin_cpu_supports); elsewhere portable kernels of
// the same column layout run. KILN_UK_GENERIC=1 in the environment forces
// them (for tests).
//
// K and V in two parts (kiln_uk_attention_kv2_*: a decode step's past cache
// and its new keys): key blocks end at the boundary, and each block reads
// its rows from its own part, so the concatenation is never built.
//
// Parallelism: items are spread over the pool, the most expensive (last
// causal query blocks) first. When there are few items (decode with a small
// batch), keys are split among threads too and the partial softmax states
// (m, l, unnormalized O) merged afterwards.
//
//===----------------------------------------------------------------------===//

#include "ukernels.h"

#include "../src/internal.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define KILN_ATTN_X86 1
#define KILN_AVX512                                                            \
  __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,fma")))
#endif

namespace {

constexpr float kLog2e = 1.44269504088896340736f;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
/// Columns per tile (4 zmm).
constexpr int kTile = 64;
/// Keys per block of the column kernel and of the row kernel.
constexpr int64_t kBk = 64;
constexpr int64_t kRowBk = 256;
/// Columns an item aims at (query block x group size).
constexpr int64_t kTargetCols = 64;

enum MaskKind { kNoMask, kFloatMask, kBoolMask };

//===-- Kernels on one tile of the column layout -------------------------===//
//
// st, pt: [nk][kTile] scores / probabilities; qt: [D][kTile] (one slab);
// ot: [Dv][kTile]; C: 16-column chunks of the tile that are computed (1-4);
// m, l, alpha: kTile values of the tile.

struct ColKernels {
  void (*qk)(const float *qt, int C, const float *k, int64_t ldk, int nk,
             int64_t D, float *st);
  void (*causal)(float *st, int nk, int C, const int32_t *pos, int64_t lim0);
  void (*softmax)(float *st, int nk, int C, float *m, float *l, float *alpha);
  void (*pv)(const float *pt, int nk, int C, const float *v, int64_t ldv,
             int64_t Dv, float *ot, const float *alpha);
};

// Portable versions.

void qkGeneric(const float *qt, int C, const float *k, int64_t ldk, int nk,
               int64_t D, float *st) {
  int nc = 16 * C;
  for (int j = 0; j < nk; ++j) {
    float *row = st + j * kTile;
    const float *kr = k + j * ldk;
    for (int c = 0; c < nc; ++c)
      row[c] = 0.f;
    for (int64_t d = 0; d < D; ++d) {
      float kv = kr[d];
      const float *qr = qt + d * kTile;
      for (int c = 0; c < nc; ++c)
        row[c] += kv * qr[c];
    }
  }
}

/// Hides key j (0-based in the block) from column c when pos[c] < lim0 + j
/// (lim0 = first key of the block - (Skv - Sq)).
void causalGeneric(float *st, int nk, int C, const int32_t *pos, int64_t lim0) {
  int nc = 16 * C;
  for (int j = 0; j < nk; ++j)
    for (int c = 0; c < nc; ++c)
      if (pos[c] < lim0 + j)
        st[j * kTile + c] = kNegInf;
}

void softmaxGeneric(float *st, int nk, int C, float *m, float *l,
                    float *alpha) {
  int nc = 16 * C;
  float mNew[kTile], mSub[kTile], sum[kTile];
  for (int c = 0; c < nc; ++c) {
    mNew[c] = m[c];
    sum[c] = 0.f;
  }
  for (int j = 0; j < nk; ++j)
    for (int c = 0; c < nc; ++c)
      mNew[c] = std::max(mNew[c], st[j * kTile + c]);
  for (int c = 0; c < nc; ++c)
    mSub[c] = mNew[c] == kNegInf ? 0.f : mNew[c];
  for (int j = 0; j < nk; ++j)
    for (int c = 0; c < nc; ++c) {
      float p = std::exp2(st[j * kTile + c] - mSub[c]);
      st[j * kTile + c] = p;
      sum[c] += p;
    }
  for (int c = 0; c < nc; ++c) {
    float a = std::exp2(m[c] - mSub[c]);
    alpha[c] = a;
    l[c] = l[c] * a + sum[c];
    m[c] = mNew[c];
  }
}

void pvGeneric(const float *pt, int nk, int C, const float *v, int64_t ldv,
               int64_t Dv, float *ot, const float *alpha) {
  int nc = 16 * C;
  for (int64_t d = 0; d < Dv; ++d) {
    float *row = ot + d * kTile;
    for (int c = 0; c < nc; ++c)
      row[c] *= alpha[c];
    for (int j = 0; j < nk; ++j) {
      float vv = v[j * ldv + d];
      const float *pr = pt + j * kTile;
      for (int c = 0; c < nc; ++c)
        row[c] += vv * pr[c];
    }
  }
}

const ColKernels kGenericKernels = {qkGeneric, causalGeneric, softmaxGeneric,
                                    pvGeneric};

#ifdef KILN_ATTN_X86

// AVX-512 versions.

/// 2^x, relative error about 1e-7; -inf and x < -150 give 0, NaN stays NaN.
KILN_AVX512 inline __m512 exp2v(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-200.f), x); // NaN passes (2nd operand)
  x = _mm512_min_ps(_mm512_set1_ps(128.f), x);
  __m512 n =
      _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 f = _mm512_sub_ps(x, n); // [-0.5, 0.5]
  __m512 p = _mm512_set1_ps(1.536269555799663e-4f);
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.3405305799096823e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(9.618467651307583e-3f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(5.550312623381615e-2f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(2.4022646248340607e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(6.931472420692444e-1f));
  p = _mm512_fmadd_ps(p, f, _mm512_set1_ps(1.f));
  return _mm512_scalef_ps(p, n);
}

template <int R, int C>
KILN_AVX512 __attribute__((always_inline)) inline void
qkMicro(const float *qt, const float *k, int64_t ldk, int64_t D, float *st) {
  __m512 acc[R][C];
  const float *kr[R];
  for (int r = 0; r < R; ++r) {
    kr[r] = k + r * ldk;
    for (int c = 0; c < C; ++c)
      acc[r][c] = _mm512_setzero_ps();
  }
  for (int64_t d = 0; d < D; ++d) {
    __m512 qv[C];
    for (int c = 0; c < C; ++c)
      qv[c] = _mm512_load_ps(qt + d * kTile + 16 * c);
    for (int r = 0; r < R; ++r) {
      __m512 kb = _mm512_set1_ps(kr[r][d]);
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm512_fmadd_ps(kb, qv[c], acc[r][c]);
    }
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      _mm512_store_ps(st + r * kTile + 16 * c, acc[r][c]);
}

constexpr int kQkRows = 6;
constexpr int kPvRows = 6;

template <int C>
KILN_AVX512 void qkTile(const float *qt, const float *k, int64_t ldk, int nk,
                        int64_t D, float *st) {
  int j = 0;
  for (; j + kQkRows <= nk; j += kQkRows)
    qkMicro<kQkRows, C>(qt, k + j * ldk, ldk, D, st + j * kTile);
  const float *kj = k + j * ldk;
  float *sj = st + j * kTile;
  switch (nk - j) {
  case 1:
    qkMicro<1, C>(qt, kj, ldk, D, sj);
    break;
  case 2:
    qkMicro<2, C>(qt, kj, ldk, D, sj);
    break;
  case 3:
    qkMicro<3, C>(qt, kj, ldk, D, sj);
    break;
  case 4:
    qkMicro<4, C>(qt, kj, ldk, D, sj);
    break;
  case 5:
    qkMicro<5, C>(qt, kj, ldk, D, sj);
    break;
  default:
    break;
  }
}

KILN_AVX512 void qkAvx512(const float *qt, int C, const float *k, int64_t ldk,
                          int nk, int64_t D, float *st) {
  switch (C) {
  case 4:
    return qkTile<4>(qt, k, ldk, nk, D, st);
  case 3:
    return qkTile<3>(qt, k, ldk, nk, D, st);
  case 2:
    return qkTile<2>(qt, k, ldk, nk, D, st);
  default:
    return qkTile<1>(qt, k, ldk, nk, D, st);
  }
}

KILN_AVX512 void causalAvx512(float *st, int nk, int C, const int32_t *pos,
                              int64_t lim0) {
  __m512i p[4];
  for (int c = 0; c < C; ++c)
    p[c] = _mm512_loadu_si512(pos + 16 * c);
  __m512 ninf = _mm512_set1_ps(kNegInf);
  for (int j = 0; j < nk; ++j) {
    int64_t lim = lim0 + j;
    lim = std::max<int64_t>(std::min<int64_t>(lim, INT32_MAX), INT32_MIN);
    __m512i lv = _mm512_set1_epi32(static_cast<int32_t>(lim));
    for (int c = 0; c < C; ++c) {
      __mmask16 hide = _mm512_cmplt_epi32_mask(p[c], lv);
      float *s = st + j * kTile + 16 * c;
      _mm512_mask_store_ps(s, hide, ninf);
    }
  }
}

template <int C>
KILN_AVX512 void softmaxTile(float *st, int nk, float *m, float *l,
                             float *alpha) {
  __m512 mOld[C], mx[C], mSub[C], sum[C];
  for (int c = 0; c < C; ++c) {
    mOld[c] = _mm512_load_ps(m + 16 * c);
    mx[c] = mOld[c];
    sum[c] = _mm512_setzero_ps();
  }
  for (int j = 0; j < nk; ++j)
    for (int c = 0; c < C; ++c)
      mx[c] = _mm512_max_ps(mx[c], _mm512_load_ps(st + j * kTile + 16 * c));
  __m512 ninf = _mm512_set1_ps(kNegInf);
  for (int c = 0; c < C; ++c) {
    __mmask16 none = _mm512_cmp_ps_mask(mx[c], ninf, _CMP_EQ_OQ);
    mSub[c] = _mm512_mask_mov_ps(mx[c], none, _mm512_setzero_ps());
  }
  for (int j = 0; j < nk; ++j)
    for (int c = 0; c < C; ++c) {
      float *s = st + j * kTile + 16 * c;
      __m512 p = exp2v(_mm512_sub_ps(_mm512_load_ps(s), mSub[c]));
      _mm512_store_ps(s, p);
      sum[c] = _mm512_add_ps(sum[c], p);
    }
  for (int c = 0; c < C; ++c) {
    __m512 a = exp2v(_mm512_sub_ps(mOld[c], mSub[c]));
    _mm512_store_ps(alpha + 16 * c, a);
    _mm512_store_ps(l + 16 * c,
                    _mm512_fmadd_ps(_mm512_load_ps(l + 16 * c), a, sum[c]));
    _mm512_store_ps(m + 16 * c, mx[c]);
  }
}

KILN_AVX512 void softmaxAvx512(float *st, int nk, int C, float *m, float *l,
                               float *alpha) {
  switch (C) {
  case 4:
    return softmaxTile<4>(st, nk, m, l, alpha);
  case 3:
    return softmaxTile<3>(st, nk, m, l, alpha);
  case 2:
    return softmaxTile<2>(st, nk, m, l, alpha);
  default:
    return softmaxTile<1>(st, nk, m, l, alpha);
  }
}

template <int R, int C>
KILN_AVX512 __attribute__((always_inline)) inline void
pvMicro(const float *pt, int nk, const float *v, int64_t ldv, float *ot,
        const __m512 *alpha) {
  __m512 acc[R][C];
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      acc[r][c] =
          _mm512_mul_ps(_mm512_load_ps(ot + r * kTile + 16 * c), alpha[c]);
  for (int j = 0; j < nk; ++j) {
    __m512 pv[C];
    for (int c = 0; c < C; ++c)
      pv[c] = _mm512_load_ps(pt + j * kTile + 16 * c);
    for (int r = 0; r < R; ++r) {
      __m512 vb = _mm512_set1_ps(v[r]);
      for (int c = 0; c < C; ++c)
        acc[r][c] = _mm512_fmadd_ps(vb, pv[c], acc[r][c]);
    }
    v += ldv;
  }
  for (int r = 0; r < R; ++r)
    for (int c = 0; c < C; ++c)
      _mm512_store_ps(ot + r * kTile + 16 * c, acc[r][c]);
}

template <int C>
KILN_AVX512 void pvTile(const float *pt, int nk, const float *v, int64_t ldv,
                        int64_t Dv, float *ot, const float *alphaPtr) {
  __m512 alpha[C];
  for (int c = 0; c < C; ++c)
    alpha[c] = _mm512_load_ps(alphaPtr + 16 * c);
  int64_t d = 0;
  for (; d + kPvRows <= Dv; d += kPvRows)
    pvMicro<kPvRows, C>(pt, nk, v + d, ldv, ot + d * kTile, alpha);
  const float *vd = v + d;
  float *od = ot + d * kTile;
  switch (Dv - d) {
  case 1:
    pvMicro<1, C>(pt, nk, vd, ldv, od, alpha);
    break;
  case 2:
    pvMicro<2, C>(pt, nk, vd, ldv, od, alpha);
    break;
  case 3:
    pvMicro<3, C>(pt, nk, vd, ldv, od, alpha);
    break;
  case 4:
    pvMicro<4, C>(pt, nk, vd, ldv, od, alpha);
    break;
  case 5:
    pvMicro<5, C>(pt, nk, vd, ldv, od, alpha);
    break;
  default:
    break;
  }
}

KILN_AVX512 void pvAvx512(const float *pt, int nk, int C, const float *v,
                          int64_t ldv, int64_t Dv, float *ot,
                          const float *alpha) {
  switch (C) {
  case 4:
    return pvTile<4>(pt, nk, v, ldv, Dv, ot, alpha);
  case 3:
    return pvTile<3>(pt, nk, v, ldv, Dv, ot, alpha);
  case 2:
    return pvTile<2>(pt, nk, v, ldv, Dv, ot, alpha);
  default:
    return pvTile<1>(pt, nk, v, ldv, Dv, ot, alpha);
  }
}

const ColKernels kAvx512Kernels = {qkAvx512, causalAvx512, softmaxAvx512,
                                   pvAvx512};

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

//===-- The problem and its schedule ----------------------------------===//

/// A K or V operand: base and strides (batch stride 0 when broadcast).
struct KvPart {
  const float *p;
  int64_t s[4];
};

struct Problem {
  const float *q;
  float *o;
  // Keys and values [0, S1) are rows of k[0] / v[0], [S1, Skv) rows of
  // k[1] / v[1] (a cache and the new tokens: the concatenation is never
  // built). S1 = Skv with one part; key blocks never straddle S1.
  KvPart k[2], v[2];
  int64_t S1;
  int64_t B, Hq, Hkv, G, Sq, Skv, D, Dv;
  int64_t qs[4], os[4];
  float qscale; // scale * log2(e)
  bool causal;
  int64_t off; // Skv - Sq: key j is hidden from query i when j > i + off
  MaskKind maskKind;
  const void *mask;
  int64_t ms[4]; // 0 along broadcast dimensions

  // Schedule.
  bool avx512;
  bool rowKernel;
  const ColKernels *kern;
  int64_t Bq, nQB, Bk, nSplit, splitLen, nItems;
  int64_t maxCols; // G * Bq: queries of an item
  float *partial;  // when nSplit > 1: per item, maxCols x (Dv + 2)
};

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
inline int64_t roundUp(int64_t a, int64_t b) { return ceilDiv(a, b) * b; }

/// Bump allocation from one aligned block (offsets in floats, 64-byte
/// granules).
struct Arena {
  char *base = nullptr;
  size_t used = 0;
  template <typename T> T *take(int64_t count) {
    T *p = reinterpret_cast<T *>(base + used);
    used += static_cast<size_t>(roundUp(count * sizeof(T), 64));
    return p;
  }
};

/// One item: which queries and keys it covers.
struct Item {
  int64_t b, g, qb, split;
  int64_t i0, bq;     // queries [i0, i0 + bq) of each head of the group
  int64_t kBeg, kEnd; // keys of this split (before causal trimming)
  int64_t index;      // canonical index (for the partial buffer)
};

Item decodeItem(const Problem &P, int64_t w) {
  Item it;
  it.split = w % P.nSplit;
  int64_t rest = w / P.nSplit;
  int64_t bg = rest % (P.B * P.Hkv);
  int64_t qbOrd = rest / (P.B * P.Hkv);
  // The most expensive blocks (the last ones when causal) first.
  it.qb = P.nQB - 1 - qbOrd;
  it.b = bg / P.Hkv;
  it.g = bg % P.Hkv;
  it.i0 = it.qb * P.Bq;
  it.bq = std::min(P.Bq, P.Sq - it.i0);
  it.kBeg = it.split * P.splitLen;
  it.kEnd = std::min(P.Skv, it.kBeg + P.splitLen);
  it.index = (bg * P.nQB + it.qb) * P.nSplit + it.split;
  return it;
}

/// The mask row of (b, h, i), or null without a mask.
inline const char *maskRow(const Problem &P, int64_t b, int64_t h, int64_t i) {
  if (P.maskKind == kNoMask)
    return nullptr;
  size_t elt = P.maskKind == kFloatMask ? sizeof(float) : 1;
  return static_cast<const char *>(P.mask) +
         (b * P.ms[0] + h * P.ms[1] + i * P.ms[2]) * static_cast<int64_t>(elt);
}

/// Whether K (or V) rows must be packed: a part without unit stride along
/// the feature dimension.
inline bool needsPack(const KvPart *parts) {
  return parts[0].s[3] != 1 || parts[1].s[3] != 1;
}

/// Keys of the block starting at j0 (before `end`): at most Bk, and never
/// across the boundary S1 between the two parts.
inline int64_t blockLen(const Problem &P, int64_t j0, int64_t end) {
  int64_t n = std::min(P.Bk, end - j0);
  return j0 < P.S1 ? std::min(n, P.S1 - j0) : n;
}

/// K (or V) rows [j0, j0 + n) of head (b, g) (within one part) with unit
/// stride along the feature dimension: in place when it already has one,
/// else packed.
inline const float *rowsOf(const Problem &P, const KvPart *parts, int64_t b,
                           int64_t g, int64_t j0, int64_t n, int64_t dim,
                           float *pack, int64_t *ld) {
  const KvPart &x = parts[j0 < P.S1 ? 0 : 1];
  int64_t j = j0 < P.S1 ? j0 : j0 - P.S1;
  const float *p = x.p + b * x.s[0] + g * x.s[1] + j * x.s[2];
  if (x.s[3] == 1) {
    *ld = x.s[2];
    return p;
  }
  for (int64_t r = 0; r < n; ++r)
    for (int64_t d = 0; d < dim; ++d)
      pack[r * dim + d] = p[r * x.s[2] + d * x.s[3]];
  *ld = dim;
  return pack;
}

/// Writes row `r` of an item (query head hl of the group, query i0 + iLocal)
/// from its softmax state: into O normalized, or into the partial buffer.
/// `src(d)` gives the unnormalized output.
template <typename Src>
inline void writeRow(const Problem &P, const Item &it, int64_t r, float m,
                     float l, Src src, bool toPartial) {
  if (toPartial) {
    float *dst = P.partial + (it.index * P.maxCols + r) * (P.Dv + 2);
    dst[0] = m;
    dst[1] = l;
    for (int64_t d = 0; d < P.Dv; ++d)
      dst[2 + d] = src(d);
    return;
  }
  int64_t hl = r / it.bq, i = it.i0 + r % it.bq;
  float *dst = P.o + it.b * P.os[0] + (it.g * P.G + hl) * P.os[1] + i * P.os[2];
  if (l == 0.f) { // every key hidden
    for (int64_t d = 0; d < P.Dv; ++d)
      dst[d * P.os[3]] = 0.f;
    return;
  }
  float inv = 1.f / l;
  for (int64_t d = 0; d < P.Dv; ++d)
    dst[d * P.os[3]] = src(d) * inv;
}

//===-- Column kernel ----------------------------------------------------===//

size_t colScratchBytes(const Problem &P) {
  int64_t nTiles = ceilDiv(P.maxCols, kTile);
  int64_t f = nTiles * kTile * (P.D + P.Dv + 2) + P.Bk * kTile + kTile;
  int64_t pack = 0;
  if (needsPack(P.k))
    pack += P.Bk * P.D;
  if (needsPack(P.v))
    pack += P.Bk * P.Dv;
  return static_cast<size_t>((f + pack + nTiles * kTile) * 4 + 16 * 64);
}

void runColItem(const Problem &P, const Item &it, Arena arena) {
  const ColKernels &K = *P.kern;
  int64_t nCols = P.G * it.bq;
  int64_t nTiles = ceilDiv(nCols, kTile);
  float *qt = arena.take<float>(nTiles * kTile * P.D);
  float *ot = arena.take<float>(nTiles * kTile * P.Dv);
  float *st = arena.take<float>(P.Bk * kTile);
  float *m = arena.take<float>(nTiles * kTile);
  float *l = arena.take<float>(nTiles * kTile);
  float *alpha = arena.take<float>(kTile);
  int32_t *pos = arena.take<int32_t>(nTiles * kTile);
  float *kpack = needsPack(P.k) ? arena.take<float>(P.Bk * P.D) : nullptr;
  float *vpack = needsPack(P.v) ? arena.take<float>(P.Bk * P.Dv) : nullptr;

  // Pack Q^T (scaled), columns c = hl * bq + (i - i0).
  std::memset(qt, 0, sizeof(float) * nTiles * kTile * P.D);
  std::memset(ot, 0, sizeof(float) * nTiles * kTile * P.Dv);
  for (int64_t c = 0; c < nTiles * kTile; ++c) {
    m[c] = kNegInf;
    l[c] = 0.f;
    pos[c] = static_cast<int32_t>(
        it.i0 + (c < nCols ? c % it.bq : (nCols - 1) % it.bq));
  }
  for (int64_t c = 0; c < nCols; ++c) {
    int64_t hl = c / it.bq, i = it.i0 + c % it.bq;
    const float *qr =
        P.q + it.b * P.qs[0] + (it.g * P.G + hl) * P.qs[1] + i * P.qs[2];
    float *dst = qt + (c / kTile) * kTile * P.D + c % kTile;
    for (int64_t d = 0; d < P.D; ++d)
      dst[d * kTile] = qr[d * P.qs[3]] * P.qscale;
  }

  int64_t posMaxItem = it.i0 + it.bq - 1;
  int64_t kEnd = it.kEnd;
  if (P.causal)
    kEnd = std::min(kEnd, posMaxItem + P.off + 1);
  for (int64_t j0 = it.kBeg, nk; j0 < kEnd; j0 += nk) {
    nk = blockLen(P, j0, kEnd);
    int64_t ldk, ldv;
    const float *kp = rowsOf(P, P.k, it.b, it.g, j0, nk, P.D, kpack, &ldk);
    const float *vp = rowsOf(P, P.v, it.b, it.g, j0, nk, P.Dv, vpack, &ldv);
    for (int64_t t = 0; t < nTiles; ++t) {
      int64_t c0 = t * kTile;
      int64_t cols = std::min<int64_t>(kTile, nCols - c0);
      int C = static_cast<int>(ceilDiv(cols, 16));
      const int32_t *tpos = pos + c0;
      int64_t nkT = nk;
      bool diag = false;
      if (P.causal) {
        int64_t pMin = INT64_MAX, pMax = INT64_MIN;
        for (int64_t c = 0; c < cols; ++c) {
          pMin = std::min<int64_t>(pMin, tpos[c]);
          pMax = std::max<int64_t>(pMax, tpos[c]);
        }
        // Keys past pMax + off are hidden from every column of the tile.
        nkT = std::min(nk, pMax + P.off - j0 + 1);
        if (nkT <= 0)
          continue;
        diag = j0 + nkT - 1 > pMin + P.off;
      }
      int n = static_cast<int>(nkT);
      K.qk(qt + c0 * P.D, C, kp, ldk, n, P.D, st);
      if (diag)
        K.causal(st, n, C, tpos, j0 - P.off);
      if (P.maskKind != kNoMask) {
        // Columns that share one mask row get it as a vector.
        const char *row0 = maskRow(P, it.b, it.g * P.G + c0 / it.bq, tpos[0]);
        bool shared = true;
        for (int64_t c = 1; c < cols && shared; ++c)
          shared =
              maskRow(P, it.b, it.g * P.G + (c0 + c) / it.bq, tpos[c]) == row0;
        int64_t mt = P.ms[3];
        for (int64_t c = 0; c < (shared ? 1 : cols); ++c) {
          const char *row =
              shared ? row0
                     : maskRow(P, it.b, it.g * P.G + (c0 + c) / it.bq, tpos[c]);
          int64_t cBeg = shared ? 0 : c, cEnd = shared ? 16 * C : c + 1;
          if (P.maskKind == kFloatMask) {
            const float *mr = reinterpret_cast<const float *>(row) + j0 * mt;
            for (int j = 0; j < n; ++j) {
              float add = mr[j * mt] * kLog2e;
              float *s = st + j * kTile;
              for (int64_t cc = cBeg; cc < cEnd; ++cc)
                s[cc] += add;
            }
          } else {
            const uint8_t *mr =
                reinterpret_cast<const uint8_t *>(row) + j0 * mt;
            for (int j = 0; j < n; ++j) {
              if (mr[j * mt])
                continue;
              float *s = st + j * kTile;
              for (int64_t cc = cBeg; cc < cEnd; ++cc)
                s[cc] = kNegInf;
            }
          }
        }
      }
      K.softmax(st, n, C, m + c0, l + c0, alpha);
      K.pv(st, n, C, vp, ldv, P.Dv, ot + c0 * P.Dv, alpha);
    }
  }

  for (int64_t c = 0; c < nCols; ++c) {
    const float *src = ot + (c / kTile) * kTile * P.Dv + c % kTile;
    writeRow(
        P, it, c, m[c], l[c], [&](int64_t d) { return src[d * kTile]; },
        P.nSplit > 1);
  }
}

//===-- Row kernel (few queries per item) ----------------------------===//

size_t rowScratchBytes(const Problem &P) {
  int64_t rows = P.maxCols;
  int64_t f =
      rows * (roundUp(P.D, 16) + roundUp(P.Bk, 16) + roundUp(P.Dv, 16) + 2);
  if (needsPack(P.k))
    f += P.Bk * P.D;
  if (needsPack(P.v))
    f += P.Bk * P.Dv;
  return static_cast<size_t>(f * 4 + 16 * 64);
}

#ifdef KILN_ATTN_X86
inline __mmask16 tailMask(int64_t n) {
  return n >= 16 ? static_cast<__mmask16>(0xffff)
                 : static_cast<__mmask16>((1u << n) - 1);
}

/// s[r * lds] = dot(q row r, krow) for NR rows of the packed Q (ld ldq).
template <int NR>
KILN_AVX512 __attribute__((always_inline)) inline void
dotRows(const float *q, int64_t ldq, const float *krow, int64_t D, float *s,
        int64_t lds) {
  __m512 acc[NR];
  for (int r = 0; r < NR; ++r)
    acc[r] = _mm512_setzero_ps();
  for (int64_t d = 0; d < D; d += 16) {
    __m512 kv = _mm512_maskz_loadu_ps(tailMask(D - d), krow + d);
    for (int r = 0; r < NR; ++r)
      acc[r] = _mm512_fmadd_ps(_mm512_load_ps(q + r * ldq + d), kv, acc[r]);
  }
  for (int r = 0; r < NR; ++r)
    s[r * lds] = _mm512_reduce_add_ps(acc[r]);
}

/// o[r] = o[r] * alpha[r] + sum_j p[r][j] V[j] for NR rows, over columns
/// [d0, d0 + 16 NC) of V (the last chunk possibly partial).
template <int NR, int NC>
KILN_AVX512 __attribute__((always_inline)) inline void
pvRows(const float *p, int64_t ldp, int nk, const float *v, int64_t ldv,
       int64_t d0, int64_t Dv, float *o, int64_t ldo, const float *alpha) {
  __m512 acc[NR][NC];
  __mmask16 mk[NC];
  for (int c = 0; c < NC; ++c)
    mk[c] = tailMask(Dv - d0 - 16 * c);
  for (int r = 0; r < NR; ++r)
    for (int c = 0; c < NC; ++c)
      acc[r][c] = _mm512_mul_ps(_mm512_load_ps(o + r * ldo + d0 + 16 * c),
                                _mm512_set1_ps(alpha[r]));
  const float *vj = v + d0;
  for (int j = 0; j < nk; ++j) {
    __m512 vv[NC];
    for (int c = 0; c < NC; ++c)
      vv[c] = _mm512_maskz_loadu_ps(mk[c], vj + 16 * c);
    for (int r = 0; r < NR; ++r) {
      __m512 pb = _mm512_set1_ps(p[r * ldp + j]);
      for (int c = 0; c < NC; ++c)
        acc[r][c] = _mm512_fmadd_ps(pb, vv[c], acc[r][c]);
    }
    vj += ldv;
  }
  for (int r = 0; r < NR; ++r)
    for (int c = 0; c < NC; ++c)
      _mm512_store_ps(o + r * ldo + d0 + 16 * c, acc[r][c]);
}

template <int NR>
KILN_AVX512 void pvRowsAll(const float *p, int64_t ldp, int nk, const float *v,
                           int64_t ldv, int64_t Dv, float *o, int64_t ldo,
                           const float *alpha) {
  int64_t d0 = 0;
  for (; d0 + 64 <= Dv; d0 += 64)
    pvRows<NR, 4>(p, ldp, nk, v, ldv, d0, Dv, o, ldo, alpha);
  switch (ceilDiv(Dv - d0, 16)) {
  case 1:
    pvRows<NR, 1>(p, ldp, nk, v, ldv, d0, Dv, o, ldo, alpha);
    break;
  case 2:
    pvRows<NR, 2>(p, ldp, nk, v, ldv, d0, Dv, o, ldo, alpha);
    break;
  case 3:
    pvRows<NR, 3>(p, ldp, nk, v, ldv, d0, Dv, o, ldo, alpha);
    break;
  default:
    break;
  }
}

KILN_AVX512 void runRowItem(const Problem &P, const Item &it, Arena arena) {
  int64_t rows = P.G * it.bq;
  int64_t Dp = roundUp(std::max<int64_t>(P.D, 1), 16);
  int64_t Dvp = roundUp(std::max<int64_t>(P.Dv, 1), 16);
  int64_t lds = roundUp(P.Bk, 16);
  float *qp = arena.take<float>(rows * Dp);
  float *s = arena.take<float>(rows * lds);
  float *ob = arena.take<float>(rows * Dvp);
  float *m = arena.take<float>(rows);
  float *l = arena.take<float>(rows);
  float *alpha = arena.take<float>(rows);
  float *kpack = needsPack(P.k) ? arena.take<float>(P.Bk * P.D) : nullptr;
  float *vpack = needsPack(P.v) ? arena.take<float>(P.Bk * P.Dv) : nullptr;
  std::memset(qp, 0, sizeof(float) * rows * Dp);
  std::memset(ob, 0, sizeof(float) * rows * Dvp);
  int64_t posMax = INT64_MIN;
  for (int64_t r = 0; r < rows; ++r) {
    int64_t hl = r / it.bq, i = it.i0 + r % it.bq;
    posMax = std::max(posMax, i);
    const float *qr =
        P.q + it.b * P.qs[0] + (it.g * P.G + hl) * P.qs[1] + i * P.qs[2];
    for (int64_t d = 0; d < P.D; ++d)
      qp[r * Dp + d] = qr[d * P.qs[3]] * P.qscale;
    m[r] = kNegInf;
    l[r] = 0.f;
  }
  int64_t kEnd = it.kEnd;
  if (P.causal)
    kEnd = std::min(kEnd, posMax + P.off + 1);
  __m512 ninf = _mm512_set1_ps(kNegInf);
  for (int64_t j0 = it.kBeg, len; j0 < kEnd; j0 += len) {
    len = blockLen(P, j0, kEnd);
    int nk = static_cast<int>(len);
    int64_t ldk, ldv;
    const float *kp = rowsOf(P, P.k, it.b, it.g, j0, nk, P.D, kpack, &ldk);
    const float *vp = rowsOf(P, P.v, it.b, it.g, j0, nk, P.Dv, vpack, &ldv);
    // Scores.
    for (int j = 0; j < nk; ++j) {
      const float *kr = kp + j * ldk;
      int64_t r = 0;
      for (; r + 4 <= rows; r += 4)
        dotRows<4>(qp + r * Dp, Dp, kr, P.D, s + r * lds + j, lds);
      switch (rows - r) {
      case 1:
        dotRows<1>(qp + r * Dp, Dp, kr, P.D, s + r * lds + j, lds);
        break;
      case 2:
        dotRows<2>(qp + r * Dp, Dp, kr, P.D, s + r * lds + j, lds);
        break;
      case 3:
        dotRows<3>(qp + r * Dp, Dp, kr, P.D, s + r * lds + j, lds);
        break;
      default:
        break;
      }
    }
    // Masks and the online softmax, per row.
    for (int64_t r = 0; r < rows; ++r) {
      float *sr = s + r * lds;
      int64_t i = it.i0 + r % it.bq;
      int64_t visible = nk;
      if (P.causal)
        visible =
            std::max<int64_t>(0, std::min<int64_t>(nk, i + P.off - j0 + 1));
      for (int64_t j = visible; j < roundUp(nk, 16); ++j)
        sr[j] = kNegInf;
      if (P.maskKind != kNoMask) {
        const char *row = maskRow(P, it.b, it.g * P.G + r / it.bq, i);
        int64_t mt = P.ms[3];
        if (P.maskKind == kFloatMask) {
          const float *mr = reinterpret_cast<const float *>(row) + j0 * mt;
          for (int64_t j = 0; j < visible; ++j)
            sr[j] += mr[j * mt] * kLog2e;
        } else {
          const uint8_t *mr = reinterpret_cast<const uint8_t *>(row) + j0 * mt;
          for (int64_t j = 0; j < visible; ++j)
            if (!mr[j * mt])
              sr[j] = kNegInf;
        }
      }
      __m512 mx = ninf;
      for (int j = 0; j < nk; j += 16)
        mx = _mm512_max_ps(mx, _mm512_load_ps(sr + j));
      float mNew = std::max(m[r], _mm512_reduce_max_ps(mx));
      float mSub = mNew == kNegInf ? 0.f : mNew;
      __m512 sub = _mm512_set1_ps(mSub), sum = _mm512_setzero_ps();
      for (int j = 0; j < nk; j += 16) {
        __m512 p = exp2v(_mm512_sub_ps(_mm512_load_ps(sr + j), sub));
        _mm512_store_ps(sr + j, p);
        sum = _mm512_add_ps(sum, p);
      }
      float a = std::exp2(m[r] - mSub);
      alpha[r] = a;
      l[r] = l[r] * a + _mm512_reduce_add_ps(sum);
      m[r] = mNew;
    }
    // O = alpha O + P V.
    int64_t r = 0;
    for (; r + 4 <= rows; r += 4)
      pvRowsAll<4>(s + r * lds, lds, nk, vp, ldv, P.Dv, ob + r * Dvp, Dvp,
                   alpha + r);
    switch (rows - r) {
    case 1:
      pvRowsAll<1>(s + r * lds, lds, nk, vp, ldv, P.Dv, ob + r * Dvp, Dvp,
                   alpha + r);
      break;
    case 2:
      pvRowsAll<2>(s + r * lds, lds, nk, vp, ldv, P.Dv, ob + r * Dvp, Dvp,
                   alpha + r);
      break;
    case 3:
      pvRowsAll<3>(s + r * lds, lds, nk, vp, ldv, P.Dv, ob + r * Dvp, Dvp,
                   alpha + r);
      break;
    default:
      break;
    }
  }
  for (int64_t r = 0; r < rows; ++r) {
    const float *src = ob + r * Dvp;
    writeRow(
        P, it, r, m[r], l[r], [&](int64_t d) { return src[d]; }, P.nSplit > 1);
  }
}
#endif

//===-- Driver ---------------------------------------------------------===//

size_t scratchBytes(const Problem &P) {
  return P.rowKernel ? rowScratchBytes(P) : colScratchBytes(P);
}

void itemsTask(void *captures, int64_t begin, int64_t end) {
  const Problem &P = *static_cast<const Problem *>(captures);
  size_t bytes = scratchBytes(P);
  void *mem = kiln::rt::alignedAlloc(bytes);
  if (!mem)
    return; // out of memory: nothing we can report from here
  Arena arena;
  arena.base = static_cast<char *>(mem);
  for (int64_t w = begin; w < end; ++w) {
    Item it = decodeItem(P, w);
#ifdef KILN_ATTN_X86
    if (P.rowKernel) {
      runRowItem(P, it, arena);
      continue;
    }
#endif
    runColItem(P, it, arena);
  }
  kiln_free(mem);
}

/// Combines the partial states of the splits of each (b, g, query block).
void mergeTask(void *captures, int64_t begin, int64_t end) {
  const Problem &P = *static_cast<const Problem *>(captures);
  for (int64_t w = begin; w < end; ++w) {
    int64_t qb = w % P.nQB, bg = w / P.nQB;
    Item it;
    it.b = bg / P.Hkv;
    it.g = bg % P.Hkv;
    it.qb = qb;
    it.i0 = qb * P.Bq;
    it.bq = std::min(P.Bq, P.Sq - it.i0);
    int64_t rows = P.G * it.bq;
    const float *part = P.partial + w * P.nSplit * P.maxCols * (P.Dv + 2);
    int64_t ldSplit = P.maxCols * (P.Dv + 2);
    std::vector<float> wt(P.nSplit);
    for (int64_t r = 0; r < rows; ++r) {
      const float *pr = part + r * (P.Dv + 2);
      float M = kNegInf;
      for (int64_t s = 0; s < P.nSplit; ++s)
        M = std::max(M, pr[s * ldSplit]);
      float L = 0.f;
      for (int64_t s = 0; s < P.nSplit; ++s) {
        const float *ps = pr + s * ldSplit;
        wt[s] = M == kNegInf ? 0.f : std::exp2(ps[0] - M);
        L += wt[s] * ps[1];
      }
      writeRow(
          P, it, r, M, L,
          [&](int64_t d) {
            float acc = 0.f;
            for (int64_t s = 0; s < P.nSplit; ++s)
              acc += wt[s] * pr[s * ldSplit + 2 + d];
            return acc;
          },
          false);
    }
  }
}

void run(Problem &P) {
  if (P.B <= 0 || P.Hq <= 0 || P.Sq <= 0 || P.Dv <= 0)
    return;
  int nThreads = kiln_context_num_threads(kiln::rt::currentContext());
  // KILN_UK_GENERIC=1 forces the portable kernels (for testing them).
  const char *generic = getenv("KILN_UK_GENERIC");
  P.avx512 = haveAvx512() && !(generic && generic[0] == '1');
#ifdef KILN_ATTN_X86
  P.kern = P.avx512 ? &kAvx512Kernels : &kGenericKernels;
#else
  P.kern = &kGenericKernels;
#endif
  P.rowKernel = P.avx512 && P.G * P.Sq < 8;
  if (P.rowKernel) {
    P.Bq = P.Sq;
    P.Bk = kRowBk;
  } else {
    P.Bk = kBk;
    P.Bq = std::max<int64_t>(16, roundUp(ceilDiv(kTargetCols, P.G), 16));
    // Smaller blocks when there would be too few items to share.
    while (P.Bq > 16 && P.B * P.Hkv * ceilDiv(P.Sq, P.Bq) < 4 * nThreads)
      P.Bq /= 2;
    P.Bq = std::min(P.Bq, P.Sq);
  }
  P.nQB = ceilDiv(P.Sq, P.Bq);
  P.maxCols = P.G * P.Bq;
  int64_t items = P.B * P.Hkv * P.nQB;
  P.nSplit = 1;
  if (nThreads > 1 && items < 4 * nThreads && P.Skv > 0)
    P.nSplit = std::max<int64_t>(
        1, std::min(ceilDiv(4 * nThreads, items), P.Skv / 256));
  P.splitLen = std::max<int64_t>(
      roundUp(ceilDiv(std::max<int64_t>(P.Skv, 1), P.nSplit), P.Bk), P.Bk);
  P.nSplit = std::max<int64_t>(1, ceilDiv(P.Skv, P.splitLen));
  P.nItems = items * P.nSplit;
  P.partial = nullptr;
  if (P.nSplit > 1) {
    size_t bytes = static_cast<size_t>(P.nItems * P.maxCols * (P.Dv + 2)) * 4;
    P.partial = static_cast<float *>(kiln::rt::alignedAlloc(bytes));
    if (!P.partial)
      P.nSplit = 1; // fall back on one split per item
    if (P.nSplit == 1) {
      P.splitLen = std::max<int64_t>(P.Skv, 1);
      P.nItems = items;
    }
  }
  kiln_rt_parallel_for(P.nItems, itemsTask, &P);
  if (P.partial) {
    kiln_rt_parallel_for(items, mergeTask, &P);
    kiln_free(P.partial);
  }
}

/// A K or V part from its sizes and strides (4 each); batch stride 0 when
/// its batch is 1 (broadcast).
KvPart part(const float *p, const int64_t *d) {
  KvPart x{p, {d[4], d[5], d[6], d[7]}};
  if (d[0] == 1)
    x.s[0] = 0;
  return x;
}

/// Fills the common part of a Problem; false when the shapes do not fit.
/// k2d / v2d (null with one part): the keys and values after k / v.
bool setup(Problem &P, const float *q, const int64_t *qd, const float *k,
           const int64_t *kd, const float *v, const int64_t *vd,
           const float *k2, const int64_t *k2d, const float *v2,
           const int64_t *v2d, double scale, int64_t flags, float *o,
           const int64_t *od) {
  // qd etc.: 4 sizes then 4 strides.
  int64_t B = qd[0], Hq = qd[1], Sq = qd[2], D = qd[3];
  int64_t Hkv = kd[1], S1 = kd[2], Dv = vd[3];
  if (B < 0 || Hq < 0 || Sq < 0 || D < 0 || Hkv <= 0 || S1 < 0 || Dv < 0)
    return false;
  if (od[0] != B || od[1] != Hq || od[2] != Sq || od[3] != Dv || Hq % Hkv != 0)
    return false;
  // Each part: K [B|1, Hkv, S, D] and V [B|1, Hkv, S, Dv] of one length S.
  auto fits = [&](const int64_t *kp, const int64_t *vp) {
    return kp[1] == Hkv && kp[3] == D && vp[1] == Hkv && vp[2] == kp[2] &&
           vp[3] == Dv && kp[2] >= 0 && (kp[0] == B || kp[0] == 1) &&
           (vp[0] == B || vp[0] == 1);
  };
  if (!fits(kd, vd) || (k2d && !fits(k2d, v2d)))
    return false;
  P.q = q;
  P.o = o;
  P.k[0] = P.k[1] = part(k, kd);
  P.v[0] = P.v[1] = part(v, vd);
  P.S1 = S1;
  P.Skv = S1;
  if (k2d) {
    P.k[1] = part(k2, k2d);
    P.v[1] = part(v2, v2d);
    P.Skv += k2d[2];
  }
  P.B = B;
  P.Hq = Hq;
  P.Hkv = Hkv;
  P.G = Hq / Hkv;
  P.Sq = Sq;
  P.D = D;
  P.Dv = Dv;
  for (int i = 0; i < 4; ++i) {
    P.qs[i] = qd[4 + i];
    P.os[i] = od[4 + i];
  }
  P.qscale = static_cast<float>(scale * 1.44269504088896340736);
  P.causal = (flags & KILN_UK_CAUSAL) != 0;
  P.off = P.Skv - Sq;
  P.maskKind = kNoMask;
  P.mask = nullptr;
  for (int i = 0; i < 4; ++i)
    P.ms[i] = 0;
  return true;
}

bool setupMask(Problem &P, const void *mask, MaskKind kind, int64_t mB,
               int64_t mH, int64_t mS, int64_t mT, int64_t sB, int64_t sH,
               int64_t sS, int64_t sT) {
  if ((mB != 1 && mB != P.B) || (mH != 1 && mH != P.Hq) ||
      (mS != 1 && mS != P.Sq) || (mT != 1 && mT != P.Skv))
    return false;
  P.maskKind = kind;
  P.mask = mask;
  P.ms[0] = mB == 1 ? 0 : sB;
  P.ms[1] = mH == 1 ? 0 : sH;
  P.ms[2] = mS == 1 ? 0 : sS;
  P.ms[3] = mT == 1 ? 0 : sT;
  return true;
}

} // namespace

#define KILN_ATTN_DIMS(x)                                                      \
  const int64_t x##d[8] = {x##B,       x##H,       x##S,       x##D,           \
                           x##StrideB, x##StrideH, x##StrideS, x##StrideD}

extern "C" void kiln_uk_attention_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD) {
  KILN_ATTN_DIMS(q);
  KILN_ATTN_DIMS(k);
  KILN_ATTN_DIMS(v);
  KILN_ATTN_DIMS(o);
  Problem P;
  if (!setup(P, q, qd, k, kd, v, vd, nullptr, nullptr, nullptr, nullptr, scale,
             flags, o, od))
    return;
  run(P);
}

extern "C" void kiln_uk_attention_mask_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const float *mask, int64_t mB, int64_t mH, int64_t mS, int64_t mT,
    int64_t mStrideB, int64_t mStrideH, int64_t mStrideS, int64_t mStrideT,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD) {
  KILN_ATTN_DIMS(q);
  KILN_ATTN_DIMS(k);
  KILN_ATTN_DIMS(v);
  KILN_ATTN_DIMS(o);
  Problem P;
  if (!setup(P, q, qd, k, kd, v, vd, nullptr, nullptr, nullptr, nullptr, scale,
             flags, o, od) ||
      !setupMask(P, mask, kFloatMask, mB, mH, mS, mT, mStrideB, mStrideH,
                 mStrideS, mStrideT))
    return;
  run(P);
}

extern "C" void kiln_uk_attention_boolmask_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const uint8_t *mask, int64_t mB, int64_t mH, int64_t mS, int64_t mT,
    int64_t mStrideB, int64_t mStrideH, int64_t mStrideS, int64_t mStrideT,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD) {
  KILN_ATTN_DIMS(q);
  KILN_ATTN_DIMS(k);
  KILN_ATTN_DIMS(v);
  KILN_ATTN_DIMS(o);
  Problem P;
  if (!setup(P, q, qd, k, kd, v, vd, nullptr, nullptr, nullptr, nullptr, scale,
             flags, o, od) ||
      !setupMask(P, mask, kBoolMask, mB, mH, mS, mT, mStrideB, mStrideH,
                 mStrideS, mStrideT))
    return;
  run(P);
}

// The same with keys and values in two parts each (ukernels.h).
#define KILN_ATTN_OPERAND(T, x)                                                \
  T *x, int64_t x##B, int64_t x##H, int64_t x##S, int64_t x##D,                \
      int64_t x##StrideB, int64_t x##StrideH, int64_t x##StrideS,              \
      int64_t x##StrideD

namespace {
void attentionKv2(const float *q, const int64_t *qd, const float *k,
                  const int64_t *kd, const float *k2, const int64_t *k2d,
                  const float *v, const int64_t *vd, const float *v2,
                  const int64_t *v2d, const void *mask, MaskKind kind,
                  const int64_t *md, double scale, int64_t flags, float *o,
                  const int64_t *od) {
  Problem P;
  if (!setup(P, q, qd, k, kd, v, vd, k2, k2d, v2, v2d, scale, flags, o, od))
    return;
  if (mask && !setupMask(P, mask, kind, md[0], md[1], md[2], md[3], md[4],
                         md[5], md[6], md[7]))
    return;
  run(P);
}
} // namespace

extern "C" void kiln_uk_attention_kv2_f32(KILN_ATTN_OPERAND(const float, q),
                                          KILN_ATTN_OPERAND(const float, k),
                                          KILN_ATTN_OPERAND(const float, k2),
                                          KILN_ATTN_OPERAND(const float, v),
                                          KILN_ATTN_OPERAND(const float, v2),
                                          double scale, int64_t flags,
                                          KILN_ATTN_OPERAND(float, o)) {
  KILN_ATTN_DIMS(q);
  KILN_ATTN_DIMS(k);
  KILN_ATTN_DIMS(k2);
  KILN_ATTN_DIMS(v);
  KILN_ATTN_DIMS(v2);
  KILN_ATTN_DIMS(o);
  attentionKv2(q, qd, k, kd, k2, k2d, v, vd, v2, v2d, nullptr, kNoMask, nullptr,
               scale, flags, o, od);
}

extern "C" void kiln_uk_attention_kv2_mask_f32(
    KILN_ATTN_OPERAND(const float, q), KILN_ATTN_OPERAND(const float, k),
    KILN_ATTN_OPERAND(const float, k2), KILN_ATTN_OPERAND(const float, v),
    KILN_ATTN_OPERAND(const float, v2), KILN_ATTN_OPERAND(const float, m),
    double scale, int64_t flags, KILN_ATTN_OPERAND(float, o)) {
  KILN_ATTN_DIMS(q);
  KILN_ATTN_DIMS(k);
  KILN_ATTN_DIMS(k2);
  KILN_ATTN_DIMS(v);
  KILN_ATTN_DIMS(v2);
  KILN_ATTN_DIMS(m);
  KILN_ATTN_DIMS(o);
  attentionKv2(q, qd, k, kd, k2, k2d, v, vd, v2, v2d, m, kFloatMask, md, scale,
               flags, o, od);
}

extern "C" void kiln_uk_attention_kv2_boolmask_f32(
    KILN_ATTN_OPERAND(const float, q), KILN_ATTN_OPERAND(const float, k),
    KILN_ATTN_OPERAND(const float, k2), KILN_ATTN_OPERAND(const float, v),
    KILN_ATTN_OPERAND(const float, v2), KILN_ATTN_OPERAND(const uint8_t, m),
    double scale, int64_t flags, KILN_ATTN_OPERAND(float, o)) {
  KILN_ATTN_DIMS(q);
  KILN_ATTN_DIMS(k);
  KILN_ATTN_DIMS(k2);
  KILN_ATTN_DIMS(v);
  KILN_ATTN_DIMS(v2);
  KILN_ATTN_DIMS(m);
  KILN_ATTN_DIMS(o);
  attentionKv2(q, qd, k, kd, k2, k2d, v, vd, v2, v2d, m, kBoolMask, md, scale,
               flags, o, od);
}
