//===- KilnEnums.td - enumerations of the kiln dialect -----*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_KILNENUMS_TD
#define KILN_DIALECT_KILN_IR_KILNENUMS_TD

include "mlir/IR/EnumAttr.td"
include "kiln/Dialect/Kiln/IR/KilnDialect.td"

def Kiln_CmpPredicate : I32EnumAttr<"CmpPredicate",
    "comparison predicate", [
      I32EnumAttrCase<"eq", 0>, I32EnumAttrCase<"ne", 1>,
      I32EnumAttrCase<"lt", 2>, I32EnumAttrCase<"le", 3>,
      I32EnumAttrCase<"gt", 4>, I32EnumAttrCase<"ge", 5>]> {
  let cppNamespace = "::mlir::kiln";
}

def Kiln_ReduceKind : I32EnumAttr<"ReduceKind", "reduction kind", [
      I32EnumAttrCase<"sum", 0>, I32EnumAttrCase<"mean", 1>,
      I32EnumAttrCase<"max", 2>, I32EnumAttrCase<"min", 3>,
      I32EnumAttrCase<"prod", 4>]> {
  let cppNamespace = "::mlir::kiln";
}

def Kiln_ArgKind : I32EnumAttr<"ArgKind", "arg-reduction kind", [
      I32EnumAttrCase<"argmax", 0>, I32EnumAttrCase<"argmin", 1>]> {
  let cppNamespace = "::mlir::kiln";
}

def Kiln_GeluApproximation : I32EnumAttr<"GeluApproximation",
    "GELU approximation", [
      I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"tanh", 1>]> {
  let cppNamespace = "::mlir::kiln";
}

def Kiln_PoolKind : I32EnumAttr<"PoolKind", "pooling kind", [
      I32EnumAttrCase<"max", 0>, I32EnumAttrCase<"avg", 1>]> {
  let cppNamespace = "::mlir::kiln";
}

def Kiln_Activation : I32EnumAttr<"Activation", "fused activation", [
      I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"silu", 1>]> {
  let cppNamespace = "::mlir::kiln";
}

def Kiln_ScatterReduction : I32EnumAttr<"ScatterReduction",
    "how scattered updates combine with the data", [
      I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"add", 1>,
      I32EnumAttrCase<"mul", 2>, I32EnumAttrCase<"max", 3>,
      I32EnumAttrCase<"min", 4>]> {
  let cppNamespace = "::mlir::kiln";
}

#endif // KILN_DIALECT_KILN_IR_KILNENUMS_TD
