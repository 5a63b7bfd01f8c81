//===- ConvToMatmul.cpp - patch convolutions as matmuls -------------------===//
//
// A 2-D convolution whose windows do not overlap (stride equal to the
// kernel, no padding: a ViT patch embedding, a 1x1 conv) is a matmul per
// image after a reshape and a transpose of the input:
// Y[n] (F x OH*OW) = W (F x C*KH*KW) . col[n] (C*KH*KW x OH*OW), where col
// is the input regrouped by kernel tap. The product then runs on the matmul
// micro-kernel and comes out in NCHW. Overlapping windows would make col
// KH*KW times the input; kiln-use-ukernels sends those convolutions to
// kiln_uk_conv2d_*, which packs col from the image a block at a time.
// (Upstream's linalg::rewriteInIm2Col materializes col, and runs on linalg,
// after kiln chooses micro-kernels.)
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
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto xt = cast<RankedTensorType>(op.getInput().getType());
    auto wt = cast<RankedTensorType>(op.getWeight().getType());
    auto yt = cast<RankedTensorType>(op.getType());
    if (op.getSpatialRank() != 2 || op.getGroups() != 1)
      return rewriter.notifyMatchFailure(op, "not a 2-D single-group conv");
    if (!xt.hasStaticShape() || !wt.hasStaticShape() || !yt.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    bool bf16 = wt.getElementType().isBF16();
    if (!xt.getElementType().isF32() || !(bf16 || wt.getElementType().isF32()))
      return rewriter.notifyMatchFailure(op, "not f32 (or bf16 weights)");
    SmallVector<int64_t> strides = op.getStridesOrDefault();
    SmallVector<int64_t> pads = op.getPaddingOrDefault();
    SmallVector<int64_t> dil = op.getDilationsOrDefault();
    int64_t n = xt.getDimSize(0), c = xt.getDimSize(1);
    int64_t f = wt.getDimSize(0), kh = wt.getDimSize(2), kw = wt.getDimSize(3);
    int64_t oh = yt.getDimSize(2), ow = yt.getDimSize(3);
    bool patchify = strides[0] == kh && strides[1] == kw && dil[0] == 1 &&
                    dil[1] == 1 &&
                    llvm::all_of(pads, [](int64_t p) { return p == 0; }) &&
                    xt.getDimSize(2) == oh * kh && xt.getDimSize(3) == ow * kw;
    if (!patchify)
      return rewriter.notifyMatchFailure(op, "overlapping or padded windows");

    // [N, C, OH, KH, OW, KW] -> [N, C, KH, KW, OH, OW] -> [N, C*KH*KW, OH*OW].
    Location loc = op.getLoc();
    Value p = reshape(rewriter, loc, op.getInput(), {n, c, oh, kh, ow, kw});
    if (kh != 1 || kw != 1)
      p = TransposeOp::create(rewriter, loc, p,
                              ArrayRef<int64_t>{0, 1, 3, 5, 2, 4});
    Value col = reshape(rewriter, loc, p, {n, c * kh * kw, oh * ow});
    if (bf16) // a bf16 product takes bf16 operands (--dtype=bf16)
      col = CastOp::create(rewriter, loc,
                           RankedTensorType::get({n, c * kh * kw, oh * ow},
                                                 rewriter.getBF16Type()),
                           col);
    Value w2 = reshape(rewriter, loc, op.getWeight(), {f, c * kh * kw});
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
    patterns.add<ConvPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
