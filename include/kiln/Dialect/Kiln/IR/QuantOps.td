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
    `axis` share one scale). `scale` has the result's element type, or f16
    for an f32 result (compact scales; the product is computed in f32).

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

def Kiln_QMatmulOp : Kiln_Op<"qmatmul", [Pure]> {
  let summary = "matrix product with a packed int8 or int4 weight";
  let description = [{
    `result = lhs W`, where the constant weight `W` (`[K, N]`) is stored
    quantized in the panel layout the runtime's kernels stream
    (runtime/ukernels/matmul_qpack.h): `weight` is `[P, K, 64]` bytes for
    `bits = 8` and `[P, K, 32]` for `bits = 4` (two 4-bit values per byte),
    with `P = ceil(N / 64)` panels of 64 columns. With
    `G = K / group_size` groups of consecutive rows,

    `W[k, n] = (q(k, n) - z[k / group_size, n]) * scales[k / group_size, n]`

    where `q` is a signed int8 value (`bits = 8`, `z = 0`) or an unsigned
    nibble 0..15 (`bits = 4`; `z` is `zero_points` if given, else 8).
    `scales` and `zero_points` are `[G, N]`; `group_size = K` (`G = 1`) is
    per-output-channel quantization. `scales` are f32, or f16 with
    `bits = 4` (converted to f32 where they are used). `lhs` is `[..., M, K]` (f32) and the
    result `[..., M, N]` (f32): dequantization happens inside the product,
    in fp32, so the fp32 weight never exists as a buffer on the micro-kernel
    path.

    `kiln-quantize-weights` creates this op from `kiln.matmul` with a
    constant weight; `weight_error` records the relative L2 error of the
    dequantized weight against the original (informational, for the report).

    ```mlir
    %y = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 32 : i64}
        : (tensor<1x1x768xf32>, tensor<32x768x32xi8>, tensor<24x2048xf32>) -> tensor<1x1x2048xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$lhs, RankedTensorOf<[I8]>:$weight,
                   Kiln_FloatTensor:$scales,
                   Optional<RankedTensorOf<[I8]>>:$zero_points,
                   I64Attr:$bits, I64Attr:$group_size,
                   OptionalAttr<F64Attr>:$weight_error);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$lhs `,` $weight `,` $scales "
                       "(`zero_points` `(` $zero_points^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// K (the contraction size) and N (the number of output columns).
    int64_t getK() {
      return ::llvm::cast<::mlir::RankedTensorType>(getLhs().getType()).getShape().back();
    }
    int64_t getN() {
      return ::llvm::cast<::mlir::RankedTensorType>(getType()).getShape().back();
    }
  }];
}

#endif // KILN_DIALECT_KILN_IR_QUANTOPS_TD
