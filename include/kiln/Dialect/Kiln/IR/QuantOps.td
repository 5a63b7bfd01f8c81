//===- QuantOps.td - quantize and dequantize ---------------*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_QUANTOPS_TD
#define KILN_DIALECT_KILN_IR_QUANTOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

def Kiln_QuantizeOp : Kiln_Op<"quantize", [Pure, Kiln_Elementwise]> {
  let summary = "affine quantization to 8 or 4 bits (ONNX QuantizeLinear)";
  let description = [{
    `q = saturate(round_half_even(x / scale) + zero_point)` into the range of
    the result's element type (`i8`, `ui8`, `i4` or `ui4`). `scale` (and the
    optional `zero_point`, of the result's element type) are scalars (rank 0)
    for per-tensor quantization, or `[dim(axis)]` for per-axis quantization.

    ```mlir
    %q = kiln.quantize %x, %s {axis = 1 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$scale,
                   Optional<Kiln_QuantTensor>:$zero_point,
                   DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Kiln_QuantTensor:$result);
  let assemblyFormat = "$input `,` $scale (`zero_point` `(` $zero_point^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_DequantizeOp : Kiln_Op<"dequantize", [Pure, Kiln_Elementwise]> {
  let summary = "affine dequantization, per tensor, per axis or per block";
  let description = [{
    `x = (q - zero_point) * scale`. `scale` and the optional `zero_point` are
    scalars (per tensor), `[dim(axis)]` (per axis), or, with `block_size`
    `> 0`, of `input`'s shape with dimension `axis` divided by `block_size`
    (group-wise int4 weights: every `block_size` consecutive elements along
    `axis` share one scale).

    ```mlir
    %w = kiln.dequantize %q, %s {axis = 0 : i64, block_size = 32 : i64}
        : (tensor<768x3072xi4>, tensor<24x3072xf32>) -> tensor<768x3072xf32>
    ```
  }];
  let arguments = (ins Kiln_QuantTensor:$input, Kiln_FloatTensor:$scale,
                   Optional<Kiln_QuantTensor>:$zero_point,
                   DefaultValuedAttr<I64Attr, "0">:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$block_size);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $scale (`zero_point` `(` $zero_point^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_DIALECT_KILN_IR_QUANTOPS_TD
