//===- QuantizeWeights.cpp - int8 / int4 weights for matmuls --------------===//
//
// Most of the bytes of a foundation model are the weights of its matmuls,
// and decoding a token reads every one of them: storing them in 8 or 4 bits
// makes the artifact 4x / ~7x smaller and decode up to as much faster. This
// pass quantizes the constant weights into kiln.qmatmul's packed layout;
// the runtime's kernels dequantize them in registers (kiln-use-ukernels).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "matmul_qpack.h"

#include "llvm/Support/Debug.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <optional>

#define DEBUG_TYPE "kiln-quantize-weights"

namespace mlir::kiln {
#define GEN_PASS_DEF_QUANTIZEWEIGHTS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::weights;

namespace {

/// A quantized weight: values (row-major [K, N]; int8 signed, int4 0..15),
/// parameters [G, N], and the relative L2 error of the dequantized weight.
struct Quantized {
  std::vector<int8_t> q;
  std::vector<float> scales;
  std::vector<uint16_t> halfScales; // the scales as f16 bits, when f16
  std::vector<int8_t> zeroPoints;   // empty: none
  double relError = 0;
};

/// Candidate shrink factors of the range: clipping the few largest values
/// of a group often lowers its total squared error.
constexpr float kShrink[] = {1.0f, 0.95f, 0.9f, 0.85f, 0.8f, 0.75f};

/// Quantizes the `count` values at w[0], w[stride], ... with `bits` bits,
/// writing q and returning the scale (and zero point). Picks the shrink
/// factor with the least squared error (int8: the full range, whose error
/// is already small). With `half`, the scale is rounded to f16 (its bits in
/// `h`) before the values are quantized with it; false when f16 cannot hold
/// it (q is not written then).
bool quantizeGroup(const float *w, int64_t count, int64_t stride, int bits,
                   bool asymmetric, bool half, int8_t *q, int64_t qStride,
                   int8_t &zp, float &scale, uint16_t &h) {
  float lo = 0, hi = 0, amax = 0;
  for (int64_t i = 0; i < count; ++i) {
    float x = w[i * stride];
    lo = std::min(lo, x);
    hi = std::max(hi, x);
    amax = std::max(amax, std::fabs(x));
  }
  zp = 0;
  h = 0;
  if (amax == 0) {
    for (int64_t i = 0; i < count; ++i)
      q[i * qStride] = int8_t(bits == 4 ? 8 : 0);
    zp = bits == 4 ? 8 : 0;
    scale = 0.0f;
    return true;
  }
  int qmin = bits == 8 ? -127 : asymmetric ? 0 : -8;
  int qmax = bits == 8 ? 127 : asymmetric ? 15 : 7;
  float bestScale = 0, bestErr = INFINITY;
  int bestZero = 0;
  int candidates = bits == 8 ? 1 : int(std::size(kShrink));
  for (int c = 0; c < candidates; ++c) {
    float f = kShrink[c], sc;
    int zero = 0;
    if (asymmetric) {
      sc = (hi - lo) * f / 15.0f;
      zero = std::clamp(int(std::nearbyint(-lo * f / sc)), 0, 15);
    } else {
      sc = amax * f / float(qmax);
    }
    float err = 0;
    for (int64_t i = 0; i < count; ++i) {
      float x = w[i * stride];
      int v = std::clamp(int(std::nearbyint(x / sc)) + zero, qmin, qmax);
      float d = x - float(v - zero) * sc;
      err += d * d;
    }
    if (err < bestErr) {
      bestErr = err;
      bestScale = sc;
      bestZero = zero;
    }
  }
  if (half) {
    if (!toHalf(bestScale, h))
      return false;
    bestScale = fromHalf(h);
  }
  // int4 symmetric values are stored with an offset of 8 (0..15).
  int offset = bits == 4 && !asymmetric ? 8 : 0;
  for (int64_t i = 0; i < count; ++i) {
    int v = std::clamp(
        int(std::nearbyint(w[i * stride] / bestScale)) + bestZero, qmin, qmax);
    q[i * qStride] = int8_t(v + offset);
  }
  zp = int8_t(bestZero + offset);
  scale = bestScale;
  return true;
}

/// Quantizes w ([K, N] row-major). With `half`, f16 scales, or nothing when
/// a group's scale does not fit f16 (the caller then retries with f32).
std::optional<Quantized> quantize(const std::vector<float> &w, int64_t k,
                                  int64_t n, int bits, int64_t gs,
                                  bool asymmetric, bool half) {
  Quantized out;
  int64_t groups = k / gs;
  out.q.resize(size_t(k * n));
  out.scales.resize(size_t(groups * n));
  if (half)
    out.halfScales.resize(size_t(groups * n));
  if (asymmetric)
    out.zeroPoints.resize(size_t(groups * n));
  double err = 0, norm = 0;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t col = 0; col < n; ++col) {
      const float *src = w.data() + g * gs * n + col;
      int8_t *q = out.q.data() + g * gs * n + col;
      int8_t zp;
      float s;
      uint16_t h;
      if (!quantizeGroup(src, gs, n, bits, asymmetric, half, q, n, zp, s, h))
        return std::nullopt;
      out.scales[size_t(g * n + col)] = s;
      if (half)
        out.halfScales[size_t(g * n + col)] = h;
      if (asymmetric)
        out.zeroPoints[size_t(g * n + col)] = zp;
      int zero = bits == 4 ? zp : 0;
      for (int64_t i = 0; i < gs; ++i) {
        double x = src[i * n];
        double d = x - double(q[i * n] - zero) * s;
        err += d * d;
        norm += x * x;
      }
    }
  }
  out.relError = norm > 0 ? std::sqrt(err / norm) : 0.0;
  return out;
}

struct QuantizeWeightsPass
    : kiln::impl::QuantizeWeightsBase<QuantizeWeightsPass> {
  using QuantizeWeightsBase::QuantizeWeightsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    int bits = mode == "int8" ? 8 : mode == "int4" ? 4 : 0;
    if (!bits) {
      func.emitError() << "kiln-quantize-weights: unknown mode '" << mode
                       << "' (expected int8 or int4)";
      return signalPassFailure();
    }
    if (bits == 4 && groupSize != 32 && groupSize != 64 && groupSize != 128) {
      func.emitError() << "kiln-quantize-weights: group-size must be 32, 64 "
                          "or 128, got "
                       << int64_t(groupSize);
      return signalPassFailure();
    }
    if (bits == 8 && zeroPoints) {
      func.emitError() << "kiln-quantize-weights: zero-points apply to int4 "
                          "(int8 is symmetric per output channel)";
      return signalPassFailure();
    }
    std::optional<llvm::Regex> excluded;
    if (!compileExclude(exclude, func.getLoc(), excluded))
      return signalPassFailure();

    SmallVector<MatmulOp> matmuls;
    func.walk([&](MatmulOp op) { matmuls.push_back(op); });
    // One quantized copy per weight, however many matmuls read it.
    struct Made {
      Value weight, scales, zeroPoints;
      int64_t groupSize;
      double error;
    };
    llvm::DenseMap<std::pair<Operation *, int>, Made> made;
    for (MatmulOp op : matmuls) {
      std::optional<MatmulWeight> w = matchConstantWeight(op);
      if (!w)
        continue;
      if (excluded && excluded->match(w->name)) {
        LLVM_DEBUG(llvm::dbgs() << "excluded: " << w->name << "\n");
        continue;
      }
      int64_t gs = bits == 8 ? w->k : int64_t(groupSize);
      if (w->k * w->n < minElements || w->k == 0 || w->k % gs != 0) {
        LLVM_DEBUG(llvm::dbgs() << "skipped: " << w->name << "\n");
        continue;
      }
      auto key = std::make_pair(w->constant.getOperation(), int(w->transposed));
      auto it = made.find(key);
      if (it == made.end()) {
        std::vector<float> data;
        if (!readWeight(*w, data)) {
          LLVM_DEBUG(llvm::dbgs() << "unreadable: " << w->name << "\n");
          continue;
        }
        // f16 scales (int4) unless one does not fit: then f32 ones.
        std::optional<Quantized> maybe = quantize(
            data, w->k, w->n, bits, gs, zeroPoints, bits == 4 && halfScales);
        if (!maybe)
          maybe = quantize(data, w->k, w->n, bits, gs, zeroPoints, false);
        Quantized &qz = *maybe;
        std::vector<char> packed(
            size_t(kiln_uk_qmatmul_packed_bytes(w->k, w->n, bits)));
        kiln_uk_qmatmul_pack(qz.q.data(), w->k, w->n, bits,
                             reinterpret_cast<uint8_t *>(packed.data()));
        OpBuilder b(w->constant);
        b.setInsertionPointAfter(w->constant);
        Location loc = w->constant.getLoc();
        std::string base = blobKey(w->constant);
        Type i8 = b.getI8Type(), f32 = b.getF32Type();
        int64_t groups = w->k / gs;
        Made m;
        m.groupSize = gs;
        m.error = qz.relError;
        m.weight = sharedBlobConstant(
            b, loc,
            RankedTensorType::get({kiln_uk_qmatmul_panels(w->n), w->k,
                                   kiln_uk_qmatmul_panel_width(bits)},
                                  i8),
            base + (bits == 8 ? "_q8" : "_q4"), packed);
        if (!qz.halfScales.empty())
          m.scales = sharedBlobConstant(
              b, loc, RankedTensorType::get({groups, w->n}, b.getF16Type()),
              base + "_scales_f16",
              ArrayRef<char>(
                  reinterpret_cast<const char *>(qz.halfScales.data()),
                  qz.halfScales.size() * sizeof(uint16_t)));
        else
          m.scales = sharedBlobConstant(
              b, loc, RankedTensorType::get({groups, w->n}, f32),
              base + "_scales",
              ArrayRef<char>(reinterpret_cast<const char *>(qz.scales.data()),
                             qz.scales.size() * sizeof(float)));
        if (!qz.zeroPoints.empty())
          m.zeroPoints = sharedBlobConstant(
              b, loc, RankedTensorType::get({groups, w->n}, i8),
              base + "_zero_points",
              ArrayRef<char>(
                  reinterpret_cast<const char *>(qz.zeroPoints.data()),
                  qz.zeroPoints.size()));
        it = made.insert({key, m}).first;
      }
      const Made &m = it->second;
      OpBuilder b(op);
      Value rhs = op.getRhs();
      auto q = QMatmulOp::create(
          b, op.getLoc(), op.getType(), op.getLhs(), m.weight, m.scales,
          m.zeroPoints, b.getI64IntegerAttr(bits),
          b.getI64IntegerAttr(m.groupSize), b.getF64FloatAttr(m.error));
      op.replaceAllUsesWith(q.getResult());
      op.erase();
      if (auto t = rhs.getDefiningOp<TransposeOp>(); t && t->use_empty())
        t.erase();
      if (w->constant->use_empty())
        w->constant.erase();
    }
  }
};

} // namespace
