//===- KilnRTOps.td - the kiln runtime-interface dialect ---*- tablegen -*-===//
//
// Ops through which generated code talks to kiln's runtime: calls of the
// runtime's micro-kernels, loops run on its thread pool, and the weight table
// an artifact is given when it is loaded.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILNRT_IR_KILNRTOPS_TD
#define KILN_DIALECT_KILNRT_IR_KILNRTOPS_TD

include "mlir/IR/OpBase.td"
include "mlir/Interfaces/DestinationStyleOpInterface.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def KilnRT_Dialect : Dialect {
  let name = "kiln_rt";
  let cppNamespace = "::mlir::kiln::rt";
  let summary = "The interface between generated code and kiln's runtime";
  let description = [{
    Codegen-level ops: `kiln_rt.ukernel` calls a micro-kernel of the runtime
    (destination-passing style, on tensors or buffers);
    `kiln_rt.parallel_for` runs its body on the runtime's thread pool;
    `kiln_rt.weight` reads a weight's address from the table the runtime
    passes to every entry point.
  }];
}

class KilnRT_Op<string mnemonic, list<Trait> traits = []>
    : Op<KilnRT_Dialect, mnemonic, traits>;

def KilnRT_UkernelOp : KilnRT_Op<"ukernel", [AttrSizedOperandSegments,
    DestinationStyleOpInterface,
    DeclareOpInterfaceMethods<MemoryEffectsOpInterface>]> {
  let summary = "call a runtime micro-kernel in destination-passing style";
  let description = [{
    Calls the runtime function `name`. Tensor or buffer operands in `ins` are
    read; `outs` are written (on tensors, the results are the updated
    `outs`). Scalar operands pass by value. When lowered to a call, every
    buffer operand becomes its base pointer followed by its sizes and its
    strides (in elements), each an `i64`, in operand order; `kiln-lower-to-llvm`
    documents the exact signature. The runtime defines the semantics of
    each micro-kernel by name (runtime/ukernels/).

    ```mlir
    %c = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %b, %flags : tensor<64x128xf32>, tensor<128x256xf32>, i64)
        outs(%init : tensor<64x256xf32>) -> tensor<64x256xf32>
    ```
  }];
  let arguments = (ins StrAttr:$name, Variadic<AnyType>:$inputs,
                   Variadic<AnyShaped>:$outputs);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let assemblyFormat = [{
    $name `ins` `(` ($inputs^ `:` type($inputs))? `)`
    `outs` `(` $outputs `:` type($outputs) `)` attr-dict (`->` type($results)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    ::mlir::MutableOperandRange getDpsInitsMutable() {
      return getOutputsMutable();
    }
  }];
}

def KilnRT_YieldOp : KilnRT_Op<"yield", [Pure, Terminator, ReturnLike,
    ParentOneOf<["ParallelForOp"]>]> {
  let summary = "terminates a kiln_rt.parallel_for body";
  let assemblyFormat = "attr-dict";
}

def KilnRT_ParallelForOp : KilnRT_Op<"parallel_for", [
    DeclareOpInterfaceMethods<RegionBranchOpInterface>]> {
  let summary = "run a loop's iterations on the runtime's thread pool";
  let description = [{
    Runs the body for every index in `[0, count)`, on the runtime's thread
    pool, in no particular order; iterations must be independent. The entry
    block's argument is the index (`index` before conversion to LLVM, `i64`
    after). The body may hold several blocks (after `scf` becomes `cf`);
    each exit block ends in `kiln_rt.yield`. `kiln-outline-parallel` turns
    the op into a call of `kiln_rt_parallel_for` with the body outlined into
    a function.

    ```mlir
    kiln_rt.parallel_for %n : index {
    ^bb0(%i: index):
      ...
      kiln_rt.yield
    }
    ```
  }];
  let arguments = (ins AnySignlessIntegerOrIndex:$count);
  let regions = (region AnyRegion:$body);
  let assemblyFormat = "$count attr-dict-with-keyword `:` type($count) $body";
  let hasVerifier = 1;
}

def KilnRT_WeightOp : KilnRT_Op<"weight", [Pure]> {
  let summary = "the address of a weight, read from the weight table";
  let description = [{
    Loads entry `index` of the weight table (an array of pointers the
    runtime passes to every entry point) and views it as a buffer of the
    result type. Weights are read-only.

    ```mlir
    %w = kiln_rt.weight %table[3] : memref<768x768xf32>
    ```
  }];
  let arguments = (ins AnyType:$table, I64Attr:$index);
  let results = (outs AnyStaticShapeMemRef:$result);
  let assemblyFormat = "$table `[` $index `]` attr-dict `:` type($table) `->` type($result)";
}

#endif // KILN_DIALECT_KILNRT_IR_KILNRTOPS_TD
