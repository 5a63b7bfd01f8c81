//===- KilnTypes.td - type constraints of the kiln dialect -*- tablegen -*-===//
//
// kiln uses builtin ranked tensors; this file names the constraints its ops
// put on them.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_IR_KILNTYPES_TD
#define KILN_DIALECT_KILN_IR_KILNTYPES_TD

include "mlir/IR/CommonTypeConstraints.td"

def Kiln_Tensor : RankedTensorOf<[AnyFloat, AnyInteger]>;
def Kiln_FloatTensor : RankedTensorOf<[AnyFloat]>;
def Kiln_IntTensor : RankedTensorOf<[AnySignlessInteger]>;
def Kiln_BoolTensor : RankedTensorOf<[I1]>;
def Kiln_IndexTensor : RankedTensorOf<[I32, I64]>;
def Kiln_NumericTensor : RankedTensorOf<[AnyFloat, AnySignlessInteger]>;
def Kiln_I4 : I<4>;
def Kiln_UI4 : UI<4>;
def Kiln_QuantTensor : RankedTensorOf<[I8, UI8, Kiln_I4, Kiln_UI4]>;

#endif // KILN_DIALECT_KILN_IR_KILNTYPES_TD
