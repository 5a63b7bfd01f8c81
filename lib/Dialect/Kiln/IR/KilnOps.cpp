//===- KilnOps.cpp - generated op definitions and shared helpers ----------===//
//
// The verifiers, type inference and folders live with their op family
// (ElementwiseOps.cpp, ComputeOps.cpp, ...); this file holds the generated
// definitions and the helpers the families share.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "OpUtils.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::kiln;

#include "kiln/Dialect/Kiln/IR/KilnEnums.cpp.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/Kiln/IR/KilnOps.cpp.inc"

LogicalResult mlir::kiln::broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes,
                                          SmallVectorImpl<int64_t> &result) {
  size_t rank = 0;
  for (ArrayRef<int64_t> s : shapes)
    rank = std::max(rank, s.size());
  result.assign(rank, 1);
  for (ArrayRef<int64_t> s : shapes) {
    size_t offset = rank - s.size();
    for (auto [i, d] : llvm::enumerate(s)) {
      int64_t &r = result[offset + i];
      if (d == 1)
        continue;
      if (r == 1) {
        r = d;
        continue;
      }
      if (ShapedType::isDynamic(d))
        continue;
      if (ShapedType::isDynamic(r)) {
        r = d;
        continue;
      }
      if (r != d)
        return failure();
    }
  }
  return success();
}

bool mlir::kiln::isBroadcastableTo(ArrayRef<int64_t> from,
                                   ArrayRef<int64_t> to) {
  if (from.size() > to.size())
    return false;
  size_t offset = to.size() - from.size();
  for (auto [i, d] : llvm::enumerate(from))
    if (d != 1 && !detail::dimsCompatible(d, to[offset + i]))
      return false;
  return true;
}

std::string mlir::kiln::detail::shapeStr(ArrayRef<int64_t> shape) {
  std::string s;
  llvm::raw_string_ostream os(s);
  if (shape.empty())
    return "scalar";
  llvm::interleave(
      shape, os,
      [&](int64_t d) {
        if (ShapedType::isDynamic(d))
          os << '?';
        else
          os << d;
      },
      "x");
  return s;
}

bool mlir::kiln::detail::isFoldableConstant(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense)
    return false;
  return dense.isSplat() ||
         dense.getNumElements() <= ConstantOp::kMaxInlineElements;
}

DenseElementsAttr mlir::kiln::detail::smallConstant(Attribute attr) {
  auto dense = dyn_cast_or_null<DenseElementsAttr>(attr);
  if (!dense || !dense.getType().hasStaticShape() ||
      dense.getNumElements() > ConstantOp::kMaxInlineElements)
    return {};
  return dense;
}

/// Row-major strides of `shape`.
static SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t i = (int64_t)shape.size() - 2; i >= 0; --i)
    strides[i] = strides[i + 1] * shape[i + 1];
  return strides;
}

DenseElementsAttr mlir::kiln::detail::foldBroadcast(
    ArrayRef<Attribute> operands, RankedTensorType type,
    function_ref<Attribute(ArrayRef<Attribute>)> fn) {
  if (!type.hasStaticShape() ||
      type.getNumElements() > ConstantOp::kMaxInlineElements)
    return {};
  SmallVector<DenseElementsAttr> dense;
  SmallVector<SmallVector<Attribute>> values;
  for (Attribute a : operands) {
    DenseElementsAttr d = smallConstant(a);
    if (!d)
      return {};
    dense.push_back(d);
    values.push_back(llvm::to_vector(d.getValues<Attribute>()));
  }
  ArrayRef<int64_t> shape = type.getShape();
  SmallVector<int64_t> outStrides = stridesOf(shape);
  SmallVector<Attribute> result;
  SmallVector<Attribute> args(operands.size());
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i) {
    for (auto [k, d] : llvm::enumerate(dense)) {
      ArrayRef<int64_t> s = d.getType().getShape();
      SmallVector<int64_t> st = stridesOf(s);
      size_t offset = shape.size() - s.size();
      int64_t src = 0;
      for (size_t dim = 0; dim < s.size(); ++dim) {
        int64_t idx = (i / outStrides[offset + dim]) % shape[offset + dim];
        src += (s[dim] == 1 ? 0 : idx) * st[dim];
      }
      args[k] = values[k][src];
    }
    Attribute r = fn(args);
    if (!r)
      return {};
    result.push_back(r);
  }
  return DenseElementsAttr::get(type, result);
}

DenseElementsAttr mlir::kiln::detail::foldGather(
    Attribute input, RankedTensorType type,
    function_ref<SmallVector<int64_t>(ArrayRef<int64_t>)> source) {
  DenseElementsAttr d = smallConstant(input);
  if (!d || !type.hasStaticShape() ||
      type.getNumElements() > ConstantOp::kMaxInlineElements)
    return {};
  SmallVector<Attribute> values = llvm::to_vector(d.getValues<Attribute>());
  ArrayRef<int64_t> inShape = d.getType().getShape();
  SmallVector<int64_t> inStrides = stridesOf(inShape);
  SmallVector<int64_t> outStrides = stridesOf(type.getShape());
  SmallVector<Attribute> result;
  SmallVector<int64_t> index(type.getRank());
  for (int64_t i = 0, n = type.getNumElements(); i < n; ++i) {
    for (int64_t dim = 0; dim < type.getRank(); ++dim)
      index[dim] = (i / outStrides[dim]) % type.getDimSize(dim);
    SmallVector<int64_t> src = source(index);
    int64_t flat = 0;
    for (auto [dim, v] : llvm::enumerate(src)) {
      if (v < 0 || v >= inShape[dim])
        return {};
      flat += v * inStrides[dim];
    }
    result.push_back(values[flat]);
  }
  return DenseElementsAttr::get(type, result);
}
