//===- SSMToLinalg.cpp - selective scan and causal conv1d to linalg -------===//
//
// Reference lowerings. The selective scan becomes an scf.for over time whose
// loop-carried state is the [Bt, Di, N] tensor h; each step is a handful of
// small linalg.generic ops, so no [L, Di, N] tensor ever exists. The CPU
// codegen stage replaces it with a fused kernel unless asked not to.
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

/// Column `t` of a [X, Y, L] tensor, as [X, Y] in f32.
Value column(OpBuilder &b, Location loc, Value v, Value t) {
  auto ty = cast<RankedTensorType>(v.getType());
  int64_t x = ty.getDimSize(0), y = ty.getDimSize(1);
  SmallVector<OpFoldResult> offsets{b.getIndexAttr(0), b.getIndexAttr(0), t};
  SmallVector<OpFoldResult> sizes{b.getIndexAttr(x), b.getIndexAttr(y),
                                  b.getIndexAttr(1)};
  SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
  // A slice of the same rank, then a reshape: LLVM 22's canonicalization of
  // a rank-reducing extract_slice whose offset folds to a constant re-infers
  // which unit dimensions it drops (the leading ones), and makes invalid IR
  // when x or y is 1 (a decode step: [1, d, 1] -> [1, d]); fixed upstream
  // after 22 (llvm/llvm-project#178118).
  auto sliceType = RankedTensorType::get({x, y, 1}, ty.getElementType());
  Value s = tensor::ExtractSliceOp::create(b, loc, sliceType, v, offsets, sizes,
                                           strides);
  s = reshape(b, loc, s, RankedTensorType::get({x, y}, ty.getElementType()));
  Type f32 = b.getF32Type();
  if (ty.getElementType() == f32)
    return s;
  return elementwise(b, loc, RankedTensorType::get({x, y}, f32), {s},
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       return convertScalar(nb, l, a[0], f32);
                     });
}

Value toF32(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  Type f32 = b.getF32Type();
  if (t.getElementType() == f32)
    return v;
  return elementwise(b, loc, RankedTensorType::get(t.getShape(), f32), {v},
                     [&](OpBuilder &nb, Location l, ValueRange a) {
                       return convertScalar(nb, l, a[0], f32);
                     });
}

Value softplus(OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  Value pos = arith::MaximumFOp::create(b, l, x, scalarConstant(b, l, t, 0));
  Value na = arith::NegFOp::create(b, l, math::AbsFOp::create(b, l, x));
  return arith::AddFOp::create(
      b, l, pos, math::Log1pOp::create(b, l, math::ExpOp::create(b, l, na)));
}

Value silu(OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  Value one = scalarConstant(b, l, t, 1);
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  return arith::DivFOp::create(b, l, x, arith::AddFOp::create(b, l, one, e));
}

struct SelectiveScanPattern : OpConversionPattern<SelectiveScanOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectiveScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto hType = cast<RankedTensorType>(op.getFinalState().getType());
    int64_t bt = yType.getDimSize(0), di = yType.getDimSize(1),
            len = yType.getDimSize(2), n = hType.getDimSize(2);
    Type f32 = rewriter.getF32Type();
    auto h32 = RankedTensorType::get({bt, di, n}, f32);
    auto y32 = RankedTensorType::get({bt, di, len}, f32);
    auto bd32 = RankedTensorType::get({bt, di}, f32);
    Value a = toF32(rewriter, loc, adaptor.getA());
    Value dSkip =
        adaptor.getD() ? toF32(rewriter, loc, adaptor.getD()) : Value();
    Value dBias = adaptor.getDeltaBias()
                      ? toF32(rewriter, loc, adaptor.getDeltaBias())
                      : Value();
    Value h0 = adaptor.getInitialState()
                   ? toF32(rewriter, loc, adaptor.getInitialState())
                   : filledTensor(rewriter, loc, h32,
                                  scalarConstant(rewriter, loc, f32, 0));
    Value y0 = emptyTensor(rewriter, loc, y32);
    bool softplusDelta = op.getDeltaSoftplus();
    Value u = adaptor.getU(), delta = adaptor.getDelta(), bm = adaptor.getB(),
          cm = adaptor.getC(), z = adaptor.getZ();
    Value lb = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value ub = arith::ConstantIndexOp::create(rewriter, loc, len);
    Value step = arith::ConstantIndexOp::create(rewriter, loc, 1);
    auto loop = scf::ForOp::create(
        rewriter, loc, lb, ub, step, ValueRange{h0, y0},
        [&](OpBuilder &b, Location l, Value t, ValueRange iter) {
          Value h = iter[0], y = iter[1];
          Value ut = column(b, l, u, t);
          Value dtRaw = column(b, l, delta, t);
          Value bt_ = column(b, l, bm, t), ct = column(b, l, cm, t);
          // dt[b,d] = softplus?(delta + bias)
          SmallVector<Value> dtIns{dtRaw};
          if (dBias)
            dtIns.push_back(dBias);
          Value dt = elementwise(
              b, l, bd32, dtIns, [&](OpBuilder &nb, Location nl, ValueRange a) {
                Value v = a[0];
                if (dBias)
                  v = arith::AddFOp::create(nb, nl, v, a[1]);
                return softplusDelta ? softplus(nb, nl, v) : v;
              });
          // h[b,d,n] = exp(dt A[d,n]) h + dt B[b,n] u[b,d], updated in place
          // (the loop-carried state is the generic's init).
          Value hNew =
              linalg::GenericOp::create(
                  b, l, TypeRange{h32}, ValueRange{dt, a, bt_, ut},
                  ValueRange{h},
                  {dims(ctx, 3, {0, 1}), dims(ctx, 3, {1, 2}),
                   dims(ctx, 3, {0, 2}), dims(ctx, 3, {0, 1}),
                   dims(ctx, 3, {0, 1, 2})},
                  SmallVector<IteratorType>(3, IteratorType::parallel),
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value da = math::ExpOp::create(
                        nb, nl, arith::MulFOp::create(nb, nl, a[0], a[1]));
                    Value dbu = arith::MulFOp::create(
                        nb, nl, arith::MulFOp::create(nb, nl, a[0], a[2]),
                        a[3]);
                    Value r = arith::AddFOp::create(
                        nb, nl, arith::MulFOp::create(nb, nl, da, a[4]), dbu);
                    linalg::YieldOp::create(nb, nl, r);
                  })
                  .getResult(0);
          // yt[b,d] = sum_n h[b,d,n] C[b,n]
          Value acc = filledTensor(b, l, bd32, scalarConstant(b, l, f32, 0));
          Value yt =
              linalg::GenericOp::create(
                  b, l, TypeRange{bd32}, ValueRange{hNew, ct}, ValueRange{acc},
                  {dims(ctx, 3, {0, 1, 2}), dims(ctx, 3, {0, 2}),
                   dims(ctx, 3, {0, 1})},
                  {IteratorType::parallel, IteratorType::parallel,
                   IteratorType::reduction},
                  [&](OpBuilder &nb, Location nl, ValueRange a) {
                    Value p = arith::MulFOp::create(nb, nl, a[0], a[1]);
                    linalg::YieldOp::create(
                        nb, nl,
                        arith::AddFOp::create(nb, nl, a[2], p).getResult());
                  })
                  .getResult(0);
          SmallVector<Value> outIns{yt, ut};
          if (dSkip)
            outIns.push_back(dSkip);
          Value zt = z ? column(b, l, z, t) : Value();
          if (zt)
            outIns.push_back(zt);
          yt = elementwise(
              b, l, bd32, outIns,
              [&](OpBuilder &nb, Location nl, ValueRange a) {
                Value v = a[0];
                size_t i = 2;
                if (dSkip)
                  v = arith::AddFOp::create(
                      nb, nl, v, arith::MulFOp::create(nb, nl, a[i++], a[1]));
                if (zt)
                  v = arith::MulFOp::create(nb, nl, v, silu(nb, nl, a[i++]));
                return v;
              });
          yt = reshape(b, l, yt, RankedTensorType::get({bt, di, 1}, f32));
          SmallVector<OpFoldResult> offsets{b.getIndexAttr(0),
                                            b.getIndexAttr(0), t};
          SmallVector<OpFoldResult> sizes{
              b.getIndexAttr(bt), b.getIndexAttr(di), b.getIndexAttr(1)};
          SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
          Value yNew = tensor::InsertSliceOp::create(b, l, yt, y, offsets,
                                                     sizes, strides);
          scf::YieldOp::create(b, l, ValueRange{hNew, yNew});
        });
    rewriter.replaceOp(op, {toType(rewriter, loc, loop.getResult(1), yType),
                            toType(rewriter, loc, loop.getResult(0), hType)});
    return success();
  }
};

/// The scan as one parallel loop over the (batch, channel) pairs, each
/// running the whole recurrence over time and over its N states itself:
/// the CUDA target makes it one kernel with a thread per pair, where the
/// time-step decomposition above launches kernels for every step. A
/// pair's state lives in its row of the final-state tensor, which only it
/// touches.
struct SelectiveScanChannelsPattern : OpConversionPattern<SelectiveScanOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SelectiveScanOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto yType = cast<RankedTensorType>(op.getY().getType());
    auto hType = cast<RankedTensorType>(op.getFinalState().getType());
    int64_t bt = yType.getDimSize(0), di = yType.getDimSize(1),
            len = yType.getDimSize(2), n = hType.getDimSize(2);
    Type f32 = rewriter.getF32Type();
    auto h32 = RankedTensorType::get({bt, di, n}, f32);
    auto y32 = RankedTensorType::get({bt, di, len}, f32);
    Value h0 = adaptor.getInitialState()
                   ? toF32(rewriter, loc, adaptor.getInitialState())
                   : filledTensor(rewriter, loc, h32,
                                  scalarConstant(rewriter, loc, f32, 0));
    Value y0 = emptyTensor(rewriter, loc, y32);
    Value u = adaptor.getU(), delta = adaptor.getDelta(), a = adaptor.getA(),
          bm = adaptor.getB(), cm = adaptor.getC(), dSkip = adaptor.getD(),
          z = adaptor.getZ(), dBias = adaptor.getDeltaBias();
    bool softplusDelta = op.getDeltaSoftplus();
    auto forall = scf::ForallOp::create(
        rewriter, loc, ArrayRef<OpFoldResult>{rewriter.getIndexAttr(bt * di)},
        ValueRange{y0, h0}, std::nullopt,
        [&](OpBuilder &b, Location l, ValueRange args) {
          auto cst = [&](int64_t v) {
            return arith::ConstantIndexOp::create(b, l, v).getResult();
          };
          Value bi = arith::DivUIOp::create(b, l, args[0], cst(di));
          Value d = arith::RemUIOp::create(b, l, args[0], cst(di));
          Value yOut = args[1], hOut = args[2];
          // The element of `t` at `idx`, in f32.
          auto at = [&](OpBuilder &nb, Location nl, Value t,
                        ValueRange idx) -> Value {
            Value v = tensor::ExtractOp::create(nb, nl, t, idx);
            return convertScalar(nb, nl, v, f32);
          };
          SmallVector<OpFoldResult> rowOffsets{bi, d, b.getIndexAttr(0)};
          SmallVector<OpFoldResult> unit(3, b.getIndexAttr(1));
          auto rowSizes = [&](int64_t k) {
            return SmallVector<OpFoldResult>{
                b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(k)};
          };
          auto rowType = [&](int64_t k) {
            return RankedTensorType::get({k}, f32);
          };
          Value hRow = tensor::ExtractSliceOp::create(
              b, l, rowType(n), hOut, rowOffsets, rowSizes(n), unit);
          Value yRow = tensor::ExtractSliceOp::create(
              b, l, rowType(len), yOut, rowOffsets, rowSizes(len), unit);
          Value zero = scalarConstant(b, l, f32, 0);
          auto time = scf::ForOp::create(
              b, l, cst(0), cst(len), cst(1), ValueRange{hRow, yRow},
              [&](OpBuilder &tb, Location tl, Value t, ValueRange it) {
                Value dt = at(tb, tl, delta, {bi, d, t});
                if (dBias)
                  dt =
                      arith::AddFOp::create(tb, tl, dt, at(tb, tl, dBias, {d}));
                if (softplusDelta)
                  dt = softplus(tb, tl, dt);
                Value ut = at(tb, tl, u, {bi, d, t});
                Value dtu = arith::MulFOp::create(tb, tl, dt, ut);
                // h[k] = exp(dt A[d,k]) h[k] + dt B[b,k,t] u; y += h[k] C.
                auto states = scf::ForOp::create(
                    tb, tl, cst(0), cst(n), cst(1), ValueRange{it[0], zero},
                    [&](OpBuilder &sb, Location sl, Value k, ValueRange st) {
                      Value da = math::ExpOp::create(
                          sb, sl,
                          arith::MulFOp::create(sb, sl, dt,
                                                at(sb, sl, a, {d, k})));
                      Value h = tensor::ExtractOp::create(sb, sl, st[0], k);
                      Value hk = arith::AddFOp::create(
                          sb, sl, arith::MulFOp::create(sb, sl, da, h),
                          arith::MulFOp::create(sb, sl, dtu,
                                                at(sb, sl, bm, {bi, k, t})));
                      Value acc = arith::AddFOp::create(
                          sb, sl, st[1],
                          arith::MulFOp::create(sb, sl, hk,
                                                at(sb, sl, cm, {bi, k, t})));
                      Value hs = tensor::InsertOp::create(sb, sl, hk, st[0], k);
                      scf::YieldOp::create(sb, sl, ValueRange{hs, acc});
                    });
                Value y = states.getResult(1);
                if (dSkip)
                  y = arith::AddFOp::create(
                      tb, tl, y,
                      arith::MulFOp::create(tb, tl, at(tb, tl, dSkip, {d}),
                                            ut));
                if (z)
                  y = arith::MulFOp::create(
                      tb, tl, y, silu(tb, tl, at(tb, tl, z, {bi, d, t})));
                Value ys = tensor::InsertOp::create(tb, tl, y, it[1], t);
                scf::YieldOp::create(tb, tl,
                                     ValueRange{states.getResult(0), ys});
              });
          auto par = scf::InParallelOp::create(b, l);
          OpBuilder pb = OpBuilder::atBlockBegin(par.getBody());
          tensor::ParallelInsertSliceOp::create(
              pb, l, time.getResult(1), yOut, rowOffsets, rowSizes(len), unit);
          tensor::ParallelInsertSliceOp::create(pb, l, time.getResult(0), hOut,
                                                rowOffsets, rowSizes(n), unit);
        });
    rewriter.replaceOp(op, {toType(rewriter, loc, forall.getResult(0), yType),
                            toType(rewriter, loc, forall.getResult(1), hType)});
    return success();
  }
};

struct CausalConv1dPattern : OpConversionPattern<CausalConv1dOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CausalConv1dOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    auto type = cast<RankedTensorType>(op.getResult().getType());
    auto stateType = cast<RankedTensorType>(op.getFinalState().getType());
    Type et = type.getElementType(), ct = computeType(et);
    int64_t bt = type.getDimSize(0), di = type.getDimSize(1),
            len = type.getDimSize(2), k = stateType.getDimSize(2) + 1;
    // xp = concat(state or zeros, x) along time: [Bt, Di, K-1+L]
    auto xpType = RankedTensorType::get({bt, di, k - 1 + len}, et);
    Value xp = emptyTensor(rewriter, loc, xpType);
    Value state = adaptor.getState()
                      ? adaptor.getState()
                      : filledTensor(rewriter, loc, stateType,
                                     scalarConstant(rewriter, loc, et, 0));
    xp = insertSlice(rewriter, loc, state, xp, {0, 0, 0});
    xp = insertSlice(rewriter, loc, adaptor.getInput(), xp, {0, 0, k - 1});
    // y[b,d,t] = sum_k w[d,k] xp[b,d,t+k]
    auto accType = RankedTensorType::get(type.getShape(), ct);
    Value acc = filledTensor(rewriter, loc, accType,
                             scalarConstant(rewriter, loc, ct, 0));
    AffineExpr b0 = getAffineDimExpr(0, ctx), d1 = getAffineDimExpr(1, ctx),
               t2 = getAffineDimExpr(2, ctx), k3 = getAffineDimExpr(3, ctx);
    Value y = linalg::GenericOp::create(
                  rewriter, loc, TypeRange{accType},
                  ValueRange{xp, adaptor.getWeight()}, ValueRange{acc},
                  {AffineMap::get(4, 0, {b0, d1, t2 + k3}, ctx),
                   AffineMap::get(4, 0, {d1, k3}, ctx),
                   AffineMap::get(4, 0, {b0, d1, t2}, ctx)},
                  {IteratorType::parallel, IteratorType::parallel,
                   IteratorType::parallel, IteratorType::reduction},
                  [&](OpBuilder &b, Location l, ValueRange a) {
                    Value p = arith::MulFOp::create(
                        b, l, convertScalar(b, l, a[0], ct),
                        convertScalar(b, l, a[1], ct));
                    linalg::YieldOp::create(
                        b, l, arith::AddFOp::create(b, l, a[2], p).getResult());
                  })
                  .getResult(0);
    SmallVector<Value> ins{y};
    if (adaptor.getBias())
      ins.push_back(reshape(rewriter, loc, adaptor.getBias(),
                            RankedTensorType::get({di, 1}, et)));
    bool act = op.getActivation() == Activation::silu;
    y = elementwise(
        rewriter, loc, type, ins, [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = a[0];
          if (a.size() > 1)
            v = arith::AddFOp::create(b, l, v, convertScalar(b, l, a[1], ct));
          if (act)
            v = silu(b, l, v);
          return convertScalar(b, l, v, et);
        });
    Value newState =
        extractSlice(rewriter, loc, xp, {0, 0, len}, {bt, di, k - 1});
    rewriter.replaceOp(op, {y, newState});
    return success();
  }
};

} // namespace

void lowering::populateSSMToLinalgPatterns(RewritePatternSet &patterns,
                                           bool scanByChannel) {
  if (scanByChannel)
    patterns.add<SelectiveScanChannelsPattern>(patterns.getContext());
  else
    patterns.add<SelectiveScanPattern>(patterns.getContext());
  patterns.add<CausalConv1dPattern>(patterns.getContext());
}
