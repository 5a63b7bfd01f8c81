//===- StructureOps.td - kernel regions --------------------*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_STRUCTUREOPS_TD
#define KILN_DIALECT_KILN_IR_STRUCTUREOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Kiln_KernelOp : Kiln_Op<"kernel", [SingleBlockImplicitTerminator<"YieldOp">,
    RecursiveMemoryEffects]> {
  let summary = "a group of ops that becomes one kernel";
  let description = [{
    The kernels stage's unit of code generation: the ops of the region are
    fused into one kernel (one parallel loop nest on the CPU, one launch on
    a GPU). The region reads values defined above it and yields the values
    used after it. `kind` names the group's anchor for reports: `matmul`,
    `conv`, `attention`, `norm`, `reduction`, `elementwise`, `movement`,
    `ukernel`, ... `kiln-form-kernels` forms the regions; lowering keeps
    them until each is fused, then inlines them.

    ```mlir
    %y = kiln.kernel "norm" -> tensor<1x16x64xf32> {
      %n = kiln.layer_norm %x {axis = 2 : i64} : (tensor<1x16x64xf32>) -> tensor<1x16x64xf32>
      %s = kiln.mul %n, %g : (tensor<1x16x64xf32>, tensor<2x1x64xf32>) -> tensor<1x16x64xf32>
      kiln.yield %s : tensor<1x16x64xf32>
    }
    ```
  }];
  let arguments = (ins StrAttr:$kind);
  let results = (outs Variadic<AnyType>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = "$kind (`->` type($results)^)? $body attr-dict";
  let hasVerifier = 1;
}

def Kiln_YieldOp : Kiln_Op<"yield", [Pure, Terminator, ReturnLike,
    HasParent<"KernelOp">]> {
  let summary = "yields a kernel region's results";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
  let builders = [OpBuilder<(ins), [{ /* nothing to yield */ }]>];
}

#endif // KILN_DIALECT_KILN_IR_STRUCTUREOPS_TD
