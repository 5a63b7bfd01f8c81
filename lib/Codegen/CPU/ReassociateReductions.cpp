//===- ReassociateReductions.cpp - let LLVM vectorize fp reductions -------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_REASSOCIATEREDUCTIONS
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct ReassociateReductionsPass
    : kiln::impl::ReassociateReductionsBase<ReassociateReductionsPass> {
  void runOnOperation() override {
    auto flags = arith::FastMathFlags::reassoc | arith::FastMathFlags::contract;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.getNumReductionLoops() == 0)
        return;
      op->walk([&](arith::ArithFastMathInterface arith) {
        if (!isa<FloatType>(arith->getResult(0).getType()))
          return;
        auto attr = arith.getFastMathFlagsAttr();
        arith::FastMathFlags old =
            attr ? attr.getValue() : arith::FastMathFlags::none;
        arith->setAttr(
            arith.getFastMathAttrName(),
            arith::FastMathFlagsAttr::get(op->getContext(), old | flags));
      });
    });
  }
};

} // namespace
