//===- GraphBuilder.h - kiln IR building blocks of the HF importers -*- C++
//-*-===//
//
// What the checkpoint importers (Llama.cpp, Mamba.cpp) build their entry
// points from: typed constants of the weights, reshapes and transposes,
// torch-style linear layers, RMS norms and the clamped scalar inputs (pos,
// len) of the entry points.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_LIB_FRONTEND_HF_GRAPHBUILDER_H
#define KILN_LIB_FRONTEND_HF_GRAPHBUILDER_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::kiln::hf {

class GraphBuilder {
protected:
  GraphBuilder(MLIRContext &ctx, double normEps)
      : b(&ctx), loc(UnknownLoc::get(&ctx)), normEps(normEps) {}

  RankedTensorType f32T(ArrayRef<int64_t> shape) {
    return RankedTensorType::get(shape, b.getF32Type());
  }
  /// A constant of the weight (or table) `a`, located at its name (as the
  /// ONNX importer locates initializers): --report and --quant-exclude
  /// name weights after it.
  Value constant(Attribute a) {
    auto t = cast<RankedTensorType>(cast<TypedAttr>(a).getType());
    Location at = loc;
    if (auto r = dyn_cast<DenseResourceElementsAttr>(a))
      at = NameLoc::get(b.getStringAttr(r.getRawHandle().getKey()), loc);
    return ConstantOp::create(b, at, t, cast<ElementsAttr>(a));
  }
  Value reshape(Value v, ArrayRef<int64_t> shape) {
    auto t = cast<RankedTensorType>(v.getType());
    return ReshapeOp::create(
        b, loc, RankedTensorType::get(shape, t.getElementType()), v);
  }
  Value transpose(Value v, ArrayRef<int64_t> perm) {
    auto t = cast<RankedTensorType>(v.getType());
    SmallVector<int64_t> shape;
    for (int64_t p : perm)
      shape.push_back(t.getDimSize(p));
    return TransposeOp::create(b, loc,
                               RankedTensorType::get(shape, t.getElementType()),
                               v, b.getDenseI64ArrayAttr(perm));
  }
  /// x [1, S, K] times W^T for W [N, K] (torch's layout), plus the bias [N].
  /// The product is named after the weight, for --quant-exclude and
  /// --report.
  Value linear(Value x, Attribute w, Attribute bias) {
    auto wt = cast<RankedTensorType>(cast<TypedAttr>(w).getType());
    int64_t n = wt.getDimSize(0);
    auto xt = cast<RankedTensorType>(x.getType());
    Value wT = transpose(constant(w), {1, 0});
    Location at = loc;
    if (auto r = dyn_cast<DenseResourceElementsAttr>(w))
      at = NameLoc::get(b.getStringAttr(r.getRawHandle().getKey()), loc);
    Value y = MatmulOp::create(b, at, f32T({1, xt.getDimSize(1), n}), x, wT);
    if (bias)
      y = AddOp::create(b, loc, y.getType(), y, constant(bias));
    return y;
  }
  /// RMS norm over the last of three dimensions.
  Value rmsNorm(Value x, Attribute scale) {
    return RmsNormOp::create(b, loc, x.getType(), x, constant(scale),
                             b.getI64IntegerAttr(2),
                             b.getF64FloatAttr(normEps));
  }
  Value index(Value i64) {
    return arith::IndexCastOp::create(b, loc, b.getIndexType(), i64);
  }
  Value i64Const(int64_t v) {
    return arith::ConstantOp::create(b, loc, b.getI64IntegerAttr(v));
  }
  /// The scalar in a tensor<i64> input, clamped to [lo, hi].
  Value scalarInput(Value t, int64_t lo, int64_t hi) {
    Value v = tensor::ExtractOp::create(b, loc, t, ValueRange{});
    v = arith::MaxSIOp::create(b, loc, v, i64Const(lo));
    return arith::MinSIOp::create(b, loc, v, i64Const(hi));
  }

  /// Ops built next are located at `name` (an entry point, a layer) in
  /// `file` (the checkpoint).
  void locate(Location file, const llvm::Twine &name) {
    loc = NameLoc::get(b.getStringAttr(name), file);
  }

  OpBuilder b;
  Location loc;
  double normEps;
};

} // namespace mlir::kiln::hf

#endif // KILN_LIB_FRONTEND_HF_GRAPHBUILDER_H
