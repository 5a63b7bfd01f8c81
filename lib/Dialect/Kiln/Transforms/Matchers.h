//===- Matchers.h - matching exported spellings of layers ------*- C++ -*-===//
//
// Helpers shared by the recognition passes: reading constants (inline or
// resource blobs), matching binary ops in either operand order, and
// flattening trees of products.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_DIALECT_KILN_TRANSFORMS_MATCHERS_H
#define KILN_LIB_DIALECT_KILN_TRANSFORMS_MATCHERS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include <optional>

namespace mlir::kiln::match {

/// The value of every element of a constant whose elements are all equal
/// (a splat or a one-element tensor), as a double; nullopt otherwise.
std::optional<double> splatValue(Value v);

/// True when `v` is a constant whose elements all equal `expected` within
/// the relative tolerance `rtol`.
bool isSplatNear(Value v, double expected, double rtol);

/// The elements of a float or integer constant (inline or a resource blob)
/// as doubles, if there are at most `limit`; nullopt otherwise.
std::optional<SmallVector<double>> constantValues(Value v, int64_t limit);

/// The element count of a ranked tensor value.
int64_t numElements(Value v);

/// Calls `fn(a, b)` with the operands of the binary op `op` in both orders;
/// true when either call is.
bool eitherOrder(Operation *op, function_ref<bool(Value, Value)> fn);

/// The factors of the product tree rooted at `v`: multiplications whose
/// intermediate results have a single use are flattened, anything else is
/// a leaf. The result lists the leaves.
SmallVector<Value> productFactors(Value v);

/// True when `v` is `x * x` or `pow(x, 2)`; sets `x`.
bool matchSquare(Value v, Value &x);

/// True when `v` is `1 / sqrt(s)`, `reciprocal(sqrt(s))` or `rsqrt(s)`;
/// sets `s`.
bool matchRsqrt(Value v, Value &s);

/// True when `v` is a `kiln.reduce mean` over the trailing dimensions
/// `[axis, rank)` with keepdims; sets `input` and `axis`.
bool matchTrailingMean(Value v, Value &input, int64_t &axis);

/// `w` as the weight of a normalization over `normShape`: with leading
/// unit dimensions dropped it must have exactly that shape. Returns the
/// (reshaped if needed) weight, or null.
Value asNormWeight(OpBuilder &b, Location loc, Value w,
                   ArrayRef<int64_t> normShape);

} // namespace mlir::kiln::match

#endif // KILN_LIB_DIALECT_KILN_TRANSFORMS_MATCHERS_H
