//===- HostToLLVM.cpp - host side of the CUDA target to llvm --------------===//
//
// kiln-lower-to-llvm's conversion (bare-pointer entry points, kiln_rt
// weights) plus upstream's gpu-to-llvm patterns for the device operations,
// in one full conversion so that nothing is silently left behind. Kernel
// launches are converted first, on their own: with bare pointers for the
// host, upstream's launch lowering would pass bare pointers to kernels
// that expect descriptors.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"

#define DEBUG_TYPE "kiln-cuda-host-to-llvm"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDAHOSTTOLLVM
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// kiln_rt.weight -> load the pointer at table[index], view it statically
/// (as kiln-lower-to-llvm does; the host copies it to the device).
struct WeightLowering : ConvertOpToLLVMPattern<rt::WeightOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult
  matchAndRewrite(rt::WeightOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto ptrType = LLVM::LLVMPointerType::get(rewriter.getContext());
    Value slot =
        LLVM::GEPOp::create(rewriter, loc, ptrType, ptrType, adaptor.getTable(),
                            ArrayRef<LLVM::GEPArg>{(int32_t)op.getIndex()});
    Value ptr = LLVM::LoadOp::create(rewriter, loc, ptrType, slot);
    auto desc = MemRefDescriptor::fromStaticShape(
        rewriter, loc, *getTypeConverter(), op.getType(), ptr);
    rewriter.replaceOp(op, {desc});
    return success();
  }
};

struct CUDAHostToLLVMPass
    : mlir::kiln::impl::CUDAHostToLLVMBase<CUDAHostToLLVMPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    for (auto kernels : module.getOps<gpu::GPUModuleOp>()) {
      kernels.emitError("kernel module '")
          << kernels.getName()
          << "' is not compiled yet: run gpu-module-to-binary first";
      return signalPassFailure();
    }
    // Kernels take memref descriptors (convert-gpu-to-nvvm's default
    // convention), whatever the host functions use: the launches are
    // converted first, with a converter that expands descriptors.
    {
      LLVMTypeConverter converter(ctx);
      RewritePatternSet patterns(ctx);
      populateGpuToLLVMConversionPatterns(converter, patterns);
      ConversionTarget target(*ctx);
      target.markUnknownOpDynamicallyLegal([](Operation *) { return true; });
      target.addDynamicallyLegalOp<gpu::LaunchFuncOp>(
          [&](gpu::LaunchFuncOp op) -> bool {
            return converter.isLegal(op->getOperandTypes());
          });
      if (failed(applyPartialConversion(module, target, std::move(patterns))))
        return signalPassFailure();
    }

    LowerToLLVMOptions options(ctx);
    options.useBarePtrCallConv = true;
    LLVMTypeConverter converter(ctx, options);

    RewritePatternSet patterns(ctx);
    populateFuncToLLVMConversionPatterns(converter, patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    populateMathToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    index::populateIndexToLLVMConversionPatterns(converter, patterns);
    ub::populateUBToLLVMConversionPatterns(converter, patterns);
    populateGpuToLLVMConversionPatterns(converter, patterns);
    patterns.add<WeightLowering>(converter);

    LLVMConversionTarget target(*ctx);
    target.addLegalOp<ModuleOp, gpu::BinaryOp>();
    target.addDynamicallyLegalOp<gpu::LaunchFuncOp>(
        [&](gpu::LaunchFuncOp op) -> bool {
          return converter.isLegal(op->getOperandTypes());
        });
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
