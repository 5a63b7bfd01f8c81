//===- ComputeToLinalg.cpp - matmul, conv and pool to linalg --------------===//

#include "Utils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// The accumulator type of a contraction producing `resultElt`: f32 for
/// narrow floats, the result type otherwise.
Type accumulatorType(Type resultElt) { return computeType(resultElt); }

/// Rounds `acc` to `type`'s element type if they differ.
Value roundTo(OpBuilder &b, Location loc, Value acc, RankedTensorType type) {
  auto accType = cast<RankedTensorType>(acc.getType());
  if (accType.getElementType() == type.getElementType())
    return acc;
  return elementwise(
      b, loc, type, {acc}, [&](OpBuilder &nb, Location nloc, ValueRange args) {
        return convertScalar(nb, nloc, args[0], type.getElementType());
      });
}

/// Materializes `v` broadcast to `shape` (a copy, only where it differs).
Value broadcastTo(OpBuilder &b, Location loc, Value v,
                  ArrayRef<int64_t> shape) {
  auto t = cast<RankedTensorType>(v.getType());
  if (t.getShape() == shape)
    return v;
  return elementwise(b, loc, RankedTensorType::get(shape, t.getElementType()),
                     {v},
                     [](OpBuilder &, Location, ValueRange a) { return a[0]; });
}

int64_t product(ArrayRef<int64_t> v) {
  int64_t p = 1;
  for (int64_t d : v)
    p *= d;
  return p;
}

struct MatmulPattern : OpConversionPattern<MatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    Value lhs = adaptor.getLhs(), rhs = adaptor.getRhs();
    auto lt = cast<RankedTensorType>(lhs.getType());
    auto rt = cast<RankedTensorType>(rhs.getType());
    int64_t m = lt.getDimSize(lt.getRank() - 2), k = lt.getShape().back(),
            n = rt.getShape().back();
    ArrayRef<int64_t> batch = type.getShape().drop_back(2);
    int64_t b = product(batch);
    Type accElt = accumulatorType(type.getElementType());
    Value zero = scalarConstant(rewriter, loc, accElt, 0.0);
    Value result;
    if (rt.getRank() == 2) {
      // Weights: fold the batch into M.
      SmallVector<int64_t> aShape(batch);
      aShape.append({m, k});
      Value a = reshape(rewriter, loc, broadcastTo(rewriter, loc, lhs, aShape),
                        RankedTensorType::get({b * m, k}, lt.getElementType()));
      Value acc = filledTensor(rewriter, loc,
                               RankedTensorType::get({b * m, n}, accElt), zero);
      result = linalg::MatmulOp::create(rewriter, loc, ValueRange{a, rhs},
                                        ValueRange{acc})
                   .getResult(0);
    } else {
      SmallVector<int64_t> aShape(batch), bShape(batch);
      aShape.append({m, k});
      bShape.append({k, n});
      Value a = reshape(rewriter, loc, broadcastTo(rewriter, loc, lhs, aShape),
                        RankedTensorType::get({b, m, k}, lt.getElementType()));
      Value bb = reshape(rewriter, loc, broadcastTo(rewriter, loc, rhs, bShape),
                         RankedTensorType::get({b, k, n}, rt.getElementType()));
      Value acc = filledTensor(rewriter, loc,
                               RankedTensorType::get({b, m, n}, accElt), zero);
      result = linalg::BatchMatmulOp::create(rewriter, loc, ValueRange{a, bb},
                                             ValueRange{acc})
                   .getResult(0);
    }
    result = reshape(rewriter, loc, result,
                     RankedTensorType::get(type.getShape(), accElt));
    rewriter.replaceOp(op, roundTo(rewriter, loc, result, type));
    return success();
  }
};

DenseIntElementsAttr i64Vector(OpBuilder &b, ArrayRef<int64_t> v) {
  return DenseIntElementsAttr::get(
      RankedTensorType::get({(int64_t)v.size()}, b.getI64Type()), v);
}

/// Pads the spatial dimensions of an NCHW tensor with `value`.
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> padding,
                 Value value) {
  if (llvm::all_of(padding, [](int64_t p) { return p == 0; }))
    return x;
  return padTensor(b, loc, x, {0, 0, padding[0], padding[1]},
                   {0, 0, padding[2], padding[3]}, value);
}

/// Expands a 1-D window op's attributes to 2-D with a unit height.
struct Window2d {
  SmallVector<int64_t> strides, padding, dilations;
};
Window2d to2d(bool is1d, ArrayRef<int64_t> strides, ArrayRef<int64_t> padding,
              ArrayRef<int64_t> dilations) {
  if (!is1d)
    return {SmallVector<int64_t>(strides), SmallVector<int64_t>(padding),
            SmallVector<int64_t>(dilations)};
  return {{1, strides[0]}, {0, padding[0], 0, padding[1]}, {1, dilations[0]}};
}

/// Inserts a unit dimension at position 2 of `v` ([N, C, W] -> [N, C, 1, W]).
Value insertUnitHeight(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(t.getShape());
  shape.insert(shape.begin() + 2, 1);
  return reshape(b, loc, v, RankedTensorType::get(shape, t.getElementType()));
}

struct ConvPattern : OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    bool is1d = op.getSpatialRank() == 1;
    Window2d win = to2d(is1d, op.getStridesOrDefault(),
                        op.getPaddingOrDefault(), op.getDilationsOrDefault());
    Value x = adaptor.getInput(), w = adaptor.getWeight();
    if (is1d) {
      x = insertUnitHeight(rewriter, loc, x);
      w = insertUnitHeight(rewriter, loc, w);
    }
    Type et = type.getElementType(), accElt = accumulatorType(et);
    x = padSpatial(rewriter, loc, x, win.padding,
                   scalarConstant(rewriter, loc, et, 0.0));
    auto xt = cast<RankedTensorType>(x.getType());
    auto wt = cast<RankedTensorType>(w.getType());
    int64_t n = xt.getDimSize(0), c = xt.getDimSize(1), o = wt.getDimSize(0),
            g = op.getGroups();
    SmallVector<int64_t> out2d{n, o};
    if (is1d)
      out2d.append({1, type.getDimSize(2)});
    else
      out2d.append({type.getDimSize(2), type.getDimSize(3)});
    Value zero = scalarConstant(rewriter, loc, accElt, 0.0);
    Value result;
    if (g == 1) {
      Value acc = filledTensor(rewriter, loc,
                               RankedTensorType::get(out2d, accElt), zero);
      result = linalg::Conv2DNchwFchwOp::create(
                   rewriter, loc, TypeRange{acc.getType()}, ValueRange{x, w},
                   ValueRange{acc}, i64Vector(rewriter, win.strides),
                   i64Vector(rewriter, win.dilations))
                   .getResult(0);
    } else {
      auto xg = RankedTensorType::get(
          {n, g, c / g, xt.getDimSize(2), xt.getDimSize(3)}, et);
      auto wg = RankedTensorType::get(
          {g, o / g, wt.getDimSize(1), wt.getDimSize(2), wt.getDimSize(3)},
          wt.getElementType());
      auto og =
          RankedTensorType::get({n, g, o / g, out2d[2], out2d[3]}, accElt);
      Value acc = filledTensor(rewriter, loc, og, zero);
      result = linalg::Conv2DNgchwGfchwOp::create(
                   rewriter, loc, TypeRange{og},
                   ValueRange{reshape(rewriter, loc, x, xg),
                              reshape(rewriter, loc, w, wg)},
                   ValueRange{acc}, i64Vector(rewriter, win.strides),
                   i64Vector(rewriter, win.dilations))
                   .getResult(0);
      result =
          reshape(rewriter, loc, result, RankedTensorType::get(out2d, accElt));
    }
    auto accType = RankedTensorType::get(type.getShape(), accElt);
    result = reshape(rewriter, loc, result, accType);
    if (Value bias = adaptor.getBias()) {
      SmallVector<int64_t> bshape{o};
      bshape.append(type.getRank() - 2, 1);
      Value b = reshape(rewriter, loc, bias, RankedTensorType::get(bshape, et));
      result = elementwise(rewriter, loc, accType, {result, b},
                           [&](OpBuilder &nb, Location nloc, ValueRange a) {
                             return arith::AddFOp::create(
                                 nb, nloc, a[0],
                                 convertScalar(nb, nloc, a[1], accElt));
                           });
    }
    rewriter.replaceOp(op, roundTo(rewriter, loc, result, type));
    return success();
  }
};

struct PoolPattern : OpConversionPattern<PoolOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PoolOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    bool is1d = type.getRank() == 3;
    SmallVector<int64_t> kernel(op.getKernel());
    SmallVector<int64_t> ones(kernel.size(), 1);
    Window2d win =
        to2d(is1d, op.getStridesOrDefault(), op.getPaddingOrDefault(), ones);
    if (is1d)
      kernel.insert(kernel.begin(), 1);
    Type et = type.getElementType(), accElt = computeType(et);
    bool isMax = op.getKind() == PoolKind::max;
    Value x = adaptor.getInput();
    if (is1d)
      x = insertUnitHeight(rewriter, loc, x);
    if (accElt != et)
      x = elementwise(
          rewriter, loc,
          RankedTensorType::get(cast<RankedTensorType>(x.getType()).getShape(),
                                accElt),
          {x}, [&](OpBuilder &b, Location l, ValueRange a) {
            return convertScalar(b, l, a[0], accElt);
          });
    Value padValue = isMax ? extremeConstant(rewriter, loc, accElt, false)
                           : scalarConstant(rewriter, loc, accElt, 0.0);
    x = padSpatial(rewriter, loc, x, win.padding, padValue);
    auto xt = cast<RankedTensorType>(x.getType());
    SmallVector<int64_t> out2d{xt.getDimSize(0), xt.getDimSize(1)};
    out2d.append(
        is1d ? SmallVector<int64_t>{1, type.getDimSize(2)}
             : SmallVector<int64_t>{type.getDimSize(2), type.getDimSize(3)});
    auto accType = RankedTensorType::get(out2d, accElt);
    Value window = tensor::EmptyOp::create(rewriter, loc, kernel, accElt);
    Value acc = filledTensor(rewriter, loc, accType, padValue);
    Value result;
    if (isMax)
      result = linalg::PoolingNchwMaxOp::create(
                   rewriter, loc, TypeRange{accType}, ValueRange{x, window},
                   ValueRange{acc}, i64Vector(rewriter, win.strides),
                   i64Vector(rewriter, win.dilations))
                   .getResult(0);
    else
      result = linalg::PoolingNchwSumOp::create(
                   rewriter, loc, TypeRange{accType}, ValueRange{x, window},
                   ValueRange{acc}, i64Vector(rewriter, win.strides),
                   i64Vector(rewriter, win.dilations))
                   .getResult(0);
    if (!isMax) {
      // Divide each window sum by its element count: the full window with
      // count_include_pad, else the part of it inside the input.
      auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
      int64_t h = is1d ? 1 : inType.getDimSize(2), w = inType.getShape().back();
      int64_t kh = kernel[0], kw = kernel[1], sh = win.strides[0],
              sw = win.strides[1], ph = win.padding[0], pw = win.padding[1];
      bool includePad = op.getCountIncludePad();
      result =
          linalg::GenericOp::create(
              rewriter, loc, TypeRange{accType}, ValueRange{result},
              ValueRange{emptyTensor(rewriter, loc, accType)},
              SmallVector<AffineMap>(2, rewriter.getMultiDimIdentityMap(4)),
              SmallVector<utils::IteratorType>(4,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &b, Location l, ValueRange a) {
                Value count;
                if (includePad) {
                  count = scalarConstant(b, l, accElt, kh * kw);
                } else {
                  // extent(i, k, s, p, n) = min(i*s - p + k, n) - max(i*s - p,
                  // 0)
                  auto extent = [&](int dim, int64_t k, int64_t s, int64_t p,
                                    int64_t n) -> Value {
                    Value i = linalg::IndexOp::create(b, l, dim);
                    Value start = arith::SubIOp::create(
                        b, l,
                        arith::MulIOp::create(
                            b, l, i, arith::ConstantIndexOp::create(b, l, s)),
                        arith::ConstantIndexOp::create(b, l, p));
                    Value end = arith::MinSIOp::create(
                        b, l,
                        arith::AddIOp::create(
                            b, l, start,
                            arith::ConstantIndexOp::create(b, l, k)),
                        arith::ConstantIndexOp::create(b, l, n));
                    Value lo = arith::MaxSIOp::create(
                        b, l, start, arith::ConstantIndexOp::create(b, l, 0));
                    return arith::SubIOp::create(b, l, end, lo);
                  };
                  Value cnt = arith::MulIOp::create(
                      b, l, extent(2, kh, sh, ph, h), extent(3, kw, sw, pw, w));
                  count = arith::SIToFPOp::create(
                      b, l, accElt,
                      arith::IndexCastOp::create(b, l, b.getI64Type(), cnt));
                }
                linalg::YieldOp::create(
                    b, l, arith::DivFOp::create(b, l, a[0], count).getResult());
              })
              .getResult(0);
    }
    result = reshape(rewriter, loc, result,
                     RankedTensorType::get(type.getShape(), accElt));
    rewriter.replaceOp(op, roundTo(rewriter, loc, result, type));
    return success();
  }
};

} // namespace

void lowering::populateComputeToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<MatmulPattern, ConvPattern, PoolPattern>(patterns.getContext());
}
