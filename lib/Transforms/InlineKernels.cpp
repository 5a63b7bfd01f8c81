//===- InlineKernels.cpp - replace kernel regions by their ops ------------===//

#include "kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_INLINEKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {
struct InlineKernelsPass : kiln::impl::InlineKernelsBase<InlineKernelsPass> {
  void runOnOperation() override {
    SmallVector<KernelOp> kernels;
    getOperation().walk([&](KernelOp k) { kernels.push_back(k); });
    for (KernelOp kernel : kernels) {
      Block &body = kernel.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      kernel.replaceAllUsesWith(yield.getValues());
      yield.erase();
      kernel->getBlock()->getOperations().splice(kernel->getIterator(),
                                                 body.getOperations());
      kernel.erase();
    }
  }
};
} // namespace
