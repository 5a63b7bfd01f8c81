//===- QuantToLinalg.cpp - quantize and dequantize to linalg --------------===//
//
// Unsigned element types (ui8, ui4) reach these patterns as signless tensors
// (the pass's type converter maps them); the original op's types say how to
// interpret the bits.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Reshapes a quantization parameter so it broadcasts against `data`:
/// scalars stay, per-axis [dim] becomes [dim, 1, ...] aligned at `axis`, and
/// per-block parameters and data are viewed with the block split out.
Value paramFor(OpBuilder &b, Location loc, Value p, RankedTensorType data,
               int64_t axis, int64_t blockSize) {
  auto t = cast<RankedTensorType>(p.getType());
  if (t.getRank() == 0)
    return p;
  SmallVector<int64_t> shape;
  if (blockSize > 0) {
    // data viewed as [..., nb, bs, ...]; parameters as [..., nb, 1, ...]
    for (int64_t i = 0; i < data.getRank(); ++i) {
      shape.push_back(t.getDimSize(i));
      if (i == axis)
        shape.push_back(1);
    }
  } else {
    shape.assign(data.getRank() - axis, 1);
    shape[0] = t.getDimSize(0);
  }
  return reshape(b, loc, p, RankedTensorType::get(shape, t.getElementType()));
}

/// `data` viewed as [..., nb, bs, ...] for block-wise parameters.
Value blockView(OpBuilder &b, Location loc, Value v, int64_t axis,
                int64_t blockSize) {
  auto t = cast<RankedTensorType>(v.getType());
  if (blockSize <= 0)
    return v;
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (i == axis) {
      shape.push_back(t.getDimSize(i) / blockSize);
      shape.push_back(blockSize);
    } else {
      shape.push_back(t.getDimSize(i));
    }
  }
  return reshape(b, loc, v, RankedTensorType::get(shape, t.getElementType()));
}

struct QuantizePattern : OpConversionPattern<QuantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto origType = cast<RankedTensorType>(op.getType());
    auto qt = cast<IntegerType>(origType.getElementType());
    bool isUnsigned = qt.isUnsigned();
    unsigned width = qt.getWidth();
    auto type = RankedTensorType::get(origType.getShape(),
                                      rewriter.getIntegerType(width));
    double lo = isUnsigned ? 0 : -(1 << (width - 1));
    double hi = isUnsigned ? (1 << width) - 1 : (1 << (width - 1)) - 1;
    auto dataType = cast<RankedTensorType>(adaptor.getInput().getType());
    SmallVector<Value> ins{
        adaptor.getInput(),
        paramFor(rewriter, loc, adaptor.getScale(), dataType, op.getAxis(), 0)};
    if (adaptor.getZeroPoint())
      ins.push_back(paramFor(rewriter, loc, adaptor.getZeroPoint(), dataType,
                             op.getAxis(), 0));
    Value r = elementwise(
        rewriter, loc, type, ins, [&](OpBuilder &b, Location l, ValueRange a) {
          Type f32 = b.getF32Type();
          Value x = convertScalar(b, l, a[0], f32);
          Value s = convertScalar(b, l, a[1], f32);
          Value q = math::RoundEvenOp::create(
              b, l, arith::DivFOp::create(b, l, x, s));
          if (a.size() > 2)
            q = arith::AddFOp::create(
                b, l, q, convertScalar(b, l, a[2], f32, isUnsigned));
          q = arith::MaximumFOp::create(b, l, q, scalarConstant(b, l, f32, lo));
          q = arith::MinimumFOp::create(b, l, q, scalarConstant(b, l, f32, hi));
          Value i = arith::FPToSIOp::create(b, l, b.getI32Type(), q);
          return arith::TruncIOp::create(b, l, b.getIntegerType(width), i);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct DequantizePattern : OpConversionPattern<DequantizeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DequantizeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    auto type = cast<RankedTensorType>(op.getType());
    bool isUnsigned = cast<RankedTensorType>(op.getInput().getType())
                          .getElementType()
                          .isUnsignedInteger();
    int64_t axis = op.getAxis(), bs = op.getBlockSize();
    auto dataType = cast<RankedTensorType>(adaptor.getInput().getType());
    Value q = blockView(rewriter, loc, adaptor.getInput(), axis, bs);
    SmallVector<Value> ins{
        q, paramFor(rewriter, loc, adaptor.getScale(), dataType, axis, bs)};
    if (adaptor.getZeroPoint())
      ins.push_back(
          paramFor(rewriter, loc, adaptor.getZeroPoint(), dataType, axis, bs));
    auto viewType = RankedTensorType::get(
        cast<RankedTensorType>(q.getType()).getShape(), type.getElementType());
    Type et = type.getElementType();
    Value r = elementwise(
        rewriter, loc, viewType, ins,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Type f32 = b.getF32Type();
          Value v = convertScalar(b, l, a[0], f32, isUnsigned);
          if (a.size() > 2)
            v = arith::SubFOp::create(
                b, l, v, convertScalar(b, l, a[2], f32, isUnsigned));
          v = arith::MulFOp::create(b, l, v, convertScalar(b, l, a[1], f32));
          return convertScalar(b, l, v, et);
        });
    rewriter.replaceOp(op, reshape(rewriter, loc, r, type));
    return success();
  }
};

/// kiln.qmatmul's reference lowering: the packed weight is unpacked and
/// dequantized into an f32 [K, N] tensor that a kiln.matmul (lowered in
/// turn) multiplies. It materializes the weight, unlike the runtime's
/// kernels (kiln-use-ukernels), which dequantize in registers: this path
/// is what --ukernels=false and the targets without those kernels run.
struct QMatmulPattern : OpConversionPattern<QMatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t bits = op.getBits(), k = op.getK(), n = op.getN();
    int64_t gs = op.getGroupSize();
    auto wt = cast<RankedTensorType>(adaptor.getWeight().getType());
    int64_t panels = wt.getDimSize(0);
    Type i8 = rewriter.getI8Type(), f32 = rewriter.getF32Type();

    // q as [K, P, 64] (int8) or [K, P, 2, 32] (int4: h = 0 the low nibble,
    // h = 1 the high one): a transposing copy of the panels.
    SmallVector<int64_t> unpackedShape{k, panels};
    if (bits == 8)
      unpackedShape.push_back(64);
    else
      unpackedShape.append({2, 32});
    auto unpackedType = RankedTensorType::get(unpackedShape, i8);
    int64_t rank = unpackedType.getRank();
    SmallVector<AffineExpr> in{getAffineDimExpr(1, ctx),
                               getAffineDimExpr(0, ctx),
                               getAffineDimExpr(rank - 1, ctx)};
    SmallVector<AffineMap> maps{AffineMap::get(rank, 0, in, ctx),
                                rewriter.getMultiDimIdentityMap(rank)};
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    Value q = linalg::GenericOp::create(
                  rewriter, loc, TypeRange{unpackedType}, adaptor.getWeight(),
                  ValueRange{emptyTensor(rewriter, loc, unpackedType)}, maps,
                  iterators,
                  [&](OpBuilder &b, Location l, ValueRange args) {
                    Value v = args[0];
                    if (bits == 4) {
                      Value h = linalg::IndexOp::create(b, l, 2);
                      Value shift = arith::MulIOp::create(
                          b, l, arith::IndexCastOp::create(b, l, i8, h),
                          scalarConstant(b, l, i8, 4));
                      v = arith::AndIOp::create(
                          b, l, arith::ShRUIOp::create(b, l, v, shift),
                          scalarConstant(b, l, i8, 15));
                    }
                    linalg::YieldOp::create(b, l, v);
                  })
                  .getResult(0);
    q = reshape(rewriter, loc, q, RankedTensorType::get({k, panels * 64}, i8));
    q = extractSlice(rewriter, loc, q, {0, 0}, {k, n});

    // W = (q - z) * s over [G, gs, N].
    int64_t groups = k / gs;
    auto viewType = RankedTensorType::get({groups, gs, n}, f32);
    auto paramType = [&](Type t) {
      return RankedTensorType::get({groups, 1, n}, t);
    };
    SmallVector<Value> ins{
        reshape(rewriter, loc, q, RankedTensorType::get({groups, gs, n}, i8)),
        reshape(rewriter, loc, adaptor.getScales(),
                paramType(getElementTypeOrSelf(adaptor.getScales())))};
    if (adaptor.getZeroPoints())
      ins.push_back(
          reshape(rewriter, loc, adaptor.getZeroPoints(), paramType(i8)));
    double zero = bits == 4 ? 8.0 : 0.0;
    Value w = elementwise(
        rewriter, loc, viewType, ins,
        [&](OpBuilder &b, Location l, ValueRange a) {
          Value v = convertScalar(b, l, a[0], f32);
          Value z = a.size() > 2 ? convertScalar(b, l, a[2], f32)
                                 : scalarConstant(b, l, f32, zero);
          v = arith::SubFOp::create(b, l, v, z);
          return arith::MulFOp::create(b, l, v, convertScalar(b, l, a[1], f32));
        });
    w = reshape(rewriter, loc, w, RankedTensorType::get({k, n}, f32));
    rewriter.replaceOpWithNewOp<MatmulOp>(op, op.getType(), adaptor.getLhs(),
                                          w);
    return success();
  }
};

/// qmatmul as one contraction that reads the packed weight, its scales and
/// zero points where the product uses them, dequantizing each weight
/// element in the loop (fuse-dequant, the CUDA target's): neither the
/// unpacked bytes nor the f32 weight exist as buffers. Column n of the
/// weight is byte (n / 64, k, n % 64) (int8), or the nibble (n % 64) / 32
/// of byte (n / 64, k, n % 32) (int4).
struct QMatmulFusedPattern : OpConversionPattern<QMatmulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QMatmulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    int64_t bits = op.getBits(), gs = op.getGroupSize();
    auto outType = cast<RankedTensorType>(op.getType());
    Type i8 = rewriter.getI8Type(), f32 = rewriter.getF32Type();
    // Loops: the result's dimensions (batch..., m, n), then k.
    unsigned rank = outType.getRank(), loops = rank + 1;
    AffineExpr n = getAffineDimExpr(rank - 1, ctx),
               k = getAffineDimExpr(rank, ctx);
    SmallVector<AffineExpr> lhsExprs, outExprs;
    for (unsigned i = 0; i + 1 < rank; ++i) {
      lhsExprs.push_back(getAffineDimExpr(i, ctx));
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
    lhsExprs.push_back(k);
    outExprs.push_back(n);
    AffineExpr byte = bits == 8 ? n % 64 : n % 32;
    AffineMap param = AffineMap::get(loops, 0, {k.floorDiv(gs), n}, ctx);
    SmallVector<AffineMap> maps{
        AffineMap::get(loops, 0, lhsExprs, ctx),
        AffineMap::get(loops, 0, {n.floorDiv(64), k, byte}, ctx), param};
    SmallVector<Value> ins{adaptor.getLhs(), adaptor.getWeight(),
                           adaptor.getScales()};
    if (adaptor.getZeroPoints()) {
      maps.push_back(param);
      ins.push_back(adaptor.getZeroPoints());
    }
    maps.push_back(AffineMap::get(loops, 0, outExprs, ctx));
    SmallVector<utils::IteratorType> iterators(rank,
                                               utils::IteratorType::parallel);
    iterators.push_back(utils::IteratorType::reduction);
    Value init = filledTensor(rewriter, loc, outType,
                              scalarConstant(rewriter, loc, f32, 0));
    bool zeroPoints = adaptor.getZeroPoints() != nullptr;
    double zero = bits == 4 ? 8.0 : 0.0;
    Value out =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{outType}, ins, ValueRange{init}, maps,
            iterators,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value v = a[1];
              if (bits == 4) {
                // The nibble: (n % 64) / 32, as a shift of 0 or 4.
                Value col = linalg::IndexOp::create(b, l, rank - 1);
                Value half = arith::DivUIOp::create(
                    b, l,
                    arith::RemUIOp::create(
                        b, l, col, arith::ConstantIndexOp::create(b, l, 64)),
                    arith::ConstantIndexOp::create(b, l, 32));
                Value shift = arith::MulIOp::create(
                    b, l, arith::IndexCastOp::create(b, l, i8, half),
                    scalarConstant(b, l, i8, 4));
                v = arith::AndIOp::create(
                    b, l, arith::ShRUIOp::create(b, l, v, shift),
                    scalarConstant(b, l, i8, 15));
              }
              Value z = zeroPoints ? convertScalar(b, l, a[3], f32)
                                   : scalarConstant(b, l, f32, zero);
              Value w = arith::MulFOp::create(
                  b, l,
                  arith::SubFOp::create(b, l, convertScalar(b, l, v, f32), z),
                  convertScalar(b, l, a[2], f32));
              Value p = arith::MulFOp::create(
                  b, l, convertScalar(b, l, a[0], f32), w);
              linalg::YieldOp::create(
                  b, l, arith::AddFOp::create(b, l, a.back(), p).getResult());
            })
            .getResult(0);
    rewriter.replaceOp(op, out);
    return success();
  }
};

} // namespace

void lowering::populateQuantToLinalgPatterns(RewritePatternSet &patterns,
                                             bool fuseDequant) {
  patterns.add<QuantizePattern, DequantizePattern>(patterns.getContext());
  if (fuseDequant)
    patterns.add<QMatmulFusedPattern>(patterns.getContext());
  else
    patterns.add<QMatmulPattern>(patterns.getContext());
}
