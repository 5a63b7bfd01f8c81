//===- UpsampleConv.cpp - convolutions after a 2x nearest upsample --------===//
//
// conv(upsample2x(x), W) with a (2p+1) x (2q+1) kernel, padding p, q and
// stride 1 is, for the outputs of each parity (a, b), a (p+1) x (q+1)
// convolution of x itself: upsampled row 2i + a - p + ky is row
// floor((a - p + ky) / 2) + i of x, so the taps ky that land on the same
// row of x share one folded weight. Four such convolutions (one per parity)
// replace the full-resolution one: (p+1)(q+1) instead of (2p+1)(2q+1)
// multiply-adds per output.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_UPSAMPLECONV
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

//===----------------------------------------------------------------------===//
// Recognizing the upsample
//===----------------------------------------------------------------------===//

// A value computed from a tensor x by reshapes and broadcasts is described
// exactly, dimension by dimension, as strided pieces of x's row-major
// elements: a dimension's index decomposes (row-major) into one index per
// piece, and the element read is x's flat element at sum(index * stride).
// A broadcast piece has stride 0.
struct Piece {
  int64_t size, stride;
  bool operator==(const Piece &o) const {
    return size == o.size && stride == o.stride;
  }
};
using Pieces = SmallVector<Piece, 4>;

/// Drops size-1 pieces and merges neighbours that are one strided run.
Pieces normalized(ArrayRef<Piece> in) {
  Pieces out;
  for (Piece p : in) {
    if (p.size == 1)
      continue;
    if (!out.empty() && out.back().stride == p.size * p.stride) {
      out.back() = {out.back().size * p.size, p.stride};
      continue;
    }
    out.push_back(p);
  }
  return out;
}

/// The dimensions regrouped into `shape` (row-major, as kiln.reshape does);
/// fails where a new dimension boundary would cut a piece unevenly.
LogicalResult reshaped(SmallVector<Pieces> &dims, ArrayRef<int64_t> shape) {
  SmallVector<Piece> flat;
  for (const Pieces &d : dims)
    for (Piece p : d)
      if (p.size != 1)
        flat.push_back(p);
  SmallVector<Pieces> out;
  size_t next = 0;
  for (int64_t size : shape) {
    Pieces dim;
    int64_t left = size;
    while (left > 1) {
      if (next == flat.size())
        return failure();
      Piece &p = flat[next];
      if (p.size <= left && left % p.size == 0) {
        dim.push_back(p);
        left /= p.size;
        ++next;
      } else if (p.size % left == 0) {
        // Split the piece: its outer part ends this dimension.
        int64_t inner = p.size / left;
        dim.push_back({left, p.stride * inner});
        p = {inner, p.stride};
        left = 1;
      } else {
        return failure();
      }
    }
    out.push_back(std::move(dim));
  }
  if (next != flat.size())
    return failure();
  dims = std::move(out);
  return success();
}

/// The dimensions broadcast from `in` to `out` (numpy's rules).
LogicalResult expanded(SmallVector<Pieces> &dims, ArrayRef<int64_t> in,
                       ArrayRef<int64_t> out) {
  if (out.size() < in.size())
    return failure();
  size_t lead = out.size() - in.size();
  SmallVector<Pieces> result;
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t o = out[i];
    int64_t n = i < lead ? 1 : in[i - lead];
    if (i >= lead && n == o)
      result.push_back(dims[i - lead]);
    else if (n == 1)
      result.push_back(Pieces{{o, 0}});
    else
      return failure();
  }
  dims = std::move(result);
  return success();
}

/// Follows kiln.reshape and kiln.expand ops back from `v` to the tensor they
/// start from (`source`), describing `v` in pieces of it.
LogicalResult trace(Value v, Value &source, SmallVector<Pieces> &dims,
                    int depth = 0) {
  auto type = cast<RankedTensorType>(v.getType());
  if (!type.hasStaticShape())
    return failure();
  Operation *def = v.getDefiningOp();
  if (depth < 16 && isa_and_nonnull<ReshapeOp, ExpandOp>(def)) {
    Value in = def->getOperand(0);
    if (failed(trace(in, source, dims, depth + 1)))
      return failure();
    if (isa<ReshapeOp>(def))
      return reshaped(dims, type.getShape());
    return expanded(dims, cast<RankedTensorType>(in.getType()).getShape(),
                    type.getShape());
  }
  source = v;
  dims.clear();
  int64_t stride = 1;
  SmallVector<Pieces> rev;
  for (int64_t size : llvm::reverse(type.getShape())) {
    rev.push_back(Pieces{{size, stride}});
    stride *= size;
  }
  dims.assign(rev.rbegin(), rev.rend());
  return success();
}

/// The x of `v` = x[n, c, i / 2, j / 2] (an NCHW nearest 2x upsample spelled
/// with reshapes and expands), or null.
Value upsampledFrom(Value v) {
  Value x;
  SmallVector<Pieces> dims;
  if (!v.getDefiningOp<ReshapeOp>() || failed(trace(v, x, dims)) || x == v)
    return nullptr;
  auto xt = cast<RankedTensorType>(x.getType());
  auto vt = cast<RankedTensorType>(v.getType());
  if (xt.getRank() != 4 || vt.getRank() != 4 ||
      xt.getElementType() != vt.getElementType())
    return nullptr;
  int64_t c = xt.getDimSize(1), h = xt.getDimSize(2), w = xt.getDimSize(3);
  Pieces want[4] = {{{xt.getDimSize(0), c * h * w}},
                    {{c, h * w}},
                    {{h, w}, {2, 0}},
                    {{w, 1}, {2, 0}}};
  for (int d = 0; d < 4; ++d)
    if (normalized(dims[d]) != normalized(want[d]))
      return nullptr;
  return x;
}

//===----------------------------------------------------------------------===//
// The rewrite
//===----------------------------------------------------------------------===//

int64_t floorDiv(int64_t a, int64_t b) {
  return a >= 0 ? a / b : -((-a + b - 1) / b);
}

struct UpsampleConvPattern : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto yt = cast<RankedTensorType>(op.getType());
    auto wt = cast<RankedTensorType>(op.getWeight().getType());
    if (op.getSpatialRank() != 2 || op.getGroups() != 1 ||
        !yt.hasStaticShape() || !wt.hasStaticShape() ||
        !yt.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not a static 2-D f32 conv");
    SmallVector<int64_t> pads = op.getPaddingOrDefault();
    SmallVector<int64_t> strides = op.getStridesOrDefault();
    SmallVector<int64_t> dil = op.getDilationsOrDefault();
    int64_t f = wt.getDimSize(0), c = wt.getDimSize(1);
    int64_t kh = wt.getDimSize(2), kw = wt.getDimSize(3);
    int64_t p = pads[0], q = pads[1];
    if (strides != SmallVector<int64_t>{1, 1} ||
        dil != SmallVector<int64_t>{1, 1} || pads[2] != p || pads[3] != q ||
        kh != 2 * p + 1 || kw != 2 * q + 1 || (p == 0 && q == 0))
      return rewriter.notifyMatchFailure(
          op, "not an odd 'same' kernel with stride 1 (and larger than 1x1)");
    auto constant = op.getWeight().getDefiningOp<ConstantOp>();
    if (!constant)
      return rewriter.notifyMatchFailure(op, "weight is not a constant");
    Value x = upsampledFrom(op.getInput());
    if (!x)
      return rewriter.notifyMatchFailure(op, "input is not a 2x upsample");
    std::vector<float> w;
    if (!weights::readConstant(constant, f * c * kh * kw, w))
      return rewriter.notifyMatchFailure(op, "weight data unavailable");

    auto xt = cast<RankedTensorType>(x.getType());
    int64_t n = xt.getDimSize(0), h = xt.getDimSize(2), wd = xt.getDimSize(3);
    Location loc = op.getLoc();
    Type f32 = rewriter.getF32Type();
    // Parity a of a kernel of size 2r+1: taps k land on x offsets
    // floorDiv(a - r + k, 2), from lo(a, r) to lo(a, r) + r.
    auto lo = [](int64_t a, int64_t r) { return floorDiv(a - r, 2); };
    std::string key = weights::blobKey(constant);
    auto phaseType = RankedTensorType::get({f, c, p + 1, q + 1}, f32);
    auto partType = RankedTensorType::get({n, f, h, 1, wd, 1}, f32);
    Value rows[2];
    for (int64_t a = 0; a < 2; ++a) {
      Value cols[2];
      for (int64_t b = 0; b < 2; ++b) {
        std::vector<float> folded(size_t(f * c * (p + 1) * (q + 1)), 0.0f);
        for (int64_t fc = 0; fc < f * c; ++fc)
          for (int64_t ky = 0; ky < kh; ++ky)
            for (int64_t kx = 0; kx < kw; ++kx) {
              int64_t dy = floorDiv(a - p + ky, 2) - lo(a, p);
              int64_t dx = floorDiv(b - q + kx, 2) - lo(b, q);
              folded[size_t((fc * (p + 1) + dy) * (q + 1) + dx)] +=
                  w[size_t((fc * kh + ky) * kw + kx)];
            }
        Value wab = weights::blobConstant(
            rewriter, constant.getLoc(), phaseType,
            key + "_up" + std::to_string(a) + std::to_string(b),
            ArrayRef<char>(reinterpret_cast<const char *>(folded.data()),
                           folded.size() * sizeof(float)));
        // Padding so that output i reads x rows i + lo .. i + lo + p.
        SmallVector<int64_t> padding{-lo(a, p), -lo(b, q), lo(a, p) + p,
                                     lo(b, q) + q};
        auto conv = ConvOp::create(rewriter, loc,
                                   RankedTensorType::get({n, f, h, wd}, f32), x,
                                   wab, op.getBias(), op.getStridesAttr(),
                                   rewriter.getDenseI64ArrayAttr(padding),
                                   op.getDilationsAttr(), op.getGroupsAttr());
        cols[b] = ReshapeOp::create(rewriter, loc, partType, conv);
      }
      rows[a] =
          ConcatOp::create(rewriter, loc, cols, rewriter.getI64IntegerAttr(5));
    }
    Value all =
        ConcatOp::create(rewriter, loc, rows, rewriter.getI64IntegerAttr(3));
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, yt, all);
    return success();
  }
};

struct UpsampleConvPass : kiln::impl::UpsampleConvBase<UpsampleConvPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<UpsampleConvPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
