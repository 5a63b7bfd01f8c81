//===- LowerToLLVM.cpp - buffers, loops and kiln_rt ops to llvm -----------===//

#include "kiln/Codegen/CPU/LLVMLowering.h"
#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVM.h"
#include "mlir/Dialect/LLVMIR/FunctionCallUtils.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

#define DEBUG_TYPE "kiln-lower-to-llvm"

namespace mlir::kiln {
#define GEN_PASS_DEF_LOWERTOLLVM
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// kiln_rt.ukernel -> call of the named function; each buffer operand passes
/// its base pointer (offset applied), then its sizes, then its strides.
struct UkernelLowering : ConvertOpToLLVMPattern<rt::UkernelOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult
  matchAndRewrite(rt::UkernelOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (op.getNumResults() != 0)
      return rewriter.notifyMatchFailure(op, "not bufferized");
    Location loc = op.getLoc();
    Type i64 = rewriter.getI64Type();
    SmallVector<Value> args;
    auto flatten = [&](Value original, Value converted) -> LogicalResult {
      auto mt = dyn_cast<MemRefType>(original.getType());
      if (!mt) {
        args.push_back(converted);
        return success();
      }
      MemRefDescriptor desc(converted);
      args.push_back(desc.bufferPtr(rewriter, loc, *getTypeConverter(), mt));
      for (int64_t d = 0; d < mt.getRank(); ++d)
        args.push_back(desc.size(rewriter, loc, d));
      for (int64_t d = 0; d < mt.getRank(); ++d)
        args.push_back(desc.stride(rewriter, loc, d));
      return success();
    };
    for (auto [o, c] : llvm::zip(op.getInputs(), adaptor.getInputs()))
      if (failed(flatten(o, c)))
        return failure();
    for (auto [o, c] : llvm::zip(op.getOutputs(), adaptor.getOutputs()))
      if (failed(flatten(o, c)))
        return failure();
    for (Value &a : args)
      if (a.getType().isIndex())
        a = arith::IndexCastOp::create(rewriter, loc, i64, a);
    SmallVector<Type> argTypes;
    for (Value a : args)
      argTypes.push_back(a.getType());
    auto module = op->getParentOfType<ModuleOp>();
    auto fnType = LLVM::LLVMFunctionType::get(
        LLVM::LLVMVoidType::get(rewriter.getContext()), argTypes);
    auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(op.getName());
    if (!fn) {
      OpBuilder::InsertionGuard guard(rewriter);
      rewriter.setInsertionPointToStart(module.getBody());
      fn = LLVM::LLVMFuncOp::create(rewriter, loc, op.getName(), fnType);
    } else if (fn.getFunctionType() != fnType) {
      return op.emitError("micro-kernel '")
             << op.getName() << "' is called with two different signatures";
    }
    LLVM::CallOp::create(rewriter, loc, fn, args);
    rewriter.eraseOp(op);
    return success();
  }
};

/// kiln_rt.parallel_for keeps its region; its count and induction variable
/// become i64.
struct ParallelForLowering : ConvertOpToLLVMPattern<rt::ParallelForOp> {
  using ConvertOpToLLVMPattern::ConvertOpToLLVMPattern;
  LogicalResult
  matchAndRewrite(rt::ParallelForOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    if (failed(rewriter.convertRegionTypes(&op.getBody(), *getTypeConverter())))
      return failure();
    rewriter.modifyOpInPlace(
        op, [&] { op.getCountMutable().assign(adaptor.getCount()); });
    return success();
  }
};

struct LowerToLLVMPass : mlir::kiln::impl::LowerToLLVMBase<LowerToLLVMPass> {
  // passEmptyBuffersOpaquely creates memref.alloca, even in a module that
  // has no memref op yet.
  void getDependentDialects(DialectRegistry &registry) const override {
    Base::getDependentDialects(registry);
    registry.insert<memref::MemRefDialect>();
  }

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    for (auto func : module.getOps<func::FuncOp>())
      passEmptyBuffersOpaquely(func);
    LowerToLLVMOptions options(ctx);
    options.useBarePtrCallConv = true;
    LLVMTypeConverter converter(ctx, options);

    RewritePatternSet patterns(ctx);
    populateHostToLLVMConversionPatterns(converter, patterns);
    populateVectorToLLVMConversionPatterns(converter, patterns);
    patterns.add<UkernelLowering, ParallelForLowering>(converter);

    LLVMConversionTarget target(*ctx);
    target.addLegalOp<ModuleOp, rt::YieldOp>();
    target.addDynamicallyLegalOp<rt::ParallelForOp>([](rt::ParallelForOp op) {
      return op.getCount().getType().isInteger(64);
    });
    // Full conversion: anything left unconverted is an error, not a silent
    // leftover.
    if (failed(applyFullConversion(module, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
