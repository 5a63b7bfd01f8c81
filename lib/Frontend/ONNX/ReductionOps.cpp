//===- ReductionOps.cpp - ONNX reductions ---------------------------------===//

#include "ImporterImpl.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

using Results = SmallVectorImpl<Value>;

RankedTensorType T(Value v) { return NodeContext::typeOf(v); }

/// What a Reduce* op does before and after the reduction.
enum class Pre { None, Square, Abs, Exp };
enum class Post { None, Sqrt, Log };

template <ReduceKind kind, Pre pre = Pre::None, Post post = Post::None>
LogicalResult reduce(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axes", "keepdims", "noop_with_empty_axes"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  int64_t rank = T(*x).getRank();
  // Axes: an input from opset 13 (ReduceSum) or 18 (the others), an
  // attribute before.
  SmallVector<int64_t> axes;
  bool axesAsInput = n.numInputs() > 1;
  if (axesAsInput) {
    if (n.hasInput(1)) {
      FailureOr<SmallVector<int64_t>> a = n.constInts(1, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  } else if (auto a = n.attrInts("axes")) {
    axes = *a;
  }
  if (axes.empty()) {
    if (n.attrInt("noop_with_empty_axes", 0)) {
      r.push_back(*x);
      return success();
    }
    axes = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> na = n.axis(a, rank, "axis");
    if (failed(na))
      return failure();
    a = *na;
  }
  llvm::sort(axes);
  if (std::adjacent_find(axes.begin(), axes.end()) != axes.end())
    return n.error("axes repeat");
  Value v = *x;
  Type t = v.getType();
  switch (pre) {
  case Pre::None:
    break;
  case Pre::Square:
    v = *n.create<MulOp>(v, v);
    break;
  case Pre::Abs:
    v = *n.createTyped<AbsOp>(t, v);
    break;
  case Pre::Exp:
    v = *n.createTyped<ExpOp>(t, v);
    break;
  }
  FailureOr<Value> y =
      n.create<ReduceOp>(kind, v, axes, (bool)n.attrInt("keepdims", 1));
  if (failed(y))
    return failure();
  switch (post) {
  case Post::None:
    break;
  case Post::Sqrt:
    y = n.createTyped<SqrtOp>(y->getType(), *y);
    break;
  case Post::Log:
    y = n.createTyped<LogOp>(y->getType(), *y);
    break;
  }
  if (failed(y))
    return failure();
  r.push_back(*y);
  return success();
}

template <ArgKind kind> LogicalResult argReduce(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis", "keepdims", "select_last_index"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", 0), T(*x).getRank(), "axis");
  if (failed(axis))
    return failure();
  FailureOr<Value> y =
      n.create<ArgReduceOp>(kind, *x, *axis, (bool)n.attrInt("keepdims", 1),
                            (bool)n.attrInt("select_last_index", 0));
  if (failed(y))
    return failure();
  r.push_back(*y);
  return success();
}

} // namespace

void mlir::kiln::onnx::registerReductionOps(ConverterMap &map) {
  map["ReduceSum"] = reduce<ReduceKind::sum>;
  map["ReduceMean"] = reduce<ReduceKind::mean>;
  map["ReduceMax"] = reduce<ReduceKind::max>;
  map["ReduceMin"] = reduce<ReduceKind::min>;
  map["ReduceProd"] = reduce<ReduceKind::prod>;
  map["ReduceSumSquare"] = reduce<ReduceKind::sum, Pre::Square>;
  map["ReduceL1"] = reduce<ReduceKind::sum, Pre::Abs>;
  map["ReduceL2"] = reduce<ReduceKind::sum, Pre::Square, Post::Sqrt>;
  map["ReduceLogSum"] = reduce<ReduceKind::sum, Pre::None, Post::Log>;
  map["ReduceLogSumExp"] = reduce<ReduceKind::sum, Pre::Exp, Post::Log>;
  map["ArgMax"] = argReduce<ArgKind::argmax>;
  map["ArgMin"] = argReduce<ArgKind::argmin>;
}
