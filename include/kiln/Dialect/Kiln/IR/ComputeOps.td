//===- ComputeOps.td - matmul, convolution and pooling -----*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_COMPUTEOPS_TD
#define KILN_DIALECT_KILN_IR_COMPUTEOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnEnums.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_MatmulOp : Kiln_Op<"matmul", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptorWithIsCompatible,
    AllElementTypesMatch<["lhs", "rhs"]>]> {
  let summary = "batched matrix product with broadcast batch dimensions";
  let description = [{
    `lhs` is `[..., M, K]` and `rhs` is `[..., K, N]`; both have rank 2 or
    more, and their batch dimensions broadcast with numpy's rules. The result
    is `[broadcast batch..., M, N]`.

    Floats accumulate in at least fp32: the result may be `f32` for `bf16` or
    `f16` operands. `i8` operands give an `i32` result (ONNX MatMulInteger).

    Example:

    ```mlir
    %y = kiln.matmul %x, %w : (tensor<4x128x768xf32>, tensor<768x3072xf32>) -> tensor<4x128x3072xf32>
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$lhs, Kiln_NumericTensor:$rhs);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
}

def Kiln_ConvOp : Kiln_Op<"conv", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "1-D or 2-D convolution in NC[H]W layout, with groups";
  let description = [{
    `input` is `[N, C, spatial...]` and `weight` is
    `[O, C / groups, kernel...]` with one or two spatial dimensions. The
    optional `bias` is `[O]`. `padding` lists the padding before every
    spatial dimension, then after every one (ONNX's `pads`). The result is
    `[N, O, out...]` with
    `out = (in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride + 1`.
    The weight has the input's element type, or is bf16 with an f32 input
    (`--dtype=bf16`: the product accumulates in f32).

    Example (a ViT patch embedding):

    ```mlir
    %y = kiln.conv %img, %w, %b {strides = array<i64: 16, 16>}
        : (tensor<1x3x224x224xf32>, tensor<768x3x16x16xf32>, tensor<768xf32>) -> tensor<1x768x14x14xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                   Optional<Kiln_FloatTensor>:$bias,
                   OptionalAttr<DenseI64ArrayAttr>:$strides,
                   OptionalAttr<DenseI64ArrayAttr>:$padding,
                   OptionalAttr<DenseI64ArrayAttr>:$dilations,
                   DefaultValuedAttr<I64Attr, "1">:$groups);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $weight (`,` $bias^)? attr-dict `:` "
                       "functional-type(operands, results)";
  let extraClassDeclaration = [{
    /// Number of spatial dimensions (1 or 2).
    int64_t getSpatialRank() {
      return ::llvm::cast<::mlir::RankedTensorType>(getInput().getType()).getRank() - 2;
    }
    /// Attribute values with their defaults filled in.
    ::llvm::SmallVector<int64_t> getStridesOrDefault();
    ::llvm::SmallVector<int64_t> getPaddingOrDefault();
    ::llvm::SmallVector<int64_t> getDilationsOrDefault();
  }];
}

def Kiln_PoolOp : Kiln_Op<"pool", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "1-D or 2-D max or average pooling in NC[H]W layout";
  let description = [{
    Slides a `kernel` window with `strides` over the spatial dimensions of
    `[N, C, spatial...]`. Padding as in `kiln.conv`. Max pooling ignores
    padded positions; average pooling divides by the window size when
    `count_include_pad` is set and by the number of real elements otherwise.

    ```mlir
    %y = kiln.pool max %x {kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>}
        : tensor<1x64x32x32xf32> -> tensor<1x64x16x16xf32>
    ```
  }];
  let arguments = (ins Kiln_PoolKind:$kind, Kiln_FloatTensor:$input,
                   DenseI64ArrayAttr:$kernel,
                   OptionalAttr<DenseI64ArrayAttr>:$strides,
                   OptionalAttr<DenseI64ArrayAttr>:$padding,
                   DefaultValuedAttr<BoolAttr, "false">:$count_include_pad);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$kind $input attr-dict `:` type($input) `->` type($result)";
  let extraClassDeclaration = [{
    ::llvm::SmallVector<int64_t> getStridesOrDefault();
    ::llvm::SmallVector<int64_t> getPaddingOrDefault();
  }];
}

#endif // KILN_DIALECT_KILN_IR_COMPUTEOPS_TD
