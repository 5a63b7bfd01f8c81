//===- Utils.cpp - helpers shared by the kiln-to-linalg patterns ----------===//

#include "Utils.h"

#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

Value lowering::emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(),
                                 type.getElementType());
}

Value lowering::filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                             Value value) {
  Value empty = emptyTensor(b, loc, type);
  return linalg::FillOp::create(b, loc, value, empty).getResult(0);
}

AffineMap lowering::broadcastMap(MLIRContext *ctx,
                                 ArrayRef<int64_t> operandShape,
                                 ArrayRef<int64_t> resultShape) {
  SmallVector<AffineExpr> exprs;
  size_t offset = resultShape.size() - operandShape.size();
  for (auto [i, d] : llvm::enumerate(operandShape)) {
    if (d == 1 && resultShape[offset + i] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(offset + i, ctx));
  }
  return AffineMap::get(resultShape.size(), 0, exprs, ctx);
}

Value lowering::elementwise(OpBuilder &b, Location loc,
                            RankedTensorType resultType, ValueRange operands,
                            ScalarFn body) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value v : operands)
    maps.push_back(broadcastMap(ctx,
                                cast<RankedTensorType>(v.getType()).getShape(),
                                resultType.getShape()));
  maps.push_back(b.getMultiDimIdentityMap(resultType.getRank()));
  SmallVector<utils::IteratorType> iterators(resultType.getRank(),
                                             utils::IteratorType::parallel);
  Value init = emptyTensor(b, loc, resultType);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, operands, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value r = body(nb, nloc, args.drop_back());
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
}

bool lowering::isNarrowFloat(Type t) {
  return isa<FloatType>(t) && cast<FloatType>(t).getWidth() < 32;
}

Type lowering::computeType(Type t) {
  return isNarrowFloat(t) ? Float32Type::get(t.getContext()) : t;
}

RankedTensorType lowering::signlessType(RankedTensorType t) {
  auto it = dyn_cast<IntegerType>(t.getElementType());
  if (!it || it.isSignless())
    return t;
  return RankedTensorType::get(t.getShape(),
                               IntegerType::get(t.getContext(), it.getWidth()));
}

Value lowering::clampIndex(OpBuilder &b, Location loc, Value v, int64_t dim) {
  Value i = arith::IndexCastOp::create(b, loc, b.getIndexType(), v);
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value n = arith::ConstantIndexOp::create(b, loc, dim);
  Value neg = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, loc, neg, arith::AddIOp::create(b, loc, i, n),
                              i);
  i = arith::MaxSIOp::create(b, loc, i, zero);
  return arith::MinSIOp::create(
      b, loc, i,
      arith::ConstantIndexOp::create(b, loc, std::max<int64_t>(dim - 1, 0)));
}

Value lowering::convertScalar(OpBuilder &b, Location loc, Value v, Type to,
                              bool isUnsigned, bool toUnsigned) {
  Type from = v.getType();
  if (from == to)
    return v;
  auto fromF = dyn_cast<FloatType>(from);
  auto toF = dyn_cast<FloatType>(to);
  auto fromI = dyn_cast<IntegerType>(from);
  auto toI = dyn_cast<IntegerType>(to);
  if (fromF && toF)
    return fromF.getWidth() < toF.getWidth()
               ? arith::ExtFOp::create(b, loc, to, v).getResult()
               : arith::TruncFOp::create(b, loc, to, v).getResult();
  if (fromI && toF) {
    if (isUnsigned || fromI.getWidth() == 1)
      return arith::UIToFPOp::create(b, loc, to, v);
    return arith::SIToFPOp::create(b, loc, to, v);
  }
  if (fromF && toI) {
    if (toI.getWidth() == 1) {
      Value zero = scalarConstant(b, loc, from, 0.0);
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, v, zero);
    }
    if (toUnsigned)
      return arith::FPToUIOp::create(b, loc, to, v);
    return arith::FPToSIOp::create(b, loc, to, v);
  }
  if (fromI && toI) {
    if (toI.getWidth() == 1) {
      Value zero = scalarConstant(b, loc, from, 0.0);
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, v, zero);
    }
    if (fromI.getWidth() > toI.getWidth())
      return arith::TruncIOp::create(b, loc, to, v);
    if (isUnsigned || fromI.getWidth() == 1)
      return arith::ExtUIOp::create(b, loc, to, v);
    return arith::ExtSIOp::create(b, loc, to, v);
  }
  llvm_unreachable("unsupported scalar conversion");
}

Value lowering::scalarConstant(OpBuilder &b, Location loc, Type type,
                               double value) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(ft, value));
  return arith::ConstantOp::create(
      b, loc, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value lowering::extremeConstant(OpBuilder &b, Location loc, Type type,
                                bool positive) {
  if (auto ft = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(ft, APFloat::getInf(ft.getFloatSemantics(), !positive)));
  unsigned width = cast<IntegerType>(type).getWidth();
  APInt v = positive ? APInt::getSignedMaxValue(width)
                     : APInt::getSignedMinValue(width);
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, v));
}

Value lowering::reshape(OpBuilder &b, Location loc, Value v,
                        RankedTensorType type) {
  auto from = cast<RankedTensorType>(v.getType());
  if (from == type)
    return v;
  // Prefer a single collapse or expand when the shapes allow it.
  if (auto assoc = getReassociationIndicesForReshape(from, type)) {
    if (from.getRank() > type.getRank())
      return tensor::CollapseShapeOp::create(b, loc, type, v, *assoc);
    if (from.getRank() < type.getRank())
      return tensor::ExpandShapeOp::create(b, loc, type, v, *assoc);
  }
  Value flat = v;
  auto flatType =
      RankedTensorType::get({from.getNumElements()}, from.getElementType());
  if (from.getRank() != 1) {
    SmallVector<ReassociationIndices> all(1);
    for (int64_t i = 0; i < from.getRank(); ++i)
      all[0].push_back(i);
    if (from.getRank() == 0)
      all.clear();
    flat = from.getRank() == 0
               ? tensor::ExpandShapeOp::create(b, loc, flatType, v, all)
                     .getResult()
               : tensor::CollapseShapeOp::create(b, loc, flatType, v, all)
                     .getResult();
  }
  if (type.getRank() == 1)
    return flat;
  SmallVector<ReassociationIndices> all(1);
  for (int64_t i = 0; i < type.getRank(); ++i)
    all[0].push_back(i);
  if (type.getRank() == 0)
    return tensor::CollapseShapeOp::create(b, loc, type, flat,
                                           ArrayRef<ReassociationIndices>{});
  return tensor::ExpandShapeOp::create(b, loc, type, flat, all);
}

Value lowering::reduce(OpBuilder &b, Location loc, Value input,
                       ArrayRef<int64_t> axes, Type accType, Value init,
                       ScalarFn pre, ScalarFn combine) {
  auto inType = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> outShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<utils::IteratorType> iterators;
  for (int64_t i = 0; i < inType.getRank(); ++i) {
    if (llvm::is_contained(axes, i)) {
      iterators.push_back(utils::IteratorType::reduction);
      continue;
    }
    iterators.push_back(utils::IteratorType::parallel);
    outShape.push_back(inType.getDimSize(i));
    outExprs.push_back(getAffineDimExpr(i, ctx));
  }
  auto outType = RankedTensorType::get(outShape, accType);
  Value acc = filledTensor(b, loc, outType, init);
  SmallVector<AffineMap> maps{
      b.getMultiDimIdentityMap(inType.getRank()),
      AffineMap::get(inType.getRank(), 0, outExprs, ctx)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{outType}, ValueRange{input}, ValueRange{acc}, maps,
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        Value x = pre(nb, nloc, args[0]);
        Value r = combine(nb, nloc, {args[1], x});
        linalg::YieldOp::create(nb, nloc, r);
      });
  return generic.getResult(0);
}

Value lowering::toType(OpBuilder &b, Location loc, Value v,
                       RankedTensorType type) {
  Type et = type.getElementType();
  if (et == getElementTypeOrSelf(v.getType()))
    return v;
  return elementwise(b, loc, type, {v},
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       return convertScalar(nb, l, a[0], et);
                     });
}

LogicalResult
lowering::requireStaticShapes(Operation *op,
                              ConversionPatternRewriter &rewriter) {
  auto isDynamic = [](Type t) {
    auto rt = dyn_cast<RankedTensorType>(t);
    return rt && !rt.hasStaticShape();
  };
  if (llvm::any_of(op->getOperandTypes(), isDynamic) ||
      llvm::any_of(op->getResultTypes(), isDynamic))
    return rewriter.notifyMatchFailure(op, "dynamic shapes");
  return success();
}

Value lowering::padTensor(OpBuilder &b, Location loc, Value x,
                          ArrayRef<int64_t> low, ArrayRef<int64_t> high,
                          Value value) {
  auto t = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> shape(t.getShape());
  for (size_t i = 0; i < shape.size(); ++i)
    shape[i] += low[i] + high[i];
  MLIRContext *ctx = b.getContext();
  return tensor::PadOp::create(b, loc,
                               RankedTensorType::get(shape, t.getElementType()),
                               x, getAsIndexOpFoldResult(ctx, low),
                               getAsIndexOpFoldResult(ctx, high), value);
}

Value lowering::extractSlice(OpBuilder &b, Location loc, Value v,
                             ArrayRef<int64_t> offsets,
                             ArrayRef<int64_t> sizes) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> strides(t.getRank(), 1);
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(sizes, t.getElementType()), v, ValueRange{},
      ValueRange{}, ValueRange{}, offsets, sizes, strides);
}

Value lowering::insertSlice(OpBuilder &b, Location loc, Value v, Value into,
                            ArrayRef<int64_t> offsets) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> strides(t.getRank(), 1);
  return tensor::InsertSliceOp::create(b, loc, v, into, ValueRange{},
                                       ValueRange{}, ValueRange{}, offsets,
                                       t.getShape(), strides);
}
