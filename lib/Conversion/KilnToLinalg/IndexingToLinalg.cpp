//===- IndexingToLinalg.cpp - element/N-d gathers and scatters ------------===//
//
// Gathers become linalg.generic ops over the result that read the input with
// tensor.extract at clamped coordinates. Scatters, whose updates may hit the
// same element more than once and must apply in order, become an scf.for
// over the updates carrying the result tensor.
//
//===----------------------------------------------------------------------===//

#include "Utils.h"

#include "mlir/Dialect/SCF/IR/SCF.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

SmallVector<Value> indexOps(OpBuilder &b, Location loc, int64_t from,
                            int64_t to) {
  SmallVector<Value> r;
  for (int64_t d = from; d < to; ++d)
    r.push_back(linalg::IndexOp::create(b, loc, d));
  return r;
}

/// A generic over `type` whose body computes coordinates into `input`.
Value gatherGeneric(
    OpBuilder &b, Location loc, RankedTensorType type, Value input,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> coords) {
  int64_t rank = type.getRank();
  return linalg::GenericOp::create(
             b, loc, TypeRange{type}, ValueRange{},
             ValueRange{emptyTensor(b, loc, type)},
             {b.getMultiDimIdentityMap(rank)},
             SmallVector<utils::IteratorType>(rank,
                                              utils::IteratorType::parallel),
             [&](OpBuilder &nb, Location l, ValueRange) {
               linalg::YieldOp::create(
                   nb, l,
                   tensor::ExtractOp::create(nb, l, input, coords(nb, l))
                       .getResult());
             })
      .getResult(0);
}

struct GatherElementsPattern : OpConversionPattern<GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = signlessType(cast<RankedTensorType>(op.getType()));
    Value input = adaptor.getInput(), indices = adaptor.getIndices();
    int64_t axis = op.getAxis(),
            dim = cast<RankedTensorType>(input.getType()).getDimSize(axis);
    rewriter.replaceOp(op, gatherGeneric(rewriter, op.getLoc(), type, input,
                                         [&](OpBuilder &b, Location l) {
                                           SmallVector<Value> c = indexOps(
                                               b, l, 0, type.getRank());
                                           Value i = tensor::ExtractOp::create(
                                               b, l, indices, c);
                                           c[axis] = clampIndex(b, l, i, dim);
                                           return c;
                                         }));
    return success();
  }
};

struct GatherNDPattern : OpConversionPattern<GatherNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    auto type = signlessType(cast<RankedTensorType>(op.getType()));
    Value input = adaptor.getInput(), indices = adaptor.getIndices();
    auto inType = cast<RankedTensorType>(input.getType());
    auto idxType = cast<RankedTensorType>(indices.getType());
    int64_t bdims = op.getBatchDims(), idxRank = idxType.getRank(),
            q = idxType.getShape().back();
    rewriter.replaceOp(
        op,
        gatherGeneric(
            rewriter, op.getLoc(), type, input, [&](OpBuilder &b, Location l) {
              SmallVector<Value> out = indexOps(b, l, 0, type.getRank());
              // batch coordinates, then the looked-up ones, then the rest
              SmallVector<Value> c(out.begin(), out.begin() + bdims);
              SmallVector<Value> at(out.begin(), out.begin() + (idxRank - 1));
              for (int64_t k = 0; k < q; ++k) {
                at.push_back(arith::ConstantIndexOp::create(b, l, k));
                Value v = tensor::ExtractOp::create(b, l, indices, at);
                at.pop_back();
                c.push_back(clampIndex(b, l, v, inType.getDimSize(bdims + k)));
              }
              c.append(out.begin() + (idxRank - 1), out.end());
              return c;
            }));
    return success();
  }
};

/// Combines the old element with an update.
Value combine(OpBuilder &b, Location l, ScatterReduction r, Value old,
              Value upd) {
  bool f = isa<FloatType>(old.getType());
  switch (r) {
  case ScatterReduction::none:
    return upd;
  case ScatterReduction::add:
    return f ? arith::AddFOp::create(b, l, old, upd).getResult()
             : arith::AddIOp::create(b, l, old, upd).getResult();
  case ScatterReduction::mul:
    return f ? arith::MulFOp::create(b, l, old, upd).getResult()
             : arith::MulIOp::create(b, l, old, upd).getResult();
  case ScatterReduction::max:
    return f ? arith::MaximumFOp::create(b, l, old, upd).getResult()
             : arith::MaxSIOp::create(b, l, old, upd).getResult();
  case ScatterReduction::min:
    return f ? arith::MinimumFOp::create(b, l, old, upd).getResult()
             : arith::MinSIOp::create(b, l, old, upd).getResult();
  }
  llvm_unreachable("unknown reduction");
}

/// Splits `linear` into coordinates of `shape` (row-major).
SmallVector<Value> delinearize(OpBuilder &b, Location l, Value linear,
                               ArrayRef<int64_t> shape) {
  SmallVector<Value> c(shape.size());
  for (int64_t d = shape.size() - 1; d >= 0; --d) {
    Value n = arith::ConstantIndexOp::create(b, l, shape[d]);
    c[d] = arith::RemUIOp::create(b, l, linear, n);
    linear = arith::DivUIOp::create(b, l, linear, n);
  }
  return c;
}

/// for p in [0, count): acc = body(acc, p); starting from `init`.
Value updateLoop(
    OpBuilder &b, Location loc, Value init, int64_t count,
    function_ref<Value(OpBuilder &, Location, Value, Value)> body) {
  Value lb = arith::ConstantIndexOp::create(b, loc, 0);
  Value ub = arith::ConstantIndexOp::create(b, loc, count);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  return scf::ForOp::create(
             b, loc, lb, ub, one, ValueRange{init},
             [&](OpBuilder &nb, Location l, Value p, ValueRange iter) {
               scf::YieldOp::create(nb, l, body(nb, l, iter[0], p));
             })
      .getResult(0);
}

struct ScatterElementsPattern : OpConversionPattern<ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto idxType = cast<RankedTensorType>(indices.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t axis = op.getAxis(), dim = inType.getDimSize(axis);
    ScatterReduction red = op.getReduction();
    Value r = updateLoop(
        rewriter, op.getLoc(), adaptor.getInput(), idxType.getNumElements(),
        [&](OpBuilder &b, Location l, Value acc, Value p) -> Value {
          SmallVector<Value> c = delinearize(b, l, p, idxType.getShape());
          Value upd = tensor::ExtractOp::create(b, l, updates, c);
          Value i = tensor::ExtractOp::create(b, l, indices, c);
          c[axis] = clampIndex(b, l, i, dim);
          Value old = tensor::ExtractOp::create(b, l, acc, c);
          return tensor::InsertOp::create(b, l, combine(b, l, red, old, upd),
                                          acc, c);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct ScatterNDPattern : OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(requireStaticShapes(op, rewriter)))
      return failure();
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto idxType = cast<RankedTensorType>(indices.getType());
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    int64_t q = idxType.getShape().back();
    ArrayRef<int64_t> rowShape = idxType.getShape().drop_back();
    ArrayRef<int64_t> sliceShape = inType.getShape().drop_front(q);
    int64_t rows = 1, slice = 1;
    for (int64_t d : rowShape)
      rows *= d;
    for (int64_t d : sliceShape)
      slice *= d;
    ScatterReduction red = op.getReduction();
    Value r = updateLoop(
        rewriter, op.getLoc(), adaptor.getInput(), rows * slice,
        [&](OpBuilder &b, Location l, Value acc, Value p) -> Value {
          Value n = arith::ConstantIndexOp::create(b, l, slice);
          SmallVector<Value> rc =
              delinearize(b, l, arith::DivUIOp::create(b, l, p, n), rowShape);
          SmallVector<Value> sc =
              delinearize(b, l, arith::RemUIOp::create(b, l, p, n), sliceShape);
          SmallVector<Value> target;
          for (int64_t k = 0; k < q; ++k) {
            SmallVector<Value> at(rc);
            at.push_back(arith::ConstantIndexOp::create(b, l, k));
            Value v = tensor::ExtractOp::create(b, l, indices, at);
            target.push_back(clampIndex(b, l, v, inType.getDimSize(k)));
          }
          target.append(sc.begin(), sc.end());
          SmallVector<Value> uc(rc);
          uc.append(sc.begin(), sc.end());
          Value upd = tensor::ExtractOp::create(b, l, updates, uc);
          Value old = tensor::ExtractOp::create(b, l, acc, target);
          return tensor::InsertOp::create(b, l, combine(b, l, red, old, upd),
                                          acc, target);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

} // namespace

void lowering::populateIndexingToLinalgPatterns(RewritePatternSet &patterns) {
  patterns.add<GatherElementsPattern, GatherNDPattern, ScatterElementsPattern,
               ScatterNDPattern>(patterns.getContext());
}
