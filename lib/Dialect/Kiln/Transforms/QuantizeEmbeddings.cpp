//===- QuantizeEmbeddings.cpp - int8 rows for constant gather tables ------===//
//
// Once the matmul weights are int8 or int4 (kiln-quantize-weights), an LLM's
// f32 token embedding table is the largest thing left in its artifact. A
// gather reads only the rows it is asked for, so the table is stored as
// int8 rows with one scale each and only the gathered rows are dequantized.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "Weights.h"

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

/// A table quantized by rows: q [V, D] and s [V], and the relative L2 error
/// of the dequantized table.
struct QuantizedRows {
  std::vector<int8_t> q;
  std::vector<float> s;
  double relError = 0;
};

/// Symmetric int8 per row: s = max |row| / 127 (a row of zeros gets s = 0).
QuantizedRows quantizeRows(const std::vector<float> &t, int64_t rows,
                           int64_t cols) {
  QuantizedRows out;
  out.q.resize(t.size());
  out.s.resize(size_t(rows));
  double err = 0, norm = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const float *row = t.data() + r * cols;
    float amax = 0;
    for (int64_t c = 0; c < cols; ++c)
      amax = std::max(amax, std::fabs(row[c]));
    float s = amax / 127.0f;
    out.s[size_t(r)] = s;
    for (int64_t c = 0; c < cols; ++c) {
      float q = s > 0 ? std::nearbyint(row[c] / s) : 0.0f;
      q = std::min(127.0f, std::max(-127.0f, q));
      out.q[size_t(r * cols + c)] = int8_t(q);
      double d = double(row[c]) - double(q) * double(s);
      err += d * d;
      norm += double(row[c]) * double(row[c]);
    }
  }
  out.relError = norm > 0 ? std::sqrt(err / norm) : 0.0;
  return out;
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
      if (rows * cols < minElements || cols == 0 ||
          (excluded && excluded->match(name))) {
        LLVM_DEBUG(llvm::dbgs() << "skipped: " << name << "\n");
        continue;
      }
      auto it = made.find(constant.getOperation());
      if (it == made.end()) {
        // The table as a [K = rows, N = cols] weight, to read its data.
        MatmulWeight w;
        w.constant = constant;
        w.k = rows;
        w.n = cols;
        std::vector<float> data;
        if (!readWeight(w, data)) {
          LLVM_DEBUG(llvm::dbgs() << "unreadable: " << name << "\n");
          continue;
        }
        QuantizedRows qr = quantizeRows(data, rows, cols);
        OpBuilder b(constant);
        b.setInsertionPointAfter(constant);
        std::string base = blobKey(constant);
        Made m;
        m.error = qr.relError;
        m.table = sharedBlobConstant(
            b, constant.getLoc(),
            RankedTensorType::get({rows, cols}, b.getI8Type()),
            base + "_rows_q8",
            ArrayRef<char>(reinterpret_cast<const char *>(qr.q.data()),
                           qr.q.size()));
        m.scales = sharedBlobConstant(
            b, constant.getLoc(),
            RankedTensorType::get({rows, 1}, b.getF32Type()),
            base + "_row_scales",
            ArrayRef<char>(reinterpret_cast<const char *>(qr.s.data()),
                           qr.s.size() * sizeof(float)));
        it = made.insert({constant.getOperation(), m}).first;
      }
      const Made &m = it->second;
      OpBuilder b(op);
      Location loc = op.getLoc();
      ArrayRef<int64_t> shape = resultType.getShape();
      SmallVector<int64_t> scaleShape(shape);
      scaleShape.back() = 1;
      Value q =
          GatherOp::create(b, loc, RankedTensorType::get(shape, b.getI8Type()),
                           m.table, op.getIndices(), op.getAxisAttr());
      Value s = GatherOp::create(
          b, loc, RankedTensorType::get(scaleShape, b.getF32Type()), m.scales,
          op.getIndices(), op.getAxisAttr());
      auto deq =
          DequantizeOp::create(b, loc, resultType, q, s, /*zero_point=*/Value(),
                               b.getI64IntegerAttr(resultType.getRank() - 1),
                               b.getI64IntegerAttr(cols));
      deq->setAttr("kiln.weight_error", b.getF64FloatAttr(m.error));
      op.replaceAllUsesWith(deq.getResult());
      op.erase();
      if (constant->use_empty())
        constant.erase();
    }
  }
};

} // namespace
