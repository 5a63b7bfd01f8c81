//===- FoldQdq.cpp - dequantized int8 weights into kiln.qmatmul -----------===//
//
// An already-quantized ONNX model (the QDQ form) keeps its matmul weights
// as int8 initializers behind DequantizeLinear. Imported as is, the weight
// would be dequantized into an fp32 tensor at run time; this pass hands the
// int8 values to kiln.qmatmul instead, so the product runs on the int8
// kernels and the artifact stores the int8 bytes.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "matmul_qpack.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/Support/Debug.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#define DEBUG_TYPE "kiln-fold-qdq"

namespace mlir::kiln {
#define GEN_PASS_DEF_FOLDQDQ
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::weights;

namespace {

/// matmul(x, [transpose [1, 0]] dequantize(q, s [, z])) with constants q,
/// s and z.
struct QdqWeight {
  DequantizeOp dq;
  ConstantOp q, scale, zeroPoint; // zeroPoint may be null
  bool transposed = false;
  bool isUnsigned = false;
  int64_t k = 0, n = 0;
};

std::optional<QdqWeight> match(MatmulOp op) {
  auto lhs = cast<RankedTensorType>(op.getLhs().getType());
  auto out = cast<RankedTensorType>(op.getType());
  QdqWeight w;
  Value rhs = f32MatmulWeightSource(op, w.transposed);
  if (!rhs)
    return std::nullopt;
  w.dq = rhs.getDefiningOp<DequantizeOp>();
  if (!w.dq || w.dq.getBlockSize() != 0)
    return std::nullopt;
  auto qt = cast<RankedTensorType>(w.dq.getInput().getType());
  auto st = cast<RankedTensorType>(w.dq.getScale().getType());
  auto et = dyn_cast<IntegerType>(qt.getElementType());
  if (!et || et.getWidth() != 8 || qt.getRank() != 2 || !qt.hasStaticShape() ||
      !st.getElementType().isF32() ||
      !cast<RankedTensorType>(w.dq.getType()).getElementType().isF32())
    return std::nullopt;
  w.isUnsigned = et.isUnsigned();
  w.q = w.dq.getInput().getDefiningOp<ConstantOp>();
  w.scale = w.dq.getScale().getDefiningOp<ConstantOp>();
  if (Value z = w.dq.getZeroPoint()) {
    w.zeroPoint = z.getDefiningOp<ConstantOp>();
    if (!w.zeroPoint)
      return std::nullopt;
  }
  if (!w.q || !w.scale)
    return std::nullopt;
  w.k = qt.getDimSize(w.transposed ? 1 : 0);
  w.n = qt.getDimSize(w.transposed ? 0 : 1);
  // Per tensor, or per output channel: the axis of N in the stored layout.
  int64_t nAxis = w.transposed ? 0 : 1;
  if (st.getRank() != 0 &&
      (st.getRank() != 1 || w.dq.getAxis() != nAxis || st.getDimSize(0) != w.n))
    return std::nullopt;
  if (lhs.getShape().back() != w.k || out.getShape().back() != w.n)
    return std::nullopt;
  return w;
}

/// The raw bytes of a constant: a loaded resource blob, or a dense
/// attribute's values. `count` elements of `width` bytes (a splat is
/// broadcast to the count).
bool readBytes(ConstantOp c, int64_t count, size_t width,
               std::vector<char> &out) {
  out.assign(size_t(count) * width, 0);
  ElementsAttr attr = c.getValue();
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob || blob->getData().size() < out.size())
      return false;
    std::memcpy(out.data(), blob->getData().data(), out.size());
    return true;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return false;
  if (width == 4) {
    auto put = [&](int64_t i, float x) {
      std::memcpy(out.data() + size_t(i) * 4, &x, 4);
    };
    if (dense.isSplat()) {
      for (int64_t i = 0; i < count; ++i)
        put(i, dense.getSplatValue<float>());
    } else {
      int64_t i = 0;
      for (float x : dense.getValues<float>())
        put(i++, x);
    }
    return true;
  }
  auto bits = [&](const APInt &v) { return char(v.getZExtValue() & 0xff); };
  if (dense.isSplat()) {
    std::fill(out.begin(), out.end(), bits(dense.getSplatValue<APInt>()));
  } else {
    int64_t i = 0;
    for (const APInt &v : dense.getValues<APInt>())
      out[size_t(i++)] = bits(v);
  }
  return true;
}

/// kiln.qmatmul's int8 weight ([K, N] values and per-column scales) for a
/// QDQ weight, with the relative L2 error against the dequantized weight
/// (0 when it is represented exactly).
struct Folded {
  std::vector<int8_t> q;
  std::vector<float> scales;
  double relError = 0;
  bool exact = true;
};

bool fold(QdqWeight w, Folded &f) {
  int64_t k = w.k, n = w.n;
  auto st = cast<RankedTensorType>(w.dq.getScale().getType());
  int64_t params = st.getRank() == 0 ? 1 : n;
  std::vector<char> qBytes, sBytes, zBytes;
  if (!readBytes(w.q, k * n, 1, qBytes) ||
      !readBytes(w.scale, params, 4, sBytes) ||
      (w.zeroPoint && !readBytes(w.zeroPoint, params, 1, zBytes)))
    return false;
  auto value = [&](char c) {
    return w.isUnsigned ? int(uint8_t(c)) : int(int8_t(c));
  };
  auto scale = [&](int64_t col) {
    float s;
    std::memcpy(&s, sBytes.data() + 4 * (params == 1 ? 0 : col), 4);
    return s;
  };
  auto zero = [&](int64_t col) {
    return zBytes.empty() ? 0 : value(zBytes[size_t(params == 1 ? 0 : col)]);
  };
  // v = q - z as [K, N].
  std::vector<int> v(size_t(k * n));
  for (int64_t r = 0; r < k; ++r)
    for (int64_t c = 0; c < n; ++c) {
      size_t src = size_t(w.transposed ? c * k + r : r * n + c);
      int x = value(qBytes[src]) - zero(c);
      v[size_t(r * n + c)] = x;
      f.exact = f.exact && x >= -128 && x <= 127;
    }
  f.q.resize(v.size());
  f.scales.resize(size_t(n));
  if (f.exact) {
    for (size_t i = 0; i < v.size(); ++i)
      f.q[i] = int8_t(v[i]);
    for (int64_t c = 0; c < n; ++c)
      f.scales[size_t(c)] = scale(c);
    return true;
  }
  // Requantize the dequantized weight per output channel, symmetric.
  double err = 0, norm = 0;
  for (int64_t c = 0; c < n; ++c) {
    float sc = scale(c), amax = 0;
    for (int64_t r = 0; r < k; ++r)
      amax = std::max(amax, std::fabs(float(v[size_t(r * n + c)]) * sc));
    float s = amax / 127.0f;
    f.scales[size_t(c)] = s;
    for (int64_t r = 0; r < k; ++r) {
      float x = float(v[size_t(r * n + c)]) * sc;
      int q = s == 0 ? 0 : std::clamp(int(std::nearbyint(x / s)), -127, 127);
      f.q[size_t(r * n + c)] = int8_t(q);
      double d = double(x) - double(q) * s;
      err += d * d;
      norm += double(x) * x;
    }
  }
  f.relError = norm > 0 ? std::sqrt(err / norm) : 0.0;
  return true;
}

struct FoldQdqPass : kiln::impl::FoldQdqBase<FoldQdqPass> {
  using FoldQdqBase::FoldQdqBase;

  void runOnOperation() override {
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp op) { matmuls.push_back(op); });
    struct Made {
      Value weight, scales;
      double error;
    };
    // One int8 copy per dequantized weight, however many matmuls read it.
    llvm::DenseMap<std::pair<Operation *, int>, Made> made;
    for (MatmulOp op : matmuls) {
      std::optional<QdqWeight> w = match(op);
      if (!w)
        continue;
      auto key = std::make_pair(w->dq.getOperation(), int(w->transposed));
      auto it = made.find(key);
      if (it == made.end()) {
        Folded f;
        if (!fold(*w, f)) {
          LLVM_DEBUG(llvm::dbgs()
                     << "unreadable: " << locationName(w->q.getLoc()) << "\n");
          continue;
        }
        LLVM_DEBUG(llvm::dbgs() << locationName(op.getLoc()) << ": "
                                << (f.exact ? "exact" : "requantized") << "\n");
        std::vector<char> packed(
            size_t(kiln_uk_qmatmul_packed_bytes(w->k, w->n, 8)));
        kiln_uk_qmatmul_pack(f.q.data(), w->k, w->n, 8,
                             reinterpret_cast<uint8_t *>(packed.data()));
        OpBuilder b(w->dq);
        Location loc = w->q.getLoc();
        std::string base = blobKey(w->q);
        Made m;
        m.error = f.relError;
        m.weight = sharedBlobConstant(
            b, loc,
            RankedTensorType::get({kiln_uk_qmatmul_panels(w->n), w->k,
                                   kiln_uk_qmatmul_panel_width(8)},
                                  b.getI8Type()),
            base + "_q8", packed);
        m.scales = sharedBlobConstant(
            b, loc, RankedTensorType::get({1, w->n}, b.getF32Type()),
            base + "_scales",
            ArrayRef<char>(reinterpret_cast<const char *>(f.scales.data()),
                           f.scales.size() * sizeof(float)));
        it = made.insert({key, m}).first;
      }
      const Made &m = it->second;
      OpBuilder b(op);
      Value rhs = op.getRhs();
      auto q = QMatmulOp::create(
          b, op.getLoc(), op.getType(), op.getLhs(), m.weight, m.scales,
          Value(), b.getI64IntegerAttr(8), b.getI64IntegerAttr(w->k),
          b.getF64FloatAttr(m.error));
      op.replaceAllUsesWith(q.getResult());
      op.erase();
      if (auto t = rhs.getDefiningOp<TransposeOp>(); t && t->use_empty())
        t.erase();
    }
    // The dequantized weights and their constants that nothing reads now.
    llvm::SetVector<Operation *> dead;
    for (auto &entry : made)
      dead.insert(entry.first.first);
    for (Operation *dq : dead) {
      if (!dq->use_empty())
        continue;
      llvm::SetVector<Operation *> inputs;
      for (Value v : dq->getOperands())
        if (Operation *def = v.getDefiningOp())
          inputs.insert(def);
      dq->erase();
      for (Operation *c : inputs)
        if (c->use_empty())
          c->erase();
    }
  }
};

} // namespace
