//===- ConvToMatmul.cpp - 2-D convolutions as im2col + matmul -------------===//
//
// A 2-D convolution with one group, in NCHW as exported, is a matmul per
// image: Y[n] (F x OH*OW) = W (F x C*KH*KW) . col[n] (C*KH*KW x OH*OW), where
// col holds, for every kernel tap (c, kh, kw), the input pixels that tap
// reads. The product then runs on the matmul micro-kernel (kiln-use-ukernels)
// and comes out in NCHW without a transpose. Upstream has im2col for NHWC
// and NCHW linalg convolutions (linalg::rewriteInIm2Col), but on linalg,
// after the point where kiln chooses micro-kernels; this rewrite stays in
// the kiln dialect so that the product is an ordinary kiln.matmul.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_CONVTOMATMUL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

Value reshape(PatternRewriter &b, Location loc, Value v,
              ArrayRef<int64_t> shape) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getShape() == shape)
    return v;
  return ReshapeOp::create(b, loc,
                           RankedTensorType::get(shape, t.getElementType()), v);
}

struct ConvPattern : OpRewritePattern<ConvOp> {
  ConvPattern(MLIRContext *ctx, int64_t maxTaps)
      : OpRewritePattern(ctx), maxTaps(maxTaps) {}
  int64_t maxTaps;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto xt = cast<RankedTensorType>(op.getInput().getType());
    auto wt = cast<RankedTensorType>(op.getWeight().getType());
    auto yt = cast<RankedTensorType>(op.getType());
    if (op.getSpatialRank() != 2 || op.getGroups() != 1)
      return rewriter.notifyMatchFailure(op, "not a 2-D single-group conv");
    if (!xt.hasStaticShape() || !wt.hasStaticShape() || !yt.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    if (!xt.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not f32");
    SmallVector<int64_t> strides = op.getStridesOrDefault();
    SmallVector<int64_t> pads = op.getPaddingOrDefault();
    SmallVector<int64_t> dil = op.getDilationsOrDefault();
    int64_t n = xt.getDimSize(0), c = xt.getDimSize(1);
    int64_t f = wt.getDimSize(0), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
    int64_t oh = yt.getDimSize(2), ow = yt.getDimSize(3);
    int64_t taps = kh * kw;
    bool patchify = strides[0] == kh && strides[1] == kw && dil[0] == 1 &&
                    dil[1] == 1 &&
                    llvm::all_of(pads, [](int64_t p) { return p == 0; }) &&
                    xt.getDimSize(2) == oh * kh && xt.getDimSize(3) == ow * kw;
    if (!patchify && taps > maxTaps)
      return rewriter.notifyMatchFailure(op, "too many kernel taps");

    Location loc = op.getLoc();
    Value x = op.getInput();
    Value col;
    if (patchify) {
      // Non-overlapping patches (a ViT patch embedding, 1x1 convs): a
      // reshape and a transpose, [N, C, OH, KH, OW, KW] ->
      // [N, C, KH, KW, OH, OW].
      Value p = reshape(rewriter, loc, x, {n, c, oh, kh, ow, kw});
      if (kh != 1 || kw != 1)
        p = TransposeOp::create(rewriter, loc, p,
                                ArrayRef<int64_t>{0, 1, 3, 5, 2, 4});
      col = reshape(rewriter, loc, p, {n, c * taps, oh * ow});
    } else {
      if (llvm::any_of(pads, [](int64_t p) { return p != 0; }))
        x = PadOp::create(
            rewriter, loc, x,
            ArrayRef<int64_t>{0, 0, pads[0], pads[1], 0, 0, pads[2], pads[3]},
            APFloat(0.0f));
      // One strided slice per tap, each [N, C, 1, OH*OW], stacked on the
      // tap axis so that K runs over (c, kh, kw) like the weight's.
      SmallVector<Value> slices;
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j) {
          Value s = SliceOp::create(
              rewriter, loc, x, ArrayRef<int64_t>{0, 0, i * dil[0], j * dil[1]},
              ArrayRef<int64_t>{n, c, oh, ow},
              ArrayRef<int64_t>{1, 1, strides[0], strides[1]});
          slices.push_back(reshape(rewriter, loc, s, {n, c, 1, oh * ow}));
        }
      Value stacked = slices.size() == 1
                          ? slices.front()
                          : ConcatOp::create(rewriter, loc, slices,
                                             rewriter.getI64IntegerAttr(2))
                                .getResult();
      col = reshape(rewriter, loc, stacked, {n, c * taps, oh * ow});
    }
    Value w2 = reshape(rewriter, loc, op.getWeight(), {f, c * taps});
    Value y = MatmulOp::create(
        rewriter, loc,
        RankedTensorType::get({n, f, oh * ow}, yt.getElementType()), w2, col);
    y = reshape(rewriter, loc, y, yt.getShape());
    if (Value bias = op.getBias())
      y = AddOp::create(rewriter, loc, yt, y,
                        reshape(rewriter, loc, bias, {f, 1, 1}));
    rewriter.replaceOp(op, y);
    return success();
  }
};

struct ConvToMatmulPass : mlir::kiln::impl::ConvToMatmulBase<ConvToMatmulPass> {
  using Base::Base;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ConvPattern>(&getContext(), maxTaps);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
