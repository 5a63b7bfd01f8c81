//===- ElementwiseOps.cpp - elementwise kiln ops --------------------------===//

#include "OpUtils.h"

#include "mlir/Dialect/CommonFolders.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

//===----------------------------------------------------------------------===//
// Broadcast type inference
//===----------------------------------------------------------------------===//

/// Infers the broadcast result of `operands` with element type `elementType`
/// (the first operand's when null).
static LogicalResult inferBroadcast(std::optional<Location> loc,
                                    ValueRange operands, Type elementType,
                                    SmallVectorImpl<Type> &types) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (Value v : operands) {
    RankedTensorType t = rankedType(v);
    if (!t)
      return emitOptionalError(loc, "expected ranked tensor operands");
    shapes.push_back(t.getShape());
  }
  SmallVector<int64_t> shape;
  if (failed(broadcastShapes(shapes, shape))) {
    std::string msg;
    for (auto [i, s] : llvm::enumerate(shapes))
      msg += (i ? ", " : "") + shapeStr(s);
    return emitOptionalError(loc, "operand shapes do not broadcast: ", msg);
  }
  if (!elementType)
    elementType = rankedType(operands.front()).getElementType();
  types.push_back(RankedTensorType::get(shape, elementType));
  return success();
}

#define KILN_BINARY_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &types) {                                          \
    return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()}, {},       \
                          types);                                              \
  }
KILN_BINARY_INFER(AddOp)
KILN_BINARY_INFER(SubOp)
KILN_BINARY_INFER(MulOp)
KILN_BINARY_INFER(DivOp)
KILN_BINARY_INFER(PowOp)
KILN_BINARY_INFER(MaxOp)
KILN_BINARY_INFER(MinOp)
KILN_BINARY_INFER(AndOp)
KILN_BINARY_INFER(OrOp)
KILN_BINARY_INFER(XorOp)
#undef KILN_BINARY_INFER

LogicalResult CmpOp::inferReturnTypes(MLIRContext *ctx,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  return inferBroadcast(loc, {adaptor.getLhs(), adaptor.getRhs()},
                        IntegerType::get(ctx, 1), types);
}

LogicalResult SelectOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  RankedTensorType t = rankedType(adaptor.getTrueValue());
  if (!t)
    return emitOptionalError(loc, "expected ranked tensor operands");
  return inferBroadcast(
      loc,
      {adaptor.getCondition(), adaptor.getTrueValue(), adaptor.getFalseValue()},
      t.getElementType(), types);
}

//===----------------------------------------------------------------------===//
// Folders
//===----------------------------------------------------------------------===//

/// True when `attr` is a splat constant equal to `value`.
static bool isSplatOf(Attribute attr, double value) {
  auto splat = dyn_cast_or_null<SplatElementsAttr>(attr);
  if (!splat)
    return false;
  Type et = splat.getElementType();
  if (isa<FloatType>(et))
    return splat.getSplatValue<APFloat>().convertToDouble() == value;
  if (et.isInteger(1))
    return splat.getSplatValue<bool>() == (value != 0);
  if (isa<IntegerType>(et))
    return splat.getSplatValue<APInt>().getSExtValue() == value;
  return false;
}

/// Folds `lhs op rhs` when both are constants of the result's type and the
/// result is small enough to stay an inline constant.
template <typename IntFn, typename FloatFn>
static OpFoldResult foldConstants(Operation *op, ArrayRef<Attribute> operands,
                                  IntFn intFn, FloatFn floatFn) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  if (!type.hasStaticShape())
    return {};
  for (Attribute a : operands) {
    auto dense = dyn_cast_or_null<DenseElementsAttr>(a);
    if (!dense || dense.getType() != type)
      return {};
  }
  Attribute folded;
  if (isa<FloatType>(type.getElementType()))
    folded = constFoldBinaryOp<FloatAttr, APFloat, void>(operands, floatFn);
  else if (type.getElementType().isSignlessInteger())
    folded = constFoldBinaryOp<IntegerAttr, APInt, void>(operands, intFn);
  if (!isFoldableConstant(folded))
    return {};
  return folded;
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) { return a + b; },
      [](const APFloat &a, const APFloat &b) { return a + b; });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) { return a - b; },
      [](const APFloat &a, const APFloat &b) { return a - b; });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) { return a * b; },
      [](const APFloat &a, const APFloat &b) { return a * b; });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  // Integer division by zero is left to run time (where it is defined to
  // give 0 rather than trap); never fold it.
  bool divByZero = false;
  OpFoldResult r = foldConstants(
      *this, adaptor.getOperands(),
      [&](const APInt &a, const APInt &b) {
        if (b.isZero()) {
          divByZero = true;
          return a;
        }
        return a.sdiv(b);
      },
      [](const APFloat &a, const APFloat &b) { return a / b; });
  return divByZero ? OpFoldResult() : r;
}

OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  if (getLhs() == getRhs() && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  if (getLhs() == getRhs() && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult AndOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult OrOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult XorOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult SelectOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getCondition(), 1) &&
      getTrueValue().getType() == getType())
    return getTrueValue();
  if (isSplatOf(adaptor.getCondition(), 0) &&
      getFalseValue().getType() == getType())
    return getFalseValue();
  if (getTrueValue() == getFalseValue() &&
      getTrueValue().getType() == getType())
    return getTrueValue();
  return {};
}

//===----------------------------------------------------------------------===//
// Unary ops with attributes
//===----------------------------------------------------------------------===//

LogicalResult ClampOp::verify() {
  if (getMin() && getMax() &&
      getMin()->convertToDouble() > getMax()->convertToDouble())
    return emitOpError("min (")
           << getMin()->convertToDouble() << ") exceeds max ("
           << getMax()->convertToDouble() << ")";
  return success();
}

LogicalResult CastOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  if (in.getRank() != out.getRank() ||
      !llvm::all_of(llvm::zip(in.getShape(), out.getShape()), [](auto p) {
        return dimsCompatible(std::get<0>(p), std::get<1>(p));
      }))
    return emitOpError("changes the shape from ")
           << shapeStr(in.getShape()) << " to " << shapeStr(out.getShape())
           << "; a cast only converts the element type";
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  // Integer to integer casts of small constants (shape computations).
  auto dense = dyn_cast_or_null<DenseIntElementsAttr>(adaptor.getInput());
  auto outType = cast<RankedTensorType>(getType());
  auto outInt = dyn_cast<IntegerType>(outType.getElementType());
  if (dense && outInt && outInt.getWidth() > 1 && outType.hasStaticShape() &&
      !dense.getElementType().isInteger(1) && isFoldableConstant(dense)) {
    unsigned width = outInt.getWidth();
    return dense.mapValues(
        outInt, [&](const APInt &v) { return v.sextOrTrunc(width); });
  }
  return {};
}
