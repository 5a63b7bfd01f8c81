//===- LLVMLowering.cpp - host lowering to llvm shared by targets ---------===//
//
// Used by kiln-lower-to-llvm and kiln-cuda-host-to-llvm, so that the two
// targets' host functions (entry points, weights) lower the same way.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/LLVMLowering.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVM.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/LLVMCommon/MemRefBuilder.h"
#include "mlir/Conversion/LLVMCommon/Pattern.h"
#include "mlir/Conversion/LLVMCommon/TypeConverter.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/UBToLLVM/UBToLLVM.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

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

} // namespace

void mlir::kiln::passEmptyBuffersOpaquely(func::FuncOp func) {
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

void mlir::kiln::populateHostToLLVMConversionPatterns(
    LLVMTypeConverter &converter, RewritePatternSet &patterns) {
  populateFuncToLLVMConversionPatterns(converter, patterns);
  arith::populateArithToLLVMConversionPatterns(converter, patterns);
  populateMathToLLVMConversionPatterns(converter, patterns);
  populateFinalizeMemRefToLLVMConversionPatterns(converter, patterns);
  cf::populateControlFlowToLLVMConversionPatterns(converter, patterns);
  index::populateIndexToLLVMConversionPatterns(converter, patterns);
  ub::populateUBToLLVMConversionPatterns(converter, patterns);
  patterns.add<WeightLowering>(converter);
}
