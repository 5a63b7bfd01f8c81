//===- KilnRT.cpp - the kiln runtime-interface dialect --------------------===//

#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Dialect/Bufferization/IR/BufferizableOpInterface.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/IR/DstBufferizableOpInterfaceImpl.h"
#include "mlir/IR/DialectRegistry.h"

using namespace mlir;
using namespace mlir::kiln::rt;

#include "kiln/Dialect/KilnRT/IR/KilnRTDialect.cpp.inc"

void KilnRTDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "kiln/Dialect/KilnRT/IR/KilnRTOps.cpp.inc"
      >();
}

#define GET_OP_CLASSES
#include "kiln/Dialect/KilnRT/IR/KilnRTOps.cpp.inc"

//===----------------------------------------------------------------------===//
// UkernelOp
//===----------------------------------------------------------------------===//

LogicalResult UkernelOp::verify() {
  bool tensors = llvm::any_of(
      getOutputs(), [](Value v) { return isa<RankedTensorType>(v.getType()); });
  if (tensors) {
    if (getNumResults() != getOutputs().size())
      return emitOpError("on tensors needs one result per output, got ")
             << getNumResults() << " for " << getOutputs().size();
    for (auto [o, r] : llvm::zip(getOutputs(), getResults()))
      if (o.getType() != r.getType())
        return emitOpError("result type ")
               << r.getType() << " differs from its output's " << o.getType();
  } else if (getNumResults() != 0) {
    return emitOpError("on buffers has no results");
  }
  for (Value v : getOutputs())
    if (isa<RankedTensorType>(v.getType()) != tensors)
      return emitOpError("outputs mix tensors and buffers");
  return success();
}

void UkernelOp::getEffects(
    SmallVectorImpl<SideEffects::EffectInstance<MemoryEffects::Effect>>
        &effects) {
  for (OpOperand &operand : getInputsMutable())
    if (isa<MemRefType>(operand.get().getType()))
      effects.emplace_back(MemoryEffects::Read::get(), &operand,
                           SideEffects::DefaultResource::get());
  for (OpOperand &operand : getOutputsMutable()) {
    if (!isa<MemRefType>(operand.get().getType()))
      continue;
    effects.emplace_back(MemoryEffects::Read::get(), &operand,
                         SideEffects::DefaultResource::get());
    effects.emplace_back(MemoryEffects::Write::get(), &operand,
                         SideEffects::DefaultResource::get());
  }
}

namespace {
/// Bufferizes kiln_rt.ukernel: tensor operands become buffers, the outputs
/// are written in place.
struct UkernelBufferization
    : bufferization::DstBufferizableOpInterfaceExternalModel<
          UkernelBufferization, UkernelOp> {
  LogicalResult bufferize(Operation *op, RewriterBase &rewriter,
                          const bufferization::BufferizationOptions &options,
                          bufferization::BufferizationState &state) const {
    auto ukernel = cast<UkernelOp>(op);
    auto toBuffer = [&](Value v) -> FailureOr<Value> {
      if (!isa<TensorType>(v.getType()))
        return v;
      return bufferization::getBuffer(rewriter, v, options, state);
    };
    SmallVector<Value> inputs, outputs;
    for (Value v : ukernel.getInputs()) {
      FailureOr<Value> b = toBuffer(v);
      if (failed(b))
        return failure();
      inputs.push_back(*b);
    }
    for (Value v : ukernel.getOutputs()) {
      FailureOr<Value> b = toBuffer(v);
      if (failed(b))
        return failure();
      outputs.push_back(*b);
    }
    rewriter.setInsertionPoint(op);
    auto newOp = UkernelOp::create(rewriter, op->getLoc(), TypeRange{},
                                   ukernel.getNameAttr(), inputs, outputs);
    newOp->setDiscardableAttrs(op->getDiscardableAttrDictionary());
    bufferization::replaceOpWithBufferizedValues(rewriter, op, outputs);
    return success();
  }
};
} // namespace

void mlir::kiln::rt::registerBufferizableOpInterfaceExternalModels(
    DialectRegistry &registry) {
  registry.addExtension(+[](MLIRContext *ctx, KilnRTDialect *) {
    UkernelOp::attachInterface<UkernelBufferization>(*ctx);
  });
}

//===----------------------------------------------------------------------===//
// ParallelForOp
//===----------------------------------------------------------------------===//

LogicalResult ParallelForOp::verify() {
  if (getBody().empty())
    return emitOpError("needs a body");
  Block &body = getBody().front();
  if (body.getNumArguments() != 1 ||
      body.getArgument(0).getType() != getCount().getType())
    return emitOpError("body must take one argument of the count's type ")
           << getCount().getType();
  return success();
}

void ParallelForOp::getSuccessorRegions(
    RegionBranchPoint point, SmallVectorImpl<RegionSuccessor> &regions) {
  // The body runs zero or more times; control then returns to the parent.
  regions.push_back(RegionSuccessor(&getBody()));
  regions.push_back(
      RegionSuccessor(getOperation(), getOperation()->getResults()));
}
