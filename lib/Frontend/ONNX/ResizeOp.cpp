//===- ResizeOp.cpp - ONNX Resize and Upsample ----------------------------===//
//
// Shapes are static, so every output coordinate's source coordinates and
// weights are known at compile time. Each resized axis becomes, per tap, a
// gather of the input along that axis (constant indices) scaled by constant
// weights; the taps are summed. Nearest uses one tap, linear two, cubic four.
// Integer-factor nearest upsampling (UNet decoders) takes a cheaper path:
// reshape, expand, reshape.
//
//===----------------------------------------------------------------------===//

#include "ImporterImpl.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

RankedTensorType T(Value v) { return NodeContext::typeOf(v); }

struct Taps {
  // taps[t][o]: input index and weight of tap t for output index o
  std::vector<std::vector<int64_t>> index;
  std::vector<std::vector<double>> weight;
};

double cubic(double x, double a) {
  x = std::fabs(x);
  if (x <= 1)
    return ((a + 2) * x - (a + 3)) * x * x + 1;
  if (x < 2)
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a;
  return 0;
}

LogicalResult resize(NodeContext &n, SmallVectorImpl<Value> &r) {
  if (failed(n.checkAttrs(
          {"mode", "nearest_mode", "coordinate_transformation_mode",
           "cubic_coeff_a", "exclude_outside", "extrapolation_value",
           "antialias", "axes", "keep_aspect_ratio_policy", "scales"})))
    return failure();
  if (n.attrInt("antialias", 0))
    return n.error("antialias is not supported");
  if (n.hasAttr("axes"))
    return n.error("the axes attribute is not supported");
  FailureOr<Value> xv = n.input(0);
  if (failed(xv))
    return failure();
  Value x = *xv;
  ArrayRef<int64_t> in = T(x).getShape();
  int64_t rank = in.size();
  std::string mode = n.attrString("mode", "nearest");
  std::string coord = n.attrString(
      "coordinate_transformation_mode",
      n.node.op_type() == "Upsample" ? "asymmetric" : "half_pixel");
  // Upsample's nearest is floor(x / scale); Resize rounds.
  std::string rounding = n.attrString(
      "nearest_mode",
      n.node.op_type() == "Upsample" ? "floor" : "round_prefer_floor");
  double a = n.attrFloat("cubic_coeff_a", -0.75);
  bool excludeOutside = n.attrInt("exclude_outside", 0);
  if (mode != "nearest" && mode != "linear" && mode != "cubic")
    return n.error("mode '" + mode + "' is not supported");

  // Output sizes and scales.
  SmallVector<double> scales;
  SmallVector<int64_t> out;
  bool sizesGiven = false;
  SmallVector<double> roi;
  if (n.node.op_type() == "Upsample") {
    const auto *attr = n.attr("scales");
    if (attr)
      for (float v : attr->floats())
        scales.push_back(v);
    else {
      FailureOr<Value> sv = n.input(1);
      DenseFPElementsAttr c;
      if (failed(sv) || !matchPattern(*sv, m_Constant(&c)))
        return n.error("scales must be known at compile time");
      for (const APFloat &v : c.getValues<APFloat>())
        scales.push_back(v.convertToDouble());
    }
  } else {
    int roiIdx = 1, scalesIdx = n.opset >= 11 ? 2 : 1, sizesIdx = 3;
    if (n.opset >= 11 && n.hasInput(roiIdx)) {
      FailureOr<Value> rv = n.input(roiIdx);
      DenseFPElementsAttr c;
      if (failed(rv) || !matchPattern(*rv, m_Constant(&c)))
        return n.error("roi must be known at compile time");
      for (const APFloat &v : c.getValues<APFloat>())
        roi.push_back(v.convertToDouble());
    }
    if (n.hasInput(sizesIdx)) {
      FailureOr<SmallVector<int64_t>> sz = n.constInts(sizesIdx, "sizes");
      if (failed(sz))
        return failure();
      out = *sz;
      sizesGiven = true;
    } else if (n.hasInput(scalesIdx)) {
      FailureOr<Value> sv = n.input(scalesIdx);
      DenseFPElementsAttr c;
      if (failed(sv) || !matchPattern(*sv, m_Constant(&c)))
        return n.error("scales must be known at compile time");
      for (const APFloat &v : c.getValues<APFloat>())
        scales.push_back(v.convertToDouble());
    } else {
      return n.error("needs scales or sizes");
    }
  }
  if (!out.empty()) {
    if ((int64_t)out.size() != rank)
      return n.error("sizes must have one entry per dimension");
    for (int64_t i = 0; i < rank; ++i)
      scales.push_back(in[i] ? (double)out[i] / in[i] : 1.0);
  } else {
    if ((int64_t)scales.size() != rank)
      return n.error("scales must have one entry per dimension");
    for (int64_t i = 0; i < rank; ++i) {
      if (!(scales[i] > 0) || !std::isfinite(scales[i]))
        return n.error("scales must be positive and finite");
      FailureOr<int64_t> o = n.checkedInt(std::floor(in[i] * scales[i]),
                                          "an output size", 0, 1 << 24);
      if (failed(o))
        return failure();
      out.push_back(*o);
    }
  }
  for (int64_t o : out)
    if (o < 0 || o > (1 << 24))
      return n.error("output sizes must be in [0, 16777216]");

  Value v = x;
  Type et = T(x).getElementType();
  Type f32 = n.builder().getF32Type();
  bool floatData = isa<FloatType>(et);
  for (int64_t ax = 0; ax < rank; ++ax) {
    int64_t ni = in[ax], no = out[ax];
    if (ni == no && scales[ax] == 1.0 && coord != "tf_crop_and_resize")
      continue;
    if (ni == 0 || no < 0)
      return n.error("cannot resize an empty dimension");
    double scale = scales[ax];
    // With scales given, the reference uses the unrounded output length
    // (in * scale) where the transforms need one.
    double lenOut = sizesGiven ? no : ni * scale;
    Taps taps;
    int tapCount = mode == "nearest" ? 1 : mode == "linear" ? 2 : 4;
    taps.index.assign(tapCount, std::vector<int64_t>(no));
    taps.weight.assign(tapCount, std::vector<double>(no));
    std::vector<bool> outside(no, false);
    for (int64_t o = 0; o < no; ++o) {
      double xs;
      if (coord == "half_pixel")
        xs = (o + 0.5) / scale - 0.5;
      else if (coord == "pytorch_half_pixel")
        xs = lenOut > 1 ? (o + 0.5) / scale - 0.5 : 0;
      else if (coord == "align_corners")
        xs = lenOut > 1 ? o * double(ni - 1) / (lenOut - 1) : 0;
      else if (coord == "asymmetric")
        xs = o / scale;
      else if (coord == "tf_half_pixel_for_nn")
        xs = (o + 0.5) / scale;
      else if (coord == "tf_crop_and_resize") {
        if ((int64_t)roi.size() != 2 * rank)
          return n.error("tf_crop_and_resize needs an roi");
        double s0 = roi[ax], e0 = roi[rank + ax];
        xs = no > 1 ? s0 * (ni - 1) + o * (e0 - s0) * (ni - 1) / (no - 1)
                    : 0.5 * (s0 + e0) * (ni - 1);
        if (xs < 0 || xs > ni - 1)
          outside[o] = true;
      } else
        return n.error("coordinate_transformation_mode '" + coord +
                       "' is not supported");
      if (mode == "nearest") {
        double src;
        if (rounding == "floor")
          src = std::floor(xs);
        else if (rounding == "ceil")
          src = std::ceil(xs);
        else if (rounding == "round_prefer_floor")
          src = xs == std::floor(xs) + 0.5 ? std::floor(xs) : std::round(xs);
        else if (rounding == "round_prefer_ceil")
          src = std::round(xs);
        else
          return n.error("nearest_mode '" + rounding + "' is not supported");
        taps.index[0][o] = std::clamp<int64_t>((int64_t)src, 0, ni - 1);
        taps.weight[0][o] = 1;
        continue;
      }
      double base = std::floor(xs);
      int first = mode == "linear" ? 0 : -1;
      double total = 0;
      for (int t = 0; t < tapCount; ++t) {
        int64_t i = (int64_t)base + first + t;
        double dist = xs - i;
        double wgt = mode == "linear" ? std::max(0.0, 1 - std::fabs(dist))
                                      : cubic(dist, a);
        if (i < 0 || i >= ni) {
          if (excludeOutside)
            wgt = 0;
          i = std::clamp<int64_t>(i, 0, ni - 1);
        }
        taps.index[t][o] = i;
        taps.weight[t][o] = wgt;
        total += wgt;
      }
      if (excludeOutside && total != 0)
        for (int t = 0; t < tapCount; ++t)
          taps.weight[t][o] /= total;
    }
    // Integer-factor replication: the cheap path.
    bool replicate = mode == "nearest" && no % ni == 0 &&
                     llvm::all_of(llvm::seq<int64_t>(0, no), [&](int64_t o) {
                       return taps.index[0][o] == o / (no / ni);
                     });
    SmallVector<int64_t> shape(T(v).getShape());
    if (replicate) {
      SmallVector<int64_t> split(shape), expanded(shape);
      split.insert(split.begin() + ax + 1, 1);
      expanded.insert(expanded.begin() + ax + 1, no / ni);
      v = *n.reshape(v, split);
      v = *n.createTyped<ExpandOp>(RankedTensorType::get(expanded, et), v);
      shape[ax] = no;
      v = *n.reshape(v, shape);
      continue;
    }
    // Weighted taps along this axis, in f32 for integer data.
    Value acc;
    Value src = floatData ? v : *n.castTo(v, f32);
    Type wt = floatData ? et : f32;
    SmallVector<int64_t> wshape(rank - ax, 1);
    wshape[0] = no;
    for (int t = 0; t < tapCount; ++t) {
      SmallVector<double> idx(taps.index[t].begin(), taps.index[t].end());
      Value iv = n.constantOf(
          RankedTensorType::get({no}, n.builder().getI64Type()), idx);
      Value g = *n.create<GatherOp>(src, iv, ax);
      if (mode != "nearest") {
        Value w =
            n.constantOf(RankedTensorType::get(wshape, wt), taps.weight[t]);
        g = *n.create<MulOp>(g, w);
      }
      acc = acc ? *n.create<AddOp>(acc, g) : g;
    }
    if (coord == "tf_crop_and_resize" &&
        llvm::any_of(outside, [](bool b) { return b; })) {
      SmallVector<double> keep;
      for (bool o : outside)
        keep.push_back(o ? 0 : 1);
      Value mask = n.constantOf(
          RankedTensorType::get(wshape, n.builder().getI1Type()), keep);
      acc = *n.create<SelectOp>(
          mask, acc, n.scalar(wt, n.attrFloat("extrapolation_value", 0)));
    }
    if (!floatData) {
      acc = *n.createTyped<RoundOp>(acc.getType(), acc);
      acc = *n.castTo(acc, et);
    }
    v = acc;
  }
  r.push_back(v);
  return success();
}

} // namespace

void mlir::kiln::onnx::registerResizeOp(ConverterMap &map) {
  map["Resize"] = resize;
  map["Upsample"] = resize;
}
