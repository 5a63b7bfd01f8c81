//===- RecognizeActivations.cpp - decomposed GELU and SiLU ----------------===//
//
// Exporters write GELU as an erf or tanh formula and SiLU as x * sigmoid(x);
// as single ops they become one fused elementwise kernel with an accurate
// vectorized implementation instead of a chain of temporaries.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "Matchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_RECOGNIZEACTIVATIONS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::match;

namespace {

/// Splits product leaves into the product of the constant ones and the
/// others; false if a constant is not a splat.
bool splitConstants(ArrayRef<Value> leaves, double &constant,
                    SmallVectorImpl<Value> &others) {
  constant = 1.0;
  for (Value v : leaves) {
    if (v.getDefiningOp<ConstantOp>()) {
      std::optional<double> c = splatValue(v);
      if (!c)
        return false;
      constant *= *c;
    } else {
      others.push_back(v);
    }
  }
  return true;
}

bool near(double x, double expected, double rtol) {
  return std::abs(x - expected) <= rtol * std::abs(expected);
}

/// `v` is `1 + f(...)` with `f` of kind OpTy; returns f's input.
template <typename OpTy> Value onePlus(Value v) {
  auto add = v.getDefiningOp<AddOp>();
  Value arg;
  eitherOrder(add, [&](Value a, Value b) {
    auto f = a.getDefiningOp<OpTy>();
    if (!f || !isSplatNear(b, 1.0, 0))
      return false;
    arg = f.getInput();
    return true;
  });
  return arg;
}

/// `v` is `x * c` (any association) or `x / (1 / c)` with constant c near
/// `expected`; returns x.
Value scaledBy(Value v, double expected, double rtol) {
  if (auto div = v.getDefiningOp<DivOp>()) {
    std::optional<double> d = splatValue(div.getRhs());
    if (d && *d != 0 && near(1.0 / *d, expected, rtol))
      return div.getLhs();
    return {};
  }
  if (!v.getDefiningOp<MulOp>())
    return {};
  double c;
  SmallVector<Value> others;
  if (!splitConstants(productFactors(v), c, others) || others.size() != 1 ||
      !near(c, expected, rtol))
    return {};
  return others.front();
}

/// `v` is `0.044715 * x^3` (pow(x, 3) or x * x * x); sets x.
bool matchCubeTerm(Value v, Value &x, double rtol) {
  double c;
  SmallVector<Value> others;
  if (!splitConstants(productFactors(v), c, others) || !near(c, 0.044715, rtol))
    return false;
  if (others.size() == 1) {
    auto pow = others[0].getDefiningOp<PowOp>();
    if (!pow || !isSplatNear(pow.getRhs(), 3.0, 0))
      return false;
    x = pow.getLhs();
    return true;
  }
  if (others.size() == 3 && others[0] == others[1] && others[1] == others[2]) {
    x = others[0];
    return true;
  }
  return false;
}

/// x * sigmoid(x) -> silu(x).
struct SiluPattern : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    Value x;
    bool found = eitherOrder(op, [&](Value a, Value b) {
      auto sig = b.getDefiningOp<SigmoidOp>();
      if (!sig || sig.getInput() != a)
        return false;
      x = a;
      return true;
    });
    if (!found || x.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not x * sigmoid(x)");
    rewriter.replaceOpWithNewOp<SiluOp>(op, op.getType(), x);
    return success();
  }
};

/// 0.5 * x * (1 + erf(x / sqrt 2)) and
/// 0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3))) -> gelu(x).
struct GeluPattern : OpRewritePattern<MulOp> {
  GeluPattern(MLIRContext *ctx, double rtol)
      : OpRewritePattern(ctx), rtol(rtol) {}
  double rtol;

  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    double c;
    SmallVector<Value> others;
    if (!splitConstants(productFactors(op.getResult()), c, others) ||
        others.size() != 2 || !near(c, 0.5, rtol))
      return rewriter.notifyMatchFailure(op, "not 0.5 * x * (...)");
    for (int i = 0; i < 2; ++i) {
      Value x = others[i], sum = others[1 - i];
      if (x.getType() != op.getType())
        continue;
      if (Value e = onePlus<ErfOp>(sum)) {
        if (scaledBy(e, M_SQRT1_2, rtol) != x)
          continue;
        rewriter.replaceOpWithNewOp<GeluOp>(op, op.getType(), x,
                                            GeluApproximation::none);
        return success();
      }
      if (Value t = onePlus<TanhOp>(sum)) {
        Value inner = scaledBy(t, std::sqrt(2.0 / M_PI), rtol);
        Value cubeOf;
        bool ok =
            inner &&
            eitherOrder(inner.getDefiningOp<AddOp>(), [&](Value a, Value b) {
              return a == x && matchCubeTerm(b, cubeOf, rtol);
            });
        if (!ok || cubeOf != x)
          continue;
        rewriter.replaceOpWithNewOp<GeluOp>(op, op.getType(), x,
                                            GeluApproximation::tanh);
        return success();
      }
    }
    return rewriter.notifyMatchFailure(op, "not a GELU formula");
  }
};

struct RecognizeActivationsPass
    : kiln::impl::RecognizeActivationsBase<RecognizeActivationsPass> {
  using RecognizeActivationsBase::RecognizeActivationsBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    if (gelu)
      patterns.add<GeluPattern>(&getContext(), tolerance);
    if (silu)
      patterns.add<SiluPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
