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
