//===- KilnToLinalg.cpp - the kiln-to-linalg pass -------------------------===//

#include "kiln/Conversion/Passes.h"

#include "Utils.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#define DEBUG_TYPE "kiln-to-linalg"

namespace mlir::kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "kiln/Conversion/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::lowering;

namespace {

/// Maps unsigned integer tensors to signless ones; the rest is unchanged.
struct SignlessTypeConverter : TypeConverter {
  SignlessTypeConverter() {
    addConversion([](Type t) { return t; });
    addConversion([](RankedTensorType t) -> Type {
      auto it = dyn_cast<IntegerType>(t.getElementType());
      if (!it || it.isSignless())
        return t;
      return RankedTensorType::get(
          t.getShape(), IntegerType::get(t.getContext(), it.getWidth()));
    });
  }
};

bool hasDynamicShape(Operation *op) {
  auto isDynamic = [](Type t) {
    auto rt = dyn_cast<RankedTensorType>(t);
    return rt && !rt.hasStaticShape();
  };
  return llvm::any_of(op->getOperandTypes(), isDynamic) ||
         llvm::any_of(op->getResultTypes(), isDynamic);
}

/// kiln.constant of an unsigned type: the same bits as a signless constant.
struct UnsignedConstantPattern : OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getType());
    auto newType =
        cast<RankedTensorType>(getTypeConverter()->convertType(type));
    if (newType == type)
      return failure();
    Attribute value = op.getValue();
    if (auto dense = dyn_cast<DenseElementsAttr>(value))
      value = dense.bitcast(newType.getElementType());
    else if (auto res = dyn_cast<DenseResourceElementsAttr>(value))
      value = DenseResourceElementsAttr::get(newType, res.getRawHandle());
    else
      return failure();
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, cast<TypedAttr>(value));
    return success();
  }
};

/// Shape ops on unsigned data (quantized weights): rebuild on the signless
/// operands, whose result types the op infers or the converter gives.
template <typename OpTy>
struct SignlessShapePattern : OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Type type = op->getResult(0).getType();
    Type newType = this->getTypeConverter()->convertType(type);
    if (newType == type)
      return failure();
    // Rebuild the op on signless values; the regular pattern lowers it next.
    Operation *clone = rewriter.clone(*op);
    rewriter.modifyOpInPlace(clone, [&] {
      clone->setOperands(adaptor.getOperands());
      clone->getResult(0).setType(newType);
    });
    rewriter.replaceOp(op, clone->getResults());
    return success();
  }
};

/// Kernel regions stay (the kernels stage fuses and inlines them); their
/// results and yields take the converted (signless) types.
struct KernelTypePattern : OpConversionPattern<KernelOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(KernelOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op.getResultTypes(), types)))
      return failure();
    auto kernel =
        KernelOp::create(rewriter, op.getLoc(), types, op.getKindAttr());
    rewriter.inlineRegionBefore(op.getBody(), kernel.getBody(),
                                kernel.getBody().end());
    rewriter.replaceOp(op, kernel.getResults());
    return success();
  }
};

struct YieldTypePattern : OpConversionPattern<YieldOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(YieldOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOpWithNewOp<YieldOp>(op, adaptor.getValues());
    return success();
  }
};

struct ConvertKilnToLinalgPass
    : mlir::kiln::impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    if (attention != "scores" && attention != "rows") {
      mlir::emitError(module.getLoc(),
                      "kiln-to-linalg: attention must be scores or rows, "
                      "got '")
          << attention << "'";
      return signalPassFailure();
    }
    if (scan != "steps" && scan != "channels") {
      mlir::emitError(module.getLoc(),
                      "kiln-to-linalg: scan must be steps or channels, "
                      "got '")
          << scan << "'";
      return signalPassFailure();
    }
    WalkResult walk = module.walk([&](Operation *op) {
      if (auto attention = dyn_cast<AttentionOp>(op);
          attention && lowerFusedOps && hasDynamicShape(op)) {
        if (hasDecomposableShapes(attention))
          return WalkResult::advance();
        op->emitError("has dynamic dimensions: the reference decomposition "
                      "of attention takes a dynamic key/value length only "
                      "where K and V are each a prefix (an extract_slice) of "
                      "a static tensor, with every other shape static");
        return WalkResult::interrupt();
      }
      if (isa<KilnDialect>(op->getDialect()) && hasDynamicShape(op)) {
        op->emitError("has dynamic dimensions: the CPU lowering needs static "
                      "shapes (fix them with --input-shape NAME=DIMS)");
        return WalkResult::interrupt();
      }
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();

    SignlessTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    target.addIllegalDialect<KilnDialect>();
    target.addDynamicallyLegalOp<KernelOp, YieldOp>(
        [&](Operation *op) { return converter.isLegal(op); });
    if (!lowerFusedOps)
      target.addLegalOp<AttentionOp, SelectiveScanOp, CausalConv1dOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return converter.isLegal(op); });

    RewritePatternSet patterns(ctx);
    populateElementwiseToLinalgPatterns(patterns);
    populateComputeToLinalgPatterns(patterns);
    populateReductionToLinalgPatterns(patterns);
    populateShapeToLinalgPatterns(patterns);
    populateQuantToLinalgPatterns(patterns, fuseDequant);
    populateRotaryToLinalgPatterns(patterns);
    populateIndexingToLinalgPatterns(patterns);
    if (lowerFusedOps) {
      populateAttentionToLinalgPatterns(patterns, attention == "rows");
      populateSSMToLinalgPatterns(patterns, scan == "channels");
    }
    patterns.add<UnsignedConstantPattern>(converter, ctx, /*benefit=*/2);
    patterns.add<KernelTypePattern, YieldTypePattern>(converter, ctx);
    patterns
        .add<SignlessShapePattern<ReshapeOp>, SignlessShapePattern<TransposeOp>,
             SignlessShapePattern<SliceOp>, SignlessShapePattern<ConcatOp>,
             SignlessShapePattern<GatherOp>, SignlessShapePattern<ExpandOp>,
             SignlessShapePattern<PadOp>, SignlessShapePattern<SelectOp>>(
            converter, ctx, /*benefit=*/2);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    populateCallOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
