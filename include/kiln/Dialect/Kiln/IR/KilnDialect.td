//===- KilnDialect.td - the kiln dialect -------------------*- tablegen -*-===//
//
// The kiln dialect: value-semantics tensor ops for foundation models.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_IR_KILNDIALECT_TD
#define KILN_DIALECT_KILN_IR_KILNDIALECT_TD

include "mlir/IR/OpBase.td"
include "mlir/IR/AttrTypeBase.td"

def Kiln_Dialect : Dialect {
  let name = "kiln";
  let cppNamespace = "::mlir::kiln";
  let summary = "Tensor ops for transformer, diffusion and state-space models";
  let description = [{
    The `kiln` dialect is the graph-level IR of the kiln compiler. Its ops have
    value semantics on ranked tensors and follow numpy broadcasting where they
    combine tensors of different shapes. Frontends (ONNX, checkpoints) produce
    it; recognition passes raise exported op soups into its fused ops
    (`kiln.attention`, `kiln.rms_norm`, `kiln.selective_scan`, ...); the
    `kiln-to-linalg` conversion lowers it to `linalg` on tensors.

    Weights are never inline dense attributes: `kiln.constant` accepts
    `dense_resource` blobs of any size and inline `dense` values only up to a
    small element count (shape tensors, scalars).
  }];
  let hasConstantMaterializer = 1;
  let useDefaultAttributePrinterParser = 0;
}

// See KilnTraits.h: reports an inference failure once, with its own message.
// Marks ops computed independently per output element (numpy broadcasting
// allowed): the kernels stage fuses chains of them with their producers.
def Kiln_Elementwise : NativeOpTrait<"Elementwise"> {
  let cppNamespace = "::mlir::OpTrait::kiln";
}

def Kiln_DiagnoseInference : NativeOpTrait<"DiagnoseInference"> {
  let cppNamespace = "::mlir::OpTrait::kiln";
}

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic, traits>;

#endif // KILN_DIALECT_KILN_IR_KILNDIALECT_TD
