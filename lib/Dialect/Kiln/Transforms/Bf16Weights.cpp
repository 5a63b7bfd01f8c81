//===- Bf16Weights.cpp - bf16 weights and matmul inputs -------------------===//
//
// --dtype=bf16: matmuls and 2-D convolutions with constant weights read
// half the weight bytes and run at twice the fp32 peak (vdpbf16ps),
// accumulating in fp32. Only their operands change type; every other op
// keeps computing in f32.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "llvm/Support/Debug.h"

#include <cstring>

#define DEBUG_TYPE "kiln-bf16-weights"

namespace mlir::kiln {
#define GEN_PASS_DEF_BF16WEIGHTS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::weights;

namespace {

/// f32 to bf16 bits, rounding to nearest even (NaN stays NaN).
uint16_t toBf16(float f) {
  uint32_t u;
  std::memcpy(&u, &f, sizeof u);
  if ((u & 0x7fffffff) > 0x7f800000)
    return uint16_t((u >> 16) | 0x40);
  return uint16_t((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

/// `data` rounded to bf16, stored as a constant of `shape` right after
/// the f32 constant `c` it came from (named after its blob).
Value bf16Constant(ConstantOp c, ArrayRef<int64_t> shape,
                   const std::vector<float> &data) {
  std::vector<uint16_t> bf(data.size());
  for (size_t i = 0; i < data.size(); ++i)
    bf[i] = toBf16(data[i]);
  OpBuilder b(c);
  b.setInsertionPointAfter(c);
  return sharedBlobConstant(
      b, c.getLoc(), RankedTensorType::get(shape, b.getBF16Type()),
      blobKey(c) + "_bf16",
      ArrayRef<char>(reinterpret_cast<const char *>(bf.data()),
                     bf.size() * sizeof(uint16_t)));
}

struct Bf16WeightsPass : kiln::impl::Bf16WeightsBase<Bf16WeightsPass> {
  using Bf16WeightsBase::Bf16WeightsBase;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    std::optional<llvm::Regex> excluded;
    if (!compileExclude(exclude, func.getLoc(), excluded))
      return signalPassFailure();
    SmallVector<MatmulOp> matmuls;
    func.walk([&](MatmulOp op) { matmuls.push_back(op); });
    llvm::DenseMap<std::pair<Operation *, int>, Value> made;
    for (MatmulOp op : matmuls) {
      std::optional<MatmulWeight> w = matchConstantWeight(op);
      if (!w || w->k * w->n < minElements ||
          (excluded && excluded->match(w->name)))
        continue;
      auto key = std::make_pair(w->constant.getOperation(), int(w->transposed));
      Value weight = made.lookup(key);
      if (!weight) {
        std::vector<float> data;
        if (!readWeight(*w, data))
          continue;
        weight = bf16Constant(w->constant, {w->k, w->n}, data);
        made[key] = weight;
      }
      OpBuilder b(op);
      auto lt = cast<RankedTensorType>(op.getLhs().getType());
      Value lhs = CastOp::create(
          b, op.getLoc(), RankedTensorType::get(lt.getShape(), b.getBF16Type()),
          op.getLhs());
      Value rhs = op.getRhs();
      auto mm = MatmulOp::create(b, op.getLoc(), op.getType(), lhs, weight);
      op.replaceAllUsesWith(mm.getResult());
      op.erase();
      if (auto t = rhs.getDefiningOp<TransposeOp>(); t && t->use_empty())
        t.erase();
      if (w->constant->use_empty())
        w->constant.erase();
    }
    // 2-D single-group convolutions (the ones with a micro-kernel) keep an
    // f32 input; the kernel rounds it to bf16 as it packs.
    SmallVector<ConvOp> convs;
    func.walk([&](ConvOp op) { convs.push_back(op); });
    for (ConvOp op : convs) {
      auto c = op.getWeight().getDefiningOp<ConstantOp>();
      auto wt = cast<RankedTensorType>(op.getWeight().getType());
      if (!c || op.getSpatialRank() != 2 || op.getGroups() != 1 ||
          !wt.getElementType().isF32() || !wt.hasStaticShape() ||
          wt.getNumElements() < minElements)
        continue;
      std::string name =
          locationName(op.getLoc()) + " " + locationName(c.getLoc());
      if (excluded && excluded->match(name))
        continue;
      std::vector<float> data;
      if (!readConstant(c, wt.getNumElements(), data))
        continue;
      op.getWeightMutable().assign(bf16Constant(c, wt.getShape(), data));
      if (c->use_empty())
        c.erase();
    }
  }
};

} // namespace
