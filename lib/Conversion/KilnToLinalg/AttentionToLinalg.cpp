//===- AttentionToLinalg.cpp - attention and rotary to linalg -------------===//
//
// The reference decomposition of kiln.attention: scores, mask, a guarded
// softmax and the value contraction as linalg.generic ops in fp32. Grouped KV
// heads are read through a [B, Hkv, G, S, D] view of the queries, so no KV
// head is copied. It materializes the [Sq, Skv] scores; the CPU codegen
// stage replaces it with a flash-attention kernel unless asked not to.
//
// Keys and values of a dynamic length are decomposed when they are a prefix
// of a static tensor (a decoder's KV cache read up to its current length):
// the decomposition reads the whole static slice and masks the keys at and
// past the length, so every tensor it builds keeps a static shape.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

using utils::IteratorType;

AffineMap dims(MLIRContext *ctx, unsigned n, ArrayRef<unsigned> which) {
  SmallVector<AffineExpr> e;
  for (unsigned w : which)
    e.push_back(getAffineDimExpr(w, ctx));
  return AffineMap::get(n, 0, e, ctx);
}

/// out[...] = sum over the reduction dimension of a * b (fp32). With
/// `length`, only the reduction indices below it count (the others may read
/// anything, NaN included).
Value contract(OpBuilder &b, Location loc, Value x, Value y, AffineMap xm,
               AffineMap ym, AffineMap om, ArrayRef<IteratorType> iters,
               RankedTensorType outType, Value length = {}) {
  Value acc = filledTensor(b, loc, outType,
                           scalarConstant(b, loc, outType.getElementType(), 0));
  Type f32 = outType.getElementType();
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{x, y}, ValueRange{acc},
             {xm, ym, om}, iters,
             [&](OpBuilder &nb, Location l, ValueRange a) {
               Value p =
                   arith::MulFOp::create(nb, l, convertScalar(nb, l, a[0], f32),
                                         convertScalar(nb, l, a[1], f32));
               if (length) {
                 Value k = linalg::IndexOp::create(nb, l, iters.size() - 1);
                 Value ok = arith::CmpIOp::create(
                     nb, l, arith::CmpIPredicate::slt, k, length);
                 p = arith::SelectOp::create(nb, l, ok, p,
                                             scalarConstant(nb, l, f32, 0));
               }
               linalg::YieldOp::create(
                   nb, l, arith::AddFOp::create(nb, l, a[2], p).getResult());
             })
      .getResult(0);
}

} // namespace

std::optional<lowering::KvPrefix> lowering::kvPrefix(Value kv) {
  auto type = cast<RankedTensorType>(kv.getType());
  if (type.getRank() != 4 || !type.isDynamicDim(2) ||
      type.getNumDynamicDims() != 1)
    return std::nullopt;
  auto slice = kv.getDefiningOp<tensor::ExtractSliceOp>();
  if (!slice || !slice.getSourceType().hasStaticShape() ||
      !slice.hasUnitStride() || slice.getSizes().size() != 1)
    return std::nullopt;
  // The source dimension of the one dynamic size; dropped (unit) dimensions
  // are static, so it is the result's dimension 2 after them.
  llvm::SmallBitVector dropped = slice.getDroppedDims();
  ArrayRef<int64_t> sizes = slice.getStaticSizes();
  unsigned dim = llvm::find(sizes, ShapedType::kDynamic) - sizes.begin();
  int64_t offset = slice.getStaticOffsets()[dim];
  if (ShapedType::isDynamic(offset))
    return std::nullopt;
  unsigned kept = 0;
  for (unsigned i = 0; i < dim; ++i)
    kept += !dropped.test(i);
  if (kept != 2)
    return std::nullopt;
  KvPrefix p;
  p.slice = slice;
  p.bound = slice.getSourceType().getDimSize(dim) - offset;
  p.length = slice.getSizes().front();
  return p;
}

bool lowering::hasDecomposableShapes(AttentionOp op) {
  auto isStatic = [](Value v) {
    return !v || cast<RankedTensorType>(v.getType()).hasStaticShape();
  };
  if (!isStatic(op.getQuery()) || !isStatic(op.getMask()))
    return false;
  return (isStatic(op.getKey()) && isStatic(op.getValue())) ||
         (kvPrefix(op.getKey()) && kvPrefix(op.getValue()));
}

namespace {

/// The static slice of `p`'s source that holds it, `bound` keys long.
Value widenedSlice(OpBuilder &b, Location loc, const KvPrefix &p,
                   int64_t bound) {
  tensor::ExtractSliceOp s = p.slice;
  SmallVector<OpFoldResult> sizes = s.getMixedSizes();
  for (OpFoldResult &size : sizes)
    if (isa<Value>(size))
      size = b.getIndexAttr(bound);
  auto type = cast<RankedTensorType>(s.getType());
  SmallVector<int64_t> shape(type.getShape());
  shape[2] = bound;
  return tensor::ExtractSliceOp::create(
      b, loc, RankedTensorType::get(shape, type.getElementType()),
      s.getSource(), s.getMixedOffsets(), sizes, s.getMixedStrides());
}

/// K and V as both decompositions read them: static, and with a dynamic
/// length the static slices that hold them (`length` is the length, an
/// index; null when K and V are static).
struct StaticKv {
  Value key, value, length;
};
FailureOr<StaticKv> staticKv(OpBuilder &b, AttentionOp op, Value key,
                             Value value) {
  if (!hasDecomposableShapes(op))
    return failure();
  std::optional<KvPrefix> kp = kvPrefix(key), vp = kvPrefix(value);
  if (!kp || !vp)
    return StaticKv{key, value, Value()};
  int64_t bound = std::min(kp->bound, vp->bound);
  return StaticKv{widenedSlice(b, op.getLoc(), *kp, bound),
                  widenedSlice(b, op.getLoc(), *vp, bound), kp->length};
}

struct AttentionPattern : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<StaticKv> kv =
        staticKv(rewriter, op, adaptor.getKey(), adaptor.getValue());
    if (failed(kv))
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Value key = kv->key, value = kv->value, length = kv->length;
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getType());
    auto qt = cast<RankedTensorType>(adaptor.getQuery().getType());
    auto kt = cast<RankedTensorType>(key.getType());
    auto vt = cast<RankedTensorType>(value.getType());
    int64_t bsz = qt.getDimSize(0), hq = qt.getDimSize(1),
            sq = qt.getDimSize(2), d = qt.getDimSize(3), hkv = kt.getDimSize(1),
            skv = kt.getDimSize(2), dv = vt.getDimSize(3), g = hq / hkv;
    Type f32 = rewriter.getF32Type();
    Value q = reshape(
        rewriter, loc, adaptor.getQuery(),
        RankedTensorType::get({bsz, hkv, g, sq, d}, qt.getElementType()));
    // scores[b,h,g,i,j] = sum_d q[b,h,g,i,d] k[b,h,j,d]
    auto scoresType = RankedTensorType::get({bsz, hkv, g, sq, skv}, f32);
    Value scores =
        contract(rewriter, loc, q, key, dims(ctx, 6, {0, 1, 2, 3, 5}),
                 dims(ctx, 6, {0, 1, 4, 5}), dims(ctx, 6, {0, 1, 2, 3, 4}),
                 {IteratorType::parallel, IteratorType::parallel,
                  IteratorType::parallel, IteratorType::parallel,
                  IteratorType::parallel, IteratorType::reduction},
                 scoresType);
    // Scale, mask (explicit and causal); masked scores become -inf.
    SmallVector<Value> operands{scores};
    Value mask = adaptor.getMask();
    bool boolMask = false;
    if (mask) {
      auto mt = cast<RankedTensorType>(mask.getType());
      boolMask = mt.getElementType().isInteger(1);
      SmallVector<int64_t> full{bsz, hq, sq, skv};
      Value mFull = elementwise(
          rewriter, loc, RankedTensorType::get(full, mt.getElementType()),
          {mask}, [](OpBuilder &, Location, ValueRange a) { return a[0]; });
      operands.push_back(reshape(
          rewriter, loc, mFull,
          RankedTensorType::get({bsz, hkv, g, sq, skv}, mt.getElementType())));
    }
    double scale = op.getScale().convertToDouble();
    bool causal = op.getCausal();
    // Keys j < length are the real ones; causally, query i sees j <= i +
    // (length - Sq), which also keeps j < length.
    Value shift;
    if (length)
      shift = arith::SubIOp::create(
          rewriter, loc, length,
          arith::ConstantIndexOp::create(rewriter, loc, sq));
    else
      shift = arith::ConstantIndexOp::create(rewriter, loc, skv - sq);
    scores = elementwise(
        rewriter, loc, scoresType, operands,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value s = arith::MulFOp::create(b, l, a[0],
                                          scalarConstant(b, l, f32, scale));
          Value ninf = extremeConstant(b, l, f32, false);
          if (mask) {
            if (boolMask)
              s = arith::SelectOp::create(b, l, a[1], s, ninf);
            else
              s = arith::AddFOp::create(b, l, s,
                                        convertScalar(b, l, a[1], f32));
          }
          Value j = linalg::IndexOp::create(b, l, 4);
          if (causal) {
            // key j is visible from query i when j <= i + (Skv - Sq)
            Value i = linalg::IndexOp::create(b, l, 3);
            Value lim = arith::AddIOp::create(b, l, i, shift);
            Value ok =
                arith::CmpIOp::create(b, l, arith::CmpIPredicate::sle, j, lim);
            s = arith::SelectOp::create(b, l, ok, s, ninf);
          } else if (length) {
            Value ok = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, j,
                                             length);
            s = arith::SelectOp::create(b, l, ok, s, ninf);
          }
          return s;
        });
    // Softmax over j. A fully masked row has max -inf: its weights are 0.
    Value m = reduce(
        rewriter, loc, scores, {4}, f32,
        extremeConstant(rewriter, loc, f32, false),
        [](OpBuilder &, Location, ValueRange a) { return a[0]; },
        [](OpBuilder &b, Location l, ValueRange a) {
          return arith::MaximumFOp::create(b, l, a[0], a[1]);
        });
    m = reshape(rewriter, loc, m,
                RankedTensorType::get({bsz, hkv, g, sq, 1}, f32));
    Value p = elementwise(rewriter, loc, scoresType, {scores, m},
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            Value ninf = extremeConstant(b, l, f32, false);
                            Value dead = arith::CmpFOp::create(
                                b, l, arith::CmpFPredicate::OEQ, a[1], ninf);
                            Value e = math::ExpOp::create(
                                b, l, arith::SubFOp::create(b, l, a[0], a[1]));
                            return arith::SelectOp::create(
                                b, l, dead, scalarConstant(b, l, f32, 0), e);
                          });
    Value sum = reduce(
        rewriter, loc, p, {4}, f32, scalarConstant(rewriter, loc, f32, 0),
        [](OpBuilder &, Location, ValueRange a) { return a[0]; },
        [](OpBuilder &b, Location l, ValueRange a) {
          return arith::AddFOp::create(b, l, a[0], a[1]);
        });
    // out[b,h,g,i,e] = sum_j p[b,h,g,i,j] v[b,h,j,e]
    auto outType = RankedTensorType::get({bsz, hkv, g, sq, dv}, f32);
    Value out =
        contract(rewriter, loc, p, value, dims(ctx, 6, {0, 1, 2, 3, 5}),
                 dims(ctx, 6, {0, 1, 5, 4}), dims(ctx, 6, {0, 1, 2, 3, 4}),
                 {IteratorType::parallel, IteratorType::parallel,
                  IteratorType::parallel, IteratorType::parallel,
                  IteratorType::parallel, IteratorType::reduction},
                 outType, length);
    sum = reshape(rewriter, loc, sum,
                  RankedTensorType::get({bsz, hkv, g, sq, 1}, f32));
    out = elementwise(
        rewriter, loc,
        RankedTensorType::get(outType.getShape(), type.getElementType()),
        {out, sum}, [&](OpBuilder &b, Location l, ValueRange a) {
          Value zero = scalarConstant(b, l, f32, 0);
          Value empty = arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ,
                                              a[1], zero);
          Value r = arith::SelectOp::create(
              b, l, empty, zero, arith::DivFOp::create(b, l, a[0], a[1]));
          return convertScalar(b, l, r, type.getElementType());
        });
    rewriter.replaceOp(op, reshape(rewriter, loc, out, type));
    return success();
  }
};

/// Attention by query row (attention=rows, the CUDA target's): one
/// scf.forall over the (batch, head, query) rows, each running an online
/// softmax over its keys (the running maximum rescales the sum and the
/// accumulated row) and never materializing the [Sq, Skv] scores: on the
/// GPU, one kernel with a thread per row. Causal rows stop at their last
/// visible key, and a dynamic length bounds the loop over the keys.
struct AttentionRowsPattern : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(AttentionOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    FailureOr<StaticKv> kv =
        staticKv(rewriter, op, adaptor.getKey(), adaptor.getValue());
    if (failed(kv))
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    Value key = kv->key, value = kv->value, length = kv->length;
    auto type = cast<RankedTensorType>(op.getType());
    auto qt = cast<RankedTensorType>(adaptor.getQuery().getType());
    auto kt = cast<RankedTensorType>(key.getType());
    auto vt = cast<RankedTensorType>(value.getType());
    int64_t bsz = qt.getDimSize(0), hq = qt.getDimSize(1),
            sq = qt.getDimSize(2), d = qt.getDimSize(3), hkv = kt.getDimSize(1),
            skv = kt.getDimSize(2), dv = vt.getDimSize(3), g = hq / hkv;
    Type f32 = rewriter.getF32Type();
    auto out32 = RankedTensorType::get({bsz, hq, sq, dv}, f32);
    Value q = adaptor.getQuery(), mask = adaptor.getMask();
    if (!length)
      length = arith::ConstantIndexOp::create(rewriter, loc, skv);
    double scale = op.getScale().convertToDouble();
    bool causal = op.getCausal();
    auto forall = scf::ForallOp::create(
        rewriter, loc,
        ArrayRef<OpFoldResult>{rewriter.getIndexAttr(bsz * hq * sq)},
        ValueRange{emptyTensor(rewriter, loc, out32)}, std::nullopt,
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto cst = [&](int64_t v) {
            return arith::ConstantIndexOp::create(b, l, v).getResult();
          };
          auto at = [&](OpBuilder &nb, Location nl, Value t,
                        ValueRange idx) -> Value {
            return convertScalar(
                nb, nl, tensor::ExtractOp::create(nb, nl, t, idx), f32);
          };
          Value bi = arith::DivUIOp::create(b, l, args[0], cst(hq * sq));
          Value rest = arith::RemUIOp::create(b, l, args[0], cst(hq * sq));
          Value h = arith::DivUIOp::create(b, l, rest, cst(sq));
          Value i = arith::RemUIOp::create(b, l, rest, cst(sq));
          Value hk = arith::DivUIOp::create(b, l, h, cst(g));
          // Keys 0 .. end: causally, j <= i + (length - Sq).
          Value end = length;
          if (causal)
            end = arith::MaxSIOp::create(
                b, l, cst(0),
                arith::AddIOp::create(
                    b, l, i, arith::SubIOp::create(b, l, length, cst(sq - 1))));
          SmallVector<OpFoldResult> rowOffsets{bi, h, i, b.getIndexAttr(0)};
          SmallVector<OpFoldResult> rowSizes{
              b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1),
              b.getIndexAttr(dv)};
          SmallVector<OpFoldResult> unit(4, b.getIndexAttr(1));
          auto rowType = RankedTensorType::get({dv}, f32);
          Value row = tensor::ExtractSliceOp::create(
              b, l, rowType, args[1], rowOffsets, rowSizes, unit);
          Value zero = scalarConstant(b, l, f32, 0);
          Value one = scalarConstant(b, l, f32, 1);
          Value ninf = extremeConstant(b, l, f32, false);
          row = linalg::FillOp::create(b, l, zero, row).getResult(0);
          auto keys = scf::ForOp::create(
              b, l, cst(0), end, cst(1), ValueRange{row, ninf, zero},
              [&](OpBuilder &kb, Location kl, Value j, ValueRange it) {
                // s = scale * q[i] . k[j] (+ mask)
                auto dot = scf::ForOp::create(
                    kb, kl, cst(0), cst(d), cst(1), ValueRange{zero},
                    [&](OpBuilder &db, Location dl, Value e, ValueRange acc) {
                      Value p = arith::MulFOp::create(
                          db, dl, at(db, dl, q, {bi, h, i, e}),
                          at(db, dl, key, {bi, hk, j, e}));
                      scf::YieldOp::create(
                          db, dl,
                          ValueRange{arith::AddFOp::create(db, dl, acc[0], p)
                                         .getResult()});
                    });
                Value sc =
                    arith::MulFOp::create(kb, kl, dot.getResult(0),
                                          scalarConstant(kb, kl, f32, scale));
                if (mask) {
                  // Broadcast: the mask's dimensions align with the
                  // trailing ones of [B, Hq, Sq, Skv].
                  auto mt = cast<RankedTensorType>(mask.getType());
                  Value full[4] = {bi, h, i, j};
                  SmallVector<Value> idx;
                  for (int64_t k = 0; k < mt.getRank(); ++k) {
                    int64_t fullDim = 4 - mt.getRank() + k;
                    idx.push_back(mt.getDimSize(k) == 1 ? cst(0)
                                                        : full[fullDim]);
                  }
                  Value m = tensor::ExtractOp::create(kb, kl, mask, idx);
                  if (mt.getElementType().isInteger(1))
                    sc = arith::SelectOp::create(kb, kl, m, sc, ninf);
                  else
                    sc = arith::AddFOp::create(kb, kl, sc,
                                               convertScalar(kb, kl, m, f32));
                }
                // Online softmax: a running maximum; while it is -inf
                // (every key so far masked), nothing accumulates.
                Value mNew = arith::MaximumFOp::create(kb, kl, it[1], sc);
                Value dead = arith::CmpFOp::create(
                    kb, kl, arith::CmpFPredicate::OEQ, mNew, ninf);
                Value corr = arith::SelectOp::create(
                    kb, kl, dead, one,
                    math::ExpOp::create(
                        kb, kl, arith::SubFOp::create(kb, kl, it[1], mNew)));
                Value p = arith::SelectOp::create(
                    kb, kl, dead, zero,
                    math::ExpOp::create(
                        kb, kl, arith::SubFOp::create(kb, kl, sc, mNew)));
                Value sum = arith::AddFOp::create(
                    kb, kl, arith::MulFOp::create(kb, kl, it[2], corr), p);
                auto acc = scf::ForOp::create(
                    kb, kl, cst(0), cst(dv), cst(1), ValueRange{it[0]},
                    [&](OpBuilder &ab, Location al, Value e, ValueRange r) {
                      Value o = tensor::ExtractOp::create(ab, al, r[0], e);
                      Value nv = arith::AddFOp::create(
                          ab, al, arith::MulFOp::create(ab, al, o, corr),
                          arith::MulFOp::create(
                              ab, al, p, at(ab, al, value, {bi, hk, j, e})));
                      scf::YieldOp::create(ab, al,
                                           ValueRange{tensor::InsertOp::create(
                                                          ab, al, nv, r[0], e)
                                                          .getResult()});
                    });
                scf::YieldOp::create(kb, kl,
                                     ValueRange{acc.getResult(0), mNew, sum});
              });
          // out = acc / sum (0 for a row with no visible key).
          Value sum = keys.getResult(2);
          Value empty =
              arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, sum, zero);
          Value inv = arith::SelectOp::create(
              b, l, empty, zero, arith::DivFOp::create(b, l, one, sum));
          auto norm = scf::ForOp::create(
              b, l, cst(0), cst(dv), cst(1), ValueRange{keys.getResult(0)},
              [&](OpBuilder &nb, Location nl, Value e, ValueRange r) {
                Value o = tensor::ExtractOp::create(nb, nl, r[0], e);
                scf::YieldOp::create(
                    nb, nl,
                    ValueRange{tensor::InsertOp::create(
                                   nb, nl,
                                   arith::MulFOp::create(nb, nl, o, inv), r[0],
                                   e)
                                   .getResult()});
              });
          auto par = scf::InParallelOp::create(b, l);
          OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
          tensor::ParallelInsertSliceOp::create(
              pb, l, norm.getResult(0), args[1], rowOffsets, rowSizes, unit);
        });
    rewriter.replaceOp(op, toType(rewriter, loc, forall.getResult(0), type));
    return success();
  }
};

struct RotaryPattern : OpConversionPattern<RotaryOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RotaryOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Type et = type.getElementType(), ct = computeType(et);
    int64_t rank = type.getRank(), d = type.getShape().back(), h = d / 2;
    bool interleaved = op.getInterleaved();
    // View the features as [..., pair, 2] (interleaved) or [..., 2, pair].
    SmallVector<int64_t> pairShape(type.getShape().drop_back());
    if (interleaved)
      pairShape.append({h, 2});
    else
      pairShape.append({2, h});
    auto pairType = RankedTensorType::get(pairShape, et);
    Value x = reshape(rewriter, loc, adaptor.getInput(), pairType);
    SmallVector<int64_t> halfShape(type.getShape().drop_back());
    halfShape.push_back(h);
    auto halfType = RankedTensorType::get(halfShape, et);
    auto part = [&](int64_t which) {
      SmallVector<int64_t> offsets(rank + 1, 0), sizes(pairShape);
      int64_t axis = interleaved ? rank : rank - 1;
      offsets[axis] = which;
      sizes[axis] = 1;
      return reshape(rewriter, loc,
                     extractSlice(rewriter, loc, x, offsets, sizes), halfType);
    };
    Value a = part(0), b = part(1);
    auto rotate = [&](bool first) {
      return elementwise(
          rewriter, loc, halfType, {a, b, adaptor.getCos(), adaptor.getSin()},
          [&](OpBuilder &nb, Location l, ValueRange v) {
            Value xa = convertScalar(nb, l, v[0], ct),
                  xb = convertScalar(nb, l, v[1], ct),
                  c = convertScalar(nb, l, v[2], ct),
                  s = convertScalar(nb, l, v[3], ct);
            Value r =
                first
                    ? arith::SubFOp::create(nb, l,
                                            arith::MulFOp::create(nb, l, xa, c),
                                            arith::MulFOp::create(nb, l, xb, s))
                          .getResult()
                    : arith::AddFOp::create(nb, l,
                                            arith::MulFOp::create(nb, l, xb, c),
                                            arith::MulFOp::create(nb, l, xa, s))
                          .getResult();
            return convertScalar(nb, l, r, et);
          });
    };
    Value out = emptyTensor(rewriter, loc, pairType);
    for (int64_t which = 0; which < 2; ++which) {
      SmallVector<int64_t> sliceShape(pairShape);
      int64_t axis = interleaved ? rank : rank - 1;
      sliceShape[axis] = 1;
      Value r = reshape(rewriter, loc, rotate(which == 0),
                        RankedTensorType::get(sliceShape, et));
      SmallVector<int64_t> offsets(rank + 1, 0);
      offsets[axis] = which;
      out = insertSlice(rewriter, loc, r, out, offsets);
    }
    rewriter.replaceOp(op, reshape(rewriter, loc, out, type));
    return success();
  }
};

} // namespace

void lowering::populateAttentionToLinalgPatterns(RewritePatternSet &patterns,
                                                 bool byRow) {
  if (byRow)
    patterns.add<AttentionRowsPattern>(patterns.getContext());
  else
    patterns.add<AttentionPattern>(patterns.getContext());
}

void lowering::populateRotaryToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<RotaryPattern>(patterns.getContext());
}
