//===- ImporterImpl.h - the ONNX importer's shared machinery ----*- C++ -*-===//
//
// The Importer walks the graph and keeps the map from ONNX value names to
// MLIR values; a NodeContext gives each op converter typed access to one
// node's inputs and attributes and reports errors at the node. Converters
// live one file per op family and register themselves by op type.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_FRONTEND_ONNX_IMPORTERIMPL_H
#define KILN_LIB_FRONTEND_ONNX_IMPORTERIMPL_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Frontend/ONNX/Importer.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/StringMap.h"

#include <onnx/onnx_pb.h>

#include <optional>

namespace mlir::kiln::onnx {

class Importer;
class NodeContext;

/// Converts one node; pushes one value per node output (a null value for an
/// output the node does not produce).
using Converter = LogicalResult (*)(NodeContext &node,
                                    SmallVectorImpl<Value> &results);
using ConverterMap = llvm::StringMap<Converter>;

void registerElementwiseOps(ConverterMap &map);
void registerNNOps(ConverterMap &map);
void registerReductionOps(ConverterMap &map);
void registerShapeOps(ConverterMap &map);
void registerKilnDomainOps(ConverterMap &map);
void registerEinsumOp(ConverterMap &map);
void registerConvTransposeOp(ConverterMap &map);
void registerResizeOp(ConverterMap &map);
void registerIndexOps(ConverterMap &map);

/// The result of building one op in a converter. Composite converters chain
/// many builds; once one fails (its diagnostic already reported at the node)
/// dereferencing gives a null value, every later build in the node fails
/// without building anything and the node fails as a whole
/// (NodeContext::failedBuild), so a converter never has to check each
/// intermediate step to stay memory safe.
class NodeValue : public FailureOr<Value> {
public:
  using FailureOr<Value>::FailureOr;
  NodeValue(FailureOr<Value> v) : FailureOr<Value>(std::move(v)) {}
  Value operator*() const {
    return succeeded(*this) ? FailureOr<Value>::operator*() : Value();
  }
};

/// The element type of an ONNX TensorProto data type, or null.
Type elementTypeOf(MLIRContext *ctx, int32_t onnxType);

class NodeContext {
public:
  NodeContext(Importer &importer, const ::onnx::NodeProto &node, int index,
              int64_t opset, Location loc)
      : importer(importer), node(node), index(index), opset(opset), loc(loc) {}

  Importer &importer;
  const ::onnx::NodeProto &node;
  int index; ///< The node's position in the graph (names unnamed nodes).
  int64_t opset;
  Location loc;

  OpBuilder &builder();
  MLIRContext *context();

  /// Reports `msg` at the node (its name, op type and opset) and fails.
  InFlightDiagnostic error();
  LogicalResult error(const llvm::Twine &msg);

  int numInputs() const { return node.input_size(); }
  /// True when input `i` is given (ONNX marks skipped optional inputs "").
  bool hasInput(int i) const {
    return i < node.input_size() && !node.input(i).empty();
  }
  /// Input `i`'s value; fails with a message when it is missing.
  FailureOr<Value> input(int i);
  /// Input `i`'s value; fails with a message unless its elements are
  /// floats (for converters whose math only makes sense on floats).
  FailureOr<Value> floatInput(int i);
  /// Input `i`'s value, or null when the optional input is absent.
  FailureOr<Value> optionalInput(int i);
  /// The integers of a constant input (shapes, axes); fails with a message
  /// naming `what` when the input is not a known integer constant.
  FailureOr<SmallVector<int64_t>> constInts(int i, llvm::StringRef what);
  /// The value of a constant scalar float input.
  FailureOr<double> constFloat(int i, llvm::StringRef what);

  bool hasAttr(llvm::StringRef name) const;
  int64_t attrInt(llvm::StringRef name, int64_t dflt) const;
  double attrFloat(llvm::StringRef name, double dflt) const;
  std::string attrString(llvm::StringRef name, llvm::StringRef dflt) const;
  std::optional<SmallVector<int64_t>> attrInts(llvm::StringRef name) const;
  const ::onnx::AttributeProto *attr(llvm::StringRef name) const;
  /// Fails on attributes the converter does not know (so that none is
  /// silently ignored).
  LogicalResult checkAttrs(ArrayRef<llvm::StringRef> known);

  /// `v` as an integer in [lo, hi]; fails (naming `what`) on NaN, infinity
  /// or a value out of range, before anything is sized by it.
  FailureOr<int64_t> checkedInt(double v, llvm::StringRef what, int64_t lo,
                                int64_t hi);

  /// Normalizes an axis into [0, rank); fails with a message if out of range.
  FailureOr<int64_t> axis(int64_t a, int64_t rank, llvm::StringRef what);

  /// Builds `OpTy` (with placeholder result types), infers its result types
  /// with the op's own inference (reporting failures at the node) and folds
  /// it where its folder can.
  template <typename OpTy, typename... Args>
  FailureOr<SmallVector<Value>> createMulti(unsigned numResults,
                                            Args &&...args) {
    if (failedBuild)
      return failure();
    SmallVector<Type> placeholder(numResults, NoneType::get(context()));
    auto op = OpTy::create(builder(), loc, TypeRange(placeholder),
                           std::forward<Args>(args)...);
    SmallVector<Type> types;
    typename OpTy::Adaptor adaptor(op);
    LogicalResult inferred = reportAtNode(
        [&] { return OpTy::inferReturnTypes(context(), loc, adaptor, types); });
    if (failed(inferred)) {
      op->erase();
      failedBuild = true;
      return failure();
    }
    for (auto [r, t] : llvm::zip(op->getResults(), types))
      r.setType(t);
    return finish(op);
  }
  template <typename OpTy, typename... Args> NodeValue create(Args &&...args) {
    FailureOr<SmallVector<Value>> r =
        createMulti<OpTy>(1, std::forward<Args>(args)...);
    if (failed(r))
      return failure();
    return r->front();
  }
  /// Builds `OpTy` with explicit result types (ops without inference),
  /// verifies and folds it.
  template <typename OpTy, typename... Args>
  NodeValue createTyped(Type type, Args &&...args) {
    if (failedBuild)
      return failure();
    auto op = OpTy::create(builder(), loc, type, std::forward<Args>(args)...);
    FailureOr<SmallVector<Value>> r = finish(op);
    if (failed(r))
      return failure();
    return r->front();
  }

  /// Shape helpers on values with static shapes.
  static RankedTensorType typeOf(Value v) {
    return cast<RankedTensorType>(v.getType());
  }
  NodeValue reshape(Value v, ArrayRef<int64_t> shape);
  NodeValue castTo(Value v, Type elementType);

  /// Set when any build in this node failed (its error reported): later
  /// builds fail at once (their operands may be the null results of the
  /// failed one) and the importer fails the node even if the converter
  /// carried on.
  bool failedBuild = false;
  Value constant(Attribute value);
  /// A constant from an ONNX tensor (Constant nodes' values).
  FailureOr<Value> tensorConstant(const ::onnx::TensorProto &tensor);
  /// A constant of `type` holding `values` (converted to the element type);
  /// beyond the inline limit it becomes a resource blob.
  Value constantOf(RankedTensorType type, ArrayRef<double> values);
  Value constantI64(ArrayRef<int64_t> values, ArrayRef<int64_t> shape);
  Value scalar(Type elementType, double value);

  /// Runs `fn`; the errors it emits are reported once, at the node, with
  /// the node's name, op type and opset in front.
  LogicalResult reportAtNode(llvm::function_ref<LogicalResult()> fn);

private:
  /// Verifies `op` and folds it; returns its (possibly folded) results.
  FailureOr<SmallVector<Value>> finish(Operation *op);
};

/// The integers of `v` when it is a constant.
std::optional<SmallVector<int64_t>> constantInts(Value v);

} // namespace mlir::kiln::onnx

#endif // KILN_LIB_FRONTEND_ONNX_IMPORTERIMPL_H
