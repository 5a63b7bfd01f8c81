//===- KilnDomainOps.cpp - custom ops in the "kiln" ONNX domain -----------===//
//
// Exporters that know kiln can emit its fused ops directly as ONNX custom
// ops in the "kiln" domain (see docs/onnx.md), instead of a recurrence
// unrolled over time.
//
//===----------------------------------------------------------------------===//

#include "ImporterImpl.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

using Results = SmallVectorImpl<Value>;

/// The version of the "kiln" domain these converters implement.
constexpr int64_t kDomainVersion = 1;

/// Checks the domain version and the input count (`signature` names the
/// inputs, optional ones in brackets, for the message).
LogicalResult checkNode(NodeContext &n, int minInputs, int maxInputs,
                        llvm::StringRef signature) {
  if (n.opset > kDomainVersion)
    return n.error("kiln domain version " + std::to_string(n.opset) +
                   " is newer than the one this kiln implements (" +
                   std::to_string(kDomainVersion) + ")");
  if (n.numInputs() < minInputs || n.numInputs() > maxInputs)
    return n.error("takes " + std::to_string(minInputs) + " to " +
                   std::to_string(maxInputs) + " inputs (" + signature +
                   "), got " + std::to_string(n.numInputs()));
  if (n.node.output_size() > 2)
    return n.error("has 2 outputs (y, final_state), got " +
                   std::to_string(n.node.output_size()));
  return success();
}

/// Checks that attribute `name`, when present, has the ONNX type `type`.
LogicalResult checkAttrType(NodeContext &n, llvm::StringRef name,
                            ::onnx::AttributeProto::AttributeType type,
                            llvm::StringRef typeName) {
  const ::onnx::AttributeProto *a = n.attr(name);
  if (a && a->type() != type)
    return n.error("attribute '" + name + "' must be " + typeName);
  return success();
}

/// kiln.SelectiveScan(u, delta, A, B, C, [D], [z], [delta_bias],
///                    [initial_state]) -> (y, final_state)
LogicalResult selectiveScan(NodeContext &n, Results &r) {
  if (failed(checkNode(n, 5, 9,
                       "u, delta, A, B, C, [D], [z], [delta_bias], "
                       "[initial_state]")) ||
      failed(n.checkAttrs({"delta_softplus"})) ||
      failed(checkAttrType(n, "delta_softplus", ::onnx::AttributeProto::INT,
                           "an int (0 or 1)")))
    return failure();
  int64_t softplus = n.attrInt("delta_softplus", 0);
  if (softplus != 0 && softplus != 1)
    return n.error("attribute 'delta_softplus' must be 0 or 1, got " +
                   std::to_string(softplus));
  SmallVector<Value> in;
  for (int i = 0; i < 9; ++i) {
    FailureOr<Value> v = i < 5 ? n.input(i) : n.optionalInput(i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  FailureOr<SmallVector<Value>> res =
      n.createMulti<SelectiveScanOp>(2, in[0], in[1], in[2], in[3], in[4],
                                     in[5], in[6], in[7], in[8], softplus == 1);
  if (failed(res))
    return failure();
  r.append(res->begin(), res->end());
  return success();
}

/// kiln.CausalConv1d(x, weight, [bias], [state]) -> (y, final_state)
LogicalResult causalConv1d(NodeContext &n, Results &r) {
  if (failed(checkNode(n, 2, 4, "x, weight, [bias], [state]")) ||
      failed(n.checkAttrs({"activation"})) ||
      failed(checkAttrType(n, "activation", ::onnx::AttributeProto::STRING,
                           "a string (none or silu)")))
    return failure();
  std::string act = n.attrString("activation", "none");
  if (act != "none" && act != "silu")
    return n.error("activation '" + act + "' is not supported");
  SmallVector<Value> in;
  for (int i = 0; i < 4; ++i) {
    FailureOr<Value> v = i < 2 ? n.input(i) : n.optionalInput(i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  FailureOr<SmallVector<Value>> res = n.createMulti<CausalConv1dOp>(
      2, in[0], in[1], in[2], in[3],
      act == "silu" ? Activation::silu : Activation::none);
  if (failed(res))
    return failure();
  r.append(res->begin(), res->end());
  return success();
}

} // namespace

void mlir::kiln::onnx::registerKilnDomainOps(ConverterMap &map) {
  map["kiln.SelectiveScan"] = selectiveScan;
  map["kiln.CausalConv1d"] = causalConv1d;
}
