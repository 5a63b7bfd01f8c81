//===- PromoteAccumulators.cpp - reduction accumulators in registers ------===//
//
// A reduction loop that reads and writes one output element on every
// iteration keeps the element in iter_args instead: one load before the
// loop, one store after it. Innermost loops first, so that the loop around
// a promoted one sees its load and store next.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define DEBUG_TYPE "kiln-cuda-promote-accumulators"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDAPROMOTEACCUMULATORS
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The store of `load`'s location in `loop`, when that load and store are
/// the loop's only accesses to the memref and its only write.
memref::StoreOp matchAccumulator(scf::ForOp loop, memref::LoadOp load) {
  Value m = load.getMemRef();
  if (!loop.isDefinedOutsideOfLoop(m) ||
      !llvm::all_of(load.getIndices(),
                    [&](Value v) { return loop.isDefinedOutsideOfLoop(v); }))
    return {};
  memref::StoreOp store;
  bool ok = true;
  loop.getBody()->walk([&](Operation *op) {
    if (!ok || op == load.getOperation())
      return;
    if (auto s = dyn_cast<memref::StoreOp>(op)) {
      if (!store && s->getBlock() == loop.getBody() && s.getMemRef() == m &&
          s.getIndices() == load.getIndices() && load->isBeforeInBlock(s))
        store = s;
      else
        ok = false;
      return;
    }
    if (auto l = dyn_cast<memref::LoadOp>(op)) {
      ok = l.getMemRef() != m;
      return;
    }
    if (!isMemoryEffectFree(op) &&
        !op->hasTrait<OpTrait::HasRecursiveMemoryEffects>())
      ok = false;
  });
  return ok ? store : memref::StoreOp();
}

/// Promotes one accumulator of `loop`; the new loop, or null if none.
scf::ForOp promoteOne(RewriterBase &rewriter, scf::ForOp loop) {
  for (Operation &op : *loop.getBody()) {
    auto load = dyn_cast<memref::LoadOp>(op);
    if (!load)
      continue;
    memref::StoreOp store = matchAccumulator(loop, load);
    if (!store)
      continue;
    rewriter.setInsertionPoint(loop);
    Value init = memref::LoadOp::create(rewriter, load.getLoc(),
                                        load.getMemRef(), load.getIndices());
    FailureOr<LoopLikeOpInterface> grown = loop.replaceWithAdditionalYields(
        rewriter, ValueRange{init}, /*replaceInitOperandUsesInLoop=*/false,
        [&](OpBuilder &, Location, ArrayRef<BlockArgument>) {
          return SmallVector<Value>{store.getValue()};
        });
    if (failed(grown))
      return {};
    auto newLoop = cast<scf::ForOp>(grown->getOperation());
    rewriter.replaceAllUsesWith(load.getResult(),
                                newLoop.getRegionIterArgs().back());
    rewriter.setInsertionPointAfter(newLoop);
    memref::StoreOp::create(rewriter, store.getLoc(),
                            newLoop.getResults().back(), store.getMemRef(),
                            store.getIndices());
    rewriter.eraseOp(store);
    rewriter.eraseOp(load);
    return newLoop;
  }
  return {};
}

struct CUDAPromoteAccumulatorsPass
    : mlir::kiln::impl::CUDAPromoteAccumulatorsBase<
          CUDAPromoteAccumulatorsPass> {
  void runOnOperation() override {
    IRRewriter rewriter(&getContext());
    SmallVector<scf::ForOp> loops;
    // Post-order: inner loops first.
    getOperation().walk([&](scf::ForOp loop) {
      if (loop->getParentOfType<gpu::LaunchOp>())
        loops.push_back(loop);
    });
    for (scf::ForOp loop : loops)
      while (scf::ForOp grown = promoteOne(rewriter, loop))
        loop = grown;
  }
};

} // namespace
