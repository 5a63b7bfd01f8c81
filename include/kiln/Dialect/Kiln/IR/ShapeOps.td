//===- ShapeOps.td - data movement kiln ops ----------------*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_SHAPEOPS_TD
#define KILN_DIALECT_KILN_IR_SHAPEOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_ConstantOp : Kiln_Op<"constant", [Pure, ConstantLike,
    AllTypesMatch<["value", "result"]>]> {
  let summary = "a constant tensor: a weight or a small literal";
  let description = [{
    Materializes `value`. Weights are `dense_resource` blobs, which the
    compiler never copies through the IR; an inline `dense` value may hold at
    most 256 elements unless it is a splat.

    ```mlir
    %w = kiln.constant dense_resource<w0> : tensor<768x768xf32>
    %s = kiln.constant dense<[1, 128, 768]> : tensor<3xi64>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "attr-dict $value";
  let hasVerifier = 1;
  let hasFolder = 1;
  let extraClassDeclaration = [{
    /// Largest element count of a non-splat inline `dense` value.
    static constexpr int64_t kMaxInlineElements = 256;
  }];
}

def Kiln_ReshapeOp : Kiln_Op<"reshape", [Pure,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "reinterpret the shape, keeping the row-major element order";
  let description = [{
    The result type gives the new shape; it holds as many elements as the
    input.

    ```mlir
    %y = kiln.reshape %x : tensor<1x128x768xf32> to tensor<1x128x12x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "permute dimensions";
  let description = [{
    Result dimension `i` is input dimension `permutation[i]`.

    ```mlir
    %y = kiln.transpose %x {permutation = array<i64: 0, 2, 1, 3>}
        : tensor<1x128x12x64xf32> -> tensor<1x12x128x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$permutation);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "strided slice with static bounds";
  let description = [{
    Dimension `i` of the result holds `sizes[i]` elements of the input,
    starting at `starts[i]` and stepping by `steps[i]` (non-zero; negative
    steps walk backwards). Every element read must lie inside the input.

    ```mlir
    %y = kiln.slice %x {starts = array<i64: 0, 0, 32>, sizes = array<i64: 1, 128, 32>,
                        steps = array<i64: 1, 1, 1>}
        : tensor<1x128x64xf32> -> tensor<1x128x32xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$starts,
                   DenseI64ArrayAttr:$sizes, DenseI64ArrayAttr:$steps);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

def Kiln_ConcatOp : Kiln_Op<"concat", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    SameOperandsElementType]> {
  let summary = "concatenate along one axis";
  let description = [{
    All operands have the same rank and agree on every dimension but `axis`.

    ```mlir
    %y = kiln.concat %a, %b {axis = 1 : i64}
        : (tensor<1x1x768xf32>, tensor<1x196x768xf32>) -> tensor<1x197x768xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$inputs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_GatherOp : Kiln_Op<"gather", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "gather slices along one axis (ONNX Gather)";
  let description = [{
    The result is `input.shape[:axis] + indices.shape + input.shape[axis+1:]`.
    Negative indices count from the end. An index outside
    `[-dim, dim)` is clamped into range at run time, so a bad index never
    reads outside the input.

    ```mlir
    %e = kiln.gather %table, %ids {axis = 0 : i64}
        : (tensor<32000x768xf32>, tensor<1x128xi64>) -> tensor<1x128x768xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_IndexTensor:$indices,
                   I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasFolder = 1;
  let hasCanonicalizer = 1;
}

def Kiln_GatherElementsOp : Kiln_Op<"gather_elements", [Pure,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "gather along an axis, element by element (ONNX GatherElements)";
  let description = [{
    `indices` has the input's rank; the result has the indices' shape and
    reads `input` at each index with the `axis` coordinate replaced by the
    index there. Negative indices count from the end; out-of-range ones are
    clamped.

    ```mlir
    %y = kiln.gather_elements %x, %i {axis = 1 : i64}
        : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_IndexTensor:$indices,
                   I64Attr:$axis);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_GatherNDOp : Kiln_Op<"gather_nd", [Pure, Kiln_DiagnoseInference,
    InferTypeOpAdaptor, AllElementTypesMatch<["input", "result"]>]> {
  let summary = "gather slices by multi-dimensional indices (ONNX GatherND)";
  let description = [{
    The last dimension of `indices` (size `q`) holds coordinates into the
    input's dimensions `[batch_dims, batch_dims + q)`; the leading
    `batch_dims` dimensions are shared by input and indices. The result is
    `indices.shape[:-1] + input.shape[batch_dims + q:]`. Coordinates clamp
    into range.

    ```mlir
    %y = kiln.gather_nd %x, %i : (tensor<2x3x4xf32>, tensor<5x2xi64>) -> tensor<5x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_IndexTensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $indices attr-dict `:` "
                       "functional-type(operands, results)";
}

def Kiln_ScatterElementsOp : Kiln_Op<"scatter_elements", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "scatter updates along an axis (ONNX ScatterElements)";
  let description = [{
    The result is `input` with, for every index position `p` of `indices`,
    the element at `p` (its `axis` coordinate replaced by `indices[p]`)
    combined with `updates[p]` by `reduction` (`none` replaces). Updates
    apply in row-major order of `p`. Out-of-range indices are clamped.

    ```mlir
    %y = kiln.scatter_elements %x, %i, %u {axis = 0 : i64}
        : (tensor<3x3xf32>, tensor<2x3xi64>, tensor<2x3xf32>) -> tensor<3x3xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_IndexTensor:$indices,
                   Kiln_Tensor:$updates, I64Attr:$axis,
                   DefaultValuedAttr<Kiln_ScatterReduction,
                     "::mlir::kiln::ScatterReduction::none">:$reduction);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $indices `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ScatterNDOp : Kiln_Op<"scatter_nd", [Pure,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "scatter slices by multi-dimensional indices (ONNX ScatterND)";
  let description = [{
    Each row of `indices` (last dimension `q`) addresses a slice
    `input[i0, ..., iq-1, :, ...]`, which is combined with the matching slice
    of `updates` (`indices.shape[:-1] + input.shape[q:]`) by `reduction`.
    Rows apply in order; coordinates clamp into range.

    ```mlir
    %y = kiln.scatter_nd %x, %i, %u : (tensor<4x4xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, Kiln_IndexTensor:$indices,
                   Kiln_Tensor:$updates,
                   DefaultValuedAttr<Kiln_ScatterReduction,
                     "::mlir::kiln::ScatterReduction::none">:$reduction);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input `,` $indices `,` $updates attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_ExpandOp : Kiln_Op<"expand", [Pure,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "broadcast to a larger shape";
  let description = [{
    Broadcasts `input` to the result shape with numpy's rules: the input's
    dimensions align with the trailing result dimensions and each is 1 or
    equal to the result's.

    ```mlir
    %y = kiln.expand %x : tensor<1x4x1x64xf32> to tensor<1x4x2x64xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

def Kiln_PadOp : Kiln_Op<"pad", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["input", "result"]>]> {
  let summary = "pad with a constant value";
  let description = [{
    `pads` lists the (non-negative) padding before every dimension, then
    after every one. New elements take `value`.

    ```mlir
    %y = kiln.pad %x {pads = array<i64: 0, 0, 1, 1, 0, 0, 1, 1>, value = 0.0 : f64}
        : tensor<1x3x8x8xf32> -> tensor<1x3x10x10xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$pads,
                   DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `->` type($result)";
  let hasFolder = 1;
}

#endif // KILN_DIALECT_KILN_IR_SHAPEOPS_TD
