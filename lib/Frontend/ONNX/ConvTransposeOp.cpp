//===- ConvTransposeOp.cpp - ONNX ConvTranspose as a convolution ----------===//
//
// A transposed convolution is the convolution of the input, with stride - 1
// zeros inserted between its elements and padded by dilation * (k - 1) minus
// the transposed padding, with the spatially flipped kernel whose input and
// output channels are swapped within each group. All of it in kiln ops.
//
//===----------------------------------------------------------------------===//

#include "ImporterImpl.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

RankedTensorType T(Value v) { return NodeContext::typeOf(v); }

LogicalResult convTranspose(NodeContext &n, SmallVectorImpl<Value> &r) {
  if (failed(
          n.checkAttrs({"auto_pad", "dilations", "group", "kernel_shape",
                        "output_padding", "output_shape", "pads", "strides"})))
    return failure();
  FailureOr<Value> xv = n.input(0), wv = n.input(1), bv = n.optionalInput(2);
  if (failed(xv) || failed(wv) || failed(bv))
    return failure();
  Value x = *xv, w = *wv;
  auto xt = T(x), wt = T(w);
  int64_t rank = xt.getRank(), sr = rank - 2;
  if ((rank != 3 && rank != 4) || wt.getRank() != rank)
    return n.error("only 1-D and 2-D transposed convolutions are supported");
  int64_t g = n.attrInt("group", 1), C = xt.getDimSize(1);
  if (g < 1 || C % g != 0 || wt.getDimSize(0) != C)
    return n.error("weight must be [C, O/group, k...] with C divisible by "
                   "group");
  int64_t og = wt.getDimSize(1), O = og * g;
  SmallVector<int64_t> k(wt.getShape().drop_front(2));
  auto ints = [&](StringRef name, int64_t size, int64_t dflt) {
    return n.attrInts(name).value_or(SmallVector<int64_t>(size, dflt));
  };
  SmallVector<int64_t> s = ints("strides", sr, 1), d = ints("dilations", sr, 1),
                       op = ints("output_padding", sr, 0),
                       pads = ints("pads", 2 * sr, 0);
  if (s.size() != (size_t)sr || d.size() != (size_t)sr ||
      op.size() != (size_t)sr || pads.size() != (size_t)(2 * sr))
    return n.error("attributes do not match the spatial rank");
  for (int64_t i = 0; i < sr; ++i)
    if (s[i] < 1 || d[i] < 1 || op[i] < 0)
      return n.error("strides and dilations must be positive");
  std::string autoPad = n.attrString("auto_pad", "NOTSET");
  std::optional<SmallVector<int64_t>> outShape = n.attrInts("output_shape");
  if (outShape && outShape->size() == (size_t)rank)
    outShape = SmallVector<int64_t>(outShape->begin() + 2, outShape->end());
  if (!outShape && (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER")) {
    outShape = SmallVector<int64_t>();
    for (int64_t i = 0; i < sr; ++i)
      outShape->push_back(xt.getDimSize(2 + i) * s[i]);
  }
  if (outShape) {
    if (outShape->size() != (size_t)sr)
      return n.error("output_shape does not match the spatial rank");
    for (int64_t i = 0; i < sr; ++i) {
      int64_t total = s[i] * (xt.getDimSize(2 + i) - 1) + op[i] +
                      (k[i] - 1) * d[i] + 1 - (*outShape)[i];
      // The reference splits with Python's floor division, which matters
      // when output_shape exceeds the natural size (total < 0).
      int64_t half = total >= 0 ? total / 2 : -((-total + 1) / 2);
      bool upper = autoPad == "SAME_UPPER";
      pads[i] = upper ? half : total - half;
      pads[sr + i] = upper ? total - half : half;
    }
  } else if (autoPad != "NOTSET" && autoPad != "VALID") {
    return n.error("auto_pad '" + autoPad + "' is not supported");
  }

  // 1. Insert stride - 1 zeros between elements: [N,C,H,1,W,1] padded to
  //    [N,C,H,s,W,s], flattened, and the trailing zeros sliced off.
  Type et = xt.getElementType();
  Builder b(n.context());
  SmallVector<int64_t> split{xt.getDimSize(0), C}, padSplit(2 * (rank + sr), 0),
      dil{xt.getDimSize(0), C};
  for (int64_t i = 0; i < sr; ++i) {
    split.append({xt.getDimSize(2 + i), 1});
    dil.push_back((xt.getDimSize(2 + i) - 1) * s[i] + 1);
  }
  Value v = x;
  if (llvm::any_of(s, [](int64_t v) { return v > 1; })) {
    v = *n.reshape(v, split);
    int64_t prank = split.size();
    SmallVector<int64_t> p(2 * prank, 0);
    for (int64_t i = 0; i < sr; ++i)
      p[prank + 3 + 2 * i] = s[i] - 1;
    v = *n.create<PadOp>(v, b.getDenseI64ArrayAttr(p), b.getF64FloatAttr(0));
    SmallVector<int64_t> flat{xt.getDimSize(0), C};
    for (int64_t i = 0; i < sr; ++i)
      flat.push_back(xt.getDimSize(2 + i) * s[i]);
    v = *n.reshape(v, flat);
    SmallVector<int64_t> zero(rank, 0), one(rank, 1);
    v = *n.create<SliceOp>(v, zero, dil, one);
  }
  // 2. Pad by d*(k-1) - pads (cropping where that is negative).
  SmallVector<int64_t> lo(rank, 0), hi(rank, 0);
  bool crop = false;
  SmallVector<int64_t> cropStart(rank, 0), cropSize(T(v).getShape());
  for (int64_t i = 0; i < sr; ++i) {
    int64_t full = d[i] * (k[i] - 1);
    int64_t a = full - pads[i], e = full - pads[sr + i] + op[i];
    lo[2 + i] = std::max<int64_t>(a, 0);
    hi[2 + i] = std::max<int64_t>(e, 0);
    cropStart[2 + i] = std::max<int64_t>(-a, 0);
    cropSize[2 + i] = T(v).getDimSize(2 + i) + lo[2 + i] + hi[2 + i] -
                      std::max<int64_t>(-a, 0) - std::max<int64_t>(-e, 0);
    crop |= a < 0 || e < 0;
    if (cropSize[2 + i] <= 0)
      return n.error("the padding removes the whole output");
  }
  SmallVector<int64_t> padAll(lo);
  padAll.append(hi);
  v = *n.create<PadOp>(v, b.getDenseI64ArrayAttr(padAll), b.getF64FloatAttr(0));
  if (crop) {
    cropSize[0] = T(v).getDimSize(0);
    cropSize[1] = C;
    v = *n.create<SliceOp>(v, cropStart, cropSize,
                           SmallVector<int64_t>(rank, 1));
  }
  // 3. The kernel: flip the spatial dims, swap channels per group.
  SmallVector<int64_t> start(rank, 0), steps(rank, 1);
  for (int64_t i = 0; i < sr; ++i) {
    start[2 + i] = k[i] - 1;
    steps[2 + i] = -1;
  }
  Value kw = *n.create<SliceOp>(w, start, wt.getShape(), steps);
  SmallVector<int64_t> grouped{g, C / g, og};
  grouped.append(k);
  kw = *n.reshape(kw, grouped);
  SmallVector<int64_t> perm{0, 2, 1};
  for (int64_t i = 0; i < sr; ++i)
    perm.push_back(3 + i);
  kw = *n.create<TransposeOp>(kw, perm);
  SmallVector<int64_t> kshape{O, C / g};
  kshape.append(k);
  kw = *n.reshape(kw, kshape);
  FailureOr<Value> y = n.create<ConvOp>(
      v, kw, *bv, b.getDenseI64ArrayAttr(SmallVector<int64_t>(sr, 1)),
      b.getDenseI64ArrayAttr(SmallVector<int64_t>(2 * sr, 0)),
      b.getDenseI64ArrayAttr(d), b.getI64IntegerAttr(g));
  if (failed(y))
    return failure();
  (void)et;
  r.push_back(*y);
  return success();
}

} // namespace

void mlir::kiln::onnx::registerConvTransposeOp(ConverterMap &map) {
  map["ConvTranspose"] = convTranspose;
}
