//===- ComputeOps.cpp - matmul, convolution and pooling -------------------===//

#include "OpUtils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

//===----------------------------------------------------------------------===//
// MatmulOp
//===----------------------------------------------------------------------===//

LogicalResult MatmulOp::inferReturnTypes(MLIRContext *ctx,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  RankedTensorType lhs = rankedType(adaptor.getLhs());
  RankedTensorType rhs = rankedType(adaptor.getRhs());
  if (!lhs || !rhs)
    return emitOptionalError(loc, "expected ranked tensor operands");
  if (lhs.getRank() < 2 || rhs.getRank() < 2)
    return emitOptionalError(loc, "operands must have rank 2 or more, got ",
                             lhs.getRank(), " and ", rhs.getRank());
  ArrayRef<int64_t> ls = lhs.getShape(), rs = rhs.getShape();
  int64_t k1 = ls.back(), k2 = rs[rs.size() - 2];
  if (!dimsCompatible(k1, k2))
    return emitOptionalError(loc, "contraction dimensions differ: lhs is ",
                             shapeStr(ls), " and rhs is ", shapeStr(rs));
  SmallVector<int64_t> batch;
  if (failed(broadcastShapes({ls.drop_back(2), rs.drop_back(2)}, batch)))
    return emitOptionalError(loc, "batch dimensions do not broadcast: ",
                             shapeStr(ls), " and ", shapeStr(rs));
  batch.push_back(ls[ls.size() - 2]);
  batch.push_back(rs.back());
  Type et = lhs.getElementType();
  if (et.isInteger(8))
    et = IntegerType::get(ctx, 32);
  types.push_back(RankedTensorType::get(batch, et));
  return success();
}

bool MatmulOp::isCompatibleReturnTypes(TypeRange inferred, TypeRange actual) {
  if (inferred.size() != 1 || actual.size() != 1)
    return false;
  auto i = dyn_cast<RankedTensorType>(inferred.front());
  auto a = dyn_cast<RankedTensorType>(actual.front());
  if (!i || !a || i.getRank() != a.getRank())
    return false;
  for (auto [x, y] : llvm::zip(i.getShape(), a.getShape()))
    if (!dimsCompatible(x, y))
      return false;
  Type ie = i.getElementType(), ae = a.getElementType();
  // Narrow floats may produce an fp32 result (their accumulator type).
  return ie == ae || (isa<FloatType>(ie) && ae.isF32() &&
                      cast<FloatType>(ie).getWidth() < 32);
}

//===----------------------------------------------------------------------===//
// Sliding-window helpers shared by conv and pool
//===----------------------------------------------------------------------===//

static SmallVector<int64_t> orDefault(std::optional<ArrayRef<int64_t>> v,
                                      size_t n, int64_t dflt) {
  if (v)
    return SmallVector<int64_t>(*v);
  return SmallVector<int64_t>(n, dflt);
}

/// Checks window attributes against `spatialRank` and computes the output
/// spatial sizes of `in` for windows of `kernel`.
static LogicalResult
inferWindowed(std::optional<Location> loc, ArrayRef<int64_t> in,
              ArrayRef<int64_t> kernel, ArrayRef<int64_t> strides,
              ArrayRef<int64_t> padding, ArrayRef<int64_t> dilations,
              SmallVectorImpl<int64_t> &out) {
  size_t n = in.size();
  if (kernel.size() != n || strides.size() != n || dilations.size() != n)
    return emitOptionalError(loc, "expected ", n,
                             " kernel sizes, strides and dilations (one per "
                             "spatial dimension)");
  if (padding.size() != 2 * n)
    return emitOptionalError(loc, "expected ", 2 * n,
                             " padding values (begin and end per spatial "
                             "dimension), got ",
                             padding.size());
  for (size_t i = 0; i < n; ++i) {
    if (strides[i] < 1 || dilations[i] < 1)
      return emitOptionalError(loc, "strides and dilations must be positive");
    if (padding[i] < 0 || padding[n + i] < 0)
      return emitOptionalError(loc, "padding must be non-negative");
    if (kernel[i] < 1 && !ShapedType::isDynamic(kernel[i]))
      return emitOptionalError(loc, "kernel sizes must be positive");
    if (ShapedType::isDynamic(in[i]) || ShapedType::isDynamic(kernel[i])) {
      out.push_back(ShapedType::kDynamic);
      continue;
    }
    int64_t span = dilations[i] * (kernel[i] - 1) + 1;
    int64_t padded = in[i] + padding[i] + padding[n + i];
    if (padded < span)
      return emitOptionalError(loc, "window of ", span,
                               " does not fit spatial dimension ", i,
                               " of size ", padded, " (padded)");
    out.push_back((padded - span) / strides[i] + 1);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// ConvOp
//===----------------------------------------------------------------------===//

SmallVector<int64_t> ConvOp::getStridesOrDefault() {
  return orDefault(getStrides(), getSpatialRank(), 1);
}
SmallVector<int64_t> ConvOp::getPaddingOrDefault() {
  return orDefault(getPadding(), 2 * getSpatialRank(), 0);
}
SmallVector<int64_t> ConvOp::getDilationsOrDefault() {
  return orDefault(getDilations(), getSpatialRank(), 1);
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  RankedTensorType w = rankedType(adaptor.getWeight());
  if (!in || !w)
    return emitOptionalError(loc, "expected ranked tensor operands");
  int64_t rank = in.getRank();
  if (rank != 3 && rank != 4)
    return emitOptionalError(loc,
                             "input must be [N, C, W] or [N, C, H, W], "
                             "got rank ",
                             rank);
  if (w.getRank() != rank)
    return emitOptionalError(loc, "weight rank ", w.getRank(),
                             " differs from input rank ", rank);
  if (w.getElementType() != in.getElementType() &&
      !(w.getElementType().isBF16() && in.getElementType().isF32()))
    return emitOptionalError(loc, "weight element type ", w.getElementType(),
                             " differs from the input's ", in.getElementType(),
                             " (only bf16 weights may go with f32 input)");
  int64_t groups = adaptor.getGroups();
  if (groups < 1)
    return emitOptionalError(loc, "groups must be positive, got ", groups);
  int64_t c = in.getDimSize(1), o = w.getDimSize(0), cg = w.getDimSize(1);
  if (!ShapedType::isDynamic(c) && c % groups != 0)
    return emitOptionalError(loc, "input channels (", c,
                             ") are not divisible by groups (", groups, ")");
  if (!ShapedType::isDynamic(o) && o % groups != 0)
    return emitOptionalError(loc, "output channels (", o,
                             ") are not divisible by groups (", groups, ")");
  if (!ShapedType::isDynamic(c) && !ShapedType::isDynamic(cg) &&
      c / groups != cg)
    return emitOptionalError(loc, "weight expects ", cg,
                             " input channels per group, input has ",
                             c / groups);
  if (Value b = adaptor.getBias()) {
    RankedTensorType bt = rankedType(b);
    if (!bt || bt.getRank() != 1 || !dimsCompatible(bt.getDimSize(0), o))
      return emitOptionalError(loc, "bias must be [", o, "]");
  }
  size_t sr = rank - 2;
  SmallVector<int64_t> out{in.getDimSize(0), o};
  if (failed(inferWindowed(loc, in.getShape().drop_front(2),
                           w.getShape().drop_front(2),
                           orDefault(adaptor.getStrides(), sr, 1),
                           orDefault(adaptor.getPadding(), 2 * sr, 0),
                           orDefault(adaptor.getDilations(), sr, 1), out)))
    return failure();
  types.push_back(RankedTensorType::get(out, in.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// PoolOp
//===----------------------------------------------------------------------===//

SmallVector<int64_t> PoolOp::getStridesOrDefault() {
  return orDefault(getStrides(), getKernel().size(), 1);
}
SmallVector<int64_t> PoolOp::getPaddingOrDefault() {
  return orDefault(getPadding(), 2 * getKernel().size(), 0);
}

LogicalResult PoolOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  if (!in)
    return emitOptionalError(loc, "expected a ranked tensor operand");
  int64_t rank = in.getRank();
  if (rank != 3 && rank != 4)
    return emitOptionalError(loc,
                             "input must be [N, C, W] or [N, C, H, W], "
                             "got rank ",
                             rank);
  size_t sr = rank - 2;
  ArrayRef<int64_t> kernel = adaptor.getKernel();
  SmallVector<int64_t> padding = orDefault(adaptor.getPadding(), 2 * sr, 0);
  if (kernel.size() == sr && padding.size() == 2 * sr)
    for (size_t i = 0; i < sr; ++i)
      if (padding[i] >= kernel[i] || padding[sr + i] >= kernel[i])
        return emitOptionalError(loc, "padding must be smaller than the "
                                      "kernel, or a window sees no input");
  SmallVector<int64_t> out{in.getDimSize(0), in.getDimSize(1)};
  if (failed(inferWindowed(loc, in.getShape().drop_front(2), kernel,
                           orDefault(adaptor.getStrides(), sr, 1), padding,
                           SmallVector<int64_t>(sr, 1), out)))
    return failure();
  types.push_back(RankedTensorType::get(out, in.getElementType()));
  return success();
}
