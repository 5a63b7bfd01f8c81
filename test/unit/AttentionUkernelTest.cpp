//===- AttentionUkernelTest.cpp - tests of the attention micro-kernels ----===//
//
// Compares kiln_uk_attention_{,kv2_}{f32,mask_f32,boolmask_f32} with a naive
// double-precision reference over head layouts (MHA, GQA, MQA), sequence
// shapes (prefill, chunked prefill, decode), odd sizes, masks, strides, K
// and V in two parts (a cache and new keys) and thread counts, with the
// AVX-512 kernels and with the portable ones (KILN_UK_GENERIC=1).
//
//===----------------------------------------------------------------------===//

#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

constexpr float kSentinel = 12345.f;
constexpr double kInf = std::numeric_limits<double>::infinity();

/// A 4-D view over a buffer: the dimensions lie in memory in the order
/// `perm` (outermost first), the innermost with stride `inner`, and `pad`
/// unused elements after each innermost run.
template <typename T> struct View {
  int64_t dims[4] = {0, 0, 0, 0};
  int64_t strides[4] = {0, 0, 0, 0};
  std::vector<T> buf;

  View() = default;
  View(std::vector<int64_t> d, std::vector<int> perm = {0, 1, 2, 3},
       int64_t inner = 1, int64_t pad = 0, T fill = T()) {
    for (int i = 0; i < 4; ++i)
      dims[i] = d[i];
    strides[perm[3]] = inner;
    strides[perm[2]] = dims[perm[3]] * inner + pad;
    strides[perm[1]] = strides[perm[2]] * dims[perm[2]];
    strides[perm[0]] = strides[perm[1]] * dims[perm[1]];
    buf.assign(static_cast<size_t>(strides[perm[0]] * dims[perm[0]]), fill);
  }
  int64_t offset(int64_t a, int64_t b, int64_t c, int64_t d) const {
    return a * strides[0] + b * strides[1] + c * strides[2] + d * strides[3];
  }
  T &at(int64_t a, int64_t b, int64_t c, int64_t d) {
    return buf[offset(a, b, c, d)];
  }
  T at(int64_t a, int64_t b, int64_t c, int64_t d) const {
    return buf[offset(a, b, c, d)];
  }
};

enum MaskKind { kNone, kFloat, kBool };

struct Case {
  std::string name;
  int64_t B, Hq, Hkv, Sq, Skv, D, Dv;
  bool causal = false;
  MaskKind mask = kNone;
  int64_t mB = 1, mH = 1, mS = 1, mT = 1; // mask dims
  bool strided = false;
  double scale = 0; // 0: 1 / sqrt(D)
  float range = 1.f;
  bool maskFullRow = false; // hide every key of one mask row
  bool large = false;       // huge scores (see `reference`)
  int64_t split = -1; // >= 0: K and V passed as parts [0, split), [split, Skv)
};

std::ostream &operator<<(std::ostream &os, const Case &c) {
  return os << c.name;
}

struct Inputs {
  View<float> q, k, v, o;
  View<float> fmask;
  View<uint8_t> bmask;
};

Inputs makeInputs(const Case &c, unsigned seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> val(-c.range, c.range);
  Inputs in;
  if (c.strided) {
    // Q and O as [B, S, H, D] memory, K as [B, H, D, S] (stride along D is
    // not 1), V with padded rows.
    in.q = View<float>({c.B, c.Hq, c.Sq, c.D}, {0, 2, 1, 3});
    in.k = View<float>({c.B, c.Hkv, c.Skv, c.D}, {0, 1, 3, 2});
    in.v = View<float>({c.B, c.Hkv, c.Skv, c.Dv}, {0, 1, 2, 3}, 1, 5);
    in.o = View<float>({c.B, c.Hq, c.Sq, c.Dv}, {0, 2, 1, 3}, 2, 3, kSentinel);
  } else {
    in.q = View<float>({c.B, c.Hq, c.Sq, c.D});
    in.k = View<float>({c.B, c.Hkv, c.Skv, c.D});
    in.v = View<float>({c.B, c.Hkv, c.Skv, c.Dv});
    in.o = View<float>({c.B, c.Hq, c.Sq, c.Dv}, {0, 1, 2, 3}, 1, 0, kSentinel);
  }
  for (float &x : in.q.buf)
    x = val(rng);
  for (float &x : in.k.buf)
    x = val(rng);
  for (float &x : in.v.buf)
    x = val(rng);
  std::uniform_real_distribution<float> unit(0.f, 1.f);
  if (c.mask == kFloat) {
    in.fmask = View<float>({c.mB, c.mH, c.mS, c.mT});
    for (float &x : in.fmask.buf) {
      float u = unit(rng);
      x = u < 0.2f ? -std::numeric_limits<float>::infinity()
                   : 4.f * unit(rng) - 2.f;
    }
  } else if (c.mask == kBool) {
    in.bmask = View<uint8_t>({c.mB, c.mH, c.mS, c.mT});
    for (uint8_t &x : in.bmask.buf)
      x = unit(rng) < 0.7f ? 1 : 0;
  }
  if (c.maskFullRow) {
    // The last mask row (b, h, i) of the first batch and head hides all.
    for (int64_t t = 0; t < c.mT; ++t) {
      if (c.mask == kFloat)
        in.fmask.at(0, 0, c.mS - 1, t) =
            -std::numeric_limits<float>::infinity();
      else
        in.bmask.at(0, 0, c.mS - 1, t) = 0;
    }
  }
  // A size-1 mask dimension broadcasts whatever its stride: give it a wild
  // one, which the kernel must ignore.
  int64_t *ms = c.mask == kFloat ? in.fmask.strides : in.bmask.strides;
  int64_t md[4] = {c.mB, c.mH, c.mS, c.mT};
  if (c.mask != kNone)
    for (int i = 0; i < 4; ++i)
      if (md[i] == 1)
        ms[i] = 1000003;
  return in;
}

double scaleOf(const Case &c) {
  return c.scale != 0 ? c.scale
                      : 1.0 / std::sqrt(double(std::max<int64_t>(c.D, 1)));
}

/// out[b][h][i][:] in double, from the naive definition. `sens` gets, per
/// row, how much the output may move when each score moves by its fp32
/// rounding (about 1e-6 of the largest |score| term sum): 2 delta
/// sum_j p_j (1 - p_j) max|v|. Tiny when one key dominates, large for near
/// ties of huge scores, which no fp32 kernel can resolve.
std::vector<double> reference(const Case &c, const Inputs &in,
                              std::vector<double> &sens) {
  std::vector<double> out(c.B * c.Hq * c.Sq * c.Dv, 0.0);
  sens.assign(c.B * c.Hq * c.Sq, 0.0);
  int64_t G = c.Hq / c.Hkv;
  double scale = scaleOf(c);
  std::vector<double> s(c.Skv);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t i = 0; i < c.Sq; ++i) {
        int64_t g = h / G;
        double mx = -kInf, absMax = 0, vMax = 0;
        for (int64_t j = 0; j < c.Skv; ++j) {
          double dot = 0, absDot = 0;
          for (int64_t d = 0; d < c.D; ++d) {
            double t =
                double(in.q.at(b, h, i, d)) * double(in.k.at(b, g, j, d));
            dot += t;
            absDot += std::abs(t);
          }
          absMax = std::max(absMax, scale * absDot);
          for (int64_t d = 0; d < c.Dv; ++d)
            vMax = std::max(vMax, std::abs(double(in.v.at(b, g, j, d))));
          s[j] = scale * dot;
          int64_t mb = c.mB == 1 ? 0 : b, mh = c.mH == 1 ? 0 : h,
                  mi = c.mS == 1 ? 0 : i, mj = c.mT == 1 ? 0 : j;
          // (mb etc. are 0 along broadcast dimensions, whose strides are wild)
          if (c.mask == kFloat)
            s[j] += double(in.fmask.at(mb, mh, mi, mj));
          if (c.mask == kBool && !in.bmask.at(mb, mh, mi, mj))
            s[j] = -kInf;
          if (c.causal && j > i + c.Skv - c.Sq)
            s[j] = -kInf;
          mx = std::max(mx, s[j]);
        }
        double *o = &out[((b * c.Hq + h) * c.Sq + i) * c.Dv];
        if (mx == -kInf)
          continue; // every key hidden: zeros
        double sum = 0;
        for (int64_t j = 0; j < c.Skv; ++j) {
          double p = std::exp(s[j] - mx);
          sum += p;
          for (int64_t d = 0; d < c.Dv; ++d)
            o[d] += p * double(in.v.at(b, g, j, d));
        }
        for (int64_t d = 0; d < c.Dv; ++d)
          o[d] /= sum;
        double spread = 0;
        for (int64_t j = 0; j < c.Skv; ++j) {
          double p = std::exp(s[j] - mx) / sum;
          spread += p * (1 - p);
        }
        sens[(b * c.Hq + h) * c.Sq + i] = 2 * 1e-6 * absMax * spread * vMax;
      }
  return out;
}

/// Rows [from, from + n) along dimension 2 of `x`, copied into a buffer of
/// their own laid out as `perm`, `pad` (so that a kernel reading past a
/// part's end reads other memory, not the next part's rows).
View<float> rowsCopy(const View<float> &x, int64_t from, int64_t n,
                     std::vector<int> perm, int64_t pad) {
  View<float> part({x.dims[0], x.dims[1], n, x.dims[3]}, perm, 1, pad);
  for (int64_t a = 0; a < x.dims[0]; ++a)
    for (int64_t b = 0; b < x.dims[1]; ++b)
      for (int64_t j = 0; j < n; ++j)
        for (int64_t d = 0; d < x.dims[3]; ++d)
          part.at(a, b, j, d) = x.at(a, b, from + j, d);
  return part;
}

void runKernel(const Case &c, Inputs &in) {
  const View<float> &q = in.q, &k = in.k, &v = in.v;
  View<float> &o = in.o;
  int64_t flags = c.causal ? KILN_UK_CAUSAL : 0;
  double scale = scaleOf(c);
#define DIMS(t)                                                                \
  t.dims[0], t.dims[1], t.dims[2], t.dims[3], t.strides[0], t.strides[1],      \
      t.strides[2], t.strides[3]
  if (c.split >= 0) {
    // The cache part in the layout of K / V (strided ones too), the new
    // part contiguous.
    std::vector<int> kPerm =
        c.strided ? std::vector<int>{0, 1, 3, 2} : std::vector<int>{0, 1, 2, 3};
    View<float> k1 = rowsCopy(k, 0, c.split, kPerm, 0),
                k2 = rowsCopy(k, c.split, c.Skv - c.split, {0, 1, 2, 3}, 0),
                v1 = rowsCopy(v, 0, c.split, {0, 1, 2, 3}, c.strided ? 5 : 0),
                v2 = rowsCopy(v, c.split, c.Skv - c.split, {0, 1, 2, 3}, 0);
    if (c.mask == kNone)
      kiln_uk_attention_kv2_f32(q.buf.data(), DIMS(q), k1.buf.data(), DIMS(k1),
                                k2.buf.data(), DIMS(k2), v1.buf.data(),
                                DIMS(v1), v2.buf.data(), DIMS(v2), scale, flags,
                                o.buf.data(), DIMS(o));
    else if (c.mask == kFloat)
      kiln_uk_attention_kv2_mask_f32(
          q.buf.data(), DIMS(q), k1.buf.data(), DIMS(k1), k2.buf.data(),
          DIMS(k2), v1.buf.data(), DIMS(v1), v2.buf.data(), DIMS(v2),
          in.fmask.buf.data(), DIMS(in.fmask), scale, flags, o.buf.data(),
          DIMS(o));
    else
      kiln_uk_attention_kv2_boolmask_f32(
          q.buf.data(), DIMS(q), k1.buf.data(), DIMS(k1), k2.buf.data(),
          DIMS(k2), v1.buf.data(), DIMS(v1), v2.buf.data(), DIMS(v2),
          in.bmask.buf.data(), DIMS(in.bmask), scale, flags, o.buf.data(),
          DIMS(o));
    return;
  }
  if (c.mask == kNone)
    kiln_uk_attention_f32(q.buf.data(), DIMS(q), k.buf.data(), DIMS(k),
                          v.buf.data(), DIMS(v), scale, flags, o.buf.data(),
                          DIMS(o));
  else if (c.mask == kFloat)
    kiln_uk_attention_mask_f32(q.buf.data(), DIMS(q), k.buf.data(), DIMS(k),
                               v.buf.data(), DIMS(v), in.fmask.buf.data(),
                               DIMS(in.fmask), scale, flags, o.buf.data(),
                               DIMS(o));
  else
    kiln_uk_attention_boolmask_f32(q.buf.data(), DIMS(q), k.buf.data(), DIMS(k),
                                   v.buf.data(), DIMS(v), in.bmask.buf.data(),
                                   DIMS(in.bmask), scale, flags, o.buf.data(),
                                   DIMS(o));
#undef DIMS
}

/// Runs a case and compares; returns the number of bad elements.
int64_t check(const Case &c, unsigned seed) {
  Inputs in = makeInputs(c, seed);
  runKernel(c, in);
  std::vector<double> sens;
  std::vector<double> ref = reference(c, in, sens);
  int64_t bad = 0;
  double worst = 0;
  std::vector<char> isElement(in.o.buf.size(), 0);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t i = 0; i < c.Sq; ++i)
        for (int64_t d = 0; d < c.Dv; ++d) {
          isElement[in.o.offset(b, h, i, d)] = 1;
          double r = ref[((b * c.Hq + h) * c.Sq + i) * c.Dv + d];
          double got = in.o.at(b, h, i, d);
          double err = std::abs(got - r) / (1.0 + std::abs(r));
          // 1e-5 relative; cases of huge scores also allow what fp32 scores
          // cannot resolve (near ties).
          double tol = 1e-5 + (c.large ? sens[(b * c.Hq + h) * c.Sq + i] : 0.0);
          bool ok = err <= tol && std::isfinite(got);
          // A row whose keys are all hidden is exactly zero.
          if (r == 0.0 && got != 0.0) {
            bool rowZero = true;
            for (int64_t dd = 0; dd < c.Dv; ++dd)
              rowZero &= ref[((b * c.Hq + h) * c.Sq + i) * c.Dv + dd] == 0.0;
            if (rowZero)
              ok = false;
          }
          worst = std::max(worst, err);
          if (!ok && bad++ < 5)
            ADD_FAILURE() << c.name << ": O[" << b << "," << h << "," << i
                          << "," << d << "] = " << got << ", expected " << r;
        }
  if (getenv("KILN_TEST_VERBOSE"))
    printf("%-36s worst rel err %.3g\n", c.name.c_str(), worst);
  for (size_t x = 0; x < in.o.buf.size(); ++x)
    if (!isElement[x] && in.o.buf[x] != kSentinel && bad++ < 10)
      ADD_FAILURE() << c.name << ": wrote outside O at " << x;
  return bad;
}

std::vector<Case> cases() {
  std::vector<Case> cs;
  auto add = [&](Case c) { cs.push_back(c); };
  // name, B, Hq, Hkv, Sq, Skv, D, Dv
  add({"mha_s17_d20", 2, 3, 3, 17, 17, 20, 20});
  add({"mha_causal_s130_d64", 1, 2, 2, 130, 130, 64, 64, true});
  add({"gqa_causal_s33_d80", 2, 8, 2, 33, 33, 80, 80, true});
  add({"mqa_sq17_skv130_d128", 1, 6, 1, 17, 130, 128, 128});
  add({"chunked_prefill_causal_split", 1, 2, 2, 40, 1100, 64, 64, true});
  add({"chunked_prefill_gqa_causal", 1, 4, 2, 17, 130, 20, 20, true});
  add({"decode_mha_causal", 1, 4, 4, 1, 300, 128, 128, true});
  add({"decode_mha", 2, 3, 3, 1, 130, 80, 80});
  add({"decode_split_keys", 1, 1, 1, 1, 4096, 64, 64});
  add({"decode_gqa_dv48", 2, 8, 2, 1, 257, 64, 48, true});
  add({"decode_group8", 1, 8, 1, 2, 70, 32, 32, true});
  add({"s1_d1", 1, 1, 1, 1, 1, 1, 1});
  add({"d1_causal", 1, 2, 2, 17, 17, 1, 5, true});
  add({"dv_ne_d_gqa_causal", 1, 2, 1, 130, 130, 20, 80, true});
  add({"d128_s130", 1, 2, 2, 130, 130, 128, 128});
  add({"gqa32_8_d128", 1, 32, 8, 40, 40, 128, 128, true});
  add({"causal_sq_gt_skv", 1, 2, 2, 20, 7, 16, 16, true});
  add({"no_keys", 1, 2, 2, 5, 0, 16, 16});
  add({"no_keys_prefill", 1, 2, 1, 20, 0, 16, 16, true});
  {
    Case c{"fmask_full", 2, 2, 2, 17, 130, 20, 20};
    c.mask = kFloat;
    c.mB = 2, c.mH = 2, c.mS = 17, c.mT = 130;
    add(c);
  }
  {
    Case c{"fmask_bcast_bh_causal", 2, 4, 2, 130, 130, 64, 64, true};
    c.mask = kFloat;
    c.mS = 130, c.mT = 130;
    add(c);
  }
  {
    Case c{"fmask_padding_b11t", 2, 4, 4, 33, 70, 32, 32};
    c.mask = kFloat;
    c.mB = 2, c.mT = 70;
    add(c);
  }
  {
    Case c{"fmask_per_head_1h11", 1, 2, 2, 17, 17, 16, 16};
    c.mask = kFloat;
    c.mH = 2;
    add(c);
  }
  {
    Case c{"fmask_decode_gqa", 2, 8, 2, 1, 100, 64, 64};
    c.mask = kFloat;
    c.mB = 2, c.mH = 8, c.mT = 100;
    add(c);
  }
  {
    Case c{"bmask_b1st_causal", 2, 3, 3, 17, 33, 20, 20, true};
    c.mask = kBool;
    c.mB = 2, c.mS = 17, c.mT = 33;
    add(c);
  }
  {
    Case c{"bmask_decode", 2, 8, 2, 1, 100, 64, 64};
    c.mask = kBool;
    c.mB = 2, c.mT = 100;
    add(c);
  }
  {
    Case c{"fmask_full_row_hidden", 1, 2, 2, 17, 17, 16, 16};
    c.mask = kFloat;
    c.mB = 1, c.mH = 2, c.mS = 17, c.mT = 17;
    c.maskFullRow = true;
    add(c);
  }
  {
    Case c{"bmask_full_row_hidden_decode", 1, 1, 1, 1, 50, 16, 16};
    c.mask = kBool;
    c.mT = 50;
    c.maskFullRow = true;
    add(c);
  }
  {
    Case c{"bmask_full_row_hidden_prefill", 1, 2, 1, 40, 40, 16, 16};
    c.mask = kBool;
    c.mS = 40, c.mT = 40;
    c.maskFullRow = true;
    add(c);
  }
  {
    Case c{"strided_gqa_causal", 2, 4, 2, 33, 33, 20, 20, true};
    c.strided = true;
    add(c);
  }
  {
    Case c{"strided_decode", 1, 4, 4, 1, 65, 16, 24};
    c.strided = true;
    add(c);
  }
  {
    Case c{"strided_fmask_chunked", 1, 2, 2, 17, 130, 64, 64, true};
    c.strided = true;
    c.mask = kFloat;
    c.mS = 17, c.mT = 130;
    add(c);
  }
  {
    Case c{"large_scores_s130", 1, 2, 2, 130, 130, 16, 16};
    c.scale = 10, c.range = 30, c.large = true;
    add(c);
  }
  {
    Case c{"large_scores_causal_decode", 1, 2, 2, 1, 130, 64, 64, true};
    c.scale = 10, c.range = 30, c.large = true;
    add(c);
  }
  {
    Case c{"large_scores_causal_s17", 1, 2, 1, 17, 17, 64, 64, true};
    c.scale = 10, c.range = 30, c.large = true;
    add(c);
  }
  // K and V in two parts: a cache of `split` keys and the new ones.
  auto addSplit = [&](Case c, int64_t split) {
    c.split = split;
    add(c);
  };
  addSplit({"kv2_decode_128_1", 1, 12, 12, 1, 129, 64, 64, true}, 128);
  addSplit({"kv2_decode_gqa_across_block", 2, 8, 2, 1, 300, 64, 48, true}, 257);
  addSplit({"kv2_decode_split_keys", 1, 1, 1, 1, 4096, 64, 64}, 4000);
  addSplit({"kv2_prefill_causal", 1, 2, 2, 40, 1100, 64, 64, true}, 1060);
  addSplit({"kv2_prefill_gqa_odd", 2, 4, 2, 17, 130, 20, 20, true}, 113);
  addSplit({"kv2_no_past", 1, 2, 2, 5, 5, 16, 16, true}, 0);
  addSplit({"kv2_no_new", 1, 2, 2, 1, 70, 16, 16}, 70);
  {
    Case c{"kv2_fmask_decode", 2, 8, 2, 1, 100, 64, 64};
    c.mask = kFloat;
    c.mB = 2, c.mH = 8, c.mT = 100;
    addSplit(c, 99);
  }
  {
    Case c{"kv2_bmask_prefill", 2, 3, 3, 17, 33, 20, 20, true};
    c.mask = kBool;
    c.mB = 2, c.mS = 17, c.mT = 33;
    addSplit(c, 16);
  }
  {
    Case c{"kv2_strided_fmask_chunked", 1, 2, 2, 17, 130, 64, 64, true};
    c.strided = true;
    c.mask = kFloat;
    c.mS = 17, c.mT = 130;
    addSplit(c, 65);
  }
  {
    Case c{"kv2_strided_decode", 1, 4, 4, 1, 65, 16, 24};
    c.strided = true;
    addSplit(c, 64);
  }
  return cs;
}

/// (case, threads, portable kernels)
class Attention : public ::testing::TestWithParam<std::tuple<Case, int, bool>> {
protected:
  void SetUp() override {
    int threads = std::get<1>(GetParam());
    ASSERT_EQ(kiln_context_create(threads, &ctx), nullptr);
    kiln::rt::setCurrentContext(ctx);
    if (std::get<2>(GetParam()))
      setenv("KILN_UK_GENERIC", "1", 1);
  }
  void TearDown() override {
    unsetenv("KILN_UK_GENERIC");
    kiln::rt::setCurrentContext(nullptr);
    kiln_context_destroy(ctx);
  }
  kiln_context *ctx = nullptr;
};

TEST_P(Attention, MatchesReference) {
  EXPECT_EQ(check(std::get<0>(GetParam()), 42), 0);
}

INSTANTIATE_TEST_SUITE_P(Ukernel, Attention,
                         ::testing::Combine(::testing::ValuesIn(cases()),
                                            ::testing::Values(1, 2),
                                            ::testing::Bool()),
                         [](const auto &info) {
                           return std::get<0>(info.param).name + "_t" +
                                  std::to_string(std::get<1>(info.param)) +
                                  (std::get<2>(info.param) ? "_generic" : "");
                         });

/// A row whose keys are all hidden gives exact zeros; others do not.
TEST(AttentionUkernel, FullyMaskedRowsAreZero) {
  Case c{"causal_sq_gt_skv", 1, 1, 1, 6, 3, 8, 8, true};
  Inputs in = makeInputs(c, 7);
  runKernel(c, in);
  for (int64_t i = 0; i < c.Sq; ++i)
    for (int64_t d = 0; d < c.Dv; ++d) {
      float x = in.o.at(0, 0, i, d);
      if (i < c.Sq - c.Skv)
        EXPECT_EQ(x, 0.f) << i;
      else
        EXPECT_NE(x, 0.f) << i;
    }
}

/// With one key visible the output is that key's value row exactly.
TEST(AttentionUkernel, CausalFirstRowCopiesFirstValue) {
  Case c{"first_row", 1, 2, 2, 33, 33, 64, 64, true};
  Inputs in = makeInputs(c, 3);
  runKernel(c, in);
  for (int64_t h = 0; h < 2; ++h)
    for (int64_t d = 0; d < c.Dv; ++d)
      EXPECT_FLOAT_EQ(in.o.at(0, h, 0, d), in.v.at(0, h, 0, d));
}

/// Two threads and one give the same result (up to rounding) on a shape that
/// splits keys among threads.
TEST(AttentionUkernel, ThreadsAgree) {
  Case c{"split", 1, 1, 1, 1, 3000, 64, 64};
  Inputs one = makeInputs(c, 5), two = makeInputs(c, 5);
  runKernel(c, one);
  kiln_context *ctx = nullptr;
  ASSERT_EQ(kiln_context_create(2, &ctx), nullptr);
  kiln::rt::setCurrentContext(ctx);
  runKernel(c, two);
  kiln::rt::setCurrentContext(nullptr);
  kiln_context_destroy(ctx);
  for (int64_t d = 0; d < c.Dv; ++d)
    EXPECT_NEAR(one.o.at(0, 0, 0, d), two.o.at(0, 0, 0, d), 1e-6);
}

/// Mismatched shapes leave the output alone rather than read out of bounds.
TEST(AttentionUkernel, RejectsBadShapes) {
  Case c{"bad", 1, 3, 2, 4, 4, 8, 8}; // Hq not a multiple of Hkv
  Inputs in = makeInputs(c, 1);
  runKernel(c, in);
  for (float x : in.o.buf)
    EXPECT_EQ(x, kSentinel);
}

} // namespace
