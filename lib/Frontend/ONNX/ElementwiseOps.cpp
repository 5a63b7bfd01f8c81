//===- ElementwiseOps.cpp - ONNX elementwise ops --------------------------===//

#include "ImporterImpl.h"

#include <cmath>
#include <limits>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

using Results = SmallVectorImpl<Value>;

/// Pushes `v` (if built) as the node's only result.
LogicalResult push(FailureOr<Value> v, Results &r) {
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

template <typename OpTy> LogicalResult unary(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  return push(n.createTyped<OpTy>(x->getType(), *x), r);
}

/// Both operands of a binary op, with matching element types.
FailureOr<std::pair<Value, Value>> operands(NodeContext &n) {
  FailureOr<Value> a = n.input(0), b = n.input(1);
  if (failed(a) || failed(b))
    return failure();
  if (NodeContext::typeOf(*a).getElementType() !=
      NodeContext::typeOf(*b).getElementType())
    return n.error() << "operand element types differ: " << a->getType()
                     << " and " << b->getType();
  return std::make_pair(*a, *b);
}

template <typename OpTy> LogicalResult binary(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  auto ab = operands(n);
  if (failed(ab))
    return failure();
  return push(n.create<OpTy>(ab->first, ab->second), r);
}

template <CmpPredicate pred> LogicalResult compare(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  auto ab = operands(n);
  if (failed(ab))
    return failure();
  return push(n.create<CmpOp>(pred, ab->first, ab->second), r);
}

/// Max, Min, Sum, Mean: folds any number of operands left to right.
template <typename OpTy, bool mean = false>
LogicalResult variadic(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  if (n.numInputs() < 1)
    return n.error("needs at least one input");
  FailureOr<Value> acc = n.input(0);
  for (int i = 1; succeeded(acc) && i < n.numInputs(); ++i) {
    FailureOr<Value> x = n.input(i);
    if (failed(x))
      return failure();
    acc = n.create<OpTy>(*acc, *x);
  }
  if (failed(acc))
    return failure();
  if (mean && n.numInputs() > 1) {
    Type et = NodeContext::typeOf(*acc).getElementType();
    acc = n.create<DivOp>(*acc, n.scalar(et, n.numInputs()));
  }
  return push(acc, r);
}

LogicalResult pow(NodeContext &n, Results &r) {
  FailureOr<Value> a = n.input(0), b = n.input(1);
  if (failed(n.checkAttrs({})) || failed(a) || failed(b))
    return failure();
  Type et = NodeContext::typeOf(*a).getElementType();
  Type ft = isa<FloatType>(et) ? et : n.builder().getF64Type();
  FailureOr<Value> x = n.castTo(*a, ft), y = n.castTo(*b, ft);
  if (failed(x) || failed(y))
    return failure();
  FailureOr<Value> p = n.create<PowOp>(*x, *y);
  if (succeeded(p) && ft != et) // integer powers: round the f64 result
    p = n.castTo(*n.createTyped<RoundOp>(p->getType(), *p), et);
  return push(p, r);
}

LogicalResult mod(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"fmod"})))
    return failure();
  auto ab = operands(n);
  if (failed(ab))
    return failure();
  auto [a, b] = *ab;
  Type et = NodeContext::typeOf(a).getElementType();
  bool fmod = n.attrInt("fmod", 0);
  if (isa<FloatType>(et) && !fmod)
    return n.error("fmod=0 is not allowed for floating-point inputs");
  // t = a - b * trunc(a / b): the remainder with a's sign (C fmod).
  FailureOr<Value> q = n.create<DivOp>(a, b);
  if (succeeded(q) && isa<FloatType>(et)) {
    // trunc(q) = sign(q) * floor(|q|)
    Value aq = *n.createTyped<AbsOp>(q->getType(), *q);
    Value fl = *n.createTyped<FloorOp>(q->getType(), aq);
    q = n.create<MulOp>(*n.createTyped<SignOp>(q->getType(), *q), fl);
  }
  if (failed(q))
    return failure();
  FailureOr<Value> t = n.create<SubOp>(a, *n.create<MulOp>(b, *q));
  if (failed(t) || fmod)
    return push(t, r);
  // Python-style: a non-zero remainder takes the divisor's sign.
  Value zero = n.scalar(et, 0);
  Value tNeg = *n.create<CmpOp>(CmpPredicate::lt, *t, zero);
  Value bNeg = *n.create<CmpOp>(CmpPredicate::lt, b, zero);
  Value nz = *n.create<CmpOp>(CmpPredicate::ne, *t, zero);
  Value fix = *n.create<AndOp>(nz, *n.create<XorOp>(tNeg, bNeg));
  return push(n.create<SelectOp>(fix, *n.create<AddOp>(*t, b), *t), r);
}

LogicalResult clip(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({"min", "max"})))
    return failure();
  std::optional<double> lo, hi;
  if (n.opset < 11) {
    if (n.hasAttr("min"))
      lo = n.attrFloat("min", 0);
    if (n.hasAttr("max"))
      hi = n.attrFloat("max", 0);
  } else {
    for (int i : {1, 2}) {
      if (!n.hasInput(i))
        continue;
      FailureOr<Value> bound = n.input(i);
      DenseElementsAttr attr;
      if (failed(bound))
        return failure();
      if (!matchPattern(*bound, m_Constant(&attr))) {
        // A bound known only at run time: max/min ops.
        FailureOr<Value> v =
            i == 1 ? n.create<MaxOp>(*x, *bound) : n.create<MinOp>(*x, *bound);
        if (failed(v))
          return failure();
        x = v;
        continue;
      }
      double v =
          isa<FloatType>(attr.getElementType())
              ? (*attr.getValues<APFloat>().begin()).convertToDouble()
              : (double)(*attr.getValues<APInt>().begin()).getSExtValue();
      (i == 1 ? lo : hi) = v;
    }
  }
  if (!lo && !hi)
    return push(x, r);
  Builder b(n.context());
  if (lo && hi && *lo > *hi) {
    // ONNX: when min > max every element becomes max.
    return push(n.createTyped<ClampOp>(x->getType(), *x, b.getF64FloatAttr(*hi),
                                       b.getF64FloatAttr(*hi)),
                r);
  }
  return push(n.createTyped<ClampOp>(x->getType(), *x,
                                     lo ? b.getF64FloatAttr(*lo) : FloatAttr(),
                                     hi ? b.getF64FloatAttr(*hi) : FloatAttr()),
              r);
}

LogicalResult castOp(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"to", "saturate"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  Type to = elementTypeOf(n.context(), n.attrInt("to", 0));
  if (!to)
    return n.error("casts to an element type kiln does not support");
  if (to.isUnsignedInteger() ||
      NodeContext::typeOf(*x).getElementType().isUnsignedInteger())
    return n.error("casts of unsigned integers are not supported");
  return push(n.castTo(*x, to), r);
}

LogicalResult castLike(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0), like = n.input(1);
  if (failed(x) || failed(like) || failed(n.checkAttrs({"saturate"})))
    return failure();
  return push(n.castTo(*x, NodeContext::typeOf(*like).getElementType()), r);
}

LogicalResult where(NodeContext &n, Results &r) {
  FailureOr<Value> c = n.input(0), a = n.input(1), b = n.input(2);
  if (failed(c) || failed(a) || failed(b) || failed(n.checkAttrs({})))
    return failure();
  return push(n.create<SelectOp>(*c, *a, *b), r);
}

LogicalResult identity(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  r.push_back(*x);
  return success();
}

LogicalResult dropout(NodeContext &n, Results &r) {
  // Inference: the identity. training_mode, if given, must be false.
  if (failed(n.checkAttrs({"seed", "ratio"})))
    return failure();
  if (n.hasInput(2)) {
    FailureOr<SmallVector<int64_t>> t = n.constInts(2, "training_mode");
    if (failed(t))
      return failure();
    if (!t->empty() && (*t)[0])
      return n.error("training_mode=true is not supported (inference only)");
  }
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  r.push_back(*x);
  if (n.node.output_size() > 1) {
    auto t = NodeContext::typeOf(*x);
    r.push_back(n.constant(DenseElementsAttr::get(
        RankedTensorType::get(t.getShape(), n.builder().getI1Type()), true)));
  }
  return success();
}

/// Activations with parameters, expressed with kiln ops.
LogicalResult leakyRelu(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({"alpha"})))
    return failure();
  return push(n.createTyped<LeakyReluOp>(
                  x->getType(), *x,
                  n.builder().getF64FloatAttr(n.attrFloat("alpha", 0.01))),
              r);
}

LogicalResult eluLike(NodeContext &n, Results &r, double alpha, double gamma) {
  // gamma * (x > 0 ? x : alpha * (exp(x) - 1))
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  Value zero = n.scalar(et, 0);
  Value pos = *n.create<CmpOp>(CmpPredicate::gt, *x, zero);
  Value e = *n.createTyped<ExpOp>(x->getType(), *x);
  Value neg = *n.create<MulOp>(*n.create<SubOp>(e, n.scalar(et, 1)),
                               n.scalar(et, alpha));
  FailureOr<Value> y = n.create<SelectOp>(pos, *x, neg);
  if (succeeded(y) && gamma != 1.0)
    y = n.create<MulOp>(*y, n.scalar(et, gamma));
  return push(y, r);
}

LogicalResult eluOp(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"alpha"})))
    return failure();
  return eluLike(n, r, n.attrFloat("alpha", 1.0), 1.0);
}

LogicalResult selu(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"alpha", "gamma"})))
    return failure();
  return eluLike(n, r, n.attrFloat("alpha", 1.67326319217681884765625),
                 n.attrFloat("gamma", 1.05070102214813232421875));
}

LogicalResult hardSigmoidLike(NodeContext &n, Results &r, double alpha,
                              double beta, bool timesX) {
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  Value lin = *n.create<AddOp>(*n.create<MulOp>(*x, n.scalar(et, alpha)),
                               n.scalar(et, beta));
  Builder b(n.context());
  FailureOr<Value> y = n.createTyped<ClampOp>(
      lin.getType(), lin, b.getF64FloatAttr(0.0), b.getF64FloatAttr(1.0));
  if (succeeded(y) && timesX)
    y = n.create<MulOp>(*x, *y);
  return push(y, r);
}

LogicalResult hardSigmoidOp(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"alpha", "beta"})))
    return failure();
  return hardSigmoidLike(n, r, n.attrFloat("alpha", 0.2),
                         n.attrFloat("beta", 0.5), false);
}

LogicalResult hardSwish(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  return hardSigmoidLike(n, r, 1.0 / 6, 0.5, true);
}

LogicalResult prelu(NodeContext &n, Results &r) {
  auto ab = operands(n);
  if (failed(ab) || failed(n.checkAttrs({})))
    return failure();
  auto [x, slope] = *ab;
  Type et = NodeContext::typeOf(x).getElementType();
  FailureOr<Value> scaled = n.create<MulOp>(x, slope);
  if (failed(scaled))
    return failure();
  Value pos = *n.create<CmpOp>(CmpPredicate::ge, x, n.scalar(et, 0));
  return push(n.create<SelectOp>(pos, x, *scaled), r);
}

LogicalResult softsign(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x) || failed(n.checkAttrs({})))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  Value den = *n.create<AddOp>(*n.createTyped<AbsOp>(x->getType(), *x),
                               n.scalar(et, 1));
  return push(n.create<DivOp>(*x, den), r);
}

LogicalResult tan(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x) || failed(n.checkAttrs({})))
    return failure();
  return push(n.create<DivOp>(*n.createTyped<SinOp>(x->getType(), *x),
                              *n.createTyped<CosOp>(x->getType(), *x)),
              r);
}

LogicalResult isNaN(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({})))
    return failure();
  return push(n.create<CmpOp>(CmpPredicate::ne, *x, *x), r);
}

LogicalResult isInf(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({"detect_positive", "detect_negative"})))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  if (!isa<FloatType>(et)) { // integers are never infinite
    auto t = NodeContext::typeOf(*x);
    r.push_back(n.constant(DenseElementsAttr::get(
        RankedTensorType::get(t.getShape(), n.builder().getI1Type()), false)));
    return success();
  }
  double inf = std::numeric_limits<double>::infinity();
  bool pos = n.attrInt("detect_positive", 1),
       neg = n.attrInt("detect_negative", 1);
  Value p = *n.create<CmpOp>(CmpPredicate::eq, *x, n.scalar(et, inf));
  Value m = *n.create<CmpOp>(CmpPredicate::eq, *x, n.scalar(et, -inf));
  if (pos && neg)
    return push(n.create<OrOp>(p, m), r);
  if (pos)
    return push(p, r);
  if (neg)
    return push(m, r);
  return push(n.create<AndOp>(p, m), r); // never true
}

LogicalResult gelu(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({"approximate"})))
    return failure();
  std::string approx = n.attrString("approximate", "none");
  if (approx != "none" && approx != "tanh")
    return n.error("approximate='" + approx + "' is not supported");
  return push(n.createTyped<GeluOp>(x->getType(), *x,
                                    approx == "tanh" ? GeluApproximation::tanh
                                                     : GeluApproximation::none),
              r);
}

/// Functions built from exp, log, sqrt and atan.
enum class Fn { Sinh, Cosh, Asinh, Acosh, Atanh, Asin, Acos, Atan };

template <Fn fn> LogicalResult composite(NodeContext &n, Results &r) {
  FailureOr<Value> xv = n.input(0);
  if (failed(xv) || failed(n.checkAttrs({})))
    return failure();
  Value x = *xv;
  Type t = x.getType(), et = NodeContext::typeOf(x).getElementType();
  auto c = [&](double v) { return n.scalar(et, v); };
  auto add = [&](Value a, Value b) { return *n.create<AddOp>(a, b); };
  auto sub = [&](Value a, Value b) { return *n.create<SubOp>(a, b); };
  auto mul = [&](Value a, Value b) { return *n.create<MulOp>(a, b); };
  auto div = [&](Value a, Value b) { return *n.create<DivOp>(a, b); };
  auto exp = [&](Value a) { return *n.createTyped<ExpOp>(t, a); };
  auto log = [&](Value a) { return *n.createTyped<LogOp>(t, a); };
  auto sqrt = [&](Value a) { return *n.createTyped<SqrtOp>(t, a); };
  auto atan = [&](Value a) { return *n.createTyped<AtanOp>(t, a); };
  Value neg = *n.createTyped<NegOp>(t, x);
  Value y;
  switch (fn) {
  case Fn::Sinh:
    y = mul(sub(exp(x), exp(neg)), c(0.5));
    break;
  case Fn::Cosh:
    y = mul(add(exp(x), exp(neg)), c(0.5));
    break;
  case Fn::Asinh:
    y = log(add(x, sqrt(add(mul(x, x), c(1)))));
    break;
  case Fn::Acosh:
    y = log(add(x, sqrt(sub(mul(x, x), c(1)))));
    break;
  case Fn::Atanh:
    y = mul(log(div(add(c(1), x), sub(c(1), x))), c(0.5));
    break;
  case Fn::Asin:
    y = atan(div(x, sqrt(sub(c(1), mul(x, x)))));
    break;
  case Fn::Acos:
    y = sub(c(M_PI / 2), atan(div(x, sqrt(sub(c(1), mul(x, x))))));
    break;
  case Fn::Atan:
    y = atan(x);
    break;
  }
  r.push_back(y);
  return success();
}

LogicalResult thresholdedRelu(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({"alpha"})))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  Value keep = *n.create<CmpOp>(CmpPredicate::gt, *x,
                                n.scalar(et, n.attrFloat("alpha", 1.0)));
  return push(n.create<SelectOp>(keep, *x, n.scalar(et, 0)), r);
}

LogicalResult shrink(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({"bias", "lambd"})))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  double bias = n.attrFloat("bias", 0), lambd = n.attrFloat("lambd", 0.5);
  // x < -lambd: x + bias; x > lambd: x - bias; else 0
  Value lo = *n.create<CmpOp>(CmpPredicate::lt, *x, n.scalar(et, -lambd));
  Value hi = *n.create<CmpOp>(CmpPredicate::gt, *x, n.scalar(et, lambd));
  Value zero = n.scalar(et, 0);
  Value up =
      *n.create<SelectOp>(hi, *n.create<SubOp>(*x, n.scalar(et, bias)), zero);
  return push(
      n.create<SelectOp>(lo, *n.create<AddOp>(*x, n.scalar(et, bias)), up), r);
}

LogicalResult celu(NodeContext &n, Results &r) {
  // max(0, x) + min(0, alpha * (exp(x / alpha) - 1))
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x) || failed(n.checkAttrs({"alpha"})))
    return failure();
  Type et = NodeContext::typeOf(*x).getElementType();
  double alpha = n.attrFloat("alpha", 1.0);
  Value zero = n.scalar(et, 0);
  Value e = *n.createTyped<ExpOp>(x->getType(),
                                  *n.create<DivOp>(*x, n.scalar(et, alpha)));
  Value negPart = *n.create<MinOp>(
      zero, *n.create<MulOp>(*n.create<SubOp>(e, n.scalar(et, 1)),
                             n.scalar(et, alpha)));
  return push(n.create<AddOp>(*n.create<MaxOp>(zero, *x), negPart), r);
}

} // namespace

void mlir::kiln::onnx::registerElementwiseOps(ConverterMap &map) {
  map["Sinh"] = composite<Fn::Sinh>;
  map["Cosh"] = composite<Fn::Cosh>;
  map["Asinh"] = composite<Fn::Asinh>;
  map["Acosh"] = composite<Fn::Acosh>;
  map["Atanh"] = composite<Fn::Atanh>;
  map["Asin"] = composite<Fn::Asin>;
  map["Acos"] = composite<Fn::Acos>;
  map["Atan"] = composite<Fn::Atan>;
  map["ThresholdedRelu"] = thresholdedRelu;
  map["Shrink"] = shrink;
  map["Celu"] = celu;
  map["Neg"] = unary<NegOp>;
  map["Abs"] = unary<AbsOp>;
  map["Exp"] = unary<ExpOp>;
  map["Log"] = unary<LogOp>;
  map["Sqrt"] = unary<SqrtOp>;
  map["Reciprocal"] = unary<ReciprocalOp>;
  map["Tanh"] = unary<TanhOp>;
  map["Erf"] = unary<ErfOp>;
  map["Sigmoid"] = unary<SigmoidOp>;
  map["Relu"] = unary<ReluOp>;
  map["Softplus"] = unary<SoftplusOp>;
  map["Sin"] = unary<SinOp>;
  map["Cos"] = unary<CosOp>;
  map["Floor"] = unary<FloorOp>;
  map["Ceil"] = unary<CeilOp>;
  map["Round"] = unary<RoundOp>;
  map["Sign"] = unary<SignOp>;
  map["Not"] = unary<NotOp>;
  map["Add"] = binary<AddOp>;
  map["Sub"] = binary<SubOp>;
  map["Mul"] = binary<MulOp>;
  map["Div"] = binary<DivOp>;
  map["And"] = binary<AndOp>;
  map["Or"] = binary<OrOp>;
  map["Xor"] = binary<XorOp>;
  map["Pow"] = pow;
  map["Mod"] = mod;
  map["Max"] = variadic<MaxOp>;
  map["Min"] = variadic<MinOp>;
  map["Sum"] = variadic<AddOp>;
  map["Mean"] = variadic<AddOp, true>;
  map["Equal"] = compare<CmpPredicate::eq>;
  map["Less"] = compare<CmpPredicate::lt>;
  map["LessOrEqual"] = compare<CmpPredicate::le>;
  map["Greater"] = compare<CmpPredicate::gt>;
  map["GreaterOrEqual"] = compare<CmpPredicate::ge>;
  map["Where"] = where;
  map["Clip"] = clip;
  map["Cast"] = castOp;
  map["CastLike"] = castLike;
  map["Identity"] = identity;
  map["Dropout"] = dropout;
  map["LeakyRelu"] = leakyRelu;
  map["Elu"] = eluOp;
  map["Selu"] = selu;
  map["HardSigmoid"] = hardSigmoidOp;
  map["HardSwish"] = hardSwish;
  map["PRelu"] = prelu;
  map["Softsign"] = softsign;
  map["Tan"] = tan;
  map["IsNaN"] = isNaN;
  map["IsInf"] = isInf;
  map["Gelu"] = gelu;
}
