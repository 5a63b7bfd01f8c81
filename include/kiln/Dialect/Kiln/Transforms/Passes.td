//===- Passes.td - kiln graph-stage passes -----------------*- tablegen -*-===//
//
// The graph stage sees through the way exporters spell common layers and
// rewrites those spellings into kiln's named ops, which later stages lower
// to dedicated kernels (flash attention, one-pass norms).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
#define KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def RecognizeActivations : Pass<"kiln-recognize-activations", "func::FuncOp"> {
  let summary = "Rewrite decomposed GELU and SiLU into kiln.gelu and kiln.silu";
  let description = [{
    Recognizes, in any association and operand order of the products and
    sums:

    - erf-GELU, `x * 0.5 * (1 + erf(x / sqrt(2)))` (division by `sqrt(2)`
      or multiplication by `1 / sqrt(2)`): `kiln.gelu %x`;
    - tanh-GELU, `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 x^3)))`
      with the cube as `pow(x, 3)` or `x * x * x`:
      `kiln.gelu %x {approximation = tanh}`;
    - SiLU, `x * sigmoid(x)`: `kiln.silu %x`.

    Constants must match to a relative `tolerance`; products whose factors
    are used elsewhere stay as they are (they are computed anyway).
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"gelu", "gelu", "bool", /*default=*/"true",
           "Recognize the erf and tanh spellings of GELU">,
    Option<"silu", "silu", "bool", /*default=*/"true",
           "Recognize x * sigmoid(x)">,
    Option<"tolerance", "tolerance", "double", /*default=*/"1e-5",
           "Relative tolerance when matching constants (0.5, sqrt(2), ...)">,
  ];
}

def RecognizeNorms : Pass<"kiln-recognize-norms", "func::FuncOp"> {
  let summary = "Rewrite decomposed RMS, layer and group norms into kiln ops";
  let description = [{
    Recognizes

    - RMSNorm, `x * rsqrt(mean(x^2) + eps) [* w]`, with the reciprocal
      square root spelled `rsqrt`, `1 / sqrt` or `reciprocal(sqrt)`, or the
      whole as `x / sqrt(mean(x^2) + eps)`, the square as `pow(x, 2)` or
      `x * x`: `kiln.rms_norm`;
    - LayerNorm, `(x - mean(x)) / sqrt(mean((x - mean(x))^2) + eps)
      [* g] [+ b]`: `kiln.layer_norm`;
    - GroupNorm as exported by PyTorch: a reshape to `[N, G, -1]`, an
      instance norm with unit scale and zero bias, a reshape back and a
      per-channel affine `* g + b`: `kiln.group_norm` with `G` groups.

    The mean must run over the trailing dimensions `[axis, rank)` with
    `keepdims`; the weights must have the shape of the normalized
    dimensions (after dropping leading ones) or be per-channel for group
    norm. Anything else stays as it is.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"rmsNorm", "rms-norm", "bool", /*default=*/"true",
           "Recognize RMSNorm">,
    Option<"layerNorm", "layer-norm", "bool", /*default=*/"true",
           "Recognize decomposed LayerNorm">,
    Option<"groupNorm", "group-norm", "bool", /*default=*/"true",
           "Recognize reshape + instance-norm GroupNorm">,
    Option<"maxEpsilon", "max-epsilon", "double", /*default=*/"1e-2",
           "Largest epsilon accepted (a larger added constant is not a "
           "norm's epsilon)">,
  ];
}

def RecognizeRotary : Pass<"kiln-recognize-rotary", "func::FuncOp"> {
  let summary = "Rewrite rotate-half rotary embeddings into kiln.rotary";
  let description = [{
    Recognizes GPT-NeoX/Llama rotary embeddings,
    `x * cos + rotate_half(x) * sin` with
    `rotate_half(x) = concat(-x[..., D/2:], x[..., :D/2])`, where both
    halves of `cos` and `sin` along the last dimension are provably equal
    (they are `cos`/`sin` of `concat(f, f)`, constants with equal halves, or
    slices, gathers and reshapes of such along other dimensions). The
    result is `kiln.rotary %x, cos[..., :D/2], sin[..., :D/2]`.
    GPT-J's interleaved spelling is not recognized.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def RecognizeAttention : Pass<"kiln-recognize-attention", "func::FuncOp"> {
  let summary = "Rewrite matmul/softmax/matmul attention into kiln.attention";
  let description = [{
    Recognizes `softmax(scale * Q K^T [+ mask]) V`, as exporters spell it:

    - `K^T` is a transpose of the last two dimensions of `K` (absorbed), or
      any other value (then a transpose is inserted);
    - the scale is a multiplication or division of the scores by a scalar
      constant, of `Q`, or of both `Q` and `K`;
    - the mask is an added float tensor or a `select(cond, scores, fill)`
      with `fill = -inf`; a constant mask that hides exactly the keys
      `j > i + Skv - Sq` becomes `causal = true` (`detect-causal`), also
      with a finite fill at most `mask-threshold` (no row is fully masked
      then, so the result is the same);
    - grouped-query attention's KV repetition,
      `reshape(expand(reshape(kv)))` from `[B, Hkv, S, D]` to
      `[B, Hkv * rep, S, D]`, is looked through (`absorb-grouped-kv`), so
      that each KV head is read once per group.

    Rank-3 `[N, S, D]` attention is rewritten on `[N, 1, S, D]` views. The
    probabilities must have no other use (a model returning its attention
    weights keeps them), the softmax must run over the keys, and the
    element type must be a float.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"detectCausal", "detect-causal", "bool", /*default=*/"true",
           "Turn constant causal masks into causal = true">,
    Option<"absorbGroupedKV", "absorb-grouped-kv", "bool", /*default=*/"true",
           "Look through the repetition of KV heads (grouped-query "
           "attention)">,
    Option<"maskThreshold", "mask-threshold", "double", /*default=*/"-1e30",
           "Mask values at most this are treated as hiding the key">,
  ];
}

def RecognizeSelectiveScan : Pass<"kiln-recognize-selective-scan",
                                  "func::FuncOp"> {
  let summary = "Re-roll Mamba's unrolled recurrence into kiln.selective_scan";
  let description = [{
    torch.onnx unrolls a Python loop over time, so a Mamba layer exported
    from its reference scan is `L` copies of

    ```
    dA_t = exp(dt_t * A)                      // dt_t, u_t: [Bt, Di, 1]
    h_t  = dA_t * h_{t-1} + dt_t * B_t * u_t  // B_t, C_t: [Bt, 1, N]
    y_t  = reduce_sum(h_t * C_t, axes = [2])  // h_t: [Bt, Di, N]
    ```

    (products in any order and association) followed by a stack of the
    `y_t` (reshapes and one concat along a time axis). Each per-step operand
    must be time step `t` -- a gather of the constant index `t`, or a size-1
    slice, seen through reshapes -- of one whole-sequence tensor, and the
    steps must cover its time axis; `A` (`[Di, N]` or `[1, Di, N]`) must be
    the same value in every step, and every intermediate state must feed
    only its output and the next step. The chain becomes one
    `kiln.selective_scan`; `h_{-1}` becomes its `initial_state` unless it is
    a zero constant, and the last state's other uses read `final_state`.
    A single step (`L = 1`, a decode step) is re-rolled too.

    With `fold-epilogue`, the skip connection `+ u * D` (or `+ u`, D = 1)
    and the gate `* silu(z)` after the stack become the op's `D` and `z`
    operands when they use u's tensor layout.

    With `conv1d`, a depthwise `kiln.conv` (groups = channels, unit stride
    and dilation) that is causal becomes `kiln.causal_conv1d`, with a
    following `kiln.silu` as its activation:

    - padded by `K-1` in front (and anything behind, if only the first `L`
      outputs are sliced off): the prefill form, which computes `L` outputs
      instead of `L + K - 1`;
    - unpadded over `concat(state, x)` with a state of `K-1` steps: the
      decode form.

    Slices of the last `K-1` steps of the sequence the convolution reads
    (`x`, or the concat) -- the state a decode step continues from -- become
    the op's `final_state` when all their uses come after it.

    Anything else -- a step that differs, an `A` that changes between
    steps, outputs that are not stacked in time order -- stays as it is.
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"scan", "scan", "bool", /*default=*/"true",
           "Re-roll the unrolled selective scan">,
    Option<"foldEpilogue", "fold-epilogue", "bool", /*default=*/"true",
           "Fold the D skip and the silu(z) gate into the scan">,
    Option<"conv1d", "conv1d", "bool", /*default=*/"true",
           "Recognize causal depthwise convolutions">,
  ];
}

def UpsampleConv : Pass<"kiln-upsample-conv", "func::FuncOp"> {
  let summary = "Run a conv after a 2x nearest upsample at the low resolution";
  let description = [{
    A UNet decoder upsamples with a 2x nearest resize followed by a
    `(2p+1) x (2q+1)` convolution with padding `p, q` and stride 1 (Stable
    Diffusion's Upsample2D: 3x3, padding 1). Each output pixel of a given
    parity `(a, b)` then reads only `(p+1) x (q+1)` distinct input pixels:
    the upsampled taps that land on the same low-resolution pixel can be
    summed in the weight. This pass rewrites such a `kiln.conv` with a
    constant f32 weight into four convolutions of the low-resolution input,
    one per output parity, each with its folded `(p+1) x (q+1)` weight and
    the padding that aligns it, interleaved into the full-resolution result
    by reshapes and concats. For 3x3 kernels this is 4 instead of 9
    multiply-adds per output (2.25x fewer FLOPs), and the upsampled image is
    never built. The result is the same sum in another order.

    The upsample is recognized structurally: the conv input must be the
    low-resolution tensor through any chain of `kiln.reshape` and
    `kiln.expand` that is, element for element, `x[n, c, i / 2, j / 2]`
    (the importer spells ONNX's nearest Resize and Upsample this way), which
    the pass proves by tracking each dimension as strided pieces of `x`.

    ```mlir
    %u = ... nearest 2x upsample of %x : tensor<1x8x4x4xf32> ...
    %y = kiln.conv %u, %w, %b {padding = array<i64: 1, 1, 1, 1>}
        : (tensor<1x8x8x8xf32>, tensor<16x8x3x3xf32>, tensor<16xf32>) -> tensor<1x16x8x8xf32>
    // becomes four kiln.conv %x, %w_ab, %b with 2x2 weights and paddings
    // [1, 1, 0, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 0, 1, 1], each
    // tensor<1x16x4x4xf32>, interleaved into tensor<1x16x8x8xf32>.
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def FuseSiblingMatmuls : Pass<"kiln-fuse-sibling-matmuls", "func::FuncOp"> {
  let summary = "Run matmuls of one input with constant weights as one product";
  let description = [{
    `kiln.matmul`s in one block that share their lhs and have 2-D f32
    constant weights (or transposes of them) with the same K, such as a
    layer's query/key/value or gate/up projections, become one matmul with
    the weights concatenated along N (`[K, N1 + N2 + ...]`, stored once)
    and one `kiln.slice` of its result per original product. At batch-1
    decode, where a product takes tens of microseconds, this saves a kernel
    call, a fork-join and a pass over the activation per sibling; at
    prefill the larger N keeps the kernel busier. Weight quantization and
    bf16 conversion run after it and treat the fused weight as one (its
    columns are quantized exactly as the separate ones were). The fused
    product's location fuses the originals', so reports name them all.
    Matmuls whose node or weight name matches `exclude` stay separate.

    ```mlir
    %q = kiln.matmul %x, %wq : (tensor<1x768xf32>, tensor<768x768xf32>) -> tensor<1x768xf32>
    %k = kiln.matmul %x, %wk : (tensor<1x768xf32>, tensor<768x256xf32>) -> tensor<1x256xf32>
    // becomes
    %qk = kiln.matmul %x, %wqk : (tensor<1x768xf32>, tensor<768x1024xf32>) -> tensor<1x1024xf32>
    %q = kiln.slice %qk {starts = array<i64: 0, 0>, sizes = array<i64: 1, 768>, steps = array<i64: 1, 1>} : tensor<1x1024xf32> -> tensor<1x768xf32>
    %k = kiln.slice %qk {starts = array<i64: 0, 768>, sizes = array<i64: 1, 256>, steps = array<i64: 1, 1>} : tensor<1x1024xf32> -> tensor<1x256xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"exclude", "exclude", "std::string", /*default=*/"\"\"",
           "Regular expression: matmuls whose node or weight name matches "
           "stay separate">,
  ];
}

def QuantizeWeights : Pass<"kiln-quantize-weights", "func::FuncOp"> {
  let summary = "Quantize the constant weights of matmuls to int8 or int4";
  let description = [{
    Rewrites `kiln.matmul %x, %w` whose weight `%w` is a 2-D f32 constant
    (or the transpose of one, as a `[N, K]` torch Linear weight exports)
    into `kiln.qmatmul`, which stores the weight quantized and packed in the
    layout the runtime's kernels stream (runtime/ukernels/matmul_qpack.h):

    - `mode=int8`: per-output-channel symmetric int8,
      `s[n] = max_k |W[k, n]| / 127`, `q = round(W / s)`;
    - `mode=int4`: group-wise int4 over `group-size` consecutive rows
      of each column, two values per byte; symmetric (`q - 8` in
      `[-8, 7]`, `s = max |W| / 7` over the group) or, with `zero-points`,
      asymmetric (`s = (max - min) / 15`, `z = round(-min / s)`).

    Scales that minimize the group's squared error are searched among
    `max |W| / 7 * f` for a few shrink factors `f <= 1` (clipping the
    largest values lowers the error of the others). int4 scales are stored
    as f16 with `half-scales` (the default): 4.5 bits per weight in groups
    of 32 instead of 5, and a relative scale error of at most 2^-11, far
    below int4's own; the values are quantized with the rounded scale. A
    weight with a scale that is not a normal f16 number (below 2^-14 or
    above 65504) keeps f32 scales.

    A weight is skipped (stays f32) when its node or weight name matches
    the `exclude` regular expression, when it has fewer than `min-elements`
    elements, or, for int4, when `group-size` does not divide K. The
    relative L2 error of the dequantized weight, `|W - W'| / |W|`, is kept
    on the op as `weight_error`; `kiln-compile --report` lists it per layer.

    ```mlir
    %w = kiln.constant dense_resource<w> : tensor<768x2048xf32>
    %y = kiln.matmul %x, %w : (tensor<1x1x768xf32>, tensor<768x2048xf32>) -> tensor<1x1x2048xf32>
    // mode=int4 group-size=32:
    %q = kiln.constant dense_resource<w.q4> : tensor<32x768x32xi8>
    %s = kiln.constant dense_resource<w.scales> : tensor<24x2048xf32>
    %y = kiln.qmatmul %x, %q, %s {bits = 4 : i64, group_size = 32 : i64, weight_error = 0.08 : f64}
        : (tensor<1x1x768xf32>, tensor<32x768x32xi8>, tensor<24x2048xf32>) -> tensor<1x1x2048xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"int8\"",
           "Quantization: int8 (per output channel) or int4 (group-wise)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "int4: rows of a column that share a scale (32, 64 or 128)">,
    Option<"zeroPoints", "zero-points", "bool", /*default=*/"false",
           "int4: asymmetric groups with a zero point each">,
    Option<"halfScales", "half-scales", "bool", /*default=*/"true",
           "int4: f16 scales (f32 for a weight whose scales f16 cannot "
           "hold as normal numbers)">,
    Option<"exclude", "exclude", "std::string", /*default=*/"\"\"",
           "Regular expression: weights whose node or weight name matches "
           "stay f32 (e.g. lm_head)">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Smallest weight (in elements) worth quantizing">,
  ];
}

def QuantizeEmbeddings : Pass<"kiln-quantize-embeddings", "func::FuncOp"> {
  let summary = "Store constant gather tables (token embeddings) as int8 or int4 rows";
  let description = [{
    After `kiln-quantize-weights`, the largest f32 tensor left in an LLM is
    its token embedding table (`vocab x d`, a quarter of a 100M-parameter
    model). A gather reads only the rows of its indices, so the table costs
    size, not bandwidth: this pass stores it as int8 with one symmetric
    scale per row (`s[v] = max_d |T[v, d]| / 127`), gathers the int8 rows
    and their scales, and dequantizes the gathered rows only. With
    `mode=int4`, values are int4 (`s = max |group| / 7`, one scale per
    `group-size` consecutive values of a row), two per byte (two's
    complement nibbles, the even element low), and the gathered bytes are
    unpacked with int8 arithmetic before the dequantization; a table whose
    row length is not a multiple of `group-size` stays int8. int4 scales
    are f16 with `half-scales` (the default; as in `kiln-quantize-weights`,
    the values are quantized with the rounded scale, and a table with a
    scale that is not a normal f16 number keeps f32 scales).

    It rewrites `kiln.gather %T, %ids {axis = 0}` whose table is a 2-D f32
    constant. A table that a matmul also reads (tied embeddings) keeps its
    f32 constant for that matmul. Tables whose node or weight name matches
    `exclude`, or with fewer than `min-elements` elements, stay f32. The
    relative L2 error of the dequantized table is kept on the
    `kiln.dequantize` as `kiln.weight_error`; `kiln-compile --report` lists
    it with the quantized matmul weights.

    ```mlir
    %t = kiln.constant dense_resource<embed> : tensor<32000x768xf32>
    %h = kiln.gather %t, %ids {axis = 0 : i64} : (tensor<32000x768xf32>, tensor<1x8xi64>) -> tensor<1x8x768xf32>
    // becomes
    %q = kiln.constant dense_resource<embed_rows_q8> : tensor<32000x768xi8>
    %s = kiln.constant dense_resource<embed_row_scales> : tensor<32000x1xf32>
    %hq = kiln.gather %q, %ids {axis = 0 : i64} : (tensor<32000x768xi8>, tensor<1x8xi64>) -> tensor<1x8x768xi8>
    %hs = kiln.gather %s, %ids {axis = 0 : i64} : (tensor<32000x1xf32>, tensor<1x8xi64>) -> tensor<1x8x1xf32>
    %h = kiln.dequantize %hq, %hs {axis = 2 : i64, block_size = 768 : i64, kiln.weight_error = 0.004 : f64}
        : (tensor<1x8x768xi8>, tensor<1x8x1xf32>) -> tensor<1x8x768xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"mode", "mode", "std::string", /*default=*/"\"int8\"",
           "int8 (one scale per row) or int4 (one scale per group)">,
    Option<"groupSize", "group-size", "int64_t", /*default=*/"32",
           "int4: consecutive values of a row that share a scale (even)">,
    Option<"halfScales", "half-scales", "bool", /*default=*/"true",
           "int4: f16 scales (f32 for a table whose scales f16 cannot hold "
           "as normal numbers)">,
    Option<"exclude", "exclude", "std::string", /*default=*/"\"\"",
           "Regular expression: tables whose node or weight name matches "
           "stay f32">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Smallest table (in elements) worth quantizing">,
  ];
}

def FoldQdq : Pass<"kiln-fold-qdq", "func::FuncOp"> {
  let summary = "Fold dequantized int8 matmul weights (ONNX QDQ) into kiln.qmatmul";
  let description = [{
    An already-quantized ONNX model stores a weight as an int8 (or uint8)
    initializer and a `DequantizeLinear` (`kiln.dequantize`) in front of the
    `MatMul` or `Gemm` that reads it. This pass rewrites
    `kiln.matmul %x, kiln.dequantize(%q, %s [, %z])` (also through a
    `[1, 0]` transpose, as a torch `Linear` weight `[N, K]` exports) into
    `kiln.qmatmul`, so the product runs on the int8 kernels and the artifact
    stores the int8 bytes, never an fp32 copy.

    Matched: `%q` a 2-D `i8` or `ui8` constant, `%s` an f32 constant scalar
    (per tensor) or per-axis along the output channel (`N`), `%z` (optional)
    a constant. Then `W[k, n] = (q - z) * s[n]`, which `kiln.qmatmul`
    represents exactly (int8, `group_size = K`, `weight_error = 0`) when
    every `q - z` lies in `[-128, 127]` (signed int8 with zero point 0, or
    uint8 with 128: the usual symmetric forms). Otherwise (uint8 with other
    zero points: `kiln.qmatmul` has no int8 zero points) the dequantized
    weight is requantized per output channel, symmetric, and
    `weight_error` records the relative L2 error against it.

    Left alone: a non-constant quantized input, per-axis scales along the
    contraction axis, block-wise (`block_size > 0`) scales, 4-bit inputs,
    and a dequantized weight that feeds anything but a matmul's rhs.

    ```mlir
    %q = kiln.constant dense_resource<w> : tensor<768x2048xi8>
    %s = kiln.constant dense_resource<s> : tensor<2048xf32>
    %w = kiln.dequantize %q, %s {axis = 1 : i64} : (tensor<768x2048xi8>, tensor<2048xf32>) -> tensor<768x2048xf32>
    %y = kiln.matmul %x, %w : (tensor<1x768xf32>, tensor<768x2048xf32>) -> tensor<1x2048xf32>
    // becomes
    %y = kiln.qmatmul %x, %wq, %s2 {bits = 8 : i64, group_size = 768 : i64, weight_error = 0.0 : f64}
        : (tensor<1x768xf32>, tensor<32x768x64xi8>, tensor<1x2048xf32>) -> tensor<1x2048xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def Bf16Weights : Pass<"kiln-bf16-weights", "func::FuncOp"> {
  let summary = "Run matmuls and convolutions with constant weights in bf16";
  let description = [{
    Rewrites `kiln.matmul %x, %w` with an f32 result and a 2-D f32 constant
    weight (or its transpose) into a matmul of bf16 operands with an f32
    result: the weight is stored in bf16 (rounded to nearest even, half the
    bytes), `%x` is cast to bf16, and the product accumulates in fp32
    (`kiln_uk_matmul_bf16`, `vdpbf16ps`). A 2-D single-group `kiln.conv`
    with a constant f32 weight gets the weight in bf16 and keeps its f32
    input, which the conv micro-kernel rounds to bf16 as it packs
    (`kiln_uk_conv2d_bf16`). Everything else (softmax, norms, attention,
    the scan state) stays f32. Runs after `kiln-quantize-weights`, so
    quantized weights are left alone.

    ```mlir
    %y = kiln.matmul %x, %w : (tensor<4x768xf32>, tensor<768x768xf32>) -> tensor<4x768xf32>
    // becomes
    %xb = kiln.cast %x : tensor<4x768xf32> to tensor<4x768xbf16>
    %y = kiln.matmul %xb, %wb : (tensor<4x768xbf16>, tensor<768x768xbf16>) -> tensor<4x768xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
  let options = [
    Option<"exclude", "exclude", "std::string", /*default=*/"\"\"",
           "Regular expression: weights whose node or weight name matches "
           "stay f32">,
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Smallest weight (in elements) worth converting">,
  ];
}

#endif // KILN_DIALECT_KILN_TRANSFORMS_PASSES_TD
