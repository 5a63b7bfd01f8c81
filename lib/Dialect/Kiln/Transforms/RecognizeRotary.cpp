//===- RecognizeRotary.cpp - rotate-half rotary embeddings ----------------===//
//
// GPT-NeoX and Llama export rotary embeddings as x * cos + rotate_half(x) *
// sin with rotate_half built from two slices, a negation and a concat:
// five tensors the size of x. kiln.rotary reads x once.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "Matchers.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_RECOGNIZEROTARY
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::match;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

/// True when `s` slices `[start, start + size)` of the last dimension of
/// `from` with step 1 and takes every other dimension whole.
bool isLastDimSlice(SliceOp s, Value from, int64_t start, int64_t size) {
  if (!s || s.getInput() != from)
    return false;
  auto t = typeOf(from);
  int64_t last = t.getRank() - 1;
  for (int64_t i = 0; i <= last; ++i) {
    bool isLast = i == last;
    if (s.getSteps()[i] != 1 || s.getStarts()[i] != (isLast ? start : 0) ||
        s.getSizes()[i] != (isLast ? size : t.getDimSize(i)))
      return false;
  }
  return true;
}

/// `v` is `-u` (neg, or times -1); returns u.
Value negated(Value v) {
  if (auto n = v.getDefiningOp<NegOp>())
    return n.getInput();
  Value u;
  eitherOrder(v.getDefiningOp<MulOp>(), [&](Value a, Value b) {
    if (!isSplatNear(b, -1.0, 0) || a.getType() != v.getType())
      return false;
    u = a;
    return true;
  });
  return u;
}

/// `v` is concat(-x[..., D/2:], x[..., :D/2]) along the last dimension;
/// returns x.
Value rotateHalfOf(Value v) {
  auto cat = v.getDefiningOp<ConcatOp>();
  if (!cat || cat.getInputs().size() != 2 ||
      cat.getAxis() != (uint64_t)typeOf(v).getRank() - 1)
    return {};
  Value hi = negated(cat.getInputs()[0]);
  auto lo = cat.getInputs()[1].getDefiningOp<SliceOp>();
  if (!hi || !lo)
    return {};
  Value x = lo.getInput();
  int64_t d = typeOf(x).getShape().back();
  if (d % 2 != 0 || !isLastDimSlice(lo, x, 0, d / 2) ||
      !isLastDimSlice(hi.getDefiningOp<SliceOp>(), x, d / 2, d / 2))
    return {};
  return x;
}

/// True when the two halves of `v`'s last dimension are provably equal.
bool halvesEqual(Value v, int depth = 0) {
  if (depth > 8)
    return false;
  auto t = typeOf(v);
  int64_t d = t.getShape().back();
  if (d == 1)
    return true; // broadcast along the features
  if (d % 2 != 0)
    return false;
  auto same = [&](Value u) {
    return typeOf(u).getShape().back() == d && halvesEqual(u, depth + 1);
  };
  Operation *op = v.getDefiningOp();
  if (!op)
    return false;
  if (auto cat = dyn_cast<ConcatOp>(op))
    return cat.getAxis() == (uint64_t)t.getRank() - 1 &&
           cat.getInputs().size() == 2 &&
           cat.getInputs()[0] == cat.getInputs()[1];
  if (isa<CosOp, SinOp, NegOp, CastOp, ExpOp, ReshapeOp, ExpandOp>(op))
    return same(op->getOperand(0));
  if (auto s = dyn_cast<SliceOp>(op))
    return isLastDimSlice(s, s.getInput(), 0, d) && same(s.getInput());
  if (auto g = dyn_cast<GatherOp>(op))
    return g.getAxis() != (uint64_t)typeOf(g.getInput()).getRank() - 1 &&
           same(g.getInput());
  if (auto tr = dyn_cast<TransposeOp>(op))
    return tr.getPermutation().back() == (int64_t)t.getRank() - 1 &&
           same(tr.getInput());
  if (isa<MulOp, AddOp, SubOp, DivOp>(op))
    return llvm::all_of(op->getOperands(), [&](Value u) {
      int64_t ud = typeOf(u).getRank() ? typeOf(u).getShape().back() : 1;
      return ud == 1 || same(u);
    });
  if (isa<ConstantOp>(op)) {
    std::optional<SmallVector<double>> values =
        constantValues(v, /*limit=*/1 << 22);
    if (!values)
      return false;
    for (int64_t row = 0; row < (int64_t)values->size(); row += d)
      for (int64_t i = 0; i < d / 2; ++i)
        if ((*values)[row + i] != (*values)[row + d / 2 + i])
          return false;
    return true;
  }
  return false;
}

/// `v` is concat(a, a) along the last dimension; returns a.
Value doubled(Value v) {
  auto cat = v.getDefiningOp<ConcatOp>();
  if (!cat || cat.getInputs().size() != 2 ||
      cat.getInputs()[0] != cat.getInputs()[1] ||
      cat.getAxis() != (uint64_t)typeOf(v).getRank() - 1)
    return {};
  return cat.getInputs()[0];
}

/// The first half of `v`'s last dimension: `f(a)` for `f(concat(a, a))`
/// with f = cos or sin (the usual spelling), a slice otherwise.
Value firstHalf(PatternRewriter &rewriter, Location loc, Value v) {
  auto t = typeOf(v);
  SmallVector<int64_t> sizes(t.getShape());
  if (sizes.back() == 1)
    return v;
  Operation *def = v.getDefiningOp();
  if (isa_and_nonnull<CosOp, SinOp>(def)) {
    if (Value a = doubled(def->getOperand(0))) {
      OperationState state(loc, def->getName(), ValueRange{a},
                           TypeRange{a.getType()}, def->getAttrs());
      return rewriter.create(state)->getResult(0);
    }
  }
  sizes.back() /= 2;
  SmallVector<int64_t> zeros(t.getRank(), 0), ones(t.getRank(), 1);
  return SliceOp::create(rewriter, loc,
                         RankedTensorType::get(sizes, t.getElementType()), v,
                         zeros, sizes, ones);
}

/// x * cos + rotate_half(x) * sin -> rotary(x, cos[..., :D/2], sin[...]).
struct RotaryPattern : OpRewritePattern<AddOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    Value x, cos, sin;
    bool found = eitherOrder(op, [&](Value direct, Value rotated) {
      // rotated = rotate_half(x) * sin
      bool ok =
          eitherOrder(rotated.getDefiningOp<MulOp>(), [&](Value r, Value s) {
            x = rotateHalfOf(r);
            sin = s;
            return bool(x);
          });
      // direct = x * cos
      return ok &&
             eitherOrder(direct.getDefiningOp<MulOp>(), [&](Value a, Value c) {
               cos = c;
               return a == x;
             });
    });
    if (!found)
      return rewriter.notifyMatchFailure(op,
                                         "not x * cos + rotate_half(x) * sin");
    auto xt = typeOf(x);
    if (xt != op.getType() || typeOf(cos) != typeOf(sin) ||
        typeOf(cos).getRank() > xt.getRank() ||
        typeOf(cos).getElementType() != xt.getElementType())
      return rewriter.notifyMatchFailure(op, "cos/sin do not fit the input");
    if (!halvesEqual(cos) || !halvesEqual(sin))
      return rewriter.notifyMatchFailure(
          op, "cannot prove that cos/sin repeat along the features");
    Value c = firstHalf(rewriter, op.getLoc(), cos);
    Value s = firstHalf(rewriter, op.getLoc(), sin);
    rewriter.replaceOpWithNewOp<RotaryOp>(op, op.getType(), x, c, s, false);
    return success();
  }
};

struct RecognizeRotaryPass
    : kiln::impl::RecognizeRotaryBase<RecognizeRotaryPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<RotaryPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
