//===- LowerToLLVM.cpp - buffers, loops and kiln_rt ops to llvm -----------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/ConversionTarget.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
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

/// kiln_rt.weight -> load the pointer at table[index], view it statically.
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

/// Zero-element buffers (a tensor with a 0 dimension) cannot be passed as
/// bare pointers, and nothing reads or writes them: such an entry-point
/// argument becomes an opaque pointer and its uses an empty stack buffer.
void passEmptyBuffersOpaquely(func::FuncOp func) {
  if (func.isExternal())
    return;
  auto ptrType = LLVM::LLVMPointerType::get(func.getContext());
  Block &entry = func.getBody().front();
  OpBuilder b(&entry, entry.begin());
  SmallVector<Type> argTypes(func.getArgumentTypes());
  for (auto [i, arg] : llvm::enumerate(entry.getArguments())) {
    auto mt = dyn_cast<MemRefType>(arg.getType());
    if (!mt || !mt.hasStaticShape() || mt.getNumElements() != 0 ||
        mt.getRank() < 2)
      continue;
    Value empty = memref::AllocaOp::create(b, func.getLoc(), mt);
    arg.replaceAllUsesWith(empty);
    arg.setType(ptrType);
    argTypes[i] = ptrType;
  }
  func.setFunctionType(
      FunctionType::get(func.getContext(), argTypes, func.getResultTypes()));
}

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
    populateFuncToLLVMConversionPatterns(converter, patterns);
    arith::populateArithToLLVMConversionPatterns(converter, patterns);
    populateMathToLLVMConversionPatterns(converter, patterns);
    populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
    cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
    index::populateIndexToLLVMConversionPatterns(converter, patterns);
    populateVectorToLLVMConversionPatterns(converter, patterns);
    ub::populateUBToLLVMConversionPatterns(converter, patterns);
    patterns.add<WeightLowering, UkernelLowering, ParallelForLowering>(
        converter);

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
