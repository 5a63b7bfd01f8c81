//===- RecognizeNorms.cpp - decomposed RMS, layer and group norms ---------===//
//
// A decomposed norm reads its input three times and materializes its
// statistics; the named ops lower to one kernel with fp32 statistics. The
// core of each norm is matched first, then its affine part is absorbed by
// separate patterns, so the result does not depend on the order in which
// the rewrite driver visits the ops.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "Matchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_RECOGNIZENORMS
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::match;

namespace {

/// The statistics of a norm: `mean(sq(x)) + eps` over `[axis, rank)`.
struct Stat {
  Value x;
  int64_t axis = 0;
  double eps = 0;
};

/// `v` is `mean(square(x)) + eps` with a constant eps in (0, maxEps].
bool matchMeanSquarePlusEps(Value v, double maxEps, Stat &stat) {
  return eitherOrder(v.getDefiningOp<AddOp>(), [&](Value a, Value b) {
    std::optional<double> eps = splatValue(b);
    Value sq;
    if (!eps || !(*eps > 0 && *eps <= maxEps) ||
        !matchTrailingMean(a, sq, stat.axis) || !matchSquare(sq, stat.x))
      return false;
    stat.eps = *eps;
    return true;
  });
}

/// `v` is `x * rsqrt(stat)` (two factors) or `x / sqrt(stat)`, where
/// `stat` is matched by `statOf` and its input must be `x`.
bool matchNormalized(Value v, function_ref<bool(Value, Stat &)> statOf,
                     Stat &stat) {
  if (auto div = v.getDefiningOp<DivOp>()) {
    auto sqrt = div.getRhs().getDefiningOp<SqrtOp>();
    return sqrt && statOf(sqrt.getInput(), stat) && stat.x == div.getLhs();
  }
  if (!v.getDefiningOp<MulOp>())
    return false;
  SmallVector<Value> leaves = productFactors(v);
  if (leaves.size() != 2)
    return false;
  return eitherOrder(v.getDefiningOp(), [&](Value a, Value b) {
    Value s;
    return matchRsqrt(b, s) && statOf(s, stat) && stat.x == a;
  });
}

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

ArrayRef<int64_t> normShape(Value x, int64_t axis) {
  return typeOf(x).getShape().drop_front(axis);
}

/// x * rsqrt(mean(x^2) + eps) [* w] and x / sqrt(mean(x^2) + eps).
struct RmsNormPattern : OpRewritePattern<MulOp> {
  RmsNormPattern(MLIRContext *ctx, double maxEps)
      : OpRewritePattern(ctx), maxEps(maxEps) {}
  double maxEps;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    auto statOf = [&](Value s, Stat &st) {
      return matchMeanSquarePlusEps(s, maxEps, st);
    };
    Stat stat;
    if (matchNormalized(op.getResult(), statOf, stat))
      return replace(op, stat, Value(), rewriter);
    // Three factors: x, rsqrt(stat) and a weight.
    SmallVector<Value> leaves = productFactors(op.getResult());
    if (leaves.size() != 3)
      return rewriter.notifyMatchFailure(op, "not an RMSNorm product");
    for (int r = 0; r < 3; ++r) {
      Value s;
      if (!matchRsqrt(leaves[r], s) || !statOf(s, stat))
        continue;
      for (int x = 0; x < 3; ++x) {
        if (x == r || leaves[x] != stat.x)
          continue;
        Value w = leaves[3 - r - x];
        return replace(op, stat, w, rewriter);
      }
    }
    return rewriter.notifyMatchFailure(op, "not an RMSNorm product");
  }

  LogicalResult replace(Operation *op, const Stat &stat, Value w,
                        PatternRewriter &rewriter) const {
    if (stat.x.getType() != op->getResult(0).getType())
      return rewriter.notifyMatchFailure(op, "broadcasts the input");
    Value scale;
    if (w && !(scale = asNormWeight(rewriter, op->getLoc(), w,
                                    normShape(stat.x, stat.axis))))
      return rewriter.notifyMatchFailure(op, "weight is not per feature");
    rewriter.replaceOpWithNewOp<RmsNormOp>(
        op, op->getResult(0).getType(), stat.x, scale,
        rewriter.getI64IntegerAttr(stat.axis),
        rewriter.getF64FloatAttr(stat.eps));
    return success();
  }
};

/// The division form, x / sqrt(mean(x^2) + eps).
struct RmsNormDivPattern : OpRewritePattern<DivOp> {
  RmsNormDivPattern(MLIRContext *ctx, double maxEps)
      : OpRewritePattern(ctx), maxEps(maxEps) {}
  double maxEps;
  LogicalResult matchAndRewrite(DivOp op,
                                PatternRewriter &rewriter) const override {
    Stat stat;
    if (!matchNormalized(
            op.getResult(),
            [&](Value s, Stat &st) {
              return matchMeanSquarePlusEps(s, maxEps, st);
            },
            stat) ||
        stat.x.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not x / rms(x)");
    rewriter.replaceOpWithNewOp<RmsNormOp>(
        op, op.getType(), stat.x, Value(),
        rewriter.getI64IntegerAttr(stat.axis),
        rewriter.getF64FloatAttr(stat.eps));
    return success();
  }
};

/// (x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps), or times rsqrt.
template <typename RootOp> struct LayerNormPattern : OpRewritePattern<RootOp> {
  // Above the RMS patterns: a centered input's RMS norm is a layer norm.
  LayerNormPattern(MLIRContext *ctx, double maxEps)
      : OpRewritePattern<RootOp>(ctx, /*benefit=*/2), maxEps(maxEps) {}
  double maxEps;
  LogicalResult matchAndRewrite(RootOp op,
                                PatternRewriter &rewriter) const override {
    // The statistics' input is the centered value d = x - mean(x).
    Stat stat;
    if (!matchNormalized(
            op.getResult(),
            [&](Value s, Stat &st) {
              return matchMeanSquarePlusEps(s, maxEps, st);
            },
            stat))
      return rewriter.notifyMatchFailure(op, "not d / std(d)");
    auto sub = stat.x.template getDefiningOp<SubOp>();
    Value x, meanIn;
    int64_t axis;
    if (!sub || !matchTrailingMean(sub.getRhs(), meanIn, axis) ||
        meanIn != sub.getLhs() || axis != stat.axis)
      return rewriter.notifyMatchFailure(op, "not centered by its mean");
    x = sub.getLhs();
    if (x.getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "broadcasts the input");
    rewriter.replaceOpWithNewOp<LayerNormOp>(
        op, op.getType(), x, Value(), Value(), rewriter.getI64IntegerAttr(axis),
        rewriter.getF64FloatAttr(stat.eps));
    return success();
  }
};

/// norm(x) * w -> norm(x, scale = w) for an RMS or layer norm without
/// affine parts, when w is per feature.
struct AbsorbScale : OpRewritePattern<MulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MulOp op,
                                PatternRewriter &rewriter) const override {
    bool done = eitherOrder(op, [&](Value n, Value w) {
      if (!n.hasOneUse() || n.getType() != op.getType())
        return false;
      if (auto rms = n.getDefiningOp<RmsNormOp>(); rms && !rms.getScale()) {
        Value scale = asNormWeight(rewriter, op.getLoc(), w,
                                   normShape(rms.getInput(), rms.getAxis()));
        if (!scale)
          return false;
        rewriter.replaceOpWithNewOp<RmsNormOp>(op, op.getType(), rms.getInput(),
                                               scale, rms.getAxisAttr(),
                                               rms.getEpsilonAttr());
        return true;
      }
      auto ln = n.getDefiningOp<LayerNormOp>();
      if (!ln || ln.getScale() || ln.getBias())
        return false;
      Value scale = asNormWeight(rewriter, op.getLoc(), w,
                                 normShape(ln.getInput(), ln.getAxis()));
      if (!scale)
        return false;
      rewriter.replaceOpWithNewOp<LayerNormOp>(op, op.getType(), ln.getInput(),
                                               scale, Value(), ln.getAxisAttr(),
                                               ln.getEpsilonAttr());
      return true;
    });
    return success(done);
  }
};

/// layer_norm(x [, scale]) + b -> layer_norm(x, scale, bias = b).
struct AbsorbBias : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    bool done = eitherOrder(op, [&](Value n, Value b) {
      auto ln = n.getDefiningOp<LayerNormOp>();
      if (!ln || ln.getBias() || !n.hasOneUse() || n.getType() != op.getType())
        return false;
      Value bias = asNormWeight(rewriter, op.getLoc(), b,
                                normShape(ln.getInput(), ln.getAxis()));
      if (!bias)
        return false;
      rewriter.replaceOpWithNewOp<LayerNormOp>(
          op, op.getType(), ln.getInput(), ln.getScale(), bias,
          ln.getAxisAttr(), ln.getEpsilonAttr());
      return true;
    });
    return success(done);
  }
};

/// True when `v` is absent or a constant whose elements all equal `x`.
bool absentOrSplat(Value v, double x) { return !v || isSplatNear(v, x, 0); }

/// reshape(group_norm(reshape(x, [N, G, -1])), x's shape) with unit
/// scale and zero bias -> group_norm(x) with G groups.
struct GroupNormPattern : OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto gn = op.getInput().getDefiningOp<GroupNormOp>();
    if (!gn || !gn->hasOneUse())
      return rewriter.notifyMatchFailure(op, "not a reshaped group norm");
    auto in = gn.getInput().getDefiningOp<ReshapeOp>();
    if (!in || in.getInput().getType() != op.getType())
      return rewriter.notifyMatchFailure(op, "not reshaped back");
    auto x = typeOf(in.getInput());
    auto g = typeOf(gn.getInput());
    int64_t groups = gn.getNumGroups();
    if (x.getRank() < 3 || g.getRank() != 3 ||
        g.getDimSize(0) != x.getDimSize(0) || g.getDimSize(1) != groups ||
        x.getDimSize(1) % groups != 0)
      return rewriter.notifyMatchFailure(op, "not [N, C, ...] to [N, G, -1]");
    if (!absentOrSplat(gn.getScale(), 1.0) || !absentOrSplat(gn.getBias(), 0))
      return rewriter.notifyMatchFailure(op,
                                         "the inner norm has an affine part");
    rewriter.replaceOpWithNewOp<GroupNormOp>(
        op, op.getType(), in.getInput(), Value(), Value(),
        gn.getNumGroupsAttr(), gn.getEpsilonAttr());
    return success();
  }
};

/// `w` as a per-channel parameter of `[N, C, spatial...]`: after dropping
/// leading ones it is `[C, 1, ...]` with one 1 per spatial dimension, or
/// `[C]` with no spatial dimension. Returns it as `[C]`, or null.
Value perChannel(OpBuilder &b, Location loc, Value w, RankedTensorType x) {
  auto t = typeOf(w);
  SmallVector<int64_t> want{x.getDimSize(1)};
  want.append(x.getRank() - 2, 1);
  ArrayRef<int64_t> shape = t.getShape();
  while (shape.size() > want.size() && shape.front() == 1)
    shape = shape.drop_front();
  if (shape != ArrayRef<int64_t>(want))
    return {};
  if (t.getRank() == 1)
    return w;
  return ReshapeOp::create(
      b, loc, RankedTensorType::get({x.getDimSize(1)}, t.getElementType()), w);
}

/// group_norm(x) * g -> group_norm(x, scale = g), and
/// group_norm(x [, scale]) + b -> group_norm(x, scale, bias = b).
template <typename OpTy> struct AbsorbGroupAffine : OpRewritePattern<OpTy> {
  using OpRewritePattern<OpTy>::OpRewritePattern;
  LogicalResult matchAndRewrite(OpTy op,
                                PatternRewriter &rewriter) const override {
    constexpr bool isScale = std::is_same_v<OpTy, MulOp>;
    bool done = eitherOrder(op, [&](Value n, Value p) {
      auto gn = n.getDefiningOp<GroupNormOp>();
      if (!gn || !n.hasOneUse() || n.getType() != op.getType() ||
          gn.getBias() || (isScale && gn.getScale()))
        return false;
      Value c = perChannel(rewriter, op.getLoc(), p, typeOf(gn.getInput()));
      if (!c)
        return false;
      rewriter.replaceOpWithNewOp<GroupNormOp>(
          op, op.getType(), gn.getInput(), isScale ? c : gn.getScale(),
          isScale ? Value() : c, gn.getNumGroupsAttr(), gn.getEpsilonAttr());
      return true;
    });
    return success(done);
  }
};

struct RecognizeNormsPass : kiln::impl::RecognizeNormsBase<RecognizeNormsPass> {
  using RecognizeNormsBase::RecognizeNormsBase;
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    if (rmsNorm)
      patterns.add<RmsNormPattern, RmsNormDivPattern>(ctx, maxEpsilon);
    if (layerNorm)
      patterns.add<LayerNormPattern<DivOp>, LayerNormPattern<MulOp>>(
          ctx, maxEpsilon);
    if (rmsNorm || layerNorm)
      patterns.add<AbsorbScale>(ctx);
    if (layerNorm)
      patterns.add<AbsorbBias>(ctx);
    if (groupNorm)
      patterns.add<GroupNormPattern, AbsorbGroupAffine<MulOp>,
                   AbsorbGroupAffine<AddOp>>(ctx);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
