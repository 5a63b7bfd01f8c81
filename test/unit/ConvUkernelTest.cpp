//===- ConvUkernelTest.cpp - the conv2d micro-kernels against a reference -===//
//
// kiln_uk_conv2d_{f32,bf16} compute a 2-D convolution as a matmul whose B
// (the im2col of the image) is packed straight from the image. Every case
// compares each output with a double-precision direct convolution of the
// same (for bf16: bf16-rounded) inputs, with a tolerance proportional to the
// reduction length. Cases cover padding on either side, strides, dilations,
// odd channel counts (bf16 pairs), batches, strided images and outputs whose
// rows do not merge, bias and accumulation; on 1 and 2 threads and on every
// instruction set the CPU has.
//
//===----------------------------------------------------------------------===//

#include "ukernels.h"

#include "../../runtime/src/internal.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

extern "C" int kiln_uk_matmul_limit_isa_for_testing(int isa);

namespace {

struct ConvCase {
  int64_t n = 1, c = 3, h = 8, w = 8, f = 4, kh = 3, kw = 3;
  int64_t sy = 1, sx = 1, py = 1, px = 1, qy = 1, qx = 1; // pads after: q
  int64_t dy = 1, dx = 1;
  bool bf16 = false, bias = true, accumulate = false;
  int64_t xStep = 1;   // x's W stride (2: every other float)
  int64_t yRowPad = 0; // extra floats after each output row (rows do not merge)

  int64_t oh() const { return (h + py + qy - dy * (kh - 1) - 1) / sy + 1; }
  int64_t ow() const { return (w + px + qx - dx * (kw - 1) - 1) / sx + 1; }
  std::string str() const {
    char buf[256];
    std::snprintf(buf, sizeof buf,
                  "n=%lld c=%lld %lldx%lld f=%lld k=%lldx%lld s=%lld,%lld "
                  "pad=%lld,%lld,%lld,%lld dil=%lld,%lld bf16=%d bias=%d "
                  "acc=%d xStep=%lld yRowPad=%lld",
                  (long long)n, (long long)c, (long long)h, (long long)w,
                  (long long)f, (long long)kh, (long long)kw, (long long)sy,
                  (long long)sx, (long long)py, (long long)px, (long long)qy,
                  (long long)qx, (long long)dy, (long long)dx, bf16, bias,
                  accumulate, (long long)xStep, (long long)yRowPad);
    return buf;
  }
};

float roundBf16(float f, uint16_t *bits = nullptr) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  uint16_t h = uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
  if (bits)
    *bits = h;
  u = uint32_t(h) << 16;
  std::memcpy(&f, &u, 4);
  return f;
}

void runConvCase(const ConvCase &cs, bool bf16Math) {
  SCOPED_TRACE(cs.str());
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const int64_t oh = cs.oh(), ow = cs.ow();
  // x: [N, C, H, W] with W stride xStep.
  const int64_t xsW = cs.xStep, xsH = cs.w * xsW, xsC = cs.h * xsH,
                xsN = cs.c * xsC;
  std::vector<float> x(size_t(cs.n * xsN));
  for (float &v : x)
    v = dist(rng);
  std::vector<float> w(size_t(cs.f * cs.c * cs.kh * cs.kw));
  std::vector<uint16_t> wBits(w.size());
  for (size_t i = 0; i < w.size(); ++i) {
    w[i] = dist(rng);
    if (cs.bf16)
      w[i] = roundBf16(w[i], &wBits[i]);
  }
  std::vector<float> bias(size_t(cs.f));
  for (float &v : bias)
    v = dist(rng);
  const int64_t ysOW = 1, ysOH = ow + cs.yRowPad, ysF = oh * ysOH,
                ysN = cs.f * ysF;
  std::vector<float> y(size_t(cs.n * ysN));
  for (float &v : y)
    v = cs.accumulate ? dist(rng) : NAN;
  const std::vector<float> yOld = y;

  int64_t flags = (cs.bias ? KILN_UK_CONV2D_BIAS : 0) |
                  (cs.accumulate ? KILN_UK_ACCUMULATE : 0);
  const int64_t wsKW = 1, wsKH = cs.kw, wsC = cs.kh * cs.kw, wsF = cs.c * wsC;
  if (cs.bf16)
    kiln_uk_conv2d_bf16(x.data(), cs.n, cs.c, cs.h, cs.w, xsN, xsC, xsH, xsW,
                        wBits.data(), cs.f, cs.c, cs.kh, cs.kw, wsF, wsC, wsKH,
                        wsKW, bias.data(), cs.f, 1, cs.sy, cs.sx, cs.py, cs.px,
                        cs.dy, cs.dx, flags, y.data(), cs.n, cs.f, oh, ow, ysN,
                        ysF, ysOH, ysOW);
  else
    kiln_uk_conv2d_f32(x.data(), cs.n, cs.c, cs.h, cs.w, xsN, xsC, xsH, xsW,
                       w.data(), cs.f, cs.c, cs.kh, cs.kw, wsF, wsC, wsKH, wsKW,
                       bias.data(), cs.f, 1, cs.sy, cs.sx, cs.py, cs.px, cs.dy,
                       cs.dx, flags, y.data(), cs.n, cs.f, oh, ow, ysN, ysF,
                       ysOH, ysOW);

  // With avx512_bf16 the image is rounded to bf16 as it is packed.
  auto xAt = [&](int64_t i) {
    return bf16Math ? roundBf16(x[size_t(i)]) : x[size_t(i)];
  };
  int bad = 0;
  for (int64_t b = 0; b < cs.n; ++b)
    for (int64_t f = 0; f < cs.f; ++f)
      for (int64_t oy = 0; oy < oh; ++oy)
        for (int64_t ox = 0; ox < ow; ++ox) {
          double sum = 0, absSum = 0;
          for (int64_t c = 0; c < cs.c; ++c)
            for (int64_t i = 0; i < cs.kh; ++i)
              for (int64_t j = 0; j < cs.kw; ++j) {
                int64_t iy = oy * cs.sy - cs.py + i * cs.dy;
                int64_t ix = ox * cs.sx - cs.px + j * cs.dx;
                if (iy < 0 || iy >= cs.h || ix < 0 || ix >= cs.w)
                  continue;
                double p =
                    double(
                        w[size_t(((f * cs.c + c) * cs.kh + i) * cs.kw + j)]) *
                    double(xAt(b * xsN + c * xsC + iy * xsH + ix * xsW));
                sum += p;
                absSum += std::fabs(p);
              }
          const size_t at = size_t(b * ysN + f * ysF + oy * ysOH + ox);
          double bj = cs.bias ? bias[size_t(f)] : 0.0;
          double old = cs.accumulate ? double(yOld[at]) : 0.0;
          double ref = sum + bj + old;
          double tol = 2.5e-7 * double(cs.c * cs.kh * cs.kw + 8) *
                           (absSum + std::fabs(bj) + std::fabs(old)) +
                       1e-30;
          if (!(std::fabs(y[at] - ref) <= tol) && bad++ < 5)
            ADD_FAILURE() << "y[" << b << "][" << f << "][" << oy << "][" << ox
                          << "] = " << y[at] << ", expected " << ref;
        }
  // The padding after each output row is not written.
  for (int64_t r = 0; r < cs.n * cs.f * oh && cs.yRowPad; ++r)
    for (int64_t t = ow; t < ysOH; ++t) {
      size_t at = size_t(r * ysOH + t);
      if (!(cs.accumulate ? y[at] == yOld[at] : std::isnan(y[at])) && bad++ < 5)
        ADD_FAILURE() << "padding at " << at << " was overwritten";
    }
}

std::vector<ConvCase> cases() {
  std::vector<ConvCase> out;
  out.push_back({}); // 3x3, pad 1
  ConvCase c;
  c.c = 16, c.h = c.w = 32, c.f = 20; // rows of 32 columns: whole panels
  out.push_back(c);
  c = {};
  c.c = 5, c.h = 13, c.w = 37, c.f = 17, c.py = 0, c.px = 2, c.qy = 1, c.qx = 0;
  out.push_back(c); // asymmetric padding, rows straddle panels
  c = {};
  c.c = 7, c.h = c.w = 19, c.f = 9, c.sy = 2, c.sx = 2; // stride 2
  out.push_back(c);
  c = {};
  c.c = 4, c.h = 11, c.w = 23, c.f = 6, c.kh = 3, c.kw = 5, c.dy = 2, c.dx = 3,
  c.py = 2, c.px = 6, c.qy = 2, c.qx = 6; // dilations
  out.push_back(c);
  c = {};
  c.n = 3, c.c = 2, c.h = 9, c.w = 10, c.f = 3, c.kh = c.kw = 1, c.py = 0,
  c.px = 0, c.qy = 0, c.qx = 0; // 1x1, batches
  out.push_back(c);
  c = {};
  c.c = 3, c.h = 6, c.w = 7, c.f = 2, c.kh = 7, c.kw = 7, c.py = 3, c.px = 3,
  c.qy = 3, c.qx = 3, c.bias = false; // kernel larger than the image
  out.push_back(c);
  c = {};
  c.n = 2, c.c = 33, c.h = c.w = 12, c.f = 30, c.xStep = 2, c.yRowPad = 3,
  c.accumulate = true; // strided image, unmerged output rows, residual
  out.push_back(c);
  c = {};
  c.c = 64, c.h = c.w = 24, c.f = 48, c.accumulate = true; // K > one block
  out.push_back(c);
  c = {};
  c.c = 1, c.h = 1, c.w = 1, c.f = 1, c.kh = c.kw = 1,
  c.py = c.px = c.qy = c.qx = 0;
  out.push_back(c);
  return out;
}

void runAll(bool bf16) {
  int best = kiln_uk_matmul_limit_isa_for_testing(-1);
  for (int isa = best; isa >= 0; --isa) {
    SCOPED_TRACE("isa " + std::to_string(isa));
    kiln_uk_matmul_limit_isa_for_testing(isa);
    for (int threads : {1, 2}) {
      SCOPED_TRACE(std::to_string(threads) + " threads");
      kiln_context *ctx = nullptr;
      ASSERT_EQ(kiln_context_create(threads, &ctx), nullptr);
      kiln::rt::setCurrentContext(ctx);
      for (ConvCase c : cases()) {
        c.bf16 = bf16;
        runConvCase(c, bf16 && isa == 2);
      }
      kiln::rt::setCurrentContext(nullptr);
      kiln_context_destroy(ctx);
    }
  }
  kiln_uk_matmul_limit_isa_for_testing(-1);
}

TEST(ConvUkernel, F32) { runAll(false); }

TEST(ConvUkernel, Bf16) { runAll(true); }

} // namespace
