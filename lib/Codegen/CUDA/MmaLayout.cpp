//===- MmaLayout.cpp - mma.sync m16n8k16 fragment layouts -----------------===//

#include "kiln/Codegen/CUDA/MmaLayout.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::kiln;

std::pair<int64_t, int64_t> kiln::mmaFragmentShape(MmaOperand which) {
  return which == MmaOperand::A ? std::make_pair(int64_t(4), int64_t(2))
                                : std::make_pair(int64_t(2), int64_t(2));
}

std::pair<Value, Value> kiln::mmaFragmentCoord(OpBuilder &b, Location loc,
                                               MmaOperand which, Value lane,
                                               int64_t reg, int64_t element) {
  auto cst = [&](int64_t v) -> Value {
    return arith::ConstantIndexOp::create(b, loc, v);
  };
  // groupID = lane / 4, threadID_in_group = lane % 4.
  Value group = arith::DivUIOp::create(b, loc, lane, cst(4));
  Value inGroup = arith::RemUIOp::create(b, loc, lane, cst(4));
  // 2 * threadID_in_group + element: the pair a register holds.
  Value pair = arith::AddIOp::create(
      b, loc, arith::MulIOp::create(b, loc, inGroup, cst(2)), cst(element));
  auto plus = [&](Value v, int64_t c) -> Value {
    return c ? arith::AddIOp::create(b, loc, v, cst(c)).getResult() : v;
  };
  switch (which) {
  case MmaOperand::A:
    // a0..a7 (register r holds a{2r}, a{2r+1}): rows groupID (+8 for
    // registers 1 and 3), columns the pair (+8 for registers 2 and 3).
    return {plus(group, (reg % 2) * 8), plus(pair, (reg / 2) * 8)};
  case MmaOperand::B:
    // b0..b3: rows (K) the pair (+8 for register 1), column groupID.
    return {plus(pair, reg * 8), group};
  case MmaOperand::C:
    // c0..c3: rows groupID (+8 for register 1), columns the pair.
    return {plus(group, reg * 8), pair};
  }
  llvm_unreachable("unknown mma operand");
}

Value kiln::packFragment(OpBuilder &b, Location loc, VectorType type,
                         ValueRange elements) {
  Value v = arith::ConstantOp::create(b, loc, type, b.getZeroAttr(type));
  int64_t cols = type.getDimSize(1);
  for (auto [i, x] : llvm::enumerate(elements))
    v = vector::InsertOp::create(
        b, loc, x, v,
        ArrayRef<int64_t>{static_cast<int64_t>(i) / cols,
                          static_cast<int64_t>(i) % cols});
  return v;
}
