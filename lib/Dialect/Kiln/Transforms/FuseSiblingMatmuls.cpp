//===- FuseSiblingMatmuls.cpp - one product for matmuls of one input ------===//
//
// A transformer layer multiplies one activation by several weights: the
// query, key and value projections, the gate and up projections of a SwiGLU
// MLP. Each product is a kernel call with its own fork-join and its own pass
// over the activation; at batch-1 decode, where a product takes tens of
// microseconds, those costs are a visible share of the step. This pass
// concatenates the constant weights of such siblings along N, runs one
// product, and slices its result (horizontal fusion, as XLA and TVM do).
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "llvm/ADT/MapVector.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_FUSESIBLINGMATMULS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::weights;

namespace {

struct Sibling {
  MatmulOp op;
  MatmulWeight weight;
};

struct FuseSiblingMatmulsPass
    : kiln::impl::FuseSiblingMatmulsBase<FuseSiblingMatmulsPass> {
  using FuseSiblingMatmulsBase::FuseSiblingMatmulsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::optional<llvm::Regex> excluded;
    if (!compileExclude(exclude, func.getLoc(), excluded))
      return signalPassFailure();
    // Siblings: same lhs, same block, f32 constant weights of one K.
    llvm::MapVector<std::pair<Value, Block *>, SmallVector<Sibling>> groups;
    func.walk([&](MatmulOp op) {
      std::optional<MatmulWeight> w = matchConstantWeight(op);
      if (!w || (excluded && excluded->match(w->name)))
        return;
      groups[{op.getLhs(), op->getBlock()}].push_back({op, *w});
    });
    for (auto &entry : groups)
      if (entry.second.size() >= 2 && failed(fuse(entry.second)))
        return signalPassFailure();
  }

  LogicalResult fuse(SmallVector<Sibling> &group) {
    // The first in block order hosts the fused product: the shared lhs is
    // defined before it, and the fused weight is created there.
    llvm::sort(group, [](const Sibling &a, const Sibling &b) {
      return a.op->isBeforeInBlock(b.op);
    });
    MatmulOp first = group.front().op;
    int64_t k = group.front().weight.k, n = 0;
    SmallVector<Location> locs;
    std::string key;
    bool inPlace = true; // every weight a resource blob, read in place
    for (Sibling &s : group) {
      n += s.weight.n;
      locs.push_back(s.op.getLoc());
      key += (key.empty() ? "" : "__") + blobKey(s.weight.constant);
      inPlace &=
          blobFloats(s.weight.constant, s.weight.k * s.weight.n) != nullptr;
    }
    OpBuilder b(first);
    Location loc = FusedLoc::get(first.getContext(), locs);
    auto type = RankedTensorType::get({k, n}, b.getF32Type());
    // [K, N1 + N2 + ...], row by row, from weights stored [K, Ni] (or
    // [Ni, K] when transposed), each row element given by `at`.
    auto concat = [&](float *out, auto &&at) {
      for (int64_t r = 0; r < k; ++r)
        for (size_t i = 0; i < group.size(); ++i)
          for (int64_t j = 0; j < group[i].weight.n; ++j)
            *out++ = at(i, r, j);
    };
    Value weight;
    if (inPlace) {
      SmallVector<const float *> src;
      for (Sibling &s : group)
        src.push_back(blobFloats(s.weight.constant, s.weight.k * s.weight.n));
      weight = derivedBlobConstant(
          b, loc, type, key + "_fused", size_t(k * n) * sizeof(float),
          [&](char *dst) {
            concat(reinterpret_cast<float *>(dst), [&](size_t i, int64_t r,
                                                       int64_t j) {
              const MatmulWeight &w = group[i].weight;
              return w.transposed ? src[i][j * k + r] : src[i][r * w.n + j];
            });
          });
      for (Sibling &s : group)
        doneReading(s.weight.constant);
    } else {
      SmallVector<std::vector<float>> data;
      for (Sibling &s : group) {
        data.emplace_back();
        if (!readWeight(s.weight, data.back()))
          return success(); // unreadable blobs: leave the group alone
      }
      std::vector<float> fused(size_t(k * n));
      concat(fused.data(), [&](size_t i, int64_t r, int64_t j) {
        return data[i][r * group[i].weight.n + j];
      });
      weight = sharedBlobConstant(
          b, loc, type, key + "_fused",
          ArrayRef<char>(reinterpret_cast<const char *>(fused.data()),
                         fused.size() * sizeof(float)));
    }
    auto outType = cast<RankedTensorType>(first.getType());
    SmallVector<int64_t> shape(outType.getShape());
    shape.back() = n;
    auto product = MatmulOp::create(
        b, loc, RankedTensorType::get(shape, outType.getElementType()),
        first.getLhs(), weight);
    // Slices first, then the originals go (the builder points at one).
    SmallVector<Value> parts;
    int64_t offset = 0;
    for (Sibling &s : group) {
      auto t = cast<RankedTensorType>(s.op.getType());
      SmallVector<int64_t> starts(t.getRank(), 0), steps(t.getRank(), 1);
      starts.back() = offset;
      offset += s.weight.n;
      parts.push_back(SliceOp::create(b, s.op.getLoc(), t, product, starts,
                                      t.getShape(), steps));
    }
    for (auto [s, part] : llvm::zip(group, parts)) {
      Operation *rhs = s.op.getRhs().getDefiningOp();
      s.op.replaceAllUsesWith(part);
      s.op.erase();
      // The separate weight (and its transpose) may be unused now.
      if (rhs && rhs->use_empty()) {
        Operation *src = isa<TransposeOp>(rhs)
                             ? rhs->getOperand(0).getDefiningOp()
                             : nullptr;
        rhs->erase();
        if (src && src->use_empty())
          src->erase();
      }
    }
    return success();
  }
};

} // namespace
