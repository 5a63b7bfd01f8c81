//===- KilnRT.h - the kiln runtime-interface dialect ------------*- C++ -*-===//

#ifndef KILN_DIALECT_KILNRT_IR_KILNRT_H
#define KILN_DIALECT_KILNRT_IR_KILNRT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/OpImplementation.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/DestinationStyleOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "kiln/Dialect/KilnRT/IR/KilnRTDialect.h.inc"

#define GET_OP_CLASSES
#include "kiln/Dialect/KilnRT/IR/KilnRTOps.h.inc"

namespace mlir {
class DialectRegistry;
namespace kiln::rt {
/// Registers the bufferization model of kiln_rt.ukernel.
void registerBufferizableOpInterfaceExternalModels(DialectRegistry &registry);
} // namespace kiln::rt
} // namespace mlir

#endif // KILN_DIALECT_KILNRT_IR_KILNRT_H
