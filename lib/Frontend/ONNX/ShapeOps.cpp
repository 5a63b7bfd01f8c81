//===- ShapeOps.cpp - ONNX shape and data-movement ops --------------------===//

#include "ImporterImpl.h"

#include <numeric>

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

int64_t product(ArrayRef<int64_t> v) {
  return std::accumulate(v.begin(), v.end(), int64_t(1),
                         std::multiplies<int64_t>());
}

/// Axes from an input (newer opsets) or an attribute (older), normalized.
FailureOr<SmallVector<int64_t>> axesOf(NodeContext &n, int input, int64_t rank,
                                       bool &given) {
  SmallVector<int64_t> axes;
  given = false;
  if (n.hasInput(input)) {
    FailureOr<SmallVector<int64_t>> a = n.constInts(input, "axes");
    if (failed(a))
      return failure();
    axes = *a;
    given = true;
  } else if (auto a = n.attrInts("axes")) {
    axes = *a;
    given = true;
  }
  for (int64_t &a : axes) {
    FailureOr<int64_t> na = n.axis(a, rank, "axis");
    if (failed(na))
      return failure();
    a = *na;
  }
  return axes;
}

LogicalResult constantOp(NodeContext &n, Results &r) {
  if (const auto *a = n.attr("value"))
    return push(n.tensorConstant(a->t()), r);
  Type f32 = n.builder().getF32Type(), i64 = n.builder().getI64Type();
  if (const auto *a = n.attr("value_float"))
    return push(n.constantOf(RankedTensorType::get({}, f32), {a->f()}), r);
  if (const auto *a = n.attr("value_int"))
    return push(n.constantOf(RankedTensorType::get({}, i64), {(double)a->i()}),
                r);
  if (const auto *a = n.attr("value_floats")) {
    SmallVector<double> v(a->floats().begin(), a->floats().end());
    return push(
        n.constantOf(RankedTensorType::get({(int64_t)v.size()}, f32), v), r);
  }
  if (const auto *a = n.attr("value_ints")) {
    SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    return push(n.constantI64(v, {(int64_t)v.size()}), r);
  }
  return n.error("only tensor, float and int constants are supported");
}

LogicalResult shape(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"start", "end"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> dims = T(*x).getShape();
  int64_t rank = dims.size();
  int64_t start = n.attrInt("start", 0), end = n.attrInt("end", rank);
  start = std::clamp<int64_t>(start < 0 ? start + rank : start, 0, rank);
  end = std::clamp<int64_t>(end < 0 ? end + rank : end, 0, rank);
  SmallVector<int64_t> v(dims.begin() + start,
                         dims.begin() + std::max(start, end));
  return push(n.constantI64(v, {(int64_t)v.size()}), r);
}

LogicalResult size(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({})))
    return failure();
  return push(n.constantI64({T(*x).getNumElements()}, {}), r);
}

LogicalResult reshapeOp(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"allowzero"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  FailureOr<SmallVector<int64_t>> spec = n.constInts(1, "the target shape");
  if (failed(x) || failed(spec))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  bool allowZero = n.attrInt("allowzero", 0);
  SmallVector<int64_t> out;
  int64_t inferAt = -1, known = 1;
  for (auto [i, d] : llvm::enumerate(*spec)) {
    if (d == -1) {
      if (inferAt >= 0)
        return n.error("the target shape has more than one -1");
      inferAt = i;
      out.push_back(1);
      continue;
    }
    if (d == 0 && !allowZero) {
      if (i >= in.size())
        return n.error("0 copies a dimension the input does not have");
      d = in[i];
    }
    if (d < 0)
      return n.error("the target shape has a negative dimension");
    out.push_back(d);
    known *= d;
  }
  int64_t total = T(*x).getNumElements();
  if (inferAt >= 0) {
    if (known == 0 || total % known != 0)
      return n.error("cannot infer the -1 dimension");
    out[inferAt] = total / known;
  }
  if (product(out) != total)
    return n.error("cannot reshape " + std::to_string(total) +
                   " elements to that shape");
  return push(n.reshape(*x, out), r);
}

LogicalResult flatten(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  int64_t rank = in.size(), a = n.attrInt("axis", 1);
  if (a < -rank || a > rank)
    return n.error("axis out of range");
  if (a < 0)
    a += rank;
  return push(
      n.reshape(*x, {product(in.take_front(a)), product(in.drop_front(a))}), r);
}

LogicalResult squeeze(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axes"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  bool given;
  FailureOr<SmallVector<int64_t>> axes = axesOf(n, 1, in.size(), given);
  if (failed(axes))
    return failure();
  SmallVector<int64_t> out;
  for (auto [i, d] : llvm::enumerate(in)) {
    bool drop = given ? llvm::is_contained(*axes, (int64_t)i) : d == 1;
    if (drop && d != 1)
      return n.error("cannot squeeze dimension " + std::to_string(i) +
                     " of size " + std::to_string(d));
    if (!drop)
      out.push_back(d);
  }
  return push(n.reshape(*x, out), r);
}

LogicalResult unsqueeze(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axes"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  int64_t outRank = in.size();
  SmallVector<int64_t> raw;
  if (n.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> a = n.constInts(1, "axes");
    if (failed(a))
      return failure();
    raw = *a;
  } else if (auto a = n.attrInts("axes")) {
    raw = *a;
  }
  outRank += raw.size();
  SmallVector<bool> isNew(outRank, false);
  for (int64_t a : raw) {
    FailureOr<int64_t> na = n.axis(a, outRank, "axis");
    if (failed(na))
      return failure();
    if (isNew[*na])
      return n.error("axes repeat");
    isNew[*na] = true;
  }
  SmallVector<int64_t> out;
  size_t k = 0;
  for (int64_t i = 0; i < outRank; ++i)
    out.push_back(isNew[i] ? 1 : in[k++]);
  return push(n.reshape(*x, out), r);
}

LogicalResult transpose(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"perm"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  int64_t rank = T(*x).getRank();
  SmallVector<int64_t> perm = n.attrInts("perm").value_or(
      llvm::to_vector(llvm::reverse(llvm::seq<int64_t>(0, rank))));
  return push(n.create<TransposeOp>(*x, perm), r);
}

LogicalResult slice(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"starts", "ends", "axes"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  int64_t rank = in.size();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (n.opset >= 10) {
    FailureOr<SmallVector<int64_t>> s = n.constInts(1, "starts"),
                                    e = n.constInts(2, "ends");
    if (failed(s) || failed(e))
      return failure();
    starts = *s;
    ends = *e;
    if (n.hasInput(3)) {
      FailureOr<SmallVector<int64_t>> a = n.constInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (n.hasInput(4)) {
      FailureOr<SmallVector<int64_t>> st = n.constInts(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  } else {
    starts = n.attrInts("starts").value_or(SmallVector<int64_t>{});
    ends = n.attrInts("ends").value_or(SmallVector<int64_t>{});
    axes = n.attrInts("axes").value_or(SmallVector<int64_t>{});
  }
  if (axes.empty())
    axes = llvm::to_vector(llvm::seq<int64_t>(0, starts.size()));
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return n.error("starts, ends, axes and steps differ in length");
  SmallVector<int64_t> oStart(rank, 0), oSize(in), oStep(rank, 1);
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    FailureOr<int64_t> a = n.axis(axes[i], rank, "axis");
    if (failed(a))
      return failure();
    if (seen[*a])
      return n.error("axes repeat");
    seen[*a] = true;
    int64_t dim = in[*a], step = steps[i];
    if (step == 0)
      return n.error("a step is zero");
    // ONNX clamps out-of-range starts and ends (INT64_MAX means "to the end").
    auto norm = [&](int64_t v) {
      if (v < 0)
        v = v < -dim ? -1 : v + dim;
      return v;
    };
    int64_t s = norm(starts[i]), e = norm(ends[i]), size;
    if (step > 0) {
      s = std::clamp<int64_t>(s, 0, dim);
      e = std::clamp<int64_t>(e, 0, dim);
      size = e > s ? (e - s + step - 1) / step : 0;
    } else {
      s = std::clamp<int64_t>(s, -1, dim - 1);
      e = std::clamp<int64_t>(e, -1, dim - 1);
      size = s > e ? (s - e + (-step) - 1) / (-step) : 0;
    }
    oStart[*a] = size ? s : 0;
    oSize[*a] = size;
    oStep[*a] = step;
  }
  return push(n.create<SliceOp>(*x, oStart, oSize, oStep), r);
}

LogicalResult concat(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis"})))
    return failure();
  SmallVector<Value> inputs;
  for (int i = 0; i < n.numInputs(); ++i) {
    FailureOr<Value> v = n.input(i);
    if (failed(v))
      return failure();
    inputs.push_back(*v);
  }
  if (inputs.empty())
    return n.error("needs at least one input");
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", 0), T(inputs[0]).getRank(), "axis");
  if (failed(axis))
    return failure();
  // Zero-length pieces add nothing (shape subgraphs concatenate empties).
  SmallVector<Value> nonEmpty;
  for (Value v : inputs)
    if (T(v).getRank() <= *axis || T(v).getDimSize(*axis) != 0)
      nonEmpty.push_back(v);
  if (nonEmpty.empty())
    nonEmpty.push_back(inputs[0]);
  return push(n.create<ConcatOp>(nonEmpty, *axis), r);
}

LogicalResult split(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis", "split", "num_outputs"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  FailureOr<int64_t> axis = n.axis(n.attrInt("axis", 0), in.size(), "axis");
  if (failed(axis))
    return failure();
  int64_t outs = n.node.output_size(), dim = in[*axis];
  SmallVector<int64_t> sizes;
  if (n.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> s = n.constInts(1, "split");
    if (failed(s))
      return failure();
    sizes = *s;
  } else if (auto s = n.attrInts("split")) {
    sizes = *s;
  } else {
    // Equal parts; the last one smaller when the dimension does not divide.
    int64_t parts = n.attrInt("num_outputs", outs);
    if (parts < 1)
      return n.error("num_outputs must be positive");
    int64_t chunk = (dim + parts - 1) / parts;
    for (int64_t i = 0, left = dim; i < parts; ++i, left -= chunk)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, left)));
  }
  if ((int64_t)sizes.size() != outs)
    return n.error("split gives " + std::to_string(sizes.size()) +
                   " sizes for " + std::to_string(outs) + " outputs");
  if (llvm::any_of(sizes, [](int64_t s) { return s < 0; }) ||
      std::accumulate(sizes.begin(), sizes.end(), int64_t(0)) != dim)
    return n.error("split sizes do not add up to the dimension");
  int64_t offset = 0;
  for (int64_t s : sizes) {
    SmallVector<int64_t> start(in.size(), 0), size(in), step(in.size(), 1);
    start[*axis] = offset;
    size[*axis] = s;
    FailureOr<Value> part = n.create<SliceOp>(*x, start, size, step);
    if (failed(part))
      return failure();
    r.push_back(*part);
    offset += s;
  }
  return success();
}

LogicalResult gather(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis"})))
    return failure();
  FailureOr<Value> x = n.input(0), idx = n.input(1);
  if (failed(x) || failed(idx))
    return failure();
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", 0), T(*x).getRank(), "axis");
  if (failed(axis))
    return failure();
  return push(n.create<GatherOp>(*x, *idx, *axis), r);
}

LogicalResult expand(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  FailureOr<Value> x = n.input(0);
  FailureOr<SmallVector<int64_t>> shape = n.constInts(1, "the target shape");
  if (failed(x) || failed(shape))
    return failure();
  // ONNX Expand broadcasts both ways: the result is broadcast(x, shape).
  SmallVector<int64_t> out;
  if (failed(broadcastShapes({T(*x).getShape(), *shape}, out)))
    return n.error("the input does not broadcast to the target shape");
  return push(n.createTyped<ExpandOp>(
                  RankedTensorType::get(out, T(*x).getElementType()), *x),
              r);
}

LogicalResult tile(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  FailureOr<Value> x = n.input(0);
  FailureOr<SmallVector<int64_t>> reps = n.constInts(1, "repeats");
  if (failed(x) || failed(reps))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  if (reps->size() != in.size())
    return n.error("repeats must have one entry per dimension");
  // [d...] -> [1, d, 1, d, ...] -> expand to [r, d, ...] -> [r*d, ...]
  SmallVector<int64_t> split, expanded, out;
  for (auto [d, k] : llvm::zip(in, *reps)) {
    if (k < 0)
      return n.error("repeats must be non-negative");
    split.append({1, d});
    expanded.append({k, d});
    out.push_back(k * d);
  }
  FailureOr<Value> v = n.reshape(*x, split);
  if (failed(v))
    return failure();
  v = n.createTyped<ExpandOp>(
      RankedTensorType::get(expanded, T(*x).getElementType()), *v);
  if (failed(v))
    return failure();
  return push(n.reshape(*v, out), r);
}

LogicalResult pad(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"mode", "pads", "value"})))
    return failure();
  std::string mode = n.attrString("mode", "constant");
  if (mode != "constant" && mode != "reflect" && mode != "edge")
    return n.error("mode '" + mode + "' is not supported");
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  int64_t rank = T(*x).getRank();
  SmallVector<int64_t> pads;
  double value = n.attrFloat("value", 0.0);
  if (n.opset >= 11) {
    FailureOr<SmallVector<int64_t>> p = n.constInts(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (n.hasInput(2)) {
      FailureOr<double> v = n.constFloat(2, "constant_value");
      if (failed(v))
        return failure();
      value = *v;
    }
  } else {
    pads = n.attrInts("pads").value_or(SmallVector<int64_t>{});
  }
  if (n.hasInput(3)) {
    // axes: pads for those axes only
    bool given;
    FailureOr<SmallVector<int64_t>> axes = axesOf(n, 3, rank, given);
    if (failed(axes))
      return failure();
    if ((int64_t)pads.size() != 2 * (int64_t)axes->size())
      return n.error("pads must have two entries per axis");
    SmallVector<int64_t> full(2 * rank, 0);
    for (auto [i, a] : llvm::enumerate(*axes)) {
      full[a] = pads[i];
      full[rank + a] = pads[axes->size() + i];
    }
    pads = full;
  }
  if ((int64_t)pads.size() != 2 * rank)
    return n.error("pads must have two entries per dimension");
  if (mode != "constant") {
    // reflect and edge: concatenate mirrored or repeated slices, one
    // dimension at a time.
    Value v = *x;
    for (int64_t d = 0; d < rank; ++d) {
      int64_t lo = pads[d], hi = pads[rank + d], dim = T(v).getDimSize(d);
      if (lo < 0 || hi < 0)
        return n.error("negative pads are supported in constant mode only");
      if (!lo && !hi)
        continue;
      if (mode == "reflect" && (lo >= dim || hi >= dim))
        return n.error("reflect pads must be smaller than the dimension");
      if (dim == 0)
        return n.error("cannot pad an empty dimension by reflection or edge");
      auto piece = [&](int64_t start, int64_t size, int64_t step) {
        SmallVector<int64_t> st(rank, 0), sz(T(v).getShape()), sp(rank, 1);
        st[d] = start;
        sz[d] = size;
        sp[d] = step;
        return *n.create<SliceOp>(v, st, sz, sp);
      };
      SmallVector<Value> parts;
      if (lo) {
        if (mode == "reflect")
          parts.push_back(piece(lo, lo, -1));
        else
          for (int64_t i = 0; i < lo; ++i)
            parts.push_back(piece(0, 1, 1));
      }
      parts.push_back(v);
      if (hi) {
        if (mode == "reflect")
          parts.push_back(piece(dim - 2, hi, -1));
        else
          for (int64_t i = 0; i < hi; ++i)
            parts.push_back(piece(dim - 1, 1, 1));
      }
      v = *n.create<ConcatOp>(parts, d);
    }
    return push(v, r);
  }
  // Negative pads crop: pad with the positive parts, then slice.
  SmallVector<int64_t> positive, start(rank, 0), size, step(rank, 1);
  bool crop = false;
  for (int64_t p : pads)
    positive.push_back(std::max<int64_t>(p, 0));
  Builder b(n.context());
  FailureOr<Value> y = n.create<PadOp>(*x, b.getDenseI64ArrayAttr(positive),
                                       b.getF64FloatAttr(value));
  if (failed(y))
    return failure();
  for (int64_t i = 0; i < rank; ++i) {
    int64_t d = T(*y).getDimSize(i), lo = std::min<int64_t>(pads[i], 0),
            hi = std::min<int64_t>(pads[rank + i], 0);
    start[i] = -lo;
    size.push_back(d + lo + hi);
    crop |= lo || hi;
    if (size.back() < 0)
      return n.error("negative pads remove more than the dimension");
  }
  if (crop)
    y = n.create<SliceOp>(*y, start, size, step);
  return push(y, r);
}

LogicalResult constantOfShape(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"value"})))
    return failure();
  FailureOr<SmallVector<int64_t>> shape = n.constInts(0, "the shape");
  if (failed(shape))
    return failure();
  if (llvm::any_of(*shape, [](int64_t d) { return d < 0; }))
    return n.error("the shape has a negative dimension");
  Attribute value = n.builder().getF32FloatAttr(0);
  if (const auto *a = n.attr("value")) {
    FailureOr<Value> c = n.tensorConstant(a->t());
    DenseElementsAttr d;
    if (failed(c) || !matchPattern(*c, m_Constant(&d)) ||
        d.getNumElements() != 1)
      return n.error("value must be a one-element tensor");
    value = *d.getValues<Attribute>().begin();
  }
  auto type = RankedTensorType::get(*shape, cast<TypedAttr>(value).getType());
  return push(n.constant(SplatElementsAttr::get(type, value)), r);
}

LogicalResult range(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  FailureOr<double> start = n.constFloat(0, "start"),
                    limit = n.constFloat(1, "limit"),
                    delta = n.constFloat(2, "delta");
  FailureOr<Value> s0 = n.input(0);
  if (failed(start) || failed(limit) || failed(delta) || failed(s0))
    return failure();
  if (*delta == 0)
    return n.error("delta is zero");
  FailureOr<int64_t> countI =
      n.checkedInt(std::max(0.0, std::ceil((*limit - *start) / *delta)),
                   "the range's length", 0, int64_t(1) << 28);
  if (failed(countI))
    return failure();
  int64_t count = *countI;
  SmallVector<double> v;
  for (int64_t i = 0; i < count; ++i)
    v.push_back(*start + i * *delta);
  return push(
      n.constantOf(RankedTensorType::get({count}, T(*s0).getElementType()), v),
      r);
}

LogicalResult trilu(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"upper"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  int64_t k = 0;
  if (n.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> kv = n.constInts(1, "k");
    if (failed(kv))
      return failure();
    if (kv->size() != 1)
      return n.error("k must be a scalar");
    k = (*kv)[0];
  }
  auto t = T(*x);
  if (t.getRank() < 2)
    return n.error("input must have rank 2 or more");
  int64_t rows = t.getDimSize(t.getRank() - 2), cols = t.getShape().back();
  // keep(i, j): j - i >= k (upper) or j - i <= k (lower)
  Type i64 = n.builder().getI64Type();
  SmallVector<double> ri, ci;
  for (int64_t i = 0; i < rows; ++i)
    ri.push_back(i + k);
  for (int64_t j = 0; j < cols; ++j)
    ci.push_back(j);
  Value iv = n.constantOf(RankedTensorType::get({rows, 1}, i64), ri);
  Value jv = n.constantOf(RankedTensorType::get({cols}, i64), ci);
  bool upper = n.attrInt("upper", 1);
  FailureOr<Value> keep =
      n.create<CmpOp>(upper ? CmpPredicate::ge : CmpPredicate::le, jv, iv);
  if (failed(keep))
    return failure();
  return push(n.create<SelectOp>(*keep, *x, n.scalar(t.getElementType(), 0)),
              r);
}

LogicalResult depthToSpace(NodeContext &n, Results &r, bool toSpace) {
  if (failed(n.checkAttrs({"blocksize", "mode"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  auto t = T(*x);
  if (t.getRank() != 4)
    return n.error("input must be [N, C, H, W]");
  int64_t b = n.attrInt("blocksize", 0), N = t.getDimSize(0),
          C = t.getDimSize(1), H = t.getDimSize(2), W = t.getDimSize(3);
  if (b < 1)
    return n.error("blocksize must be positive");
  FailureOr<Value> v;
  if (toSpace) {
    if (C % (b * b))
      return n.error("channels must be divisible by blocksize^2");
    bool crd = n.attrString("mode", "DCR") == "CRD";
    int64_t c = C / (b * b);
    v = crd ? n.reshape(*x, {N, c, b, b, H, W})
            : n.reshape(*x, {N, b, b, c, H, W});
    if (succeeded(v))
      v = n.create<TransposeOp>(*v, crd ? ArrayRef<int64_t>{0, 1, 4, 2, 5, 3}
                                        : ArrayRef<int64_t>{0, 3, 4, 1, 5, 2});
    if (succeeded(v))
      v = n.reshape(*v, {N, c, H * b, W * b});
  } else {
    if (H % b || W % b)
      return n.error("height and width must be divisible by blocksize");
    v = n.reshape(*x, {N, C, H / b, b, W / b, b});
    if (succeeded(v))
      v = n.create<TransposeOp>(*v, ArrayRef<int64_t>{0, 3, 5, 1, 2, 4});
    if (succeeded(v))
      v = n.reshape(*v, {N, C * b * b, H / b, W / b});
  }
  return push(v, r);
}

LogicalResult d2s(NodeContext &n, Results &r) {
  return depthToSpace(n, r, true);
}
LogicalResult s2d(NodeContext &n, Results &r) {
  return depthToSpace(n, r, false);
}

} // namespace

void mlir::kiln::onnx::registerShapeOps(ConverterMap &map) {
  map["Constant"] = constantOp;
  map["Shape"] = shape;
  map["Size"] = size;
  map["Reshape"] = reshapeOp;
  map["Flatten"] = flatten;
  map["Squeeze"] = squeeze;
  map["Unsqueeze"] = unsqueeze;
  map["Transpose"] = transpose;
  map["Slice"] = slice;
  map["Concat"] = concat;
  map["Split"] = split;
  map["Gather"] = gather;
  map["Expand"] = expand;
  map["Tile"] = tile;
  map["Pad"] = pad;
  map["ConstantOfShape"] = constantOfShape;
  map["Range"] = range;
  map["Trilu"] = trilu;
  map["DepthToSpace"] = d2s;
  map["SpaceToDepth"] = s2d;
}
