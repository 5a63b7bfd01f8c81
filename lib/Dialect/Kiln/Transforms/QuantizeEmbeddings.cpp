//===- QuantizeEmbeddings.cpp - int8 or int4 rows for gather tables -------===//
//
// Once the matmul weights are int8 or int4 (kiln-quantize-weights), an LLM's
// f32 token embedding table is the largest thing left in its artifact. A
// gather reads only the rows it is asked for, so the table is stored as
// int8 rows with one scale each (or int4, two per byte, with one f16 scale
// per group of a row) and only the gathered rows are dequantized.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "llvm/Support/Debug.h"

#include <cmath>

#define DEBUG_TYPE "kiln-quantize-embeddings"

namespace mlir::kiln {
#define GEN_PASS_DEF_QUANTIZEEMBEDDINGS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::weights;

namespace {

/// A table quantized by groups of `group` consecutive values of a row:
/// q [V, D] (one value per element, not yet packed) and s [V, D / group],
/// and the relative L2 error of the dequantized table.
struct QuantizedRows {
  std::vector<int8_t> q;
  std::vector<float> s;
  std::vector<uint16_t> halfScales; // the scales as f16 bits, when f16
  double relError = 0;
};

/// Symmetric: s = max |group| / qmax (a group of zeros gets s = 0), q in
/// [-qmax - 1, qmax] (int8: qmax 127, q never -128; int4: qmax 7). With
/// `half`, s is rounded to f16 first (the values are quantized with the
/// rounded scale), unless some scale is not a normal f16 number: then all
/// stay f32.
QuantizedRows quantizeRows(const std::vector<float> &t, int64_t rows,
                           int64_t cols, int64_t group, int qmax, bool half) {
  QuantizedRows out;
  out.q.resize(t.size());
  int64_t groups = rows * (cols / group);
  out.s.resize(size_t(groups));
  for (int64_t g = 0; g < groups; ++g) {
    const float *x = t.data() + g * group;
    float amax = 0;
    for (int64_t c = 0; c < group; ++c)
      amax = std::max(amax, std::fabs(x[c]));
    out.s[size_t(g)] = amax / float(qmax);
  }
  if (half) {
    out.halfScales.resize(size_t(groups));
    for (int64_t g = 0; g < groups && !out.halfScales.empty(); ++g) {
      uint16_t h;
      if (!toHalf(out.s[size_t(g)], h))
        out.halfScales.clear();
      else
        out.halfScales[size_t(g)] = h;
    }
    for (size_t g = 0; g < out.halfScales.size(); ++g)
      out.s[g] = fromHalf(out.halfScales[g]);
  }
  double err = 0, norm = 0;
  for (int64_t g = 0; g < groups; ++g) {
    const float *x = t.data() + g * group;
    float s = out.s[size_t(g)];
    for (int64_t c = 0; c < group; ++c) {
      float q = s > 0 ? std::nearbyint(x[c] / s) : 0.0f;
      q = std::min(float(qmax), std::max(-float(qmax) - 1, q));
      out.q[size_t(g * group + c)] = int8_t(q);
      double d = double(x[c]) - double(q) * double(s);
      err += d * d;
      norm += double(x[c]) * double(x[c]);
    }
  }
  out.relError = norm > 0 ? std::sqrt(err / norm) : 0.0;
  return out;
}

/// int4 values as bytes: element 2i + 1 in the high nibble (two's
/// complement) and element 2i + 8 in the low one, so that a byte p is
/// 16 * hi + (lo + 8) with lo + 8 in [0, 15].
std::vector<int8_t> packNibbles(const std::vector<int8_t> &q) {
  std::vector<int8_t> out(q.size() / 2);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = int8_t(16 * q[2 * i + 1] + q[2 * i] + 8);
  return out;
}

Value f32Scalar(OpBuilder &b, Location loc, float v) {
  auto t = RankedTensorType::get({}, b.getF32Type());
  return ConstantOp::create(b, loc, t, DenseElementsAttr::get(t, v));
}

/// The gathered bytes [..., D / 2] of a packed int4 table as int8 values
/// [..., D]: in f32 (exact), hi = floor(p / 16) and lo = p - 16 hi - 8,
/// interleaved. The dialect has no shifts or integer masks; this
/// elementwise chain fuses into one loop.
Value unpackNibbles(OpBuilder &b, Location loc, Value packed) {
  auto pt = cast<RankedTensorType>(packed.getType());
  SmallVector<int64_t> one(pt.getShape()), full(pt.getShape());
  one.push_back(1);
  full.back() *= 2;
  Type f32 = b.getF32Type();
  Value p =
      CastOp::create(b, loc, RankedTensorType::get(pt.getShape(), f32), packed);
  Value hi = FloorOp::create(
      b, loc, MulOp::create(b, loc, p, f32Scalar(b, loc, 1.0f / 16)));
  Value lo = SubOp::create(
      b, loc,
      SubOp::create(b, loc, p,
                    MulOp::create(b, loc, hi, f32Scalar(b, loc, 16))),
      f32Scalar(b, loc, 8));
  auto oneType = RankedTensorType::get(one, f32);
  Value pairs =
      ConcatOp::create(b, loc,
                       ValueRange{ReshapeOp::create(b, loc, oneType, lo),
                                  ReshapeOp::create(b, loc, oneType, hi)},
                       b.getI64IntegerAttr(pt.getRank()));
  Value values =
      ReshapeOp::create(b, loc, RankedTensorType::get(full, f32), pairs);
  return CastOp::create(b, loc, RankedTensorType::get(full, b.getI8Type()),
                        values);
}

struct QuantizeEmbeddingsPass
    : kiln::impl::QuantizeEmbeddingsBase<QuantizeEmbeddingsPass> {
  using QuantizeEmbeddingsBase::QuantizeEmbeddingsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::optional<llvm::Regex> excluded;
    if (!compileExclude(exclude, func.getLoc(), excluded))
      return signalPassFailure();

    SmallVector<GatherOp> gathers;
    func.walk([&](GatherOp op) { gathers.push_back(op); });
    struct Made {
      Value table, scales;
      double error;
      int64_t group;
      bool int4;
    };
    llvm::DenseMap<Operation *, Made> made;
    for (GatherOp op : gathers) {
      auto constant = op.getInput().getDefiningOp<ConstantOp>();
      auto type = cast<RankedTensorType>(op.getInput().getType());
      auto resultType = dyn_cast<RankedTensorType>(op.getType());
      if (!constant || op.getAxis() != 0 || type.getRank() != 2 ||
          !type.hasStaticShape() || !type.getElementType().isF32() ||
          !resultType || !resultType.hasStaticShape())
        continue;
      int64_t rows = type.getDimSize(0), cols = type.getDimSize(1);
      // The names --exclude matches: the gather's, the table's and its
      // blob's (checkpoint tables have only the latter).
      std::string name =
          locationName(op.getLoc()) + " " + locationName(constant.getLoc());
      if (isa<DenseResourceElementsAttr>(constant.getValue()))
        name += " " + blobKey(constant);
      // int4 needs whole groups (of an even size) in a row; else int8.
      bool int4 = mode == "int4" && groupSize > 0 && groupSize % 2 == 0 &&
                  cols % groupSize == 0;
      if (rows * cols < minElements || cols == 0 ||
          (excluded && excluded->match(name))) {
        LLVM_DEBUG(llvm::dbgs() << "skipped: " << name << "\n");
        continue;
      }
      auto it = made.find(constant.getOperation());
      if (it == made.end()) {
        std::vector<float> data;
        if (!readConstant(constant, rows * cols, data)) {
          LLVM_DEBUG(llvm::dbgs() << "unreadable: " << name << "\n");
          continue;
        }
        int64_t group = int4 ? groupSize : cols;
        QuantizedRows qr = quantizeRows(data, rows, cols, group, int4 ? 7 : 127,
                                        int4 && halfScales);
        if (int4)
          qr.q = packNibbles(qr.q);
        OpBuilder b(constant);
        b.setInsertionPointAfter(constant);
        std::string base = blobKey(constant);
        Made m;
        m.error = qr.relError;
        m.group = group;
        m.int4 = int4;
        m.table = sharedBlobConstant(
            b, constant.getLoc(),
            RankedTensorType::get({rows, int4 ? cols / 2 : cols},
                                  b.getI8Type()),
            base + (int4 ? "_rows_q4" : "_rows_q8"),
            ArrayRef<char>(reinterpret_cast<const char *>(qr.q.data()),
                           qr.q.size()));
        std::string scalesKey =
            base + (int4 ? "_group_scales" + std::to_string(group)
                         : std::string("_row_scales"));
        if (!qr.halfScales.empty())
          m.scales = sharedBlobConstant(
              b, constant.getLoc(),
              RankedTensorType::get({rows, cols / group}, b.getF16Type()),
              scalesKey + "_f16",
              ArrayRef<char>(
                  reinterpret_cast<const char *>(qr.halfScales.data()),
                  qr.halfScales.size() * sizeof(uint16_t)));
        else
          m.scales = sharedBlobConstant(
              b, constant.getLoc(),
              RankedTensorType::get({rows, cols / group}, b.getF32Type()),
              scalesKey,
              ArrayRef<char>(reinterpret_cast<const char *>(qr.s.data()),
                             qr.s.size() * sizeof(float)));
        it = made.insert({constant.getOperation(), m}).first;
      }
      const Made &m = it->second;
      OpBuilder b(op);
      Location loc = op.getLoc();
      ArrayRef<int64_t> shape = resultType.getShape();
      SmallVector<int64_t> tableShape(shape), scaleShape(shape);
      if (m.int4)
        tableShape.back() /= 2;
      scaleShape.back() = cols / m.group;
      Value q = GatherOp::create(
          b, loc, RankedTensorType::get(tableShape, b.getI8Type()), m.table,
          op.getIndices(), op.getAxisAttr());
      if (m.int4)
        q = unpackNibbles(b, loc, q);
      Value s = GatherOp::create(
          b, loc,
          RankedTensorType::get(
              scaleShape,
              cast<RankedTensorType>(m.scales.getType()).getElementType()),
          m.scales, op.getIndices(), op.getAxisAttr());
      auto deq =
          DequantizeOp::create(b, loc, resultType, q, s, /*zero_point=*/Value(),
                               b.getI64IntegerAttr(resultType.getRank() - 1),
                               b.getI64IntegerAttr(m.group));
      deq->setAttr("kiln.weight_error", b.getF64FloatAttr(m.error));
      op.replaceAllUsesWith(deq.getResult());
      op.erase();
      if (constant->use_empty())
        constant.erase();
    }
  }
};

} // namespace
