//===- PackWeights.cpp - constant matmul weights packed at compile time ---===//
//
// The matmul micro-kernels stream B in panels of 32 columns
// (runtime/ukernels/matmul_pack.h). For a constant weight the runtime would
// rebuild those panels on every call: a pass over the whole weight that is
// as large as the weight itself and, for prefill-sized products, a
// measurable share of the time. This pass builds them once, here, and
// switches the call to the kernels that take B packed.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Weights.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Matchers.h"

#include "matmul_pack.h"
#include "ukernels.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_PACKWEIGHTS
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct PackWeightsPass : kiln::impl::PackWeightsBase<PackWeightsPass> {
  using PackWeightsBase::PackWeightsBase;

  void runOnOperation() override {
    SmallVector<rt::UkernelOp> calls;
    getOperation().walk([&](rt::UkernelOp op) {
      if (op.getName() == "kiln_uk_matmul_f32" ||
          op.getName() == "kiln_uk_matmul_bias_f32")
        calls.push_back(op);
    });
    for (rt::UkernelOp op : calls)
      pack(op);
  }

  void pack(rt::UkernelOp op) {
    // ins: a, b, [bias,] flags; b is [1, K, N] (or [1, N, K] transposed).
    ValueRange ins = op.getInputs();
    bool bias = op.getName() == "kiln_uk_matmul_bias_f32";
    if (ins.size() != (bias ? 4u : 3u))
      return;
    IntegerAttr flagsAttr;
    if (!matchPattern(ins.back(), m_Constant(&flagsAttr)))
      return;
    int64_t flags = flagsAttr.getInt();
    bool transposed = flags & KILN_UK_TRANSPOSE_B;
    auto bt = cast<RankedTensorType>(ins[1].getType());
    if (bt.getRank() != 3 || bt.getDimSize(0) != 1 || !bt.hasStaticShape() ||
        !bt.getElementType().isF32())
      return;
    int64_t k = bt.getDimSize(transposed ? 2 : 1);
    int64_t n = bt.getDimSize(transposed ? 1 : 2);
    if (k * n < minElements || k == 0 || n == 0)
      return;
    Value source = ins[1];
    while (auto r = source.getDefiningOp<ReshapeOp>())
      source = r.getInput();
    auto constant = source.getDefiningOp<ConstantOp>();
    if (!constant)
      return;
    OpBuilder b(op);
    Location loc = op.getLoc();
    auto type = RankedTensorType::get({kiln_uk_matmul_packed_size(k, n)},
                                      b.getF32Type());
    size_t bytes = size_t(type.getNumElements()) * sizeof(float);
    // Stored [K, N], or [N, K] when transposed.
    int64_t strideK = transposed ? 1 : n, strideN = transposed ? k : 1;
    std::string key =
        weights::blobKey(constant) + (transposed ? "_packed_t" : "_packed");
    Value weight;
    if (const float *src = weights::blobFloats(constant, k * n)) {
      // A resource blob (a model's weight): packed straight from its
      // memory into the new blob's.
      weight = weights::derivedBlobConstant(
          b, constant.getLoc(), type, key, bytes, [&](char *dst) {
            kiln_uk_matmul_pack_b_f32(src, k, n, strideK, strideN,
                                      reinterpret_cast<float *>(dst));
          });
      weights::doneReading(constant);
    } else {
      std::vector<float> data;
      if (!weights::readConstant(constant, k * n, data))
        return;
      std::vector<float> packed(size_t(type.getNumElements()));
      kiln_uk_matmul_pack_b_f32(data.data(), k, n, strideK, strideN,
                                packed.data());
      weight = weights::sharedBlobConstant(
          b, constant.getLoc(), type, key,
          ArrayRef<char>(reinterpret_cast<const char *>(packed.data()), bytes));
    }
    auto i64 = [&](int64_t v) -> Value {
      return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
    };
    SmallVector<Value> newIns{ins[0], weight, i64(k), i64(n)};
    if (bias)
      newIns.push_back(ins[2]);
    int64_t newFlags = flags & ~int64_t(KILN_UK_TRANSPOSE_B);
    newIns.push_back(newFlags == flags ? ins.back() : i64(newFlags));
    auto call = rt::UkernelOp::create(b, loc, op.getResultTypes(),
                                      bias ? "kiln_uk_matmul_packed_bias_f32"
                                           : "kiln_uk_matmul_packed_f32",
                                      newIns, op.getOutputs());
    op.replaceAllUsesWith(call.getResults());
    Operation *dead = ins[1].getDefiningOp();
    Operation *oldFlags = ins.back().getDefiningOp();
    op.erase();
    if (oldFlags && oldFlags->use_empty())
      oldFlags->erase();
    // The unpacked weight (and its reshapes) may have no other reader.
    while (dead && dead->use_empty()) {
      Operation *next =
          isa<ReshapeOp>(dead) ? dead->getOperand(0).getDefiningOp() : nullptr;
      dead->erase();
      dead = next;
    }
  }
};

} // namespace
