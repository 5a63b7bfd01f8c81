//===- SSMOps.cpp - selective scan and causal conv1d ----------------------===//

#include "OpUtils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

/// Checks that `v` (if present) has `shape`, and the element type `et`.
static LogicalResult checkShape(Operation *op, StringRef name, Value v,
                                ArrayRef<int64_t> shape, Type et) {
  if (!v)
    return success();
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getElementType() != et)
    return op->emitOpError() << name << " element type " << t.getElementType()
                             << " differs from " << et;
  if (t.getRank() != (int64_t)shape.size() ||
      !llvm::all_of(llvm::zip(t.getShape(), shape), [](auto p) {
        return dimsCompatible(std::get<0>(p), std::get<1>(p));
      }))
    return op->emitOpError() << name << " must have shape " << shapeStr(shape)
                             << ", got " << shapeStr(t.getShape());
  return success();
}

//===----------------------------------------------------------------------===//
// SelectiveScanOp
//===----------------------------------------------------------------------===//

LogicalResult SelectiveScanOp::inferReturnTypes(MLIRContext *,
                                                std::optional<Location> loc,
                                                Adaptor adaptor,
                                                SmallVectorImpl<Type> &types) {
  RankedTensorType u = rankedType(adaptor.getU());
  RankedTensorType a = rankedType(adaptor.getA());
  if (!u || !a)
    return emitOptionalError(loc, "expected ranked tensor operands");
  if (u.getRank() != 3 || a.getRank() != 2)
    return emitOptionalError(loc, "u must be [batch, d_inner, seq] and A "
                                  "[d_inner, d_state]");
  types.push_back(u);
  types.push_back(RankedTensorType::get(
      {u.getDimSize(0), u.getDimSize(1), a.getDimSize(1)}, u.getElementType()));
  return success();
}

LogicalResult SelectiveScanOp::verify() {
  auto u = cast<RankedTensorType>(getU().getType());
  auto a = cast<RankedTensorType>(getA().getType());
  Type et = u.getElementType();
  int64_t b = u.getDimSize(0), d = u.getDimSize(1), l = u.getDimSize(2),
          n = a.getDimSize(1);
  Operation *op = *this;
  if (failed(checkShape(op, "delta", getDelta(), {b, d, l}, et)) ||
      failed(checkShape(op, "A", getA(), {d, n}, et)) ||
      failed(checkShape(op, "B", getB(), {b, n, l}, et)) ||
      failed(checkShape(op, "C", getC(), {b, n, l}, et)) ||
      failed(checkShape(op, "D", getD(), {d}, et)) ||
      failed(checkShape(op, "z", getZ(), {b, d, l}, et)) ||
      failed(checkShape(op, "delta_bias", getDeltaBias(), {d}, et)) ||
      failed(checkShape(op, "initial state", getInitialState(), {b, d, n}, et)))
    return failure();
  return success();
}

//===----------------------------------------------------------------------===//
// CausalConv1dOp
//===----------------------------------------------------------------------===//

LogicalResult CausalConv1dOp::inferReturnTypes(MLIRContext *,
                                               std::optional<Location> loc,
                                               Adaptor adaptor,
                                               SmallVectorImpl<Type> &types) {
  RankedTensorType x = rankedType(adaptor.getInput());
  RankedTensorType w = rankedType(adaptor.getWeight());
  if (!x || !w)
    return emitOptionalError(loc, "expected ranked tensor operands");
  if (x.getRank() != 3 || w.getRank() != 2)
    return emitOptionalError(loc, "input must be [batch, channels, seq] and "
                                  "weight [channels, kernel]");
  int64_t k = w.getDimSize(1);
  if (!ShapedType::isDynamic(k) && k < 1)
    return emitOptionalError(loc, "kernel width must be positive");
  types.push_back(x);
  types.push_back(RankedTensorType::get(
      {x.getDimSize(0), x.getDimSize(1), ShapedType::isDynamic(k) ? k : k - 1},
      x.getElementType()));
  return success();
}

LogicalResult CausalConv1dOp::verify() {
  auto x = cast<RankedTensorType>(getInput().getType());
  auto w = cast<RankedTensorType>(getWeight().getType());
  Type et = x.getElementType();
  int64_t b = x.getDimSize(0), d = x.getDimSize(1), k = w.getDimSize(1);
  Operation *op = *this;
  if (failed(checkShape(op, "weight", getWeight(), {d, k}, et)) ||
      failed(checkShape(op, "bias", getBias(), {d}, et)) ||
      failed(checkShape(op, "state", getState(),
                        {b, d, ShapedType::isDynamic(k) ? k : k - 1}, et)))
    return failure();
  return success();
}
