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

/// kiln.SelectiveScan(u, delta, A, B, C, [D], [z], [delta_bias],
///                    [initial_state]) -> (y, final_state)
LogicalResult selectiveScan(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"delta_softplus"})))
    return failure();
  SmallVector<Value> in;
  for (int i = 0; i < 9; ++i) {
    FailureOr<Value> v = i < 5 ? n.input(i) : n.optionalInput(i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  FailureOr<SmallVector<Value>> res = n.createMulti<SelectiveScanOp>(
      2, in[0], in[1], in[2], in[3], in[4], in[5], in[6], in[7], in[8],
      (bool)n.attrInt("delta_softplus", 0));
  if (failed(res))
    return failure();
  r.append(res->begin(), res->end());
  return success();
}

/// kiln.CausalConv1d(x, weight, [bias], [state]) -> (y, final_state)
LogicalResult causalConv1d(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"activation"})))
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
