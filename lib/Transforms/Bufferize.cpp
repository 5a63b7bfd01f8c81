//===- Bufferize.cpp - one-shot bufferization configured for kiln ---------===//

#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotModuleBufferize.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"

#define DEBUG_TYPE "kiln-bufferize"

namespace mlir::kiln {
#define GEN_PASS_DEF_BUFFERIZE
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

LogicalResult copyWithLinalg(OpBuilder &b, Location loc, Value from, Value to) {
  linalg::CopyOp::create(b, loc, from, to);
  return success();
}

/// A buffer returned more than once gets a copy for each repeat, so every
/// result has a buffer of its own to become an output parameter.
void copyRepeatedResults(ModuleOp module) {
  module.walk([](func::ReturnOp ret) {
    DenseSet<Value> seen;
    OpBuilder b(ret);
    for (OpOperand &operand : ret->getOpOperands()) {
      Value v = operand.get();
      auto type = dyn_cast<MemRefType>(v.getType());
      if (seen.insert(v).second || !type || !type.hasStaticShape())
        continue;
      Value copy = memref::AllocOp::create(
          b, ret.getLoc(),
          MemRefType::get(type.getShape(), type.getElementType()));
      linalg::CopyOp::create(b, ret.getLoc(), v, copy);
      operand.set(copy);
    }
  });
}

struct BufferizePass : mlir::kiln::impl::BufferizeBase<BufferizePass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    bufferization::OneShotBufferizationOptions options;
    options.bufferizeFunctionBoundaries = true;
    options.setFunctionBoundaryTypeConversion(
        bufferization::LayoutMapOption::IdentityLayoutMap);
    options.memCpyFn = copyWithLinalg;
    bufferization::BufferizationState state;
    if (failed(
            bufferization::runOneShotModuleBufferize(module, options, state)))
      return signalPassFailure();
    bufferization::removeBufferizationAttributesInModule(module);
    copyRepeatedResults(module);

    bufferization::BufferResultsToOutParamsOpts outParams;
    outParams.hoistStaticAllocs = true;
    outParams.modifyPublicFunctions = true;
    outParams.memCpyFn = copyWithLinalg;
    if (failed(
            bufferization::promoteBufferResultsToOutParams(module, outParams)))
      return signalPassFailure();
  }
};

} // namespace
