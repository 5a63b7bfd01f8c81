//===- TransposeWeights.cpp - transposed weights stored transposed --------===//
//
// The CUDA target's counterpart of the CPU's weight packing: a constant
// weight the graph transposes before a product is transposed once, at
// compile time, instead of by a kernel on every call.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#define DEBUG_TYPE "kiln-cuda-transpose-weights"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDATRANSPOSEWEIGHTS
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// `src` ([N, K], row-major) transposed into `dst` ([K, N]).
void transpose(const float *src, int64_t k, int64_t n, float *dst) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < k; ++c)
      dst[c * n + r] = src[r * k + c];
}

struct CUDATransposeWeightsPass
    : mlir::kiln::impl::CUDATransposeWeightsBase<CUDATransposeWeightsPass> {
  void runOnOperation() override {
    SmallVector<MatmulOp> matmuls;
    getOperation().walk([&](MatmulOp op) { matmuls.push_back(op); });
    for (MatmulOp op : matmuls) {
      std::optional<weights::MatmulWeight> w = weights::matchConstantWeight(op);
      if (!w || !w->transposed)
        continue;
      ConstantOp c = w->constant;
      int64_t k = w->k, n = w->n;
      OpBuilder b(op);
      auto type = RankedTensorType::get({k, n}, b.getF32Type());
      size_t bytes = size_t(k * n) * sizeof(float);
      Value weight;
      if (const float *src = weights::blobFloats(c, k * n)) {
        // A resource blob (a model's weight): transposed straight from its
        // memory into the new blob's, once for all the products reading it.
        weight = weights::derivedBlobConstant(
            b, c.getLoc(), type, weights::blobKey(c) + "_t", bytes,
            [&](char *dst) {
              transpose(src, k, n, reinterpret_cast<float *>(dst));
            });
        weights::doneReading(c);
      } else {
        std::vector<float> data;
        if (!weights::readWeight(*w, data))
          continue;
        weight = ConstantOp::create(
            b, c.getLoc(), type,
            DenseElementsAttr::get(type, ArrayRef<float>(data)));
      }
      Value rhs = op.getRhs();
      op.getRhsMutable().assign(weight);
      if (auto t = rhs.getDefiningOp<TransposeOp>(); t && t->use_empty())
        t.erase();
      if (c->use_empty())
        c.erase();
    }
  }
};

} // namespace
