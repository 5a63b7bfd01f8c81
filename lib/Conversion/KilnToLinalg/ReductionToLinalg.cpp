//===- ReductionToLinalg.cpp - reductions, softmax and norms to linalg ----===//
//
// Statistics (sums, means, variances, softmax denominators) accumulate in
// fp32 at least; softmax subtracts the row maximum; layer norm computes the
// variance from the centered values (two passes), never as E[x^2] - E[x]^2.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

bool isFloat(Type t) { return isa<FloatType>(t); }

/// `shape` with the dimensions in `axes` set to 1.
SmallVector<int64_t> keptShape(ArrayRef<int64_t> shape,
                               ArrayRef<int64_t> axes) {
  SmallVector<int64_t> r(shape);
  for (int64_t a : axes)
    r[a] = 1;
  return r;
}

/// Reduces `x` over `axes` with `kind` into `accElt`, keeping the reduced
/// dimensions as size 1. Means divide by the reduced element count.
Value reduceKeep(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
                 ReduceKind kind, Type accElt, ScalarFn pre = nullptr) {
  auto t = cast<RankedTensorType>(x.getType());
  bool f = isFloat(accElt);
  Value init;
  switch (kind) {
  case ReduceKind::sum:
  case ReduceKind::mean:
    init = scalarConstant(b, loc, accElt, 0.0);
    break;
  case ReduceKind::prod:
    init = scalarConstant(b, loc, accElt, 1.0);
    break;
  case ReduceKind::max:
    init = extremeConstant(b, loc, accElt, /*positive=*/false);
    break;
  case ReduceKind::min:
    init = extremeConstant(b, loc, accElt, /*positive=*/true);
    break;
  }
  auto defaultPre = [&](OpBuilder &nb, Location nl, ValueRange a) {
    return convertScalar(nb, nl, a[0], accElt);
  };
  auto combine = [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
    Value acc = a[0], v = a[1];
    switch (kind) {
    case ReduceKind::sum:
    case ReduceKind::mean:
      return f ? arith::AddFOp::create(nb, nl, acc, v).getResult()
               : arith::AddIOp::create(nb, nl, acc, v).getResult();
    case ReduceKind::prod:
      return f ? arith::MulFOp::create(nb, nl, acc, v).getResult()
               : arith::MulIOp::create(nb, nl, acc, v).getResult();
    case ReduceKind::max:
      return f ? arith::MaximumFOp::create(nb, nl, acc, v).getResult()
               : arith::MaxSIOp::create(nb, nl, acc, v).getResult();
    case ReduceKind::min:
      return f ? arith::MinimumFOp::create(nb, nl, acc, v).getResult()
               : arith::MinSIOp::create(nb, nl, acc, v).getResult();
    }
    llvm_unreachable("unknown reduction");
  };
  Value r = pre ? reduce(b, loc, x, axes, accElt, init, pre, combine)
                : reduce(b, loc, x, axes, accElt, init, defaultPre, combine);
  auto keptType = RankedTensorType::get(keptShape(t.getShape(), axes), accElt);
  r = reshape(b, loc, r, keptType);
  if (kind == ReduceKind::mean) {
    int64_t count = 1;
    for (int64_t a : axes)
      count *= t.getDimSize(a);
    r = elementwise(
        b, loc, keptType, {r},
        [&](OpBuilder &nb, Location nl, ValueRange a) -> Value {
          if (count == 0)
            return a[0];
          Value c = scalarConstant(nb, nl, accElt, count);
          return f ? arith::DivFOp::create(nb, nl, a[0], c).getResult()
                   : arith::DivSIOp::create(nb, nl, a[0], c).getResult();
        });
  }
  return r;
}

SmallVector<int64_t> trailingAxes(int64_t from, int64_t rank) {
  return llvm::to_vector(llvm::seq<int64_t>(from, rank));
}

/// Converts each element of `x` to `to`.
Value convertTensor(OpBuilder &b, Location loc, Value x, Type to) {
  auto t = cast<RankedTensorType>(x.getType());
  if (t.getElementType() == to)
    return x;
  return elementwise(b, loc, RankedTensorType::get(t.getShape(), to), {x},
                     [&](OpBuilder &nb, Location nl, ValueRange a) {
                       return convertScalar(nb, nl, a[0], to);
                     });
}

struct ReducePattern : OpConversionPattern<ReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type et = type.getElementType();
    Value r = reduceKeep(rewriter, loc, adaptor.getInput(), op.getAxes(),
                         op.getKind(), computeType(et));
    r = reshape(rewriter, loc, r,
                RankedTensorType::get(type.getShape(), computeType(et)));
    rewriter.replaceOp(op, convertTensor(rewriter, loc, r, et));
    return success();
  }
};

struct ArgReducePattern : OpConversionPattern<ArgReduceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ArgReduceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value x = adaptor.getInput();
    auto xt = cast<RankedTensorType>(x.getType());
    Type et = xt.getElementType();
    int64_t axis = op.getAxis(), rank = xt.getRank();
    bool isMax = op.getKind() == ArgKind::argmax;
    bool last = op.getSelectLastIndex();
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<int64_t> outShape;
    SmallVector<AffineExpr> outExprs;
    SmallVector<utils::IteratorType> iters;
    for (int64_t i = 0; i < rank; ++i) {
      if (i == axis) {
        iters.push_back(utils::IteratorType::reduction);
        continue;
      }
      iters.push_back(utils::IteratorType::parallel);
      outShape.push_back(xt.getDimSize(i));
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
    AffineMap outMap = AffineMap::get(rank, 0, outExprs, ctx);
    auto valType = RankedTensorType::get(outShape, et);
    auto idxType = RankedTensorType::get(outShape, rewriter.getI64Type());
    Value best = filledTensor(rewriter, loc, valType,
                              extremeConstant(rewriter, loc, et, !isMax));
    Value bestIdx =
        filledTensor(rewriter, loc, idxType,
                     scalarConstant(rewriter, loc, rewriter.getI64Type(), -1));
    auto generic = linalg::GenericOp::create(
        rewriter, loc, TypeRange{valType, idxType}, ValueRange{x},
        ValueRange{best, bestIdx},
        {rewriter.getMultiDimIdentityMap(rank), outMap, outMap}, iters,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = a[0], bv = a[1], bi = a[2];
          Value i = arith::IndexCastOp::create(
              b, l, b.getI64Type(), linalg::IndexOp::create(b, l, axis));
          Value better;
          if (isFloat(et)) {
            auto p = isMax ? (last ? arith::CmpFPredicate::OGE
                                   : arith::CmpFPredicate::OGT)
                           : (last ? arith::CmpFPredicate::OLE
                                   : arith::CmpFPredicate::OLT);
            better = arith::CmpFOp::create(b, l, p, v, bv);
          } else {
            auto p = isMax ? (last ? arith::CmpIPredicate::sge
                                   : arith::CmpIPredicate::sgt)
                           : (last ? arith::CmpIPredicate::sle
                                   : arith::CmpIPredicate::slt);
            better = arith::CmpIOp::create(b, l, p, v, bv);
          }
          // The first element always wins, so a row of extremes (or NaNs)
          // still yields a valid index.
          Value first =
              arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, bi,
                                    scalarConstant(b, l, b.getI64Type(), 0));
          better = arith::OrIOp::create(b, l, better, first);
          linalg::YieldOp::create(
              b, l,
              ValueRange{arith::SelectOp::create(b, l, better, v, bv),
                         arith::SelectOp::create(b, l, better, i, bi)});
        });
    Value r = reshape(rewriter, loc, generic.getResult(1), type);
    rewriter.replaceOp(op, r);
    return success();
  }
};

/// exp(x - max(x)) along `axis`, in fp32, and the max (kept dims).
std::pair<Value, Value> shiftedExp(OpBuilder &b, Location loc, Value x,
                                   int64_t axis, Type accElt) {
  auto t = cast<RankedTensorType>(x.getType());
  Value m = reduceKeep(b, loc, x, {axis}, ReduceKind::max, accElt);
  auto accType = RankedTensorType::get(t.getShape(), accElt);
  Value e = elementwise(b, loc, accType, {x, m},
                        [&](OpBuilder &nb, Location nl, ValueRange a) {
                          Value v = convertScalar(nb, nl, a[0], accElt);
                          return math::ExpOp::create(
                              nb, nl, arith::SubFOp::create(nb, nl, v, a[1]));
                        });
  return {e, m};
}

struct SoftmaxPattern : OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type et = type.getElementType(), acc = computeType(et);
    auto [e, m] = shiftedExp(rewriter, loc, adaptor.getInput(),
                             (int64_t)op.getAxis(), acc);
    Value s = reduceKeep(rewriter, loc, e, {(int64_t)op.getAxis()},
                         ReduceKind::sum, acc);
    Value y =
        elementwise(rewriter, loc, type, {e, s},
                    [&](OpBuilder &b, Location l, ValueRange a) {
                      return convertScalar(
                          b, l, arith::DivFOp::create(b, l, a[0], a[1]), et);
                    });
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct LogSoftmaxPattern : OpConversionPattern<LogSoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LogSoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type et = type.getElementType(), acc = computeType(et);
    Value x = adaptor.getInput();
    auto [e, m] = shiftedExp(rewriter, loc, x, (int64_t)op.getAxis(), acc);
    Value s = reduceKeep(rewriter, loc, e, {(int64_t)op.getAxis()},
                         ReduceKind::sum, acc);
    Value y = elementwise(rewriter, loc, type, {x, m, s},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            Value v = convertScalar(b, l, a[0], acc);
                            Value r = arith::SubFOp::create(
                                b, l, arith::SubFOp::create(b, l, v, a[1]),
                                math::LogOp::create(b, l, a[2]));
                            return convertScalar(b, l, r, et);
                          });
    rewriter.replaceOp(op, y);
    return success();
  }
};

/// Normalizes `x` over `axes` to zero mean and unit variance (fp32 result).
Value standardize(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> axes,
                  double epsilon) {
  auto t = cast<RankedTensorType>(x.getType());
  Type f32 = b.getF32Type();
  auto ft = RankedTensorType::get(t.getShape(), f32);
  Value mean = reduceKeep(b, loc, x, axes, ReduceKind::mean, f32);
  Value d = elementwise(b, loc, ft, {x, mean},
                        [&](OpBuilder &nb, Location l, ValueRange a) {
                          return arith::SubFOp::create(
                              nb, l, convertScalar(nb, l, a[0], f32), a[1]);
                        });
  Value var = reduceKeep(b, loc, d, axes, ReduceKind::mean, f32,
                         [](OpBuilder &nb, Location l, ValueRange a) {
                           return arith::MulFOp::create(nb, l, a[0], a[0]);
                         });
  return elementwise(
      b, loc, ft, {d, var}, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = arith::AddFOp::create(nb, l, a[1],
                                        scalarConstant(nb, l, f32, epsilon));
        return arith::MulFOp::create(nb, l, a[0],
                                     math::RsqrtOp::create(nb, l, v));
      });
}

/// y = n * scale + bias (each optional, broadcast), rounded to `type`.
Value affine(OpBuilder &b, Location loc, RankedTensorType type, Value n,
             Value scale, Value bias) {
  SmallVector<Value> operands{n};
  if (scale)
    operands.push_back(scale);
  if (bias)
    operands.push_back(bias);
  Type f32 = b.getF32Type();
  return elementwise(
      b, loc, type, operands, [&](OpBuilder &nb, Location l, ValueRange a) {
        Value v = a[0];
        size_t i = 1;
        if (scale)
          v = arith::MulFOp::create(nb, l, v,
                                    convertScalar(nb, l, a[i++], f32));
        if (bias)
          v = arith::AddFOp::create(nb, l, v,
                                    convertScalar(nb, l, a[i++], f32));
        return convertScalar(nb, l, v, type.getElementType());
      });
}

struct LayerNormPattern : OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    Value n = standardize(rewriter, op.getLoc(), adaptor.getInput(),
                          trailingAxes(op.getAxis(), type.getRank()),
                          op.getEpsilon().convertToDouble());
    rewriter.replaceOp(op, affine(rewriter, op.getLoc(), type, n,
                                  adaptor.getScale(), adaptor.getBias()));
    return success();
  }
};

struct RmsNormPattern : OpConversionPattern<RmsNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RmsNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type f32 = rewriter.getF32Type();
    Value x = adaptor.getInput();
    Value ms = reduceKeep(
        rewriter, loc, x, trailingAxes(op.getAxis(), type.getRank()),
        ReduceKind::mean, f32, [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = convertScalar(b, l, a[0], f32);
          return arith::MulFOp::create(b, l, v, v);
        });
    double eps = op.getEpsilon().convertToDouble();
    Value n = elementwise(
        rewriter, loc, RankedTensorType::get(type.getShape(), f32), {x, ms},
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v =
              arith::AddFOp::create(b, l, a[1], scalarConstant(b, l, f32, eps));
          return arith::MulFOp::create(b, l, convertScalar(b, l, a[0], f32),
                                       math::RsqrtOp::create(b, l, v));
        });
    rewriter.replaceOp(
        op, affine(rewriter, loc, type, n, adaptor.getScale(), Value()));
    return success();
  }
};

struct GroupNormPattern : OpConversionPattern<GroupNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GroupNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    int64_t n = type.getDimSize(0), c = type.getDimSize(1),
            g = op.getNumGroups();
    int64_t rest = type.getNumElements() / std::max<int64_t>(n * g, 1);
    Value x =
        reshape(rewriter, loc, adaptor.getInput(),
                RankedTensorType::get({n, g, rest}, type.getElementType()));
    Value norm =
        standardize(rewriter, loc, x, {2}, op.getEpsilon().convertToDouble());
    norm =
        reshape(rewriter, loc, norm,
                RankedTensorType::get(type.getShape(), rewriter.getF32Type()));
    // Per-channel affine parameters broadcast as [C, 1, ...].
    auto perChannel = [&](Value p) -> Value {
      if (!p)
        return p;
      SmallVector<int64_t> shape{c};
      shape.append(type.getRank() - 2, 1);
      return reshape(rewriter, loc, p,
                     RankedTensorType::get(shape, type.getElementType()));
    };
    rewriter.replaceOp(op, affine(rewriter, loc, type, norm,
                                  perChannel(adaptor.getScale()),
                                  perChannel(adaptor.getBias())));
    return success();
  }
};

} // namespace

void lowering::populateReductionToLinalgPatterns(RewritePatternSet &patterns) {
  patterns
      .add<ReducePattern, ArgReducePattern, SoftmaxPattern, LogSoftmaxPattern,
           LayerNormPattern, RmsNormPattern, GroupNormPattern>(
          patterns.getContext());
}
