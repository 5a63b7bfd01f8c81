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
    // Phase 1: elementwise fusion, also through reshapes (by expanding the
    // consumer's iteration space).
    RewritePatternSet fuse(&getContext());
    linalg::populateElementwiseOpsFusionPatterns(fuse, control);
    linalg::populateFoldReshapeOpsByExpansionPatterns(fuse, control);
    // Phase 2: drop the unit dimensions that keep-dims reductions and the
    // expansion leave (a reduction over [8,512,1,512] into [8,512,1] becomes
    // [8,512,512] into [8,512]): without the reshapes between them, a
    // reduction and its consumers tile and fuse as one loop nest
    // (kiln-tile-parallel). Separate from phase 1, which would re-expand.
    RewritePatternSet unit(&getContext());
    linalg::ControlDropUnitDims unitOptions;
    linalg::populateFoldUnitExtentDimsPatterns(unit, unitOptions);
    linalg::populateFoldUnitExtentDimsCanonicalizationPatterns(unit,
                                                               unitOptions);
    linalg::populateElementwiseOpsFusionPatterns(unit, control);
    FrozenRewritePatternSet phases[] = {std::move(fuse), std::move(unit)};
    for (const FrozenRewritePatternSet &phase : phases) {
      if (kernels.empty()) {
        if (failed(applyPatternsGreedily(fn, phase)))
          return signalPassFailure();
        continue;
      }
      for (KernelOp k : kernels)
        if (failed(applyPatternsGreedily(k, phase)))
          return signalPassFailure();
    }
  }
};

} // namespace
