//===- HostToLLVM.cpp - host side of the CUDA target to llvm --------------===//
//
// kiln-lower-to-llvm's conversion (bare-pointer entry points, zero-element
// buffers passed opaquely, kiln_rt weights: kiln/Codegen/CPU/LLVMLowering.h)
// plus upstream's gpu-to-llvm patterns for the device operations,
// in one full conversion so that nothing is silently left behind. Kernel
// launches are converted first, on their own: with bare pointers for the
// host, upstream's launch lowering would pass bare pointers to kernels
// that expect descriptors.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/LLVMLowering.h"
#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/Conversion/GPUCommon/GPUCommonPass.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"

#define DEBUG_TYPE "kiln-cuda-host-to-llvm"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDAHOSTTOLLVM
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

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

    // As kiln-lower-to-llvm: zero-element buffers have no bare-pointer
    // form (after the launches' conversion, which still sees the memrefs).
    for (auto func : module.getOps<func::FuncOp>())
      passEmptyBuffersOpaquely(func);
    LowerToLLVMOptions options(ctx);
    options.useBarePtrCallConv = true;
    LLVMTypeConverter converter(ctx, options);

    RewritePatternSet patterns(ctx);
    populateHostToLLVMConversionPatterns(converter, patterns);
    populateGpuToLLVMConversionPatterns(converter, patterns);

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
