//===- RecognizeAttention.cpp - matmul/softmax/matmul attention -----------===//
//
// Exported attention materializes the [B, H, Sq, Skv] scores and
// probabilities; kiln.attention lowers to a flash kernel that never does.
// The pattern starts from the second matmul, P V, and walks up: softmax,
// mask, scale, Q K^T, then looks through the transposes and the KV-head
// repetition that exporters add around it.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "Matchers.h"

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::kiln {
#define GEN_PASS_DEF_RECOGNIZEATTENTION
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::match;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

struct Options {
  bool detectCausal;
  bool absorbGroupedKV;
  double maskThreshold;
};

/// A mask between the scores and the softmax.
struct Mask {
  Value value;             ///< null: no mask
  bool isBool = false;     ///< i1: keep where true
  bool inverted = false;   ///< i1 that hides where true (select(m, fill, s))
  bool finiteFill = false; ///< a bool mask filled with a finite value
};

/// `v` divided or multiplied by a scalar constant; multiplies `scale` by
/// the factor and returns the unscaled value (or `v` itself).
Value unscale(Value v, double &scale) {
  if (auto div = v.getDefiningOp<DivOp>()) {
    std::optional<double> c = splatValue(div.getRhs());
    if (c && *c != 0 && std::isfinite(*c) &&
        typeOf(div.getLhs()) == typeOf(v)) {
      scale /= *c;
      return div.getLhs();
    }
    return v;
  }
  Value out = v;
  eitherOrder(v.getDefiningOp<MulOp>(), [&](Value a, Value b) {
    std::optional<double> c = splatValue(b);
    if (!c || !std::isfinite(*c) || *c == 0 || typeOf(a) != typeOf(v))
      return false;
    scale *= *c;
    out = a;
    return true;
  });
  return out;
}

/// True when `perm` swaps the last two dimensions and keeps the others.
bool swapsLastTwo(ArrayRef<int64_t> perm) {
  int64_t n = perm.size();
  for (int64_t i = 0; i < n - 2; ++i)
    if (perm[i] != i)
      return false;
  return n >= 2 && perm[n - 2] == n - 1 && perm[n - 1] == n - 2;
}

/// `v` ([B, Hkv * rep, S, D]) as reshape(expand(reshape(kv))) of a
/// [B, Hkv, S, D] value kv (PyTorch's repeat_kv); returns kv or null.
Value repeatedKV(Value v) {
  auto outer = v.getDefiningOp<ReshapeOp>();
  auto expand = outer ? outer.getInput().getDefiningOp<ExpandOp>() : nullptr;
  auto inner = expand ? expand.getInput().getDefiningOp<ReshapeOp>() : nullptr;
  if (!inner)
    return {};
  Value kv = inner.getInput();
  ArrayRef<int64_t> base = typeOf(kv).getShape();
  ArrayRef<int64_t> unit = typeOf(inner).getShape();
  ArrayRef<int64_t> rep = typeOf(expand).getShape();
  ArrayRef<int64_t> out = typeOf(v).getShape();
  if (base.size() != 4 || unit.size() != 5 || rep.size() != 5)
    return {};
  // [B, Hkv, S, D] -> [B, Hkv, 1, S, D] -> [B, Hkv, r, S, D] -> [B, Hkv*r, S,
  // D]
  if (unit[0] != base[0] || unit[1] != base[1] || unit[2] != 1 ||
      unit[3] != base[2] || unit[4] != base[3])
    return {};
  if (rep[0] != base[0] || rep[1] != base[1] || rep[3] != base[2] ||
      rep[4] != base[3])
    return {};
  if (out[0] != base[0] || out[1] != base[1] * rep[2] || out[2] != base[2] ||
      out[3] != base[3])
    return {};
  return kv;
}

/// True when a constant mask over [Sq, Skv] (leading dims all 1) hides
/// exactly the keys j > i + Skv - Sq. `hidden(x)` says whether an element
/// hides its key.
bool isCausalConstant(Value m, int64_t sq, int64_t skv,
                      function_ref<bool(double)> hidden) {
  ArrayRef<int64_t> shape = typeOf(m).getShape();
  if (shape.size() < 2 || shape[shape.size() - 2] != sq ||
      shape.back() != skv ||
      llvm::any_of(shape.drop_back(2), [](int64_t d) { return d != 1; }))
    return false;
  std::optional<SmallVector<double>> values = constantValues(m, 1 << 26);
  if (!values)
    return false;
  for (int64_t i = 0; i < sq; ++i)
    for (int64_t j = 0; j < skv; ++j)
      if (hidden((*values)[i * skv + j]) != (j > i + skv - sq))
        return false;
  return true;
}

/// `m` (broadcastable to `scores`, the rank-3 or rank-4 score shape) as a
/// rank-4 mask of the rewritten op.
Value maskAsRank4(PatternRewriter &rewriter, Location loc, Value m,
                  ArrayRef<int64_t> scores) {
  auto t = typeOf(m);
  SmallVector<int64_t> shape(scores.size() - t.getRank(), 1);
  llvm::append_range(shape, t.getShape());
  if (scores.size() == 3)
    shape.insert(shape.begin() + 1, 1);
  if (ArrayRef<int64_t>(shape) == t.getShape())
    return m;
  return ReshapeOp::create(rewriter, loc,
                           RankedTensorType::get(shape, t.getElementType()), m);
}

struct AttentionPattern : OpRewritePattern<MatmulOp> {
  AttentionPattern(MLIRContext *ctx, Options options)
      : OpRewritePattern(ctx), options(options) {}
  Options options;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto softmax = op.getLhs().getDefiningOp<SoftmaxOp>();
    if (!softmax)
      return rewriter.notifyMatchFailure(op, "lhs is not a softmax");
    auto probs = typeOf(softmax);
    int64_t rank = probs.getRank();
    if ((rank != 3 && rank != 4) || softmax.getAxis() != (uint64_t)rank - 1)
      return rewriter.notifyMatchFailure(op, "not a softmax over the keys");
    if (!softmax->hasOneUse())
      return rewriter.notifyMatchFailure(op, "the probabilities are used "
                                             "elsewhere");
    if (!isa<FloatType>(probs.getElementType()) ||
        typeOf(op).getElementType() != probs.getElementType())
      return rewriter.notifyMatchFailure(op, "not a float attention");

    // The mask, innermost first: softmax(masked).
    Value s = softmax.getInput();
    Mask mask;
    if (auto add = s.getDefiningOp<AddOp>()) {
      bool ok = eitherOrder(add, [&](Value scores, Value m) {
        if (scores.getType() != s.getType() || !scoresMatmul(scores))
          return false;
        s = scores;
        mask.value = m;
        return true;
      });
      if (!ok)
        return rewriter.notifyMatchFailure(op, "an add that is not a mask");
    } else if (auto sel = s.getDefiningOp<SelectOp>()) {
      Value fillValue = sel.getFalseValue(), scores = sel.getTrueValue();
      if (!scoresMatmul(scores)) {
        std::swap(fillValue, scores);
        mask.inverted = true;
      }
      std::optional<double> fill = splatValue(fillValue);
      if (!fill || scores.getType() != s.getType() || !scoresMatmul(scores))
        return rewriter.notifyMatchFailure(op, "a select that is not a mask");
      if (!(std::isinf(*fill) && *fill < 0)) {
        if (!(*fill <= options.maskThreshold))
          return rewriter.notifyMatchFailure(op, "the mask fill is not -inf");
        mask.finiteFill = true;
      }
      mask.value = sel.getCondition();
      mask.isBool = true;
      s = scores;
    }

    // The scale, then Q K^T.
    double scale = 1.0;
    s = unscale(s, scale);
    auto qk = s.getDefiningOp<MatmulOp>();
    if (!qk || typeOf(qk) != typeOf(s))
      return rewriter.notifyMatchFailure(op, "scores are not Q K^T");
    Value q = unscale(qk.getLhs(), scale), kt = qk.getRhs(), v = op.getRhs();
    Value k;
    if (auto tr = kt.getDefiningOp<TransposeOp>();
        tr && swapsLastTwo(tr.getPermutation()))
      k = tr.getInput();
    k = k ? unscale(k, scale) : Value();

    // Shapes: Q [.., Sq, D], K^T [.., D, Skv], V [.., Skv, Dv] with equal
    // batch dimensions (no broadcasting).
    auto qt = typeOf(q), ktt = typeOf(kt), vt = typeOf(v);
    if (qt.getRank() != rank || ktt.getRank() != rank || vt.getRank() != rank ||
        !qt.hasStaticShape() || !ktt.hasStaticShape() || !vt.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "operands of different ranks");
    ArrayRef<int64_t> batch = probs.getShape().drop_back(2);
    if (qt.getShape().drop_back(2) != batch ||
        ktt.getShape().drop_back(2) != batch ||
        vt.getShape().drop_back(2) != batch)
      return rewriter.notifyMatchFailure(op, "broadcast batch dimensions");
    if (qt.getElementType() != probs.getElementType() ||
        vt.getElementType() != probs.getElementType())
      return rewriter.notifyMatchFailure(op, "mixed element types");
    int64_t sq = qt.getDimSize(rank - 2), skv = ktt.getDimSize(rank - 1);

    // The mask: causal, or an operand.
    bool causal = false;
    if (mask.value) {
      Type met = typeOf(mask.value).getElementType();
      if (mask.isBool != met.isInteger(1) ||
          (!mask.isBool && met != probs.getElementType()))
        return rewriter.notifyMatchFailure(op, "unsupported mask type");
      if (options.detectCausal && mask.value.getDefiningOp<ConstantOp>()) {
        double threshold = options.maskThreshold;
        causal = isCausalConstant(mask.value, sq, skv, [&](double x) {
          if (mask.isBool)
            return (x != 0) == mask.inverted;
          return x <= threshold || (std::isinf(x) && x < 0);
        });
      }
      if (!causal && mask.finiteFill)
        return rewriter.notifyMatchFailure(
            op, "a finite fill is only exact for a causal mask");
      if (!causal && !mask.isBool) {
        // A float mask adds to the scores: it must not change their shape.
        SmallVector<int64_t> scores(probs.getShape());
        SmallVector<int64_t> probsShape(probs.getShape());
        if (!OpTrait::util::getBroadcastedShape(typeOf(mask.value).getShape(),
                                                probsShape, scores) ||
            ArrayRef<int64_t>(scores) != probs.getShape())
          return rewriter.notifyMatchFailure(op, "the mask broadcasts the "
                                                 "scores");
      }
    }
    if (!std::isfinite(scale) || scale == 0)
      return rewriter.notifyMatchFailure(op, "degenerate scale");

    // Build on rank-4 views.
    Location loc = op.getLoc();
    auto to4 = [&](Value x) -> Value {
      if (rank == 4)
        return x;
      auto t = typeOf(x);
      SmallVector<int64_t> shape{t.getDimSize(0), 1, t.getDimSize(1),
                                 t.getDimSize(2)};
      return ReshapeOp::create(
          rewriter, loc, RankedTensorType::get(shape, t.getElementType()), x);
    };
    if (!k) {
      SmallVector<int64_t> perm = llvm::to_vector(llvm::seq<int64_t>(0, rank));
      std::swap(perm[rank - 1], perm[rank - 2]);
      SmallVector<int64_t> shape(ktt.getShape());
      std::swap(shape[rank - 1], shape[rank - 2]);
      k = TransposeOp::create(
          rewriter, loc, RankedTensorType::get(shape, ktt.getElementType()), kt,
          perm);
    }
    if (rank == 4 && options.absorbGroupedKV) {
      Value kb = repeatedKV(k), vb = repeatedKV(v);
      if (kb && vb && typeOf(kb).getDimSize(1) == typeOf(vb).getDimSize(1)) {
        k = kb;
        v = vb;
      }
    }
    Value maskOperand;
    if (mask.value && !causal) {
      maskOperand = mask.value;
      if (mask.inverted)
        maskOperand =
            NotOp::create(rewriter, loc, maskOperand.getType(), maskOperand);
      maskOperand = maskAsRank4(rewriter, loc, maskOperand, probs.getShape());
    }
    Value q4 = to4(q), k4 = to4(k), v4 = to4(v);
    auto out4 = RankedTensorType::get({typeOf(q4).getDimSize(0),
                                       typeOf(q4).getDimSize(1), sq,
                                       typeOf(v4).getDimSize(3)},
                                      probs.getElementType());
    Value attn = AttentionOp::create(
        rewriter, loc, out4, q4, k4, v4, maskOperand,
        rewriter.getF64FloatAttr(scale), rewriter.getBoolAttr(causal));
    if (rank == 3)
      attn = ReshapeOp::create(rewriter, loc, op.getType(), attn);
    rewriter.replaceOp(op, attn);
    return success();
  }

  /// True when `v`, unscaled, is a matmul (the raw scores).
  static bool scoresMatmul(Value v) {
    double scale = 1.0;
    return bool(unscale(v, scale).getDefiningOp<MatmulOp>());
  }
};

struct RecognizeAttentionPass
    : kiln::impl::RecognizeAttentionBase<RecognizeAttentionPass> {
  using RecognizeAttentionBase::RecognizeAttentionBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<AttentionPattern>(
        &getContext(), Options{detectCausal, absorbGroupedKV, maskThreshold});
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
