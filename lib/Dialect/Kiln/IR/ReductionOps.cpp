//===- ReductionOps.cpp - reductions, softmax and norms -------------------===//

#include "OpUtils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

/// Checks that `axes` are distinct, sorted and in [0, rank).
static LogicalResult checkAxes(std::optional<Location> loc,
                               ArrayRef<int64_t> axes, int64_t rank) {
  for (auto [i, a] : llvm::enumerate(axes)) {
    if (a < 0 || a >= rank)
      return emitOptionalError(loc, "axis ", a, " is out of range for rank ",
                               rank);
    if (i > 0 && axes[i - 1] >= a)
      return emitOptionalError(loc, "axes must be sorted and distinct");
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ReduceOp / ArgReduceOp
//===----------------------------------------------------------------------===//

static Type reducedType(RankedTensorType in, ArrayRef<int64_t> axes,
                        bool keepdims, Type elementType) {
  SmallVector<int64_t> shape;
  for (auto [i, d] : llvm::enumerate(in.getShape())) {
    if (llvm::is_contained(axes, (int64_t)i)) {
      if (keepdims)
        shape.push_back(1);
      continue;
    }
    shape.push_back(d);
  }
  return RankedTensorType::get(shape, elementType);
}

LogicalResult ReduceOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  if (!in)
    return emitOptionalError(loc, "expected a ranked tensor operand");
  if (failed(checkAxes(loc, adaptor.getAxes(), in.getRank())))
    return failure();
  types.push_back(reducedType(in, adaptor.getAxes(), adaptor.getKeepdims(),
                              in.getElementType()));
  return success();
}

OpFoldResult ReduceOp::fold(FoldAdaptor) {
  if (getAxes().empty() && getInput().getType() == getType())
    return getInput();
  return {};
}

LogicalResult ArgReduceOp::inferReturnTypes(MLIRContext *ctx,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  if (!in)
    return emitOptionalError(loc, "expected a ranked tensor operand");
  int64_t axis = adaptor.getAxis();
  if (failed(checkAxes(loc, {axis}, in.getRank())))
    return failure();
  types.push_back(reducedType(in, {axis}, adaptor.getKeepdims(),
                              IntegerType::get(ctx, 64)));
  return success();
}

//===----------------------------------------------------------------------===//
// Softmax
//===----------------------------------------------------------------------===//

static LogicalResult verifyAxis(Operation *op, int64_t axis, int64_t rank) {
  if (axis < 0 || axis >= rank)
    return op->emitOpError("axis ")
           << axis << " is out of range for rank " << rank;
  return success();
}

LogicalResult SoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}
LogicalResult LogSoftmaxOp::verify() {
  return verifyAxis(*this, getAxis(), getType().getRank());
}

//===----------------------------------------------------------------------===//
// Norms
//===----------------------------------------------------------------------===//

/// Checks that an affine parameter has exactly `shape` and `elementType`.
static LogicalResult verifyParam(Operation *op, StringRef name, Value param,
                                 ArrayRef<int64_t> shape, Type elementType) {
  if (!param)
    return success();
  auto t = cast<RankedTensorType>(param.getType());
  if (t.getElementType() != elementType)
    return op->emitOpError() << name << " element type " << t.getElementType()
                             << " differs from the input's " << elementType;
  if (t.getRank() != (int64_t)shape.size() ||
      !llvm::all_of(llvm::zip(t.getShape(), shape), [](auto p) {
        return dimsCompatible(std::get<0>(p), std::get<1>(p));
      }))
    return op->emitOpError() << name << " must have shape " << shapeStr(shape)
                             << ", got " << shapeStr(t.getShape());
  return success();
}

static LogicalResult verifyTrailingNorm(Operation *op, Value input,
                                        int64_t axis, double epsilon,
                                        Value scale, Value bias) {
  auto t = cast<RankedTensorType>(input.getType());
  if (failed(verifyAxis(op, axis, t.getRank())))
    return failure();
  if (!(epsilon >= 0))
    return op->emitOpError("epsilon must be non-negative, got ") << epsilon;
  ArrayRef<int64_t> normShape = t.getShape().drop_front(axis);
  if (failed(verifyParam(op, "scale", scale, normShape, t.getElementType())) ||
      failed(verifyParam(op, "bias", bias, normShape, t.getElementType())))
    return failure();
  return success();
}

LogicalResult LayerNormOp::verify() {
  return verifyTrailingNorm(*this, getInput(), getAxis(),
                            getEpsilon().convertToDouble(), getScale(),
                            getBias());
}

LogicalResult RmsNormOp::verify() {
  return verifyTrailingNorm(*this, getInput(), getAxis(),
                            getEpsilon().convertToDouble(), getScale(), {});
}

LogicalResult GroupNormOp::verify() {
  auto t = cast<RankedTensorType>(getInput().getType());
  if (t.getRank() < 2)
    return emitOpError("input must be [N, C, ...], got rank ") << t.getRank();
  int64_t groups = getNumGroups(), c = t.getDimSize(1);
  if (groups < 1)
    return emitOpError("num_groups must be positive, got ") << groups;
  if (!ShapedType::isDynamic(c) && c % groups != 0)
    return emitOpError("channels (")
           << c << ") are not divisible by num_groups (" << groups << ")";
  if (!(getEpsilon().convertToDouble() >= 0))
    return emitOpError("epsilon must be non-negative");
  if (failed(
          verifyParam(*this, "scale", getScale(), {c}, t.getElementType())) ||
      failed(verifyParam(*this, "bias", getBias(), {c}, t.getElementType())))
    return failure();
  return success();
}
