//===- ElementwiseToLinalg.cpp - elementwise kiln ops to linalg.generic ---===//
//
// Every elementwise op becomes one linalg.generic over its (broadcast) result
// shape; the kernels stage fuses chains of them. Narrow floats (f16, bf16)
// compute in f32 and round once at the end.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Applies `fn` in the compute type of `et`: extends narrow float scalars to
/// f32, computes, and rounds the result back.
Value inComputeType(OpBuilder &b, Location loc, Type et, ValueRange args,
                    function_ref<Value(ValueRange)> fn) {
  Type ct = computeType(et);
  SmallVector<Value> wide;
  for (Value a : args)
    wide.push_back(a.getType() == et ? convertScalar(b, loc, a, ct) : a);
  Value r = fn(wide);
  return r.getType() == ct && ct != et ? convertScalar(b, loc, r, et) : r;
}

Value cst(OpBuilder &b, Location loc, Value like, double v) {
  return scalarConstant(b, loc, like.getType(), v);
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = cst(b, loc, x, 1.0);
  Value e = math::ExpOp::create(b, loc, arith::NegFOp::create(b, loc, x));
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, e));
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

/// Lowers a unary op whose scalar semantics `fn` computes (in the compute
/// type).
template <typename OpTy> struct UnaryPattern : OpConversionPattern<OpTy> {
  using Fn = Value (*)(OpBuilder &, Location, Value);
  UnaryPattern(MLIRContext *ctx, Fn fn)
      : OpConversionPattern<OpTy>(ctx), fn(fn) {}

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    Type et = type.getElementType();
    Value r =
        elementwise(rewriter, op.getLoc(), type, {adaptor.getInput()},
                    [&](OpBuilder &b, Location loc, ValueRange args) {
                      return inComputeType(b, loc, et, args, [&](ValueRange w) {
                        return fn(b, loc, w[0]);
                      });
                    });
    rewriter.replaceOp(op, r);
    return success();
  }
  Fn fn;
};

bool isFloat(Value v) { return isa<FloatType>(v.getType()); }

Value negFn(OpBuilder &b, Location loc, Value x) {
  if (isFloat(x))
    return arith::NegFOp::create(b, loc, x);
  return arith::SubIOp::create(b, loc, cst(b, loc, x, 0), x);
}
Value absFn(OpBuilder &b, Location loc, Value x) {
  if (isFloat(x))
    return math::AbsFOp::create(b, loc, x);
  return math::AbsIOp::create(b, loc, x);
}
Value expFn(OpBuilder &b, Location loc, Value x) {
  return math::ExpOp::create(b, loc, x);
}
Value logFn(OpBuilder &b, Location loc, Value x) {
  return math::LogOp::create(b, loc, x);
}
Value sqrtFn(OpBuilder &b, Location loc, Value x) {
  return math::SqrtOp::create(b, loc, x);
}
Value rsqrtFn(OpBuilder &b, Location loc, Value x) {
  return math::RsqrtOp::create(b, loc, x);
}
Value reciprocalFn(OpBuilder &b, Location loc, Value x) {
  return arith::DivFOp::create(b, loc, cst(b, loc, x, 1.0), x);
}
Value tanhFn(OpBuilder &b, Location loc, Value x) {
  return math::TanhOp::create(b, loc, x);
}
Value erfFn(OpBuilder &b, Location loc, Value x) {
  return math::ErfOp::create(b, loc, x);
}
Value sigmoidFn(OpBuilder &b, Location loc, Value x) {
  return sigmoid(b, loc, x);
}
Value reluFn(OpBuilder &b, Location loc, Value x) {
  if (isFloat(x))
    return arith::MaximumFOp::create(b, loc, x, cst(b, loc, x, 0.0));
  return arith::MaxSIOp::create(b, loc, x, cst(b, loc, x, 0));
}
Value siluFn(OpBuilder &b, Location loc, Value x) {
  return arith::MulFOp::create(b, loc, x, sigmoid(b, loc, x));
}
/// softplus(x) = max(x, 0) + log1p(exp(-|x|)): exact and overflow-free.
Value softplusFn(OpBuilder &b, Location loc, Value x) {
  Value pos = arith::MaximumFOp::create(b, loc, x, cst(b, loc, x, 0.0));
  Value negAbs = arith::NegFOp::create(b, loc, math::AbsFOp::create(b, loc, x));
  Value l = math::Log1pOp::create(b, loc, math::ExpOp::create(b, loc, negAbs));
  return arith::AddFOp::create(b, loc, pos, l);
}
Value sinFn(OpBuilder &b, Location loc, Value x) {
  return math::SinOp::create(b, loc, x);
}
Value cosFn(OpBuilder &b, Location loc, Value x) {
  return math::CosOp::create(b, loc, x);
}
Value floorFn(OpBuilder &b, Location loc, Value x) {
  return math::FloorOp::create(b, loc, x);
}
Value ceilFn(OpBuilder &b, Location loc, Value x) {
  return math::CeilOp::create(b, loc, x);
}
Value roundFn(OpBuilder &b, Location loc, Value x) {
  return math::RoundEvenOp::create(b, loc, x);
}
Value signFn(OpBuilder &b, Location loc, Value x) {
  Value zero = cst(b, loc, x, 0), one = cst(b, loc, x, 1),
        minus = cst(b, loc, x, -1);
  Value gt, lt;
  if (isFloat(x)) {
    gt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT, x, zero);
    lt = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT, x, zero);
  } else {
    gt = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt, x, zero);
    lt = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, x, zero);
  }
  // NaN stays NaN: x * 0 keeps it, and 0 * 0 is the zero result.
  Value rest =
      isFloat(x) ? arith::MulFOp::create(b, loc, x, zero).getResult() : zero;
  return arith::SelectOp::create(
      b, loc, gt, one, arith::SelectOp::create(b, loc, lt, minus, rest));
}
Value atanFn(OpBuilder &b, Location loc, Value x) {
  return math::AtanOp::create(b, loc, x);
}
Value notFn(OpBuilder &b, Location loc, Value x) {
  return arith::XOrIOp::create(b, loc, x, cst(b, loc, x, 1));
}

//===----------------------------------------------------------------------===//
// Unary ops with attributes
//===----------------------------------------------------------------------===//

struct GeluPattern : OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    bool tanhApprox = op.getApproximate() == GeluApproximation::tanh;
    Value r = elementwise(
        rewriter, op.getLoc(), type, {adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return inComputeType(
              b, loc, type.getElementType(), args, [&](ValueRange w) -> Value {
                Value x = w[0];
                Value half = cst(b, loc, x, 0.5), one = cst(b, loc, x, 1.0);
                Value inner;
                if (tanhApprox) {
                  // sqrt(2/pi) * (x + 0.044715 x^3)
                  Value x3 = arith::MulFOp::create(
                      b, loc, x, arith::MulFOp::create(b, loc, x, x));
                  Value poly = arith::AddFOp::create(
                      b, loc, x,
                      arith::MulFOp::create(b, loc, cst(b, loc, x, 0.044715),
                                            x3));
                  inner = math::TanhOp::create(
                      b, loc,
                      arith::MulFOp::create(
                          b, loc, cst(b, loc, x, 0.7978845608028654), poly));
                } else {
                  inner = math::ErfOp::create(
                      b, loc,
                      arith::MulFOp::create(
                          b, loc, x, cst(b, loc, x, 0.7071067811865476)));
                }
                Value t = arith::AddFOp::create(b, loc, one, inner);
                return arith::MulFOp::create(
                    b, loc, arith::MulFOp::create(b, loc, half, x), t);
              });
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct ClampPattern : OpConversionPattern<ClampOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ClampOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    std::optional<double> lo, hi;
    if (op.getMin())
      lo = op.getMin()->convertToDouble();
    if (op.getMax())
      hi = op.getMax()->convertToDouble();
    Value r = elementwise(
        rewriter, op.getLoc(), type, {adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return inComputeType(
              b, loc, type.getElementType(), args, [&](ValueRange w) -> Value {
                Value x = w[0];
                if (isFloat(x)) {
                  if (lo)
                    x = arith::MaximumFOp::create(b, loc, x,
                                                  cst(b, loc, x, *lo));
                  if (hi)
                    x = arith::MinimumFOp::create(b, loc, x,
                                                  cst(b, loc, x, *hi));
                  return x;
                }
                if (lo)
                  x = arith::MaxSIOp::create(b, loc, x, cst(b, loc, x, *lo));
                if (hi)
                  x = arith::MinSIOp::create(b, loc, x, cst(b, loc, x, *hi));
                return x;
              });
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct LeakyReluPattern : OpConversionPattern<LeakyReluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LeakyReluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    double alpha = op.getAlpha().convertToDouble();
    Value r = elementwise(
        rewriter, op.getLoc(), type, {adaptor.getInput()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return inComputeType(
              b, loc, type.getElementType(), args, [&](ValueRange w) -> Value {
                Value x = w[0];
                Value neg =
                    arith::MulFOp::create(b, loc, x, cst(b, loc, x, alpha));
                Value ge = arith::CmpFOp::create(
                    b, loc, arith::CmpFPredicate::UGE, x, cst(b, loc, x, 0.0));
                return arith::SelectOp::create(b, loc, ge, x, neg);
              });
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct CastPattern : OpConversionPattern<CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    // Unsigned types arrive as signless values; the op's types say how to
    // read and write their bits.
    auto origType = cast<RankedTensorType>(op.getType());
    auto type = signlessType(origType);
    bool fromUnsigned = cast<RankedTensorType>(op.getInput().getType())
                            .getElementType()
                            .isUnsignedInteger();
    bool toUnsigned = origType.getElementType().isUnsignedInteger();
    Value r = elementwise(rewriter, op.getLoc(), type, {adaptor.getInput()},
                          [&](OpBuilder &b, Location loc, ValueRange args) {
                            return convertScalar(b, loc, args[0],
                                                 type.getElementType(),
                                                 fromUnsigned, toUnsigned);
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Binary ops
//===----------------------------------------------------------------------===//

/// Integer division that never traps: x / 0 gives 0 and INT_MIN / -1 wraps.
Value safeDivSI(OpBuilder &b, Location loc, Value x, Value y) {
  Value zero = cst(b, loc, y, 0), one = cst(b, loc, y, 1),
        minusOne = cst(b, loc, y, -1);
  Value isZero =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y, zero);
  Value isMinusOne =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, y, minusOne);
  Value special = arith::OrIOp::create(b, loc, isZero, isMinusOne);
  Value divisor = arith::SelectOp::create(b, loc, special, one, y);
  Value q = arith::DivSIOp::create(b, loc, x, divisor);
  Value neg = arith::SubIOp::create(b, loc, zero, x);
  q = arith::SelectOp::create(b, loc, isMinusOne, neg, q);
  return arith::SelectOp::create(b, loc, isZero, zero, q);
}

enum class BinKind { Add, Sub, Mul, Div, Pow, Max, Min, And, Or, Xor };

Value binary(OpBuilder &b, Location loc, BinKind kind, Value x, Value y) {
  bool f = isFloat(x);
  switch (kind) {
  case BinKind::Add:
    return f ? arith::AddFOp::create(b, loc, x, y).getResult()
             : arith::AddIOp::create(b, loc, x, y).getResult();
  case BinKind::Sub:
    return f ? arith::SubFOp::create(b, loc, x, y).getResult()
             : arith::SubIOp::create(b, loc, x, y).getResult();
  case BinKind::Mul:
    return f ? arith::MulFOp::create(b, loc, x, y).getResult()
             : arith::MulIOp::create(b, loc, x, y).getResult();
  case BinKind::Div:
    return f ? arith::DivFOp::create(b, loc, x, y).getResult()
             : safeDivSI(b, loc, x, y);
  case BinKind::Pow:
    return math::PowFOp::create(b, loc, x, y);
  case BinKind::Max:
    return f ? arith::MaximumFOp::create(b, loc, x, y).getResult()
             : arith::MaxSIOp::create(b, loc, x, y).getResult();
  case BinKind::Min:
    return f ? arith::MinimumFOp::create(b, loc, x, y).getResult()
             : arith::MinSIOp::create(b, loc, x, y).getResult();
  case BinKind::And:
    return arith::AndIOp::create(b, loc, x, y);
  case BinKind::Or:
    return arith::OrIOp::create(b, loc, x, y);
  case BinKind::Xor:
    return arith::XOrIOp::create(b, loc, x, y);
  }
  llvm_unreachable("unknown binary kind");
}

/// The splat value of a constant operand, if it is one.
std::optional<double> splatValue(Value v) {
  auto c = v.getDefiningOp<ConstantOp>();
  if (!c)
    return std::nullopt;
  auto s = dyn_cast<SplatElementsAttr>(c.getValue());
  if (!s || !isa<FloatType>(s.getElementType()))
    return std::nullopt;
  return s.getSplatValue<APFloat>().convertToDouble();
}

template <typename OpTy, BinKind kind>
struct BinaryPattern : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    Type et = type.getElementType();
    // pow by a small constant is exact as multiplications (and keeps
    // negative bases correct); sqrt for 0.5.
    std::optional<double> exponent;
    if (kind == BinKind::Pow)
      exponent = splatValue(op.getRhs());
    Value r = elementwise(
        rewriter, op.getLoc(), type, {adaptor.getLhs(), adaptor.getRhs()},
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return inComputeType(b, loc, et, args, [&](ValueRange w) -> Value {
            if (exponent) {
              Value x = w[0];
              if (*exponent == 2.0)
                return arith::MulFOp::create(b, loc, x, x);
              if (*exponent == 3.0)
                return arith::MulFOp::create(
                    b, loc, x, arith::MulFOp::create(b, loc, x, x));
              if (*exponent == 0.5)
                return math::SqrtOp::create(b, loc, x);
              if (*exponent == 1.0)
                return x;
            }
            return binary(b, loc, kind, w[0], w[1]);
          });
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct CmpPattern : OpConversionPattern<CmpOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CmpOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    CmpPredicate pred = op.getPredicate();
    Value r = elementwise(
        rewriter, op.getLoc(), type, {adaptor.getLhs(), adaptor.getRhs()},
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          Value x = args[0], y = args[1];
          if (isFloat(x)) {
            arith::CmpFPredicate p;
            switch (pred) {
            case CmpPredicate::eq:
              p = arith::CmpFPredicate::OEQ;
              break;
            case CmpPredicate::ne:
              p = arith::CmpFPredicate::UNE;
              break;
            case CmpPredicate::lt:
              p = arith::CmpFPredicate::OLT;
              break;
            case CmpPredicate::le:
              p = arith::CmpFPredicate::OLE;
              break;
            case CmpPredicate::gt:
              p = arith::CmpFPredicate::OGT;
              break;
            case CmpPredicate::ge:
              p = arith::CmpFPredicate::OGE;
              break;
            }
            return arith::CmpFOp::create(b, loc, p, x, y);
          }
          arith::CmpIPredicate p;
          switch (pred) {
          case CmpPredicate::eq:
            p = arith::CmpIPredicate::eq;
            break;
          case CmpPredicate::ne:
            p = arith::CmpIPredicate::ne;
            break;
          case CmpPredicate::lt:
            p = arith::CmpIPredicate::slt;
            break;
          case CmpPredicate::le:
            p = arith::CmpIPredicate::sle;
            break;
          case CmpPredicate::gt:
            p = arith::CmpIPredicate::sgt;
            break;
          case CmpPredicate::ge:
            p = arith::CmpIPredicate::sge;
            break;
          }
          return arith::CmpIOp::create(b, loc, p, x, y);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct SelectPattern : OpConversionPattern<SelectOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = cast<RankedTensorType>(op.getType());
    Value r = elementwise(rewriter, op.getLoc(), type,
                          {adaptor.getCondition(), adaptor.getTrueValue(),
                           adaptor.getFalseValue()},
                          [&](OpBuilder &b, Location loc, ValueRange args) {
                            return arith::SelectOp::create(b, loc, args[0],
                                                           args[1], args[2]);
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

} // namespace

void lowering::populateElementwiseToLinalgPatterns(
    RewritePatternSet &patterns) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<UnaryPattern<NegOp>>(ctx, negFn);
  patterns.add<UnaryPattern<AbsOp>>(ctx, absFn);
  patterns.add<UnaryPattern<ExpOp>>(ctx, expFn);
  patterns.add<UnaryPattern<LogOp>>(ctx, logFn);
  patterns.add<UnaryPattern<SqrtOp>>(ctx, sqrtFn);
  patterns.add<UnaryPattern<RsqrtOp>>(ctx, rsqrtFn);
  patterns.add<UnaryPattern<ReciprocalOp>>(ctx, reciprocalFn);
  patterns.add<UnaryPattern<TanhOp>>(ctx, tanhFn);
  patterns.add<UnaryPattern<ErfOp>>(ctx, erfFn);
  patterns.add<UnaryPattern<SigmoidOp>>(ctx, sigmoidFn);
  patterns.add<UnaryPattern<ReluOp>>(ctx, reluFn);
  patterns.add<UnaryPattern<SiluOp>>(ctx, siluFn);
  patterns.add<UnaryPattern<SoftplusOp>>(ctx, softplusFn);
  patterns.add<UnaryPattern<SinOp>>(ctx, sinFn);
  patterns.add<UnaryPattern<CosOp>>(ctx, cosFn);
  patterns.add<UnaryPattern<FloorOp>>(ctx, floorFn);
  patterns.add<UnaryPattern<CeilOp>>(ctx, ceilFn);
  patterns.add<UnaryPattern<RoundOp>>(ctx, roundFn);
  patterns.add<UnaryPattern<SignOp>>(ctx, signFn);
  patterns.add<UnaryPattern<NotOp>>(ctx, notFn);
  patterns.add<UnaryPattern<AtanOp>>(ctx, atanFn);
  patterns.add<GeluPattern, ClampPattern, LeakyReluPattern, CastPattern,
               CmpPattern, SelectPattern>(ctx);
  patterns.add<
      BinaryPattern<AddOp, BinKind::Add>, BinaryPattern<SubOp, BinKind::Sub>,
      BinaryPattern<MulOp, BinKind::Mul>, BinaryPattern<DivOp, BinKind::Div>,
      BinaryPattern<PowOp, BinKind::Pow>, BinaryPattern<MaxOp, BinKind::Max>,
      BinaryPattern<MinOp, BinKind::Min>, BinaryPattern<AndOp, BinKind::And>,
      BinaryPattern<OrOp, BinKind::Or>, BinaryPattern<XorOp, BinKind::Xor>>(
      ctx);
}
