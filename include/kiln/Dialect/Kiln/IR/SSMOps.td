//===- SSMOps.td - state-space model (Mamba) ops -----------*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_SSMOPS_TD
#define KILN_DIALECT_KILN_IR_SSMOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnEnums.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

def Kiln_SelectiveScanOp : Kiln_Op<"selective_scan", [Pure,
    AttrSizedOperandSegments, Kiln_DiagnoseInference, InferTypeOpAdaptor]> {
  let summary = "Mamba's selective scan (S6) recurrence";
  let description = [{
    With `u` and `delta` of shape `[Bt, Di, L]`, `A` of `[Di, N]`, `B` and
    `C` of `[Bt, N, L]`, runs for every batch `b` and channel `d`, from the
    state `h` (`[Bt, Di, N]`, zero or `initial_state`):

        dt   = delta[b,d,t] + delta_bias[d]      (softplus'd if delta_softplus)
        h[n] = exp(dt * A[d,n]) * h[n] + dt * B[b,n,t] * u[b,d,t]
        y    = sum_n h[n] * C[b,n,t] + D[d] * u[b,d,t]
        y    = y * silu(z[b,d,t])                (if z is given)

    The results are `y` (`[Bt, Di, L]`) and the final state (`[Bt, Di, N]`).
    Lowerings keep the state in registers and never materialize an
    `[L, Di, N]` tensor.

    ```mlir
    %y, %h = kiln.selective_scan %u, %dt, %A, %B, %C D(%D) z(%z) {delta_softplus = true}
        : (tensor<1x1536x64xf32>, tensor<1x1536x64xf32>, tensor<1536x16xf32>,
           tensor<1x16x64xf32>, tensor<1x16x64xf32>, tensor<1536xf32>,
           tensor<1x1536x64xf32>) -> (tensor<1x1536x64xf32>, tensor<1x1536x16xf32>)
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$u, Kiln_FloatTensor:$delta,
                   Kiln_FloatTensor:$A, Kiln_FloatTensor:$B,
                   Kiln_FloatTensor:$C, Optional<Kiln_FloatTensor>:$D,
                   Optional<Kiln_FloatTensor>:$z,
                   Optional<Kiln_FloatTensor>:$delta_bias,
                   Optional<Kiln_FloatTensor>:$initial_state,
                   DefaultValuedAttr<BoolAttr, "false">:$delta_softplus);
  let results = (outs Kiln_FloatTensor:$y, Kiln_FloatTensor:$final_state);
  let assemblyFormat = [{
    $u `,` $delta `,` $A `,` $B `,` $C (`D` `(` $D^ `)`)? (`z` `(` $z^ `)`)?
    (`delta_bias` `(` $delta_bias^ `)`)? (`state` `(` $initial_state^ `)`)?
    attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

def Kiln_CausalConv1dOp : Kiln_Op<"causal_conv1d", [Pure,
    AttrSizedOperandSegments, Kiln_DiagnoseInference, InferTypeOpAdaptor]> {
  let summary = "depthwise causal 1-D convolution with a carried state";
  let description = [{
    `input` is `[Bt, Di, L]` and `weight` is `[Di, K]`. Each channel is
    convolved with its own `K` taps over the sequence, looking only backwards:

        y[b,d,t] = bias[d] + sum_k weight[d,k] * x[b,d,t - (K-1) + k]

    where `x` is the input preceded by `state` (`[Bt, Di, K-1]`; zeros when
    absent). `activation = silu` applies SiLU to the result. The second
    result is the new state: the last `K-1` columns of `x`, for the next
    decode step.

    ```mlir
    %y, %s = kiln.causal_conv1d %x, %w bias(%b) activation silu
        : (tensor<1x1536x64xf32>, tensor<1536x4xf32>, tensor<1536xf32>)
        -> (tensor<1x1536x64xf32>, tensor<1x1536x3xf32>)
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input, Kiln_FloatTensor:$weight,
                   Optional<Kiln_FloatTensor>:$bias,
                   Optional<Kiln_FloatTensor>:$state,
                   DefaultValuedAttr<Kiln_Activation,
                     "::mlir::kiln::Activation::none">:$activation);
  let results = (outs Kiln_FloatTensor:$result, Kiln_FloatTensor:$final_state);
  let assemblyFormat = [{
    $input `,` $weight (`bias` `(` $bias^ `)`)? (`state` `(` $state^ `)`)?
    (`activation` $activation^)? attr-dict `:` functional-type(operands, results)
  }];
  let hasVerifier = 1;
}

#endif // KILN_DIALECT_KILN_IR_SSMOPS_TD
