//===- QuantOps.cpp - quantize and dequantize -----------------------------===//

#include "OpUtils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

/// Checks the shape of a quantization parameter: a scalar, `[dim(axis)]`, or
/// with `blockSize > 0` the input's shape with `axis` divided by `blockSize`.
static LogicalResult verifyQuantParam(Operation *op, StringRef name, Value p,
                                      RankedTensorType data, int64_t axis,
                                      int64_t blockSize) {
  if (!p)
    return success();
  auto t = cast<RankedTensorType>(p.getType());
  int64_t rank = data.getRank();
  if (blockSize == 0 && t.getRank() == 0)
    return success();
  if (axis < 0 || axis >= rank)
    return op->emitOpError("axis ")
           << axis << " is out of range for rank " << rank;
  SmallVector<int64_t> expected;
  if (blockSize > 0) {
    expected.assign(data.getShape().begin(), data.getShape().end());
    int64_t d = expected[axis];
    if (!ShapedType::isDynamic(d)) {
      if (d % blockSize != 0)
        return op->emitOpError("dimension ")
               << axis << " (" << d << ") is not a multiple of block_size "
               << blockSize;
      expected[axis] = d / blockSize;
    }
  } else {
    expected.push_back(data.getDimSize(axis));
  }
  if (t.getRank() != (int64_t)expected.size() ||
      !llvm::all_of(llvm::zip(t.getShape(), expected), [](auto q) {
        return dimsCompatible(std::get<0>(q), std::get<1>(q));
      }))
    return op->emitOpError()
           << name << " must be a scalar or have shape " << shapeStr(expected)
           << ", got " << shapeStr(t.getShape());
  return success();
}

static LogicalResult verifyQuantPair(Operation *op, Value data, Value result,
                                     Value scale, Value zeroPoint, int64_t axis,
                                     int64_t blockSize, bool dequant) {
  auto in = cast<RankedTensorType>(data.getType());
  auto out = cast<RankedTensorType>(result.getType());
  if (in.getShape() != out.getShape())
    return op->emitOpError("result shape ")
           << shapeStr(out.getShape()) << " differs from the input's "
           << shapeStr(in.getShape());
  if (blockSize < 0)
    return op->emitOpError("block_size must be non-negative");
  RankedTensorType quant = dequant ? in : out;
  RankedTensorType real = dequant ? out : in;
  auto st = cast<RankedTensorType>(scale.getType());
  // Dequantization to f32 also takes f16 scales (compact int4 tables).
  bool halfScales =
      dequant && st.getElementType().isF16() && real.getElementType().isF32();
  if (st.getElementType() != real.getElementType() && !halfScales)
    return op->emitOpError("scale element type ")
           << st.getElementType() << " differs from " << real.getElementType()
           << (dequant && real.getElementType().isF32()
                   ? " (f16 is accepted too)"
                   : "");
  if (zeroPoint &&
      cast<RankedTensorType>(zeroPoint.getType()).getElementType() !=
          quant.getElementType())
    return op->emitOpError("zero_point element type must be ")
           << quant.getElementType();
  if (failed(verifyQuantParam(op, "scale", scale, in, axis, blockSize)) ||
      failed(
          verifyQuantParam(op, "zero_point", zeroPoint, in, axis, blockSize)))
    return failure();
  if (zeroPoint &&
      cast<RankedTensorType>(zeroPoint.getType()).getShape() != st.getShape())
    return op->emitOpError("zero_point and scale shapes differ");
  return success();
}

LogicalResult QuantizeOp::verify() {
  return verifyQuantPair(*this, getInput(), getResult(), getScale(),
                         getZeroPoint(), getAxis(), 0, /*dequant=*/false);
}

LogicalResult DequantizeOp::verify() {
  return verifyQuantPair(*this, getInput(), getResult(), getScale(),
                         getZeroPoint(), getAxis(), getBlockSize(),
                         /*dequant=*/true);
}

LogicalResult QMatmulOp::verify() {
  auto lhs = cast<RankedTensorType>(getLhs().getType());
  auto out = cast<RankedTensorType>(getType());
  auto w = cast<RankedTensorType>(getWeight().getType());
  auto s = cast<RankedTensorType>(getScales().getType());
  if (!lhs.getElementType().isF32() || !out.getElementType().isF32())
    return emitOpError("lhs and result must be f32");
  if (!s.getElementType().isF32() && !s.getElementType().isF16())
    return emitOpError("scales must be f32 or f16");
  if (lhs.getRank() < 2 || out.getRank() != lhs.getRank())
    return emitOpError("lhs must be [..., M, K] (rank >= 2) and the result "
                       "of the same rank");
  int64_t bits = getBits(), gs = getGroupSize();
  if (bits != 8 && bits != 4)
    return emitOpError("bits must be 8 or 4, got ") << bits;
  if (bits == 8 && s.getElementType().isF16())
    return emitOpError("f16 scales are only supported with bits = 4");
  int64_t k = lhs.getShape().back(), n = out.getShape().back();
  if (ShapedType::isDynamic(k) || ShapedType::isDynamic(n))
    return emitOpError("K and N must be static");
  for (int64_t i = 0; i + 1 < lhs.getRank(); ++i)
    if (!dimsCompatible(lhs.getDimSize(i), out.getDimSize(i)))
      return emitOpError("result shape ")
             << shapeStr(out.getShape()) << " does not match lhs "
             << shapeStr(lhs.getShape()) << " with N = " << n;
  if (gs <= 0 || (k > 0 && k % gs != 0) || (k == 0 && gs != 1))
    return emitOpError("group_size ")
           << gs << " must be positive and divide K (" << k << ")";
  int64_t groups = k == 0 ? 1 : k / gs;
  int64_t panels = (n + 63) / 64, width = bits == 4 ? 32 : 64;
  SmallVector<int64_t> expected{panels, k, width};
  if (w.getShape() != ArrayRef<int64_t>(expected))
    return emitOpError("weight must be ")
           << shapeStr(expected) << " (" << panels << " panels of 64 columns, "
           << "K rows, " << width << " bytes per row) for " << bits
           << "-bit values, got " << shapeStr(w.getShape());
  SmallVector<int64_t> params{groups, n};
  if (s.getShape() != ArrayRef<int64_t>(params))
    return emitOpError("scales must be ")
           << shapeStr(params) << " (K / group_size groups x N), got "
           << shapeStr(s.getShape());
  if (Value z = getZeroPoints()) {
    if (bits != 4)
      return emitOpError("zero_points are only supported with bits = 4");
    auto zt = cast<RankedTensorType>(z.getType());
    if (zt.getShape() != ArrayRef<int64_t>(params))
      return emitOpError("zero_points must be ")
             << shapeStr(params) << ", got " << shapeStr(zt.getShape());
  }
  return success();
}
