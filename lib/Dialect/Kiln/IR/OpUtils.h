//===- OpUtils.h - helpers shared by the kiln op families -------*- C++ -*-===//

#ifndef KILN_LIB_DIALECT_KILN_IR_OPUTILS_H
#define KILN_LIB_DIALECT_KILN_IR_OPUTILS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "llvm/ADT/STLExtras.h"

namespace mlir::kiln::detail {

/// Formats a shape as `2x?x3` for diagnostics.
std::string shapeStr(ArrayRef<int64_t> shape);

/// The ranked tensor type of `v`, or null.
inline RankedTensorType rankedType(Value v) {
  return v ? dyn_cast<RankedTensorType>(v.getType()) : RankedTensorType();
}

/// True when dimensions `a` and `b` may be equal (either is dynamic).
inline bool dimsCompatible(int64_t a, int64_t b) {
  return ShapedType::isDynamic(a) || ShapedType::isDynamic(b) || a == b;
}

/// True when the attribute is small enough to become an inline constant.
bool isFoldableConstant(Attribute attr);

/// A small constant (inline dense, at most the inline limit), or null.
DenseElementsAttr smallConstant(Attribute attr);

/// Computes a constant of `type` (static, within the inline limit) whose
/// element at each index is `fn` of the elements of `operands` at the
/// broadcast (numpy) index. Null when any operand is not a small constant or
/// `fn` returns null.
DenseElementsAttr
foldBroadcast(ArrayRef<Attribute> operands, RankedTensorType type,
              function_ref<Attribute(ArrayRef<Attribute>)> fn);

/// Computes a constant of `type` whose element at each index is the element
/// of `input` at `source(index)` (a multi-index into input). Null when
/// `input` is not a small constant or the result is too big.
DenseElementsAttr
foldGather(Attribute input, RankedTensorType type,
           function_ref<SmallVector<int64_t>(ArrayRef<int64_t>)> source);

} // namespace mlir::kiln::detail

#endif // KILN_LIB_DIALECT_KILN_IR_OPUTILS_H
