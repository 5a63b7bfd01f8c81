//===- FuseKernels.cpp - fuse each kernel region, then inline it ----------===//

#include "kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_FUSEKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct FuseKernelsPass : kiln::impl::FuseKernelsBase<FuseKernelsPass> {
  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    SmallVector<KernelOp> kernels;
    fn.walk([&](KernelOp k) { kernels.push_back(k); });

    // Fuse a producer into its consumer only inside one region; without
    // regions, wherever upstream's default (a single use) allows.
    linalg::ControlFusionFn control = [&](OpOperand *use) {
      Operation *producer = use->get().getDefiningOp();
      if (!producer)
        return false;
      if (kernels.empty())
        return producer->hasOneUse();
      return isa<KernelOp>(use->getOwner()->getParentOp()) &&
             producer->getParentOp() == use->getOwner()->getParentOp();
    };
    RewritePatternSet patterns(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(patterns, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(patterns, control);
    FrozenRewritePatternSet frozen(std::move(patterns));
    if (kernels.empty()) {
      if (failed(applyPatternsGreedily(fn, frozen)))
        signalPassFailure();
      return;
    }
    for (KernelOp k : kernels)
      if (failed(applyPatternsGreedily(k, frozen)))
        return signalPassFailure();
  }
};

} // namespace
