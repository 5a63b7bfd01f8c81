//===- KilnTraits.h - op traits of the kiln dialect -------------*- C++ -*-===//

#ifndef KILN_DIALECT_KILN_IR_KILNTRAITS_H
#define KILN_DIALECT_KILN_IR_KILNTRAITS_H

#include "mlir/IR/OpDefinition.h"

namespace mlir::OpTrait::kiln {

/// Runs the op's result type inference during verification, before
/// InferTypeOpInterface's own check, and compares its result with the op's
/// result types. An invalid op is so reported once, with a specific message
/// (say, "operand shapes do not broadcast: 2x3, 4"), rather than followed by
/// the interface's generic "failed to infer returned types". Must be listed
/// before the InferTypeOpAdaptor trait.
template <typename ConcreteType>
class DiagnoseInference : public TraitBase<ConcreteType, DiagnoseInference> {
public:
  static LogicalResult verifyTrait(Operation *op) {
    SmallVector<Type> types;
    typename ConcreteType::Adaptor adaptor(cast<ConcreteType>(op));
    if (failed(ConcreteType::inferReturnTypes(op->getContext(), op->getLoc(),
                                              adaptor, types)))
      return failure();
    if (ConcreteType::isCompatibleReturnTypes(types, op->getResultTypes()))
      return success();
    InFlightDiagnostic diag = op->emitOpError("result type");
    diag << (op->getNumResults() == 1 ? " " : "s ");
    llvm::interleaveComma(op->getResultTypes(), diag);
    diag << " should be ";
    llvm::interleaveComma(types, diag);
    return diag;
  }
};

/// Marks ops computed independently per output element, operands broadcast
/// with numpy's rules (the kernels stage fuses chains of them). A marker:
/// nothing to verify.
template <typename ConcreteType>
class Elementwise : public TraitBase<ConcreteType, Elementwise> {};

} // namespace mlir::OpTrait::kiln

#endif // KILN_DIALECT_KILN_IR_KILNTRAITS_H
