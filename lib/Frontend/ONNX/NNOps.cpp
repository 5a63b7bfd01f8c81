//===- NNOps.cpp - ONNX matmul, conv, pooling, softmax and norms ----------===//

#include "ImporterImpl.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

using Results = SmallVectorImpl<Value>;

LogicalResult push(FailureOr<Value> v, Results &r) {
  if (failed(v))
    return failure();
  r.push_back(*v);
  return success();
}

RankedTensorType T(Value v) { return NodeContext::typeOf(v); }

/// numpy matmul: 1-D operands get a unit dimension that is dropped after.
FailureOr<Value> matmul(NodeContext &n, Value a, Value b, Type resultElt = {}) {
  auto at = T(a), bt = T(b);
  bool aVec = at.getRank() == 1, bVec = bt.getRank() == 1;
  if (aVec)
    a = *n.reshape(a, {1, at.getDimSize(0)});
  if (bVec)
    b = *n.reshape(b, {bt.getDimSize(0), 1});
  FailureOr<Value> y = n.create<MatmulOp>(a, b);
  if (failed(y))
    return failure();
  if (aVec || bVec) {
    SmallVector<int64_t> shape(T(*y).getShape());
    if (bVec)
      shape.pop_back();
    if (aVec)
      shape.erase(shape.end() - (bVec ? 1 : 2));
    y = n.reshape(*y, shape);
  }
  return y;
}

LogicalResult matmulOp(NodeContext &n, Results &r) {
  FailureOr<Value> a = n.input(0), b = n.input(1);
  if (failed(a) || failed(b) || failed(n.checkAttrs({})))
    return failure();
  return push(matmul(n, *a, *b), r);
}

FailureOr<Value> transpose2d(NodeContext &n, Value v) {
  if (T(v).getRank() != 2)
    return n.error("Gemm operands must be matrices");
  return n.create<TransposeOp>(v, ArrayRef<int64_t>{1, 0});
}

LogicalResult gemm(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"alpha", "beta", "transA", "transB"})))
    return failure();
  FailureOr<Value> a = n.input(0), b = n.input(1), c = n.optionalInput(2);
  if (failed(a) || failed(b) || failed(c))
    return failure();
  if (n.attrInt("transA", 0))
    a = transpose2d(n, *a);
  if (succeeded(b) && n.attrInt("transB", 0))
    b = transpose2d(n, *b);
  if (failed(a) || failed(b))
    return failure();
  FailureOr<Value> y = n.create<MatmulOp>(*a, *b);
  if (failed(y))
    return failure();
  Type et = T(*y).getElementType();
  double alpha = n.attrFloat("alpha", 1.0), beta = n.attrFloat("beta", 1.0);
  if (alpha != 1.0)
    y = n.create<MulOp>(*y, n.scalar(et, alpha));
  if (succeeded(y) && *c) {
    Value cc = *c;
    if (beta != 1.0)
      cc = *n.create<MulOp>(cc, n.scalar(et, beta));
    y = n.create<AddOp>(*y, cc);
  }
  return push(y, r);
}

LogicalResult matmulInteger(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  FailureOr<Value> a = n.input(0), b = n.input(1);
  FailureOr<Value> za = n.optionalInput(2), zb = n.optionalInput(3);
  if (failed(a) || failed(b) || failed(za) || failed(zb))
    return failure();
  // (A - a_zero_point) @ (B - b_zero_point) in int32. Per-row or per-column
  // zero points broadcast along their axis.
  Type i32 = n.builder().getI32Type();
  auto shift = [&](Value x, Value zp, bool rows) -> FailureOr<Value> {
    FailureOr<Value> xi = n.castTo(x, i32);
    if (!zp || failed(xi))
      return xi;
    FailureOr<Value> z = n.castTo(zp, i32);
    if (rows && T(*z).getRank() == 1)
      z = n.reshape(*z, {T(*z).getDimSize(0), 1});
    return n.create<SubOp>(*xi, *z);
  };
  FailureOr<Value> x = shift(*a, *za, true), y = shift(*b, *zb, false);
  if (failed(x) || failed(y))
    return failure();
  return push(matmul(n, *x, *y), r);
}

/// Window attributes of Conv and the pools, with auto_pad resolved.
struct Window {
  SmallVector<int64_t> kernel, strides, pads, dilations;
};

FailureOr<Window> window(NodeContext &n, ArrayRef<int64_t> spatial,
                         std::optional<SmallVector<int64_t>> kernel) {
  size_t sr = spatial.size();
  Window w;
  if (!kernel)
    return n.error("needs kernel_shape");
  w.kernel = *kernel;
  w.strides = n.attrInts("strides").value_or(SmallVector<int64_t>(sr, 1));
  w.dilations = n.attrInts("dilations").value_or(SmallVector<int64_t>(sr, 1));
  w.pads = n.attrInts("pads").value_or(SmallVector<int64_t>(2 * sr, 0));
  if (w.kernel.size() != sr || w.strides.size() != sr ||
      w.dilations.size() != sr || w.pads.size() != 2 * sr)
    return n.error("kernel_shape, strides, dilations or pads do not match the "
                   "input's spatial rank");
  for (size_t i = 0; i < sr; ++i)
    if (w.strides[i] < 1 || w.dilations[i] < 1 || w.kernel[i] < 1)
      return n.error("kernel sizes, strides and dilations must be positive");
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  if (autoPad == "VALID") {
    w.pads.assign(2 * sr, 0);
  } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
    for (size_t i = 0; i < sr; ++i) {
      int64_t out = (spatial[i] + w.strides[i] - 1) / w.strides[i];
      int64_t span = (w.kernel[i] - 1) * w.dilations[i] + 1;
      int64_t total =
          std::max<int64_t>(0, (out - 1) * w.strides[i] + span - spatial[i]);
      int64_t small = total / 2, big = total - small;
      w.pads[i] = autoPad == "SAME_UPPER" ? small : big;
      w.pads[sr + i] = autoPad == "SAME_UPPER" ? big : small;
    }
  } else if (autoPad != "NOTSET") {
    return n.error("auto_pad '" + autoPad + "' is not supported");
  }
  return w;
}

LogicalResult conv(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"auto_pad", "dilations", "group", "kernel_shape",
                           "pads", "strides"})))
    return failure();
  FailureOr<Value> x = n.input(0), w = n.input(1), b = n.optionalInput(2);
  if (failed(x) || failed(w) || failed(b))
    return failure();
  int64_t rank = T(*x).getRank();
  if (rank != 3 && rank != 4)
    return n.error("only 1-D and 2-D convolutions are supported (input rank " +
                   std::to_string(rank) + ")");
  if (T(*w).getRank() != rank)
    return n.error("weight rank differs from input rank");
  auto kernel =
      n.attrInts("kernel_shape")
          .value_or(SmallVector<int64_t>(T(*w).getShape().drop_front(2)));
  FailureOr<Window> win = window(n, T(*x).getShape().drop_front(2), kernel);
  if (failed(win))
    return failure();
  Builder bld(n.context());
  return push(n.create<ConvOp>(*x, *w, *b,
                               bld.getDenseI64ArrayAttr(win->strides),
                               bld.getDenseI64ArrayAttr(win->pads),
                               bld.getDenseI64ArrayAttr(win->dilations),
                               bld.getI64IntegerAttr(n.attrInt("group", 1))),
              r);
}

LogicalResult pool(NodeContext &n, Results &r, PoolKind kind) {
  if (failed(n.checkAttrs({"auto_pad", "ceil_mode", "count_include_pad",
                           "dilations", "kernel_shape", "pads", "storage_order",
                           "strides"})))
    return failure();
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  int64_t rank = T(*x).getRank();
  if (rank != 3 && rank != 4)
    return n.error("only 1-D and 2-D pooling is supported");
  if (n.node.output_size() > 1 && !n.node.output(1).empty())
    return n.error("the Indices output is not supported");
  FailureOr<Window> win =
      window(n, T(*x).getShape().drop_front(2), n.attrInts("kernel_shape"));
  if (failed(win))
    return failure();
  if (llvm::any_of(win->dilations, [](int64_t d) { return d != 1; }))
    return n.error("dilated pooling is not supported");
  if (n.attrInt("ceil_mode", 0)) {
    // Ceil mode adds a partial window at the end where the floor division
    // drops one; extend the end padding so the floor form computes it.
    size_t sr = win->kernel.size();
    for (size_t i = 0; i < sr; ++i) {
      int64_t in = T(*x).getDimSize(2 + i) + win->pads[i] + win->pads[sr + i];
      int64_t rem = (in - win->kernel[i]) % win->strides[i];
      if (rem != 0) {
        if (kind == PoolKind::avg && n.attrInt("count_include_pad", 0))
          return n.error("ceil_mode with count_include_pad is not supported");
        win->pads[sr + i] += win->strides[i] - rem;
      }
    }
  }
  Builder bld(n.context());
  return push(
      n.create<PoolOp>(PoolKindAttr::get(n.context(), kind), *x,
                       bld.getDenseI64ArrayAttr(win->kernel),
                       bld.getDenseI64ArrayAttr(win->strides),
                       bld.getDenseI64ArrayAttr(win->pads),
                       bld.getBoolAttr(n.attrInt("count_include_pad", 0))),
      r);
}

LogicalResult maxPool(NodeContext &n, Results &r) {
  return pool(n, r, PoolKind::max);
}
LogicalResult avgPool(NodeContext &n, Results &r) {
  return pool(n, r, PoolKind::avg);
}

template <ReduceKind kind>
LogicalResult globalPool(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.input(0);
  if (failed(x) || failed(n.checkAttrs({})))
    return failure();
  int64_t rank = T(*x).getRank();
  if (rank < 3)
    return n.error("input must be [N, C, spatial...]");
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(2, rank));
  return push(n.create<ReduceOp>(kind, *x, axes, true), r);
}

template <typename OpTy> LogicalResult softmax(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x) || failed(n.checkAttrs({"axis"})))
    return failure();
  int64_t rank = T(*x).getRank();
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", n.opset >= 13 ? -1 : 1), rank, "axis");
  if (failed(axis))
    return failure();
  if (n.opset >= 13)
    return push(n.createTyped<OpTy>(x->getType(), *x, *axis), r);
  // Before opset 13: softmax over the flattened [axis, rank) dimensions.
  ArrayRef<int64_t> shape = T(*x).getShape();
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < rank; ++i)
    (i < *axis ? outer : inner) *= shape[i];
  FailureOr<Value> flat = n.reshape(*x, {outer, inner});
  FailureOr<Value> y = n.createTyped<OpTy>(flat->getType(), *flat, 1);
  if (failed(y))
    return failure();
  return push(n.reshape(*y, shape), r);
}

LogicalResult layerNorm(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis", "epsilon", "stash_type"})))
    return failure();
  FailureOr<Value> x = n.floatInput(0), g = n.input(1), b = n.optionalInput(2);
  if (failed(x) || failed(g) || failed(b))
    return failure();
  int64_t rank = T(*x).getRank();
  FailureOr<int64_t> axis = n.axis(n.attrInt("axis", -1), rank, "axis");
  if (failed(axis))
    return failure();
  // Scale and bias may broadcast to the normalized shape; expand them.
  auto normType = RankedTensorType::get(T(*x).getShape().drop_front(*axis),
                                        T(*x).getElementType());
  auto fit = [&](Value p) -> FailureOr<Value> {
    if (!p || T(p) == normType)
      return p;
    return n.createTyped<ExpandOp>(normType, p);
  };
  FailureOr<Value> scale = fit(*g), bias = fit(*b);
  if (failed(scale) || failed(bias))
    return failure();
  Builder bld(n.context());
  double eps = n.attrFloat("epsilon", 1e-5);
  if (failed(push(n.createTyped<LayerNormOp>(x->getType(), *x, *scale, *bias,
                                             bld.getI64IntegerAttr(*axis),
                                             bld.getF64FloatAttr(eps)),
                  r)))
    return failure();
  // The optional Mean and InvStdDev outputs (training's saved statistics),
  // in fp32 with the normalized dimensions kept as 1.
  bool wantStats = false;
  for (int i = 1; i < n.node.output_size(); ++i)
    wantStats |= !n.node.output(i).empty();
  if (!wantStats)
    return success();
  Type f32 = n.builder().getF32Type();
  FailureOr<Value> xf = n.castTo(*x, f32);
  SmallVector<int64_t> axes = llvm::to_vector(llvm::seq<int64_t>(*axis, rank));
  FailureOr<Value> mean = n.create<ReduceOp>(ReduceKind::mean, *xf, axes, true);
  if (failed(mean))
    return failure();
  Value d = *n.create<SubOp>(*xf, *mean);
  Value var =
      *n.create<ReduceOp>(ReduceKind::mean, *n.create<MulOp>(d, d), axes, true);
  Value inv = *n.createTyped<RsqrtOp>(
      var.getType(), *n.create<AddOp>(var, n.scalar(f32, eps)));
  r.push_back(*mean);
  r.push_back(inv);
  return success();
}

LogicalResult lrn(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"alpha", "beta", "bias", "size"})))
    return failure();
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x))
    return failure();
  auto t = T(*x);
  int64_t size = n.attrInt("size", 0);
  if (t.getRank() < 3 || size < 1)
    return n.error("needs an [N, C, ...] input and a positive size");
  double alpha = n.attrFloat("alpha", 1e-4), beta = n.attrFloat("beta", 0.75),
         bias = n.attrFloat("bias", 1.0);
  int64_t N = t.getDimSize(0), C = t.getDimSize(1),
          S = t.getNumElements() / std::max<int64_t>(N * C, 1);
  Type et = t.getElementType();
  // Sum of squares over a window of channels: pool [N*S, 1, C].
  Value sq = *n.create<MulOp>(*x, *x);
  Value v = *n.reshape(sq, {N, C, S});
  v = *n.create<TransposeOp>(v, ArrayRef<int64_t>{0, 2, 1});
  v = *n.reshape(v, {N * S, 1, C});
  Builder b(n.context());
  int64_t lo = (size - 1) / 2, hi = size - 1 - lo;
  FailureOr<Value> sum = n.create<PoolOp>(
      PoolKindAttr::get(n.context(), PoolKind::avg), v,
      b.getDenseI64ArrayAttr({size}), b.getDenseI64ArrayAttr({1}),
      b.getDenseI64ArrayAttr({lo, hi}), b.getBoolAttr(true));
  if (failed(sum))
    return n.error("size must be smaller than twice the channel count");
  // avg * size = sum; scale = bias + alpha / size * sum
  v = *n.create<MulOp>(*sum, n.scalar(et, alpha));
  v = *n.reshape(v, {N, S, C});
  v = *n.create<TransposeOp>(v, ArrayRef<int64_t>{0, 2, 1});
  v = *n.reshape(v, t.getShape());
  Value denom = *n.create<PowOp>(*n.create<AddOp>(v, n.scalar(et, bias)),
                                 n.scalar(et, beta));
  return push(n.create<DivOp>(*x, denom), r);
}

LogicalResult mvn(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axes"})))
    return failure();
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x))
    return failure();
  int64_t rank = T(*x).getRank();
  SmallVector<int64_t> axes =
      n.attrInts("axes").value_or(SmallVector<int64_t>{0, 2, 3});
  for (int64_t &a : axes) {
    FailureOr<int64_t> na = n.axis(a, rank, "axis");
    if (failed(na))
      return failure();
    a = *na;
  }
  llvm::sort(axes);
  Type et = T(*x).getElementType();
  FailureOr<Value> mean = n.create<ReduceOp>(ReduceKind::mean, *x, axes, true);
  if (failed(mean))
    return failure();
  Value d = *n.create<SubOp>(*x, *mean);
  Value var =
      *n.create<ReduceOp>(ReduceKind::mean, *n.create<MulOp>(d, d), axes, true);
  Value sd = *n.createTyped<SqrtOp>(var.getType(), var);
  return push(n.create<DivOp>(d, *n.create<AddOp>(sd, n.scalar(et, 1e-9))), r);
}

LogicalResult hardmax(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis"})))
    return failure();
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x))
    return failure();
  auto t = T(*x);
  int64_t rank = t.getRank();
  FailureOr<int64_t> axis =
      n.axis(n.attrInt("axis", n.opset >= 13 ? -1 : 1), rank, "axis");
  if (failed(axis))
    return failure();
  Value v = *x;
  SmallVector<int64_t> shape(t.getShape());
  if (n.opset < 13) { // over the flattened [axis, rank) dimensions
    int64_t outer = 1, inner = 1;
    for (int64_t i = 0; i < rank; ++i)
      (i < *axis ? outer : inner) *= shape[i];
    v = *n.reshape(v, {outer, inner});
    *axis = 1;
  }
  auto vt = T(v);
  Value idx = *n.create<ArgReduceOp>(ArgKind::argmax, v, *axis, true, false);
  SmallVector<double> iota;
  for (int64_t i = 0; i < vt.getDimSize(*axis); ++i)
    iota.push_back(i);
  SmallVector<int64_t> iotaShape(vt.getRank() - *axis, 1);
  iotaShape[0] = vt.getDimSize(*axis);
  Value pos = n.constantOf(
      RankedTensorType::get(iotaShape, n.builder().getI64Type()), iota);
  Value hit = *n.create<CmpOp>(CmpPredicate::eq, idx, pos);
  FailureOr<Value> y = n.castTo(hit, vt.getElementType());
  if (succeeded(y))
    y = n.reshape(*y, shape);
  return push(y, r);
}

/// (x - zero_point) as int32; zero points per tensor or per axis `axis`.
FailureOr<Value> centered(NodeContext &n, Value x, Value zp, int64_t axis) {
  Type i32 = n.builder().getI32Type();
  FailureOr<Value> xi = n.castTo(x, i32);
  if (!zp || failed(xi))
    return xi;
  FailureOr<Value> z = n.castTo(zp, i32);
  int64_t rank = T(x).getRank();
  if (T(*z).getRank() == 1 && T(*z).getDimSize(0) != 1) {
    SmallVector<int64_t> shape(rank - axis, 1);
    shape[0] = T(*z).getDimSize(0);
    z = n.reshape(*z, shape);
  }
  if (failed(z))
    return failure();
  return n.create<SubOp>(*xi, *z);
}

LogicalResult dynamicQuantizeLinear(NodeContext &n, Results &r) {
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x) || failed(n.checkAttrs({})))
    return failure();
  auto t = T(*x);
  Type f32 = t.getElementType();
  SmallVector<int64_t> all =
      llvm::to_vector(llvm::seq<int64_t>(0, t.getRank()));
  Value zero = n.scalar(f32, 0);
  Value lo = *n.create<MinOp>(
      *n.create<ReduceOp>(ReduceKind::min, *x, all, false), zero);
  Value hi = *n.create<MaxOp>(
      *n.create<ReduceOp>(ReduceKind::max, *x, all, false), zero);
  Value scale = *n.create<DivOp>(*n.create<SubOp>(hi, lo), n.scalar(f32, 255));
  Builder b(n.context());
  Value zpf = *n.createTyped<ClampOp>(
      scale.getType(),
      *n.createTyped<RoundOp>(
          scale.getType(), *n.create<SubOp>(zero, *n.create<DivOp>(lo, scale))),
      b.getF64FloatAttr(0), b.getF64FloatAttr(255));
  Type u8 = IntegerType::get(n.context(), 8, IntegerType::Unsigned);
  Value zp = *n.castTo(zpf, u8);
  FailureOr<Value> y =
      n.createTyped<QuantizeOp>(RankedTensorType::get(t.getShape(), u8), *x,
                                scale, zp, b.getI64IntegerAttr(0));
  if (failed(y))
    return failure();
  r.append({*y, scale, zp});
  return success();
}

/// Requantizes an exact int32 accumulator: round(acc * factor) + zp,
/// saturated to zp's type.
FailureOr<Value> requantize(NodeContext &n, Value acc, Value factor, Value zp,
                            int64_t axis) {
  Type f32 = n.builder().getF32Type();
  FailureOr<Value> accf = n.castTo(acc, f32);
  if (failed(accf))
    return failure();
  FailureOr<Value> scaled = n.create<MulOp>(*accf, factor);
  if (failed(scaled))
    return failure();
  Builder b(n.context());
  if (T(zp).getNumElements() == 1 && T(zp).getRank() > 0)
    zp = *n.reshape(zp, {});
  auto qt = RankedTensorType::get(T(acc).getShape(), T(zp).getElementType());
  return n.createTyped<QuantizeOp>(qt, *scaled, n.scalar(f32, 1.0), zp,
                                   b.getI64IntegerAttr(axis));
}

LogicalResult qlinearMatMul(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({})))
    return failure();
  SmallVector<Value> in;
  for (int i = 0; i < 8; ++i) {
    FailureOr<Value> v = n.input(i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  FailureOr<Value> a = centered(n, in[0], in[2], T(in[0]).getRank() - 2);
  FailureOr<Value> bm = centered(n, in[3], in[5], T(in[3]).getRank() - 1);
  if (failed(a) || failed(bm))
    return failure();
  FailureOr<Value> acc = matmul(n, *a, *bm);
  if (failed(acc))
    return failure();
  Value factor = *n.create<DivOp>(*n.create<MulOp>(in[1], in[4]), in[6]);
  return push(requantize(n, *acc, factor, in[7], 0), r);
}

/// Integer convolution, exact in fp32 for 8-bit operands.
FailureOr<Value> intConv(NodeContext &n, Value x, Value w, Value b = {}) {
  Type f32 = n.builder().getF32Type();
  FailureOr<Value> xf = n.castTo(x, f32), wf = n.castTo(w, f32);
  if (failed(xf) || failed(wf))
    return failure();
  auto kernel =
      n.attrInts("kernel_shape")
          .value_or(SmallVector<int64_t>(T(w).getShape().drop_front(2)));
  FailureOr<Window> win = window(n, T(x).getShape().drop_front(2), kernel);
  if (failed(win))
    return failure();
  Builder bld(n.context());
  FailureOr<Value> y =
      n.create<ConvOp>(*xf, *wf, b, bld.getDenseI64ArrayAttr(win->strides),
                       bld.getDenseI64ArrayAttr(win->pads),
                       bld.getDenseI64ArrayAttr(win->dilations),
                       bld.getI64IntegerAttr(n.attrInt("group", 1)));
  if (failed(y))
    return failure();
  return n.castTo(*y, n.builder().getI32Type());
}

LogicalResult convInteger(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"auto_pad", "dilations", "group", "kernel_shape",
                           "pads", "strides"})))
    return failure();
  FailureOr<Value> x = n.input(0), w = n.input(1), xz = n.optionalInput(2),
                   wz = n.optionalInput(3);
  if (failed(x) || failed(w) || failed(xz) || failed(wz))
    return failure();
  FailureOr<Value> xc = centered(n, *x, *xz, 1), wc = centered(n, *w, *wz, 0);
  if (failed(xc) || failed(wc))
    return failure();
  return push(intConv(n, *xc, *wc), r);
}

LogicalResult qlinearConv(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"auto_pad", "dilations", "group", "kernel_shape",
                           "pads", "strides"})))
    return failure();
  SmallVector<Value> in;
  for (int i = 0; i < 9; ++i) {
    FailureOr<Value> v = i < 8 ? n.input(i) : n.optionalInput(i);
    if (failed(v))
      return failure();
    in.push_back(*v);
  }
  FailureOr<Value> xc = centered(n, in[0], in[2], 1),
                   wc = centered(n, in[3], in[5], 0);
  if (failed(xc) || failed(wc))
    return failure();
  FailureOr<Value> acc = intConv(n, *xc, *wc);
  if (failed(acc))
    return failure();
  if (in[8]) {
    SmallVector<int64_t> shape{T(in[8]).getDimSize(0)};
    shape.append(T(*acc).getRank() - 2, 1);
    acc = n.create<AddOp>(
        *acc, *n.reshape(*n.castTo(in[8], n.builder().getI32Type()), shape));
    if (failed(acc))
      return failure();
  }
  // factor = x_scale * w_scale / y_scale, per output channel when w_scale is.
  Value ws = in[4];
  if (T(ws).getRank() == 1 && T(ws).getDimSize(0) != 1) {
    SmallVector<int64_t> shape{T(ws).getDimSize(0)};
    shape.append(T(*acc).getRank() - 2, 1);
    ws = *n.reshape(ws, shape);
  }
  Value factor = *n.create<DivOp>(*n.create<MulOp>(in[1], ws), in[6]);
  return push(requantize(n, *acc, factor, in[7], 0), r);
}

LogicalResult instanceNorm(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"epsilon"})))
    return failure();
  FailureOr<Value> x = n.floatInput(0), g = n.input(1), b = n.input(2);
  if (failed(x) || failed(g) || failed(b))
    return failure();
  if (T(*x).getRank() < 3)
    return n.error("input must be [N, C, spatial...]");
  Builder bld(n.context());
  return push(n.createTyped<GroupNormOp>(
                  x->getType(), *x, *g, *b,
                  bld.getI64IntegerAttr(T(*x).getDimSize(1)),
                  bld.getF64FloatAttr(n.attrFloat("epsilon", 1e-5))),
              r);
}

LogicalResult batchNorm(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"epsilon", "momentum", "training_mode", "spatial"})))
    return failure();
  if (n.attrInt("training_mode", 0))
    return n.error("training_mode is not supported (inference only)");
  FailureOr<Value> x = n.floatInput(0);
  if (failed(x))
    return failure();
  int64_t rank = T(*x).getRank();
  if (rank < 2)
    return n.error("input must be [N, C, ...]");
  // Per-channel parameters, viewed as [C, 1, ...].
  SmallVector<Value> p;
  for (int i = 1; i <= 4; ++i) {
    FailureOr<Value> v = n.input(i);
    if (failed(v))
      return failure();
    if (T(*v).getNumElements() != T(*x).getDimSize(1))
      return n.error("input " + std::to_string(i) +
                     " must hold one value "
                     "per channel (" +
                     std::to_string(T(*x).getDimSize(1)) + ")");
    SmallVector<int64_t> shape{T(*v).getNumElements()};
    shape.append(rank - 2, 1);
    FailureOr<Value> pv = n.reshape(*v, shape);
    if (failed(pv))
      return failure();
    p.push_back(*pv);
  }
  Type et = T(*x).getElementType();
  Value eps = n.scalar(et, n.attrFloat("epsilon", 1e-5));
  FailureOr<Value> centered = n.create<SubOp>(*x, p[2]);
  if (failed(centered))
    return failure();
  Value inv =
      *n.createTyped<RsqrtOp>(p[3].getType(), *n.create<AddOp>(p[3], eps));
  FailureOr<Value> y = n.create<MulOp>(*centered, *n.create<MulOp>(inv, p[0]));
  if (succeeded(y))
    y = n.create<AddOp>(*y, p[1]);
  return push(y, r);
}

/// Quantization parameters with ONNX's per-axis or scalar shapes.
FailureOr<int64_t> quantAxis(NodeContext &n, Value x, Value scale) {
  if (T(scale).getRank() == 0)
    return 0;
  return n.axis(n.attrInt("axis", 1), T(x).getRank(), "axis");
}

LogicalResult quantizeLinear(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis", "saturate"})))
    return failure();
  FailureOr<Value> x = n.input(0), s = n.input(1), zp = n.optionalInput(2);
  if (failed(x) || failed(s) || failed(zp))
    return failure();
  FailureOr<int64_t> axis = quantAxis(n, *x, *s);
  if (failed(axis))
    return failure();
  Type qt = *zp ? T(*zp).getElementType()
                : IntegerType::get(n.context(), 8, IntegerType::Unsigned);
  Builder bld(n.context());
  return push(
      n.createTyped<QuantizeOp>(RankedTensorType::get(T(*x).getShape(), qt), *x,
                                *s, *zp, bld.getI64IntegerAttr(*axis)),
      r);
}

LogicalResult dequantizeLinear(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"axis", "block_size"})))
    return failure();
  FailureOr<Value> x = n.input(0), s = n.input(1), zp = n.optionalInput(2);
  if (failed(x) || failed(s) || failed(zp))
    return failure();
  FailureOr<int64_t> axis = quantAxis(n, *x, *s);
  if (failed(axis))
    return failure();
  Builder bld(n.context());
  return push(
      n.createTyped<DequantizeOp>(
          RankedTensorType::get(T(*x).getShape(), T(*s).getElementType()), *x,
          *s, *zp, bld.getI64IntegerAttr(*axis),
          bld.getI64IntegerAttr(n.attrInt("block_size", 0))),
      r);
}

} // namespace

void mlir::kiln::onnx::registerNNOps(ConverterMap &map) {
  map["MatMul"] = matmulOp;
  map["Gemm"] = gemm;
  map["MatMulInteger"] = matmulInteger;
  map["Conv"] = conv;
  map["MaxPool"] = maxPool;
  map["AveragePool"] = avgPool;
  map["GlobalAveragePool"] = globalPool<ReduceKind::mean>;
  map["GlobalMaxPool"] = globalPool<ReduceKind::max>;
  map["Softmax"] = softmax<SoftmaxOp>;
  map["LogSoftmax"] = softmax<LogSoftmaxOp>;
  map["LayerNormalization"] = layerNorm;
  map["InstanceNormalization"] = instanceNorm;
  map["BatchNormalization"] = batchNorm;
  map["QuantizeLinear"] = quantizeLinear;
  map["DynamicQuantizeLinear"] = dynamicQuantizeLinear;
  map["QLinearMatMul"] = qlinearMatMul;
  map["ConvInteger"] = convInteger;
  map["QLinearConv"] = qlinearConv;
  map["LRN"] = lrn;
  map["MeanVarianceNormalization"] = mvn;
  map["Hardmax"] = hardmax;
  map["DequantizeLinear"] = dequantizeLinear;
}
