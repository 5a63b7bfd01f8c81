//===- ElementwiseOps.cpp - elementwise kiln ops --------------------------===//

#include "OpUtils.h"

#include "mlir/Dialect/CommonFolders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/APSInt.h"

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

/// Folds `lhs op rhs` elementwise (with broadcasting) when both are small
/// constants; `intFn`/`floatFn` may return nullopt to give up.
template <typename IntFn, typename FloatFn>
static OpFoldResult foldConstants(Operation *op, ArrayRef<Attribute> operands,
                                  IntFn intFn, FloatFn floatFn) {
  auto type = cast<RankedTensorType>(op->getResult(0).getType());
  Type et = type.getElementType();
  return foldBroadcast(operands, type, [&](ArrayRef<Attribute> a) -> Attribute {
    if (auto fa = dyn_cast<FloatAttr>(a[0])) {
      std::optional<APFloat> r =
          floatFn(fa.getValue(), cast<FloatAttr>(a[1]).getValue());
      return r ? FloatAttr::get(et, *r) : Attribute();
    }
    std::optional<APInt> r = intFn(cast<IntegerAttr>(a[0]).getValue(),
                                   cast<IntegerAttr>(a[1]).getValue());
    return r ? IntegerAttr::get(et, *r) : Attribute();
  });
}

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a + b;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return a + b;
      });
}

OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a - b;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return a - b;
      });
}

OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a * b;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return a * b;
      });
}

OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  // Integer division by zero (and INT_MIN / -1) is left to run time, where
  // kiln defines it; never fold it.
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        if (b.isZero() || (b.isAllOnes() && a.isMinSignedValue()))
          return std::nullopt;
        return a.sdiv(b);
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return a / b;
      });
}

OpFoldResult PowOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return {};
}

OpFoldResult MaxOp::fold(FoldAdaptor adaptor) {
  if (getLhs() == getRhs() && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a.sge(b) ? a : b;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return llvm::maximum(a, b);
      });
}

OpFoldResult MinOp::fold(FoldAdaptor adaptor) {
  if (getLhs() == getRhs() && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a.sle(b) ? a : b;
      },
      [](const APFloat &a, const APFloat &b) -> std::optional<APFloat> {
        return llvm::minimum(a, b);
      });
}

static std::optional<APFloat> noFloat(const APFloat &, const APFloat &) {
  return std::nullopt;
}

OpFoldResult AndOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 1) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a & b;
      },
      noFloat);
}

OpFoldResult OrOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a | b;
      },
      noFloat);
}

OpFoldResult XorOp::fold(FoldAdaptor adaptor) {
  if (isSplatOf(adaptor.getRhs(), 0) && getLhs().getType() == getType())
    return getLhs();
  return foldConstants(
      *this, adaptor.getOperands(),
      [](const APInt &a, const APInt &b) -> std::optional<APInt> {
        return a ^ b;
      },
      noFloat);
}

OpFoldResult CmpOp::fold(FoldAdaptor adaptor) {
  auto type = cast<RankedTensorType>(getType());
  CmpPredicate pred = getPredicate();
  return foldBroadcast(
      adaptor.getOperands(), type, [&](ArrayRef<Attribute> a) -> Attribute {
        int c; // -1, 0, 1; 2 for unordered
        if (auto fa = dyn_cast<FloatAttr>(a[0])) {
          APFloat::cmpResult r =
              fa.getValue().compare(cast<FloatAttr>(a[1]).getValue());
          c = r == APFloat::cmpLessThan      ? -1
              : r == APFloat::cmpEqual       ? 0
              : r == APFloat::cmpGreaterThan ? 1
                                             : 2;
        } else {
          const APInt &x = cast<IntegerAttr>(a[0]).getValue();
          const APInt &y = cast<IntegerAttr>(a[1]).getValue();
          c = x.slt(y) ? -1 : x == y ? 0 : 1;
        }
        bool v = false;
        switch (pred) {
        case CmpPredicate::eq:
          v = c == 0;
          break;
        case CmpPredicate::ne:
          v = c != 0;
          break;
        case CmpPredicate::lt:
          v = c == -1;
          break;
        case CmpPredicate::le:
          v = c == -1 || c == 0;
          break;
        case CmpPredicate::gt:
          v = c == 1;
          break;
        case CmpPredicate::ge:
          v = c == 1 || c == 0;
          break;
        }
        return IntegerAttr::get(type.getElementType(), v);
      });
}

OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  return foldBroadcast(adaptor.getInput(), cast<RankedTensorType>(getType()),
                       [](ArrayRef<Attribute> a) -> Attribute {
                         if (auto f = dyn_cast<FloatAttr>(a[0]))
                           return FloatAttr::get(f.getType(), -f.getValue());
                         auto i = cast<IntegerAttr>(a[0]);
                         return IntegerAttr::get(i.getType(), -i.getValue());
                       });
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
  return foldBroadcast(adaptor.getOperands(), cast<RankedTensorType>(getType()),
                       [](ArrayRef<Attribute> a) -> Attribute {
                         return cast<IntegerAttr>(a[0]).getValue().isZero()
                                    ? a[2]
                                    : a[1];
                       });
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
  // Small constants (shape computations).
  auto type = cast<RankedTensorType>(getType());
  Type to = type.getElementType();
  return foldBroadcast(
      adaptor.getInput(), type, [&](ArrayRef<Attribute> a) -> Attribute {
        auto toInt = dyn_cast<IntegerType>(to);
        if (auto ia = dyn_cast<IntegerAttr>(a[0])) {
          APInt v = ia.getValue();
          // i1 and unsigned sources (ui8, ui4) widen with zeros.
          bool zeroExtend =
              ia.getType().isInteger(1) || ia.getType().isUnsignedInteger();
          if (toInt) {
            unsigned width = toInt.getWidth();
            APInt r = width == 1   ? APInt(1, !v.isZero())
                      : zeroExtend ? v.zextOrTrunc(width)
                                   : v.sextOrTrunc(width);
            return IntegerAttr::get(to, r);
          }
          APFloat f(cast<FloatType>(to).getFloatSemantics());
          f.convertFromAPInt(v, /*isSigned=*/!zeroExtend,
                             APFloat::rmNearestTiesToEven);
          return FloatAttr::get(to, f);
        }
        APFloat f = cast<FloatAttr>(a[0]).getValue();
        if (toInt) {
          if (toInt.getWidth() == 1)
            return IntegerAttr::get(to, !f.isZero());
          APSInt r(toInt.getWidth(), toInt.isUnsigned());
          bool exact;
          // Truncation toward zero is the cast; NaN or overflow: give up.
          if (f.convertToInteger(r, APFloat::rmTowardZero, &exact) ==
              APFloat::opInvalidOp)
            return {};
          return IntegerAttr::get(to, r);
        }
        bool loses;
        f.convert(cast<FloatType>(to).getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &loses);
        return FloatAttr::get(to, f);
      });
}
