//===- LowerForall.cpp - scf.forall on buffers to kiln_rt.parallel_for ----===//

#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"

#define DEBUG_TYPE "kiln-lower-forall"

namespace mlir::kiln {
#define GEN_PASS_DEF_LOWERFORALL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct LowerForallPass : mlir::kiln::impl::LowerForallBase<LowerForallPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());

    // Inner foralls run sequentially inside their task.
    SmallVector<scf::ForallOp> inner;
    func.walk([&](scf::ForallOp op) {
      if (op->getParentOfType<scf::ForallOp>())
        inner.push_back(op);
    });
    for (scf::ForallOp op : llvm::reverse(inner)) {
      rewriter.setInsertionPoint(op);
      if (failed(scf::forallToForLoop(rewriter, op))) {
        op.emitError("could not serialize a nested scf.forall");
        return signalPassFailure();
      }
    }

    SmallVector<scf::ForallOp> outer;
    func.walk([&](scf::ForallOp op) { outer.push_back(op); });
    for (scf::ForallOp op : outer) {
      if (!op.getOutputs().empty()) {
        op.emitError("scf.forall still has tensor outputs; bufferize first");
        return signalPassFailure();
      }
      Location loc = op.getLoc();
      rewriter.setInsertionPoint(op);
      SmallVector<Value> lbs = getValueOrCreateConstantIndexOp(
          rewriter, loc, op.getMixedLowerBound());
      SmallVector<Value> ubs = getValueOrCreateConstantIndexOp(
          rewriter, loc, op.getMixedUpperBound());
      SmallVector<Value> steps =
          getValueOrCreateConstantIndexOp(rewriter, loc, op.getMixedStep());
      // Trip count of each dimension and their product.
      SmallVector<Value> trips;
      Value total = arith::ConstantIndexOp::create(rewriter, loc, 1);
      for (auto [lb, ub, step] : llvm::zip(lbs, ubs, steps)) {
        Value span = arith::SubIOp::create(rewriter, loc, ub, lb);
        Value trip = arith::CeilDivUIOp::create(rewriter, loc, span, step);
        trips.push_back(trip);
        total = arith::MulIOp::create(rewriter, loc, total, trip);
      }
      auto par = rt::ParallelForOp::create(rewriter, loc, total);
      Block *body = rewriter.createBlock(&par.getBody(), {},
                                         {rewriter.getIndexType()}, {loc});
      rewriter.setInsertionPointToStart(body);
      // Delinearize, innermost dimension fastest.
      Value rest = body->getArgument(0);
      SmallVector<Value> ivs(trips.size());
      for (int64_t d = trips.size() - 1; d >= 0; --d) {
        Value i = d == 0 ? rest
                         : arith::RemUIOp::create(rewriter, loc, rest, trips[d])
                               .getResult();
        if (d > 0)
          rest = arith::DivUIOp::create(rewriter, loc, rest, trips[d]);
        ivs[d] = arith::AddIOp::create(
            rewriter, loc, lbs[d],
            arith::MulIOp::create(rewriter, loc, i, steps[d]));
      }
      IRMapping map;
      map.map(op.getInductionVars(), ivs);
      for (Operation &inner : op.getBody()->without_terminator())
        rewriter.clone(inner, map);
      rt::YieldOp::create(rewriter, loc);
      rewriter.eraseOp(op);
    }
  }
};

} // namespace
