//===- IndexOps.cpp - ONNX ops that index, count or generate --------------===//

#include "ImporterImpl.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

using Results = SmallVectorImpl<Value>;

RankedTensorType T(Value v) { return NodeContext::typeOf(v); }

LogicalResult push(FailureOr<Value> v, Results &r) {
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

/// CumSum along an axis as a matmul with a triangular 0/1 matrix (exact for
/// integers; fp32 accumulation for floats).
LogicalResult cumSum(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"exclusive", "reverse"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  FailureOr<SmallVector<int64_t>> ax = n.constInts(1, "axis");
  if (failed(x) || failed(ax) || ax->size() != 1)
    return failed(x) || failed(ax) ? failure()
                                   : n.error("axis must be a scalar");
  auto t = T(*x);
  int64_t rank = t.getRank();
  FailureOr<int64_t> axis = n.axis((*ax)[0], rank, "axis");
  if (failed(axis))
    return failure();
  int64_t len = t.getDimSize(*axis);
  bool exclusive = n.attrInt("exclusive", 0), reverse = n.attrInt("reverse", 0);
  // tri[j][i] = 1 when input j contributes to output i.
  SmallVector<double> tri;
  for (int64_t j = 0; j < len; ++j)
    for (int64_t i = 0; i < len; ++i) {
      bool in = reverse ? j >= i : j <= i;
      if (exclusive && i == j)
        in = false;
      tri.push_back(in);
    }
  Type et = t.getElementType();
  Type ct = isa<FloatType>(et) ? et : n.builder().getI64Type();
  SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    if (i != *axis)
      perm.push_back(i);
  perm.push_back(*axis);
  SmallVector<int64_t> inv(rank);
  for (int64_t i = 0; i < rank; ++i)
    inv[perm[i]] = i;
  Value v = *n.create<TransposeOp>(*n.castTo(*x, ct), perm);
  SmallVector<int64_t> moved(T(v).getShape());
  if (rank == 1) // matmul needs a row dimension
    v = *n.reshape(v, {1, len});
  Value m = n.constantOf(RankedTensorType::get({len, len}, ct), tri);
  FailureOr<Value> y = n.create<MatmulOp>(v, m);
  if (failed(y))
    return failure();
  if (rank == 1)
    y = n.reshape(*y, moved);
  y = n.create<TransposeOp>(*y, inv);
  if (succeeded(y))
    y = n.castTo(*y, et);
  return push(y, r);
}

LogicalResult oneHot(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis"})))
    return failure();
  FailureOr<Value> idx = n.input(0), values = n.input(2);
  FailureOr<double> depthF = n.constFloat(1, "depth");
  if (failed(idx) || failed(values) || failed(depthF))
    return failure();
  FailureOr<int64_t> depthI = n.checkedInt(*depthF, "depth", 1, 1 << 24);
  if (failed(depthI))
    return failure();
  int64_t depth = *depthI;
  auto it = T(*idx);
  int64_t rank = it.getRank() + 1;
  FailureOr<int64_t> axis = n.axis(n.attrInt("axis", -1), rank, "axis");
  if (failed(axis))
    return failure();
  // Insert the new axis into the indices, normalize negative ones, compare
  // with 0..depth-1 along it.
  SmallVector<int64_t> shape(it.getShape());
  shape.insert(shape.begin() + *axis, 1);
  Type i64 = n.builder().getI64Type();
  Value iv = *n.reshape(*n.castTo(*idx, i64), shape);
  Value neg = *n.create<CmpOp>(CmpPredicate::lt, iv, n.scalar(i64, 0));
  iv = *n.create<SelectOp>(neg, *n.create<AddOp>(iv, n.scalar(i64, depth)), iv);
  SmallVector<double> iota;
  for (int64_t i = 0; i < depth; ++i)
    iota.push_back(i);
  SmallVector<int64_t> iotaShape(rank - *axis, 1);
  iotaShape[0] = depth;
  Value pos = n.constantOf(RankedTensorType::get(iotaShape, i64), iota);
  Value hit = *n.create<CmpOp>(CmpPredicate::eq, iv, pos);
  auto vt = T(*values);
  if (vt.getNumElements() != 2)
    return n.error("values must hold [off, on]");
  Value flat = *n.reshape(*values, {2});
  SmallVector<int64_t> one{1}, step{1};
  Value off =
      *n.reshape(*n.create<SliceOp>(flat, ArrayRef<int64_t>{0}, one, step), {});
  Value on =
      *n.reshape(*n.create<SliceOp>(flat, ArrayRef<int64_t>{1}, one, step), {});
  return push(n.create<SelectOp>(hit, on, off), r);
}

LogicalResult eyeLike(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"dtype", "k"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  auto t = T(*x);
  if (t.getRank() != 2)
    return n.error("input must be 2-D");
  Type et = n.hasAttr("dtype")
                ? elementTypeOf(n.context(), n.attrInt("dtype", 1))
                : t.getElementType();
  if (!et)
    return n.error("unsupported dtype");
  int64_t k = n.attrInt("k", 0), rows = t.getDimSize(0), cols = t.getDimSize(1);
  SmallVector<double> v;
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      v.push_back(j - i == k);
  return push(n.constantOf(RankedTensorType::get({rows, cols}, et), v), r);
}

/// Hann, Hamming and Blackman windows: constants of the given size.
template <int kind> LogicalResult window(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"output_datatype", "periodic"})))
    return failure();
  FailureOr<double> sizeF = n.constFloat(0, "size");
  if (failed(sizeF))
    return failure();
  FailureOr<int64_t> sizeI = n.checkedInt(*sizeF, "size", 0, 1 << 24);
  if (failed(sizeI))
    return failure();
  int64_t size = *sizeI;
  Type et = elementTypeOf(n.context(), n.attrInt("output_datatype", 1));
  if (!et)
    return n.error("unsupported output_datatype");
  double N = n.attrInt("periodic", 1) ? size : size - 1;
  SmallVector<double> v;
  for (int64_t i = 0; i < size; ++i) {
    double x = 2 * M_PI * i / N;
    double w = kind == 0   ? 0.5 - 0.5 * std::cos(x)
               : kind == 1 ? 25.0 / 46 - 21.0 / 46 * std::cos(x)
                           : 0.42 - 0.5 * std::cos(x) + 0.08 * std::cos(2 * x);
    v.push_back(w);
  }
  return push(n.constantOf(RankedTensorType::get({size}, et), v), r);
}

LogicalResult gatherElements(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis"})))
    return failure();
  FailureOr<Value> x = n.input(0), idx = n.input(1);
  if (failed(x) || failed(idx))
    return failure();
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", 0), T(*x).getRank(), "axis");
  if (failed(axis))
    return failure();
  return push(
      n.createTyped<GatherElementsOp>(
          RankedTensorType::get(T(*idx).getShape(), T(*x).getElementType()), *x,
          *idx, *axis),
      r);
}

LogicalResult gatherND(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"batch_dims"})))
    return failure();
  FailureOr<Value> x = n.input(0), idx = n.input(1);
  if (failed(x) || failed(idx))
    return failure();
  return push(n.create<GatherNDOp>(*x, *idx, n.attrInt("batch_dims", 0)), r);
}

FailureOr<ScatterReduction> reductionOf(NodeContext &n) {
  std::string red = n.attrString("reduction", "none");
  if (red == "none")
    return ScatterReduction::none;
  if (red == "add")
    return ScatterReduction::add;
  if (red == "mul")
    return ScatterReduction::mul;
  if (red == "max")
    return ScatterReduction::max;
  if (red == "min")
    return ScatterReduction::min;
  return n.error("reduction '" + red + "' is not supported");
}

LogicalResult scatterElements(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis", "reduction"})))
    return failure();
  FailureOr<Value> x = n.input(0), idx = n.input(1), upd = n.input(2);
  FailureOr<ScatterReduction> red = reductionOf(n);
  if (failed(x) || failed(idx) || failed(upd) || failed(red))
    return failure();
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", 0), T(*x).getRank(), "axis");
  if (failed(axis))
    return failure();
  return push(n.createTyped<ScatterElementsOp>(x->getType(), *x, *idx, *upd,
                                               *axis, *red),
              r);
}

LogicalResult scatterND(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"reduction"})))
    return failure();
  FailureOr<Value> x = n.input(0), idx = n.input(1), upd = n.input(2);
  FailureOr<ScatterReduction> red = reductionOf(n);
  if (failed(x) || failed(idx) || failed(upd) || failed(red))
    return failure();
  return push(n.createTyped<ScatterNDOp>(x->getType(), *x, *idx, *upd, *red),
              r);
}

} // namespace

void mlir::kiln::onnx::registerIndexOps(ConverterMap &map) {
  map["CumSum"] = cumSum;
  map["OneHot"] = oneHot;
  map["EyeLike"] = eyeLike;
  map["HannWindow"] = window<0>;
  map["HammingWindow"] = window<1>;
  map["BlackmanWindow"] = window<2>;
  map["GatherElements"] = gatherElements;
  map["GatherND"] = gatherND;
  map["ScatterElements"] = scatterElements;
  map["Scatter"] = scatterElements;
  map["ScatterND"] = scatterND;
}
