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
  if (T(*a).getElementType().isUnsignedInteger() ||
      T(*b).getElementType().isUnsignedInteger()) {
    // Unsigned 8-bit values do not fit kiln's signed cast; reinterpretation
    // needs the quantization support of the frontend.
    return n.error("uint8 operands are not supported yet (int8 are)");
  }
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
  FailureOr<Value> x = n.input(0);
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
  FailureOr<Value> x = n.input(0), g = n.input(1), b = n.optionalInput(2);
  if (failed(x) || failed(g) || failed(b))
    return failure();
  for (int i = 1; i < n.node.output_size(); ++i)
    if (!n.node.output(i).empty())
      return n.error("the Mean and InvStdDev outputs are not supported");
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
  return push(n.createTyped<LayerNormOp>(
                  x->getType(), *x, *scale, *bias, bld.getI64IntegerAttr(*axis),
                  bld.getF64FloatAttr(n.attrFloat("epsilon", 1e-5))),
              r);
}

LogicalResult instanceNorm(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"epsilon"})))
    return failure();
  FailureOr<Value> x = n.input(0), g = n.input(1), b = n.input(2);
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
  FailureOr<Value> x = n.input(0);
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

LogicalResult resize(NodeContext &n, Results &r) {
  if (failed(n.checkAttrs({"mode", "nearest_mode",
                           "coordinate_transformation_mode", "cubic_coeff_a",
                           "exclude_outside", "extrapolation_value",
                           "antialias", "axes", "keep_aspect_ratio_policy"})))
    return failure();
  // Integer-factor nearest upsampling (UNet decoders): every element is
  // repeated; done as reshape, expand, reshape.
  if (n.attrString("mode", "nearest") != "nearest")
    return n.error("only mode 'nearest' is supported");
  FailureOr<Value> x = n.input(0);
  if (failed(x))
    return failure();
  ArrayRef<int64_t> in = T(*x).getShape();
  SmallVector<int64_t> out;
  if (n.hasInput(3)) {
    FailureOr<SmallVector<int64_t>> sizes = n.constInts(3, "sizes");
    if (failed(sizes))
      return failure();
    out = *sizes;
  } else {
    // scales (input 2, or 1 before opset 11)
    int si = n.opset >= 11 ? 2 : 1;
    FailureOr<Value> s = n.input(si);
    DenseFPElementsAttr scales;
    if (failed(s) || !matchPattern(*s, m_Constant(&scales)))
      return n.error("scales must be constant");
    for (auto [i, v] : llvm::enumerate(scales.getValues<APFloat>()))
      out.push_back((int64_t)std::floor(in[i] * v.convertToDouble()));
  }
  if (out.size() != in.size())
    return n.error("sizes or scales do not match the input rank");
  // Check, under the node's coordinate and rounding modes, that every
  // output index reads input index i / factor: plain replication.
  std::string coord =
      n.attrString("coordinate_transformation_mode", "half_pixel");
  std::string rounding = n.attrString("nearest_mode", "round_prefer_floor");
  SmallVector<int64_t> split, expanded;
  for (auto [i, o] : llvm::enumerate(out)) {
    if (in[i] == 0 || o % in[i] != 0)
      return n.error("only integer upsampling factors are supported");
    int64_t f = o / in[i];
    for (int64_t y = 0; y < o; ++y) {
      double scale = (double)o / in[i], x;
      if (coord == "asymmetric")
        x = y / scale;
      else if (coord == "half_pixel" || coord == "pytorch_half_pixel")
        x = (y + 0.5) / scale - 0.5;
      else if (coord == "align_corners")
        x = o > 1 ? y * double(in[i] - 1) / (o - 1) : 0;
      else
        return n.error("coordinate_transformation_mode '" + coord +
                       "' is not supported");
      double src;
      if (rounding == "floor")
        src = std::floor(x);
      else if (rounding == "ceil")
        src = std::ceil(x);
      else if (rounding == "round_prefer_floor")
        src = std::ceil(x - 0.5);
      else if (rounding == "round_prefer_ceil")
        src = std::floor(x + 0.5);
      else
        return n.error("nearest_mode '" + rounding + "' is not supported");
      src = std::clamp<double>(src, 0, in[i] - 1);
      if ((int64_t)src != y / f)
        return n.error("this combination of coordinate_transformation_mode "
                       "and nearest_mode does not replicate pixels; only "
                       "plain nearest upsampling is supported");
    }
    split.append({in[i], 1});
    expanded.append({in[i], f});
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
  map["Resize"] = resize;
  map["Upsample"] = resize;
  map["QuantizeLinear"] = quantizeLinear;
  map["DequantizeLinear"] = dequantizeLinear;
}
