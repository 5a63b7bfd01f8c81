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
  if (st.getElementType() != real.getElementType())
    return op->emitOpError("scale element type ")
           << st.getElementType() << " differs from " << real.getElementType();
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
