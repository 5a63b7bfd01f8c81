//===- Utils.h - helpers shared by the kiln-to-linalg patterns --*- C++ -*-===//

#ifndef KILN_LIB_CONVERSION_KILNTOLINALG_UTILS_H
#define KILN_LIB_CONVERSION_KILNTOLINALG_UTILS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::kiln::lowering {

using ScalarFn = llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// An uninitialized tensor of `type` (static shape).
Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type);

/// A tensor of `type` filled with `value`.
Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                   Value value);

/// The indexing map that reads an operand of `operandShape` broadcast (numpy
/// rules) into an iteration space of `resultShape`.
AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> operandShape,
                       ArrayRef<int64_t> resultShape);

/// Builds `linalg.generic` computing `body` elementwise over `operands`, each
/// broadcast to `resultType`. `body` gets the scalars of the operands.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                  ValueRange operands, ScalarFn body);

/// Converts a scalar between numeric types (float, signless int, i1).
/// `isUnsigned` interprets integer sources as unsigned; `toUnsigned` makes a
/// float-to-integer conversion produce an unsigned value.
Value convertScalar(OpBuilder &b, Location loc, Value v, Type to,
                    bool isUnsigned = false, bool toUnsigned = false);

/// `v` converted elementwise to `type` (its shape, another element type);
/// `v` itself when the element types agree.
Value toType(OpBuilder &b, Location loc, Value v, RankedTensorType type);

/// `t` with an unsigned element type replaced by its signless twin (the
/// lowering's representation of quantized data).
RankedTensorType signlessType(RankedTensorType t);

/// Index `v` (any integer) normalized for a dimension of size `dim`:
/// negative values count from the end, then clamped into [0, dim).
Value clampIndex(OpBuilder &b, Location loc, Value v, int64_t dim);

/// A scalar constant of `type` (float or integer) with `value`.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);

/// The largest (`positive`) or smallest finite-or-infinite value of `type`:
/// +-inf for floats, the signed extremes for integers.
Value extremeConstant(OpBuilder &b, Location loc, Type type, bool positive);

/// True for f16 and bf16, which compute in f32.
bool isNarrowFloat(Type t);

/// The type math runs in for elements of `t` (f32 for narrow floats).
Type computeType(Type t);

/// Pads `x` with `low`/`high` elements of `value` per dimension.
Value padTensor(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> low,
                ArrayRef<int64_t> high, Value value);

/// The static slice `offsets`/`sizes` (unit strides) of `v`.
Value extractSlice(OpBuilder &b, Location loc, Value v,
                   ArrayRef<int64_t> offsets, ArrayRef<int64_t> sizes);

/// Inserts `v` into `into` at `offsets` (unit strides).
Value insertSlice(OpBuilder &b, Location loc, Value v, Value into,
                  ArrayRef<int64_t> offsets);

/// Reshapes `v` (static) to `type` through collapse_shape/expand_shape.
Value reshape(OpBuilder &b, Location loc, Value v, RankedTensorType type);

/// Reduces `input` over `axes` (sorted) with `combine`, starting from `init`
/// (a scalar of the accumulator type). `pre` maps each input element to the
/// accumulator type first. The result drops the reduced dimensions.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
             Type accType, Value init, ScalarFn pre, ScalarFn combine);

/// Fails the conversion of `op` with a clear message when a tensor operand
/// or result has dynamic dimensions (the CPU lowering is static-shape only).
LogicalResult requireStaticShapes(Operation *op,
                                  ConversionPatternRewriter &rewriter);

/// A key or value of attention whose length (dimension 2, the only dynamic
/// one) is a prefix of a static tensor: `slice` takes it from a source with
/// `bound` entries from its offset on, `length` long.
struct KvPrefix {
  tensor::ExtractSliceOp slice;
  int64_t bound;
  Value length;
};
std::optional<KvPrefix> kvPrefix(Value kv);

/// Whether the reference decomposition takes `op`'s shapes: all static, or
/// static but for K and V, each a prefix of a static tensor (kvPrefix).
bool hasDecomposableShapes(AttentionOp op);

void populateElementwiseToLinalgPatterns(RewritePatternSet &patterns);
void populateComputeToLinalgPatterns(RewritePatternSet &patterns);
void populateReductionToLinalgPatterns(RewritePatternSet &patterns);
void populateShapeToLinalgPatterns(RewritePatternSet &patterns);
/// `byRow`: attention as one parallel loop over the query rows, each an
/// online softmax over its keys (for GPUs); otherwise the materialized
/// scores' decomposition.
void populateAttentionToLinalgPatterns(RewritePatternSet &patterns, bool byRow);
void populateRotaryToLinalgPatterns(RewritePatternSet &patterns);
/// `scanByChannel`: the selective scan as one parallel loop over (batch,
/// channel) pairs running the recurrence (for GPUs); otherwise a loop over
/// time steps of linalg ops.
void populateSSMToLinalgPatterns(RewritePatternSet &patterns,
                                 bool scanByChannel);
void populateIndexingToLinalgPatterns(RewritePatternSet &patterns);
/// `fuseDequant`: kiln.qmatmul as one contraction dequantizing the packed
/// weight in its loop (for GPUs); otherwise unpack, dequantize, matmul.
void populateQuantToLinalgPatterns(RewritePatternSet &patterns,
                                   bool fuseDequant);

} // namespace mlir::kiln::lowering

#endif // KILN_LIB_CONVERSION_KILNTOLINALG_UTILS_H
