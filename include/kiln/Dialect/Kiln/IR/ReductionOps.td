//===- ReductionOps.td - reductions, softmax and norms -----*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_REDUCTIONOPS_TD
#define KILN_DIALECT_KILN_IR_REDUCTIONOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnEnums.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_ReduceOp : Kiln_Op<"reduce", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "reduction over a set of axes";
  let description = [{
    Reduces `input` over `axes` (distinct, sorted, in `[0, rank)`) with
    `kind`: `sum`, `mean`, `max`, `min` or `prod`. With `keepdims` the reduced
    dimensions stay as size 1. Float sums and means accumulate in fp32 at
    least. Empty `axes` is the identity.

    ```mlir
    %m = kiln.reduce mean %x {axes = array<i64: 2>, keepdims = true}
        : tensor<1x128x768xf32> -> tensor<1x128x1xf32>
    ```
  }];
  let arguments = (ins Kiln_ReduceKind:$kind, Kiln_NumericTensor:$input,
                   DenseI64ArrayAttr:$axes,
                   DefaultValuedAttr<BoolAttr, "false">:$keepdims);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

def Kiln_ArgReduceOp : Kiln_Op<"arg_reduce", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor]> {
  let summary = "index of the maximum or minimum along an axis";
  let description = [{
    Yields the `i64` index of the largest (`argmax`) or smallest (`argmin`)
    element along `axis`; ties resolve to the first index, or to the last
    with `select_last_index`.

    ```mlir
    %i = kiln.arg_reduce argmax %logits {axis = 1 : i64}
        : tensor<1x32000xf32> -> tensor<1xi64>
    ```
  }];
  let arguments = (ins Kiln_ArgKind:$kind, Kiln_NumericTensor:$input,
                   I64Attr:$axis, DefaultValuedAttr<BoolAttr, "false">:$keepdims,
                   DefaultValuedAttr<BoolAttr, "false">:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
}

class Kiln_SoftmaxLikeOp<string mnemonic, string formula>
    : Kiln_Op<mnemonic, [Pure, SameOperandsAndResultType]> {
  let summary = formula # " along one axis";
  let description = !strconcat("Computes `", formula, [{` along `axis`,
    subtracting the maximum first so large inputs do not overflow.

    ```mlir
    %p = kiln.}], mnemonic, [{ %x {axis = 3 : i64} : tensor<1x12x128x128xf32>
    ```
  }]);
  let arguments = (ins Kiln_FloatTensor:$input, I64Attr:$axis);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_SoftmaxOp : Kiln_SoftmaxLikeOp<"softmax", "exp(x) / sum(exp(x))">;
def Kiln_LogSoftmaxOp : Kiln_SoftmaxLikeOp<"log_softmax", "x - log(sum(exp(x)))">;

def Kiln_LayerNormOp : Kiln_Op<"layer_norm", [Pure, AttrSizedOperandSegments,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "layer normalization over the trailing dimensions";
  let description = [{
    Normalizes over dimensions `[axis, rank)`:
    `(x - mean) / sqrt(var + epsilon) * scale + bias`, with the biased
    variance and fp32 statistics. `scale` and `bias`, when present, have the
    shape of the normalized dimensions.

    ```mlir
    %y = kiln.layer_norm %x scale(%g) bias(%b) {axis = 2 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<1x128x768xf32>, tensor<768xf32>, tensor<768xf32>) -> tensor<1x128x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                   Optional<Kiln_FloatTensor>:$scale,
                   Optional<Kiln_FloatTensor>:$bias, I64Attr:$axis,
                   DefaultValuedAttr<F64Attr, "1e-5">:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input (`scale` `(` $scale^ `)`)? (`bias` `(` $bias^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RmsNormOp : Kiln_Op<"rms_norm", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "root-mean-square normalization over the trailing dimensions";
  let description = [{
    Computes `x / sqrt(mean(x^2) + epsilon) * scale` over dimensions
    `[axis, rank)`, with fp32 statistics. `scale`, when present, has the
    shape of the normalized dimensions.

    ```mlir
    %y = kiln.rms_norm %x scale(%g) {axis = 2 : i64, epsilon = 1.0e-06 : f64}
        : (tensor<1x16x512xf32>, tensor<512xf32>) -> tensor<1x16x512xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Optional<Kiln_FloatTensor>:$scale,
                   I64Attr:$axis, DefaultValuedAttr<F64Attr, "1e-6">:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input (`scale` `(` $scale^ `)`)? attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_GroupNormOp : Kiln_Op<"group_norm", [Pure, AttrSizedOperandSegments,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "group normalization of [N, C, spatial...] tensors";
  let description = [{
    Splits the `C` channels into `num_groups` groups and normalizes each
    group of each sample over its channels and spatial positions; then
    applies the per-channel `scale` and `bias` (`[C]`). With
    `num_groups = C` this is instance normalization.

    ```mlir
    %y = kiln.group_norm %x scale(%g) bias(%b) {num_groups = 32 : i64, epsilon = 1.0e-05 : f64}
        : (tensor<1x320x32x32xf32>, tensor<320xf32>, tensor<320xf32>) -> tensor<1x320x32x32xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                   Optional<Kiln_FloatTensor>:$scale,
                   Optional<Kiln_FloatTensor>:$bias, I64Attr:$num_groups,
                   DefaultValuedAttr<F64Attr, "1e-5">:$epsilon);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input (`scale` `(` $scale^ `)`)? (`bias` `(` $bias^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_DIALECT_KILN_IR_REDUCTIONOPS_TD
