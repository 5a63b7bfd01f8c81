//===- KilnOps.td - all ops of the kiln dialect ------------*- tablegen -*-===//
//
// The op families live in one file each; this file gathers them so that one
// TableGen invocation generates the dialect's ops and its documentation.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_IR_KILNOPS_TD
#define KILN_DIALECT_KILN_IR_KILNOPS_TD

include "kiln/Dialect/Kiln/IR/ElementwiseOps.td"
include "kiln/Dialect/Kiln/IR/ComputeOps.td"
include "kiln/Dialect/Kiln/IR/ReductionOps.td"
include "kiln/Dialect/Kiln/IR/ShapeOps.td"
include "kiln/Dialect/Kiln/IR/AttentionOps.td"
include "kiln/Dialect/Kiln/IR/SSMOps.td"
include "kiln/Dialect/Kiln/IR/QuantOps.td"
include "kiln/Dialect/Kiln/IR/StructureOps.td"

#endif // KILN_DIALECT_KILN_IR_KILNOPS_TD
