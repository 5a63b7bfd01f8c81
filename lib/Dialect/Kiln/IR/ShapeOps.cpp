//===- ShapeOps.cpp - constants and data movement ops ---------------------===//

#include "OpUtils.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

#include <algorithm>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::verify() {
  auto dense = dyn_cast<DenseElementsAttr>(getValue());
  if (dense && !dense.isSplat() && dense.getNumElements() > kMaxInlineElements)
    return emitOpError("inline dense value has ")
           << dense.getNumElements() << " elements (limit "
           << kMaxInlineElements << "); store weights as dense_resource blobs";
  if (!cast<ShapedType>(getValue().getType()).hasStaticShape())
    return emitOpError("value must have a static shape");
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// ReshapeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  if (in.hasStaticShape() && out.hasStaticShape() &&
      in.getNumElements() != out.getNumElements())
    return emitOpError("cannot reshape ")
           << shapeStr(in.getShape()) << " (" << in.getNumElements()
           << " elements) to " << shapeStr(out.getShape()) << " ("
           << out.getNumElements() << " elements)";
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  auto type = cast<RankedTensorType>(getType());
  if (getInput().getType() == type)
    return getInput();
  // reshape(reshape(x)) -> reshape(x)
  if (auto inner = getInput().getDefiningOp<ReshapeOp>()) {
    getInputMutable().assign(inner.getInput());
    return getResult();
  }
  if (!type.hasStaticShape())
    return {};
  if (auto dense = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput()))
    return dense.reshape(type);
  // A resource blob is row-major bytes: only its type changes.
  if (auto res =
          dyn_cast_or_null<DenseResourceElementsAttr>(adaptor.getInput()))
    return DenseResourceElementsAttr::get(type, res.getRawHandle());
  return {};
}

//===----------------------------------------------------------------------===//
// TransposeOp
//===----------------------------------------------------------------------===//

static bool isPermutation(ArrayRef<int64_t> perm) {
  SmallVector<bool> seen(perm.size(), false);
  for (int64_t p : perm) {
    if (p < 0 || p >= (int64_t)perm.size() || seen[p])
      return false;
    seen[p] = true;
  }
  return true;
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  if (!in)
    return emitOptionalError(loc, "expected a ranked tensor operand");
  ArrayRef<int64_t> perm = adaptor.getPermutation();
  if ((int64_t)perm.size() != in.getRank() || !isPermutation(perm))
    return emitOptionalError(loc, "permutation must be a permutation of [0, ",
                             in.getRank(), ")");
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(in.getDimSize(p));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  if (llvm::equal(getPermutation(),
                  llvm::seq<int64_t>(0, getPermutation().size())))
    return getInput();
  ArrayRef<int64_t> perm = getPermutation();
  return foldGather(adaptor.getInput(), cast<RankedTensorType>(getType()),
                    [&](ArrayRef<int64_t> idx) {
                      SmallVector<int64_t> src(idx.size());
                      for (auto [i, p] : llvm::enumerate(perm))
                        src[p] = idx[i];
                      return src;
                    });
}

namespace {
/// transpose(transpose(x, p1), p2) -> transpose(x, p1[p2[i]]).
struct ComposeTransposes : OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getInput().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> perm;
    for (int64_t p : op.getPermutation())
      perm.push_back(inner.getPermutation()[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(op, op.getType(), inner.getInput(),
                                             perm);
    return success();
  }
};
} // namespace

void TransposeOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                              MLIRContext *context) {
  results.add<ComposeTransposes>(context);
}

//===----------------------------------------------------------------------===//
// SliceOp
//===----------------------------------------------------------------------===//

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  if (!in)
    return emitOptionalError(loc, "expected a ranked tensor operand");
  ArrayRef<int64_t> starts = adaptor.getStarts(), sizes = adaptor.getSizes(),
                    steps = adaptor.getSteps();
  int64_t rank = in.getRank();
  if ((int64_t)starts.size() != rank || (int64_t)sizes.size() != rank ||
      (int64_t)steps.size() != rank)
    return emitOptionalError(loc, "starts, sizes and steps need ", rank,
                             " entries each (the input rank)");
  for (int64_t i = 0; i < rank; ++i) {
    int64_t dim = in.getDimSize(i);
    if (steps[i] == 0)
      return emitOptionalError(loc, "step of dimension ", i, " is zero");
    if (sizes[i] < 0)
      return emitOptionalError(loc, "size of dimension ", i, " is negative");
    if (sizes[i] == 0 || ShapedType::isDynamic(dim))
      continue;
    int64_t last = starts[i] + (sizes[i] - 1) * steps[i];
    if (starts[i] < 0 || starts[i] >= dim || last < 0 || last >= dim)
      return emitOptionalError(loc, "slice of dimension ", i, " reads [",
                               starts[i], ", ", last, "] outside [0, ", dim,
                               ")");
  }
  types.push_back(RankedTensorType::get(sizes, in.getElementType()));
  return success();
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType() &&
      llvm::all_of(getStarts(), [](int64_t s) { return s == 0; }) &&
      llvm::all_of(getSteps(), [](int64_t s) { return s == 1; }))
    return getInput();
  ArrayRef<int64_t> starts = getStarts(), steps = getSteps();
  return foldGather(adaptor.getInput(), cast<RankedTensorType>(getType()),
                    [&](ArrayRef<int64_t> idx) {
                      SmallVector<int64_t> src(idx.size());
                      for (size_t d = 0; d < idx.size(); ++d)
                        src[d] = starts[d] + idx[d] * steps[d];
                      return src;
                    });
}

//===----------------------------------------------------------------------===//
// ConcatOp
//===----------------------------------------------------------------------===//

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  if (adaptor.getInputs().empty())
    return emitOptionalError(loc, "needs at least one operand");
  RankedTensorType first = rankedType(adaptor.getInputs().front());
  if (!first)
    return emitOptionalError(loc, "expected ranked tensor operands");
  int64_t rank = first.getRank(), axis = adaptor.getAxis();
  if (axis < 0 || axis >= rank)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             rank);
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : adaptor.getInputs()) {
    RankedTensorType t = rankedType(v);
    if (!t || t.getRank() != rank)
      return emitOptionalError(loc, "operands must all have rank ", rank);
    for (int64_t i = 0; i < rank; ++i) {
      int64_t d = t.getDimSize(i);
      if (i == axis) {
        shape[i] = (ShapedType::isDynamic(d) || ShapedType::isDynamic(shape[i]))
                       ? ShapedType::kDynamic
                       : shape[i] + d;
        continue;
      }
      if (!dimsCompatible(d, shape[i]))
        return emitOptionalError(loc, "operand shapes ", shapeStr(t.getShape()),
                                 " and ", shapeStr(first.getShape()),
                                 " differ outside the concatenation axis");
      if (ShapedType::isDynamic(shape[i]))
        shape[i] = d;
    }
  }
  types.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1 && getInputs().front().getType() == getType())
    return getInputs().front();
  // Small constants: the element at index i comes from the operand whose
  // range along the axis holds i[axis].
  auto type = cast<RankedTensorType>(getType());
  if (!type.hasStaticShape() ||
      type.getNumElements() > ConstantOp::kMaxInlineElements)
    return {};
  int64_t axis = getAxis();
  SmallVector<SmallVector<Attribute>> values;
  SmallVector<DenseElementsAttr> parts;
  for (Attribute a : adaptor.getInputs()) {
    DenseElementsAttr d = smallConstant(a);
    if (!d)
      return {};
    parts.push_back(d);
    values.push_back(llvm::to_vector(d.getValues<Attribute>()));
  }
  SmallVector<Attribute> result;
  SmallVector<int64_t> idx(type.getRank());
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i) {
    int64_t rest = i;
    for (int64_t d = type.getRank() - 1; d >= 0; --d) {
      idx[d] = rest % type.getDimSize(d);
      rest /= type.getDimSize(d);
    }
    int64_t along = idx[axis];
    for (auto [k, part] : llvm::enumerate(parts)) {
      ArrayRef<int64_t> shape = part.getType().getShape();
      if (along >= shape[axis]) {
        along -= shape[axis];
        continue;
      }
      int64_t flat = 0;
      for (int64_t d = 0; d < type.getRank(); ++d)
        flat = flat * shape[d] + (d == axis ? along : idx[d]);
      result.push_back(values[k][flat]);
      break;
    }
  }
  return DenseElementsAttr::get(type, result);
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  DenseElementsAttr indices = smallConstant(adaptor.getIndices());
  if (!indices)
    return {};
  SmallVector<int64_t> idxValues;
  for (const APInt &v : indices.getValues<APInt>())
    idxValues.push_back(v.getSExtValue());
  auto inType = cast<RankedTensorType>(getInput().getType());
  int64_t axis = getAxis(), dim = inType.getDimSize(axis);
  ArrayRef<int64_t> idxShape = indices.getType().getShape();
  return foldGather(adaptor.getInput(), cast<RankedTensorType>(getType()),
                    [&](ArrayRef<int64_t> idx) {
                      // result index = [outer..., indices..., inner...]
                      int64_t flat = 0;
                      for (size_t k = 0; k < idxShape.size(); ++k)
                        flat = flat * idxShape[k] + idx[axis + k];
                      int64_t v = idxValues[flat];
                      v = v < 0 ? v + dim : v;
                      v = std::clamp<int64_t>(v, 0, dim - 1);
                      SmallVector<int64_t> src(idx.take_front(axis));
                      src.push_back(v);
                      llvm::append_range(
                          src, idx.drop_front(axis + idxShape.size()));
                      return src;
                    });
}

//===----------------------------------------------------------------------===//
// GatherOp
//===----------------------------------------------------------------------===//

namespace {
/// A gather of one constant index is a slice: `gather(x, i)` along `axis`
/// -> reshape(slice(x, [i, i + 1) along axis)). A slice is a view of its
/// input after bufferization (a decode step's `past_kv[layer]` then reads
/// the cache in place); a gather always copies.
struct GatherOfOneIndex : OpRewritePattern<GatherOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GatherOp op,
                                PatternRewriter &rewriter) const override {
    auto in = cast<RankedTensorType>(op.getInput().getType());
    auto out = cast<RankedTensorType>(op.getType());
    DenseElementsAttr indices;
    if (!in.hasStaticShape() || !out.hasStaticShape() ||
        !matchPattern(op.getIndices(), m_Constant(&indices)) ||
        indices.getNumElements() != 1)
      return failure();
    int64_t axis = op.getAxis(), dim = in.getDimSize(axis);
    // From a size-1 axis the slice would fold away into a bare reshape,
    // which no longer says which axis was stepped along: the recognizers
    // read one-index gathers of a one-step export as time steps.
    if (dim == 1)
      return failure();
    int64_t i = (*indices.getValues<APInt>().begin()).getSExtValue();
    i = std::clamp<int64_t>(i < 0 ? i + dim : i, 0, dim - 1);
    SmallVector<int64_t> starts(in.getRank(), 0), sizes(in.getShape()),
        steps(in.getRank(), 1);
    starts[axis] = i;
    sizes[axis] = 1;
    Value slice =
        SliceOp::create(rewriter, op.getLoc(),
                        RankedTensorType::get(sizes, in.getElementType()),
                        op.getInput(), starts, sizes, steps);
    rewriter.replaceOpWithNewOp<ReshapeOp>(op, out, slice);
    return success();
  }
};
} // namespace

void GatherOp::getCanonicalizationPatterns(RewritePatternSet &results,
                                           MLIRContext *context) {
  results.add<GatherOfOneIndex>(context);
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  RankedTensorType idx = rankedType(adaptor.getIndices());
  if (!in || !idx)
    return emitOptionalError(loc, "expected ranked tensor operands");
  int64_t axis = adaptor.getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             in.getRank());
  if (in.getDimSize(axis) == 0)
    return emitOptionalError(loc, "cannot gather from an empty dimension");
  SmallVector<int64_t> shape(in.getShape().take_front(axis));
  llvm::append_range(shape, idx.getShape());
  llvm::append_range(shape, in.getShape().drop_front(axis + 1));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// ExpandOp
//===----------------------------------------------------------------------===//

LogicalResult ExpandOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto out = cast<RankedTensorType>(getType());
  if (!isBroadcastableTo(in.getShape(), out.getShape()))
    return emitOpError("cannot broadcast ")
           << shapeStr(in.getShape()) << " to " << shapeStr(out.getShape());
  return success();
}

OpFoldResult ExpandOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto splat = dyn_cast_or_null<SplatElementsAttr>(adaptor.getInput());
  auto type = cast<RankedTensorType>(getType());
  if (splat && type.hasStaticShape())
    return SplatElementsAttr::get(type, splat.getSplatValue<Attribute>());
  return foldBroadcast(adaptor.getInput(), type,
                       [](ArrayRef<Attribute> a) { return a[0]; });
}

//===----------------------------------------------------------------------===//
// PadOp
//===----------------------------------------------------------------------===//

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  if (!in)
    return emitOptionalError(loc, "expected a ranked tensor operand");
  ArrayRef<int64_t> pads = adaptor.getPads();
  int64_t rank = in.getRank();
  if ((int64_t)pads.size() != 2 * rank)
    return emitOptionalError(loc, "pads needs ", 2 * rank,
                             " entries (begin and end per dimension), got ",
                             pads.size());
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (pads[i] < 0 || pads[rank + i] < 0)
      return emitOptionalError(loc, "pads must be non-negative");
    int64_t d = in.getDimSize(i);
    shape.push_back(ShapedType::isDynamic(d) ? d
                                             : d + pads[i] + pads[rank + i]);
  }
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

OpFoldResult PadOp::fold(FoldAdaptor) {
  if (llvm::all_of(getPads(), [](int64_t p) { return p == 0; }) &&
      getInput().getType() == getType())
    return getInput();
  return {};
}

//===----------------------------------------------------------------------===//
// Gather and scatter by element and by N-d index
//===----------------------------------------------------------------------===//

LogicalResult GatherElementsOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto idx = cast<RankedTensorType>(getIndices().getType());
  auto out = cast<RankedTensorType>(getType());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ")
           << axis << " is out of range for rank " << in.getRank();
  if (idx.getRank() != in.getRank())
    return emitOpError("indices must have the input's rank ")
           << in.getRank() << ", got " << idx.getRank();
  if (out.getShape() != idx.getShape())
    return emitOpError("result shape ")
           << shapeStr(out.getShape()) << " must be the indices' "
           << shapeStr(idx.getShape());
  if (in.getDimSize(axis) == 0 && idx.getNumElements() != 0)
    return emitOpError("cannot gather from an empty dimension");
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &types) {
  RankedTensorType in = rankedType(adaptor.getInput());
  RankedTensorType idx = rankedType(adaptor.getIndices());
  if (!in || !idx)
    return emitOptionalError(loc, "expected ranked tensor operands");
  int64_t b = adaptor.getBatchDims();
  if (idx.getRank() < 1)
    return emitOptionalError(loc, "indices must have rank 1 or more");
  int64_t q = idx.getShape().back();
  if (b < 0 || b >= idx.getRank() || ShapedType::isDynamic(q) ||
      b + q > in.getRank())
    return emitOptionalError(loc, "batch_dims ", b, " plus index depth ", q,
                             " exceed the input's rank ", in.getRank());
  for (int64_t i = 0; i < b; ++i)
    if (!dimsCompatible(in.getDimSize(i), idx.getDimSize(i)))
      return emitOptionalError(loc, "batch dimension ", i,
                               " differs between input and indices");
  SmallVector<int64_t> shape(idx.getShape().drop_back());
  llvm::append_range(shape, in.getShape().drop_front(b + q));
  types.push_back(RankedTensorType::get(shape, in.getElementType()));
  return success();
}

static LogicalResult verifyUpdatesType(Operation *op, Value updates,
                                       ArrayRef<int64_t> expected,
                                       Type elementType) {
  auto u = cast<RankedTensorType>(updates.getType());
  if (u.getElementType() != elementType)
    return op->emitOpError("updates element type ")
           << u.getElementType() << " differs from the input's " << elementType;
  if (u.getShape() != expected)
    return op->emitOpError("updates must have shape ")
           << shapeStr(expected) << ", got " << shapeStr(u.getShape());
  return success();
}

LogicalResult ScatterElementsOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto idx = cast<RankedTensorType>(getIndices().getType());
  int64_t axis = getAxis();
  if (axis < 0 || axis >= in.getRank())
    return emitOpError("axis ")
           << axis << " is out of range for rank " << in.getRank();
  if (idx.getRank() != in.getRank())
    return emitOpError("indices must have the input's rank ") << in.getRank();
  if (in.getDimSize(axis) == 0 && idx.getNumElements() != 0)
    return emitOpError("cannot scatter into an empty dimension");
  return verifyUpdatesType(*this, getUpdates(), idx.getShape(),
                           in.getElementType());
}

LogicalResult ScatterNDOp::verify() {
  auto in = cast<RankedTensorType>(getInput().getType());
  auto idx = cast<RankedTensorType>(getIndices().getType());
  if (idx.getRank() < 1)
    return emitOpError("indices must have rank 1 or more");
  int64_t q = idx.getShape().back();
  if (q > in.getRank())
    return emitOpError("index depth ")
           << q << " exceeds the input's rank " << in.getRank();
  for (int64_t i = 0; i < q; ++i)
    if (in.getDimSize(i) == 0 && idx.getNumElements() != 0)
      return emitOpError("cannot scatter into an empty dimension");
  SmallVector<int64_t> expected(idx.getShape().drop_back());
  llvm::append_range(expected, in.getShape().drop_front(q));
  return verifyUpdatesType(*this, getUpdates(), expected, in.getElementType());
}
