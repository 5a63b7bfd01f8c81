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

} // namespace

void lowering::populateQuantToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<QuantizePattern, DequantizePattern>(patterns.getContext());
}
