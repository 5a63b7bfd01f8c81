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
///
/// With few rows and many keys (a decode step: a row per head), the keys
/// are split into `splits` ranges (flash-decoding): a first loop over
/// (row, range) pairs leaves each range's unnormalized row, maximum and
/// sum, and a second loop over the rows combines the ranges, so the GPU
/// gets rows x splits threads instead of rows.
struct AttentionRowsPattern : OpConversionPattern<AttentionOp> {
  using OpConversionPattern::OpConversionPattern;

  /// Key ranges per row: enough (row, range) pairs to fill a GPU (2048),
  /// each range at least 128 keys; 1 when the rows alone are enough.
  static int64_t keySplits(int64_t rows, int64_t keys) {
    if (rows >= 2048 || keys < 256)
      return 1;
    return std::max<int64_t>(
        1,
        std::min(keys / 128, (2048 + rows - 1) / std::max<int64_t>(rows, 1)));
  }

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
    int64_t rows = bsz * hq * sq, splits = keySplits(rows, skv);
    Type f32 = rewriter.getF32Type();
    Value q = adaptor.getQuery(), mask = adaptor.getMask();
    if (!length)
      length = arith::ConstantIndexOp::create(rewriter, loc, skv);
    double scale = op.getScale().convertToDouble();
    bool causal = op.getCausal();

    auto cst = [](OpBuilder &b, Location l, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, l, v);
    };
    auto at = [&](OpBuilder &b, Location l, Value t, ValueRange idx) {
      return convertScalar(b, l, tensor::ExtractOp::create(b, l, t, idx), f32);
    };
    // Row r's (batch, head, query) and KV head.
    struct Row {
      Value b, h, i, hk;
    };
    auto rowOf = [&](OpBuilder &b, Location l, Value r) {
      Row row;
      row.b = arith::DivUIOp::create(b, l, r, cst(b, l, hq * sq));
      Value rest = arith::RemUIOp::create(b, l, r, cst(b, l, hq * sq));
      row.h = arith::DivUIOp::create(b, l, rest, cst(b, l, sq));
      row.i = arith::RemUIOp::create(b, l, rest, cst(b, l, sq));
      row.hk = arith::DivUIOp::create(b, l, row.h, cst(b, l, g));
      return row;
    };
    // The keys a row sees: 0 .. end; causally, j <= i + (length - Sq).
    auto keyEnd = [&](OpBuilder &b, Location l, const Row &row) -> Value {
      if (!causal)
        return length;
      return arith::MaxSIOp::create(
          b, l, cst(b, l, 0),
          arith::AddIOp::create(
              b, l, row.i,
              arith::SubIOp::create(b, l, length, cst(b, l, sq - 1))));
    };
    // The online softmax over keys [begin, end) into `acc` (the first dv
    // entries, zero on entry): the unnormalized row, the maximum, the sum.
    auto runKeys = [&](OpBuilder &b, Location l, const Row &row, Value begin,
                       Value end, Value acc) {
      Value zero = scalarConstant(b, l, f32, 0);
      Value one = scalarConstant(b, l, f32, 1);
      Value ninf = extremeConstant(b, l, f32, false);
      return scf::ForOp::create(
          b, l, begin, end, cst(b, l, 1), ValueRange{acc, ninf, zero},
          [&](OpBuilder &kb, Location kl, Value j, ValueRange it) {
            // s = scale * q[i] . k[j] (+ mask)
            auto dot = scf::ForOp::create(
                kb, kl, cst(kb, kl, 0), cst(kb, kl, d), cst(kb, kl, 1),
                ValueRange{zero},
                [&](OpBuilder &db, Location dl, Value e, ValueRange a) {
                  Value p = arith::MulFOp::create(
                      db, dl, at(db, dl, q, {row.b, row.h, row.i, e}),
                      at(db, dl, key, {row.b, row.hk, j, e}));
                  scf::YieldOp::create(
                      db, dl,
                      ValueRange{
                          arith::AddFOp::create(db, dl, a[0], p).getResult()});
                });
            Value sc = arith::MulFOp::create(
                kb, kl, dot.getResult(0), scalarConstant(kb, kl, f32, scale));
            if (mask) {
              // Broadcast: the mask's dimensions align with the trailing
              // ones of [B, Hq, Sq, Skv].
              auto mt = cast<RankedTensorType>(mask.getType());
              Value full[4] = {row.b, row.h, row.i, j};
              SmallVector<Value> idx;
              for (int64_t k = 0; k < mt.getRank(); ++k)
                idx.push_back(mt.getDimSize(k) == 1
                                  ? cst(kb, kl, 0)
                                  : full[4 - mt.getRank() + k]);
              Value m = tensor::ExtractOp::create(kb, kl, mask, idx);
              if (mt.getElementType().isInteger(1))
                sc = arith::SelectOp::create(kb, kl, m, sc, ninf);
              else
                sc = arith::AddFOp::create(kb, kl, sc,
                                           convertScalar(kb, kl, m, f32));
            }
            // A running maximum; while it is -inf (every key so far
            // masked), nothing accumulates.
            Value mNew = arith::MaximumFOp::create(kb, kl, it[1], sc);
            Value dead = arith::CmpFOp::create(
                kb, kl, arith::CmpFPredicate::OEQ, mNew, ninf);
            Value corr = arith::SelectOp::create(
                kb, kl, dead, one,
                math::ExpOp::create(
                    kb, kl, arith::SubFOp::create(kb, kl, it[1], mNew)));
            Value p = arith::SelectOp::create(
                kb, kl, dead, zero,
                math::ExpOp::create(kb, kl,
                                    arith::SubFOp::create(kb, kl, sc, mNew)));
            Value sum = arith::AddFOp::create(
                kb, kl, arith::MulFOp::create(kb, kl, it[2], corr), p);
            auto accLoop = scf::ForOp::create(
                kb, kl, cst(kb, kl, 0), cst(kb, kl, dv), cst(kb, kl, 1),
                ValueRange{it[0]},
                [&](OpBuilder &ab, Location al, Value e, ValueRange r) {
                  Value o = tensor::ExtractOp::create(ab, al, r[0], e);
                  Value nv = arith::AddFOp::create(
                      ab, al, arith::MulFOp::create(ab, al, o, corr),
                      arith::MulFOp::create(
                          ab, al, p, at(ab, al, value, {row.b, row.hk, j, e})));
                  scf::YieldOp::create(
                      ab, al,
                      ValueRange{tensor::InsertOp::create(ab, al, nv, r[0], e)
                                     .getResult()});
                });
            scf::YieldOp::create(kb, kl,
                                 ValueRange{accLoop.getResult(0), mNew, sum});
          });
    };
    // Scales the first dv entries of `acc` by the f32 `factor(e)`.
    auto scaleRow =
        [&](OpBuilder &b, Location l, Value acc,
            function_ref<Value(OpBuilder &, Location, Value)> entry) {
          return scf::ForOp::create(
                     b, l, cst(b, l, 0), cst(b, l, dv), cst(b, l, 1),
                     ValueRange{acc},
                     [&](OpBuilder &nb, Location nl, Value e, ValueRange r) {
                       scf::YieldOp::create(
                           nb, nl,
                           ValueRange{tensor::InsertOp::create(
                                          nb, nl, entry(nb, nl, e), r[0], e)
                                          .getResult()});
                     })
              .getResult(0);
        };
    // 1 / sum, or 0 for a row that saw no key.
    auto inverse = [&](OpBuilder &b, Location l, Value sum) -> Value {
      Value zero = scalarConstant(b, l, f32, 0);
      Value empty =
          arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, sum, zero);
      return arith::SelectOp::create(
          b, l, empty, zero,
          arith::DivFOp::create(b, l, scalarConstant(b, l, f32, 1), sum));
    };
    // The offsets, sizes and strides of the slice [1, ..., 1, n] at
    // `offsets`: a row of a shared output.
    auto rowSlice = [&](OpBuilder &b, SmallVector<OpFoldResult> offsets,
                        int64_t n) {
      SmallVector<OpFoldResult> sizes(offsets.size(), b.getIndexAttr(1));
      sizes.back() = b.getIndexAttr(n);
      SmallVector<OpFoldResult> unit(offsets.size(), b.getIndexAttr(1));
      return std::make_tuple(offsets, sizes, unit);
    };

    auto out32 = RankedTensorType::get({bsz, hq, sq, dv}, f32);
    // The combined row of `r` into the output: from one pass over its keys,
    // or from the ranges' partial rows in `parts` [rows, splits, dv + 2]
    // (the unnormalized row, then its maximum and sum).
    auto writeRows = [&](Value parts) {
      return scf::ForallOp::create(
          rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(rows)},
          ValueRange{emptyTensor(rewriter, loc, out32)}, std::nullopt,
          [&](OpBuilder &b, Location l, ValueRange args) {
            Row row = rowOf(b, l, args[0]);
            auto [offsets, sizes, unit] =
                rowSlice(b, {row.b, row.h, row.i, b.getIndexAttr(0)}, dv);
            auto rowType = RankedTensorType::get({dv}, f32);
            Value acc = tensor::ExtractSliceOp::create(b, l, rowType, args[1],
                                                       offsets, sizes, unit);
            Value zero = scalarConstant(b, l, f32, 0);
            acc = linalg::FillOp::create(b, l, zero, acc).getResult(0);
            if (!parts) {
              auto keys =
                  runKeys(b, l, row, cst(b, l, 0), keyEnd(b, l, row), acc);
              Value inv = inverse(b, l, keys.getResult(2));
              acc = scaleRow(b, l, keys.getResult(0),
                             [&](OpBuilder &nb, Location nl, Value e) {
                               Value o = tensor::ExtractOp::create(
                                   nb, nl, keys.getResult(0), e);
                               return arith::MulFOp::create(nb, nl, o, inv);
                             });
            } else {
              // M = max_s m_s; a range's weight exp(m_s - M) (0 when it saw
              // no key); out = sum_s w_s acc_s / sum_s w_s l_s.
              Value ninf = extremeConstant(b, l, f32, false);
              auto partAt = [&](OpBuilder &nb, Location nl, Value s,
                                int64_t e) {
                return tensor::ExtractOp::create(
                    nb, nl, parts, ValueRange{args[0], s, cst(nb, nl, e)});
              };
              auto weight = [&](OpBuilder &nb, Location nl, Value s,
                                Value m) -> Value {
                Value ms = partAt(nb, nl, s, dv);
                Value none = arith::CmpFOp::create(
                    nb, nl, arith::CmpFPredicate::OEQ, ms, ninf);
                return arith::SelectOp::create(
                    nb, nl, none, scalarConstant(nb, nl, f32, 0),
                    math::ExpOp::create(nb, nl,
                                        arith::SubFOp::create(nb, nl, ms, m)));
              };
              auto overSplits =
                  [&](OpBuilder &nb, Location nl, Value init,
                      function_ref<Value(OpBuilder &, Location, Value, Value)>
                          step) {
                    return scf::ForOp::create(
                               nb, nl, cst(nb, nl, 0), cst(nb, nl, splits),
                               cst(nb, nl, 1), ValueRange{init},
                               [&](OpBuilder &sb, Location sl, Value s,
                                   ValueRange r) {
                                 scf::YieldOp::create(
                                     sb, sl, ValueRange{step(sb, sl, s, r[0])});
                               })
                        .getResult(0);
                  };
              Value m =
                  overSplits(b, l, ninf,
                             [&](OpBuilder &nb, Location nl, Value s, Value r) {
                               return arith::MaximumFOp::create(
                                   nb, nl, r, partAt(nb, nl, s, dv));
                             });
              Value sum = overSplits(
                  b, l, zero,
                  [&](OpBuilder &nb, Location nl, Value s, Value r) {
                    return arith::AddFOp::create(
                        nb, nl, r,
                        arith::MulFOp::create(nb, nl, weight(nb, nl, s, m),
                                              partAt(nb, nl, s, dv + 1)));
                  });
              Value inv = inverse(b, l, sum);
              acc =
                  scaleRow(b, l, acc, [&](OpBuilder &nb, Location nl, Value e) {
                    Value v = overSplits(
                        nb, nl, scalarConstant(nb, nl, f32, 0),
                        [&](OpBuilder &sb, Location sl, Value s, Value r) {
                          Value a = tensor::ExtractOp::create(
                              sb, sl, parts, ValueRange{args[0], s, e});
                          return arith::AddFOp::create(
                              sb, sl, r,
                              arith::MulFOp::create(sb, sl, a,
                                                    weight(sb, sl, s, m)));
                        });
                    return arith::MulFOp::create(nb, nl, v, inv);
                  });
            }
            auto par = scf::InParallelOp::create(b, l);
            OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
            tensor::ParallelInsertSliceOp::create(pb, l, acc, args[1], offsets,
                                                  sizes, unit);
          });
    };

    Value parts;
    if (splits > 1) {
      auto partsType = RankedTensorType::get({rows, splits, dv + 2}, f32);
      parts =
          scf::ForallOp::create(
              rewriter, loc,
              ArrayRef<OpFoldResult>{rewriter.getIndexAttr(rows * splits)},
              ValueRange{emptyTensor(rewriter, loc, partsType)}, std::nullopt,
              [&](OpBuilder &b, Location l, ValueRange args) {
                Value r =
                    arith::DivUIOp::create(b, l, args[0], cst(b, l, splits));
                Value s =
                    arith::RemUIOp::create(b, l, args[0], cst(b, l, splits));
                Row row = rowOf(b, l, r);
                // Range s of ceil(length / splits) keys, cut at the row's
                // last key.
                Value chunk = arith::DivUIOp::create(
                    b, l,
                    arith::AddIOp::create(b, l, length, cst(b, l, splits - 1)),
                    cst(b, l, splits));
                Value end = keyEnd(b, l, row);
                Value begin = arith::MinUIOp::create(
                    b, l, arith::MulIOp::create(b, l, s, chunk), end);
                Value stop = arith::MinUIOp::create(
                    b, l, arith::AddIOp::create(b, l, begin, chunk), end);
                auto [offsets, sizes, unit] =
                    rowSlice(b, {r, s, b.getIndexAttr(0)}, dv + 2);
                Value acc = tensor::ExtractSliceOp::create(
                    b, l, RankedTensorType::get({dv + 2}, f32), args[1],
                    offsets, sizes, unit);
                acc = linalg::FillOp::create(b, l, scalarConstant(b, l, f32, 0),
                                             acc)
                          .getResult(0);
                auto keys = runKeys(b, l, row, begin, stop, acc);
                Value part = tensor::InsertOp::create(
                    b, l, keys.getResult(1), keys.getResult(0), cst(b, l, dv));
                part = tensor::InsertOp::create(b, l, keys.getResult(2), part,
                                                cst(b, l, dv + 1));
                auto par = scf::InParallelOp::create(b, l);
                OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
                tensor::ParallelInsertSliceOp::create(pb, l, part, args[1],
                                                      offsets, sizes, unit);
              })
              .getResult(0);
    }
    Value out = writeRows(parts).getResult(0);
    rewriter.replaceOp(op, toType(rewriter, loc, out, type));
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
