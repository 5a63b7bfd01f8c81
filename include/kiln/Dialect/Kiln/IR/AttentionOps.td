//===- AttentionOps.td - attention and rotary embedding ----*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_ATTENTIONOPS_TD
#define KILN_DIALECT_KILN_IR_ATTENTIONOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_AttentionOp : Kiln_Op<"attention", [Pure, Kiln_DiagnoseInference, InferTypeOpAdaptor,
    AllElementTypesMatch<["query", "key", "value", "result"]>]> {
  let summary = "scaled dot-product attention with grouped KV heads";
  let description = [{
    `query` is `[B, Hq, Sq, D]`, `key` is `[B, Hkv, Skv, D]` and `value` is
    `[B, Hkv, Skv, Dv]`; `Hq` is a multiple of `Hkv` and query head `h` reads
    KV head `h / (Hq / Hkv)` (grouped-query attention; `Hkv = Hq` is
    multi-head, `Hkv = 1` multi-query). The result is `[B, Hq, Sq, Dv]`:

        softmax(scale * Q K^T + mask) V

    `causal` masks key `j` from query `i` when `j > i + Skv - Sq` (aligned at
    the bottom right, so a decode step with a KV cache sees every past key).
    The optional `mask` broadcasts to `[B, Hq, Sq, Skv]`: an `i1` mask keeps
    the positions where it is true; a float mask is added to the scores.
    A row whose keys are all masked yields zeros.

    ```mlir
    %o = kiln.attention %q, %k, %v {scale = 0.125 : f64, causal = true}
        : (tensor<1x8x128x64xf32>, tensor<1x2x128x64xf32>, tensor<1x2x128x64xf32>) -> tensor<1x8x128x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$query, Kiln_FloatTensor:$key,
                   Kiln_FloatTensor:$value, Optional<Kiln_Tensor>:$mask,
                   F64Attr:$scale, DefaultValuedAttr<BoolAttr, "false">:$causal);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$query `,` $key `,` $value (`mask` `(` $mask^ `)`)? "
                       "attr-dict `:` functional-type(operands, results)";
  let hasVerifier = 1;
}

def Kiln_RotaryOp : Kiln_Op<"rotary", [Pure, Kiln_Elementwise,
    AllTypesMatch<["input", "result"]>]> {
  let summary = "rotary position embedding";
  let description = [{
    Rotates pairs of features of `input` (`[..., S, D]`, `D` even) by the
    angles whose cosines and sines `cos` and `sin` hold; these have shape
    `[..., S, D/2]` broadcastable against the input's leading dimensions.
    Without `interleaved` the pairs are `(i, i + D/2)` (GPT-NeoX and Llama's
    rotate-half); with it they are `(2i, 2i + 1)` (GPT-J):

        out[a] = x[a] * cos[i] - x[b] * sin[i]
        out[b] = x[b] * cos[i] + x[a] * sin[i]

    ```mlir
    %y = kiln.rotary %x, %cos, %sin
        : (tensor<1x8x128x64xf32>, tensor<128x32xf32>, tensor<128x32xf32>) -> tensor<1x8x128x64xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$cos,
                   Kiln_FloatTensor:$sin,
                   DefaultValuedAttr<BoolAttr, "false">:$interleaved);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input `,` $cos `,` $sin attr-dict `:` "
                       "functional-type(operands, results)";
  let hasVerifier = 1;
}

#endif // KILN_DIALECT_KILN_IR_ATTENTIONOPS_TD
