//===- Passes.td - kiln conversion passes ------------------*- tablegen -*-===//

#ifndef KILN_CONVERSION_PASSES_TD
#define KILN_CONVERSION_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"kiln-to-linalg", "ModuleOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    The `lower` stage: every kiln op becomes `linalg` ops (named where
    upstream has one: matmul, batch_matmul, conv_2d_nchw_fchw,
    conv_2d_ngchw_gfchw, pooling, transpose, fill; `linalg.generic`
    otherwise) on tensors, with `tensor` ops for data movement. The lowering
    is numerically careful: softmax subtracts the row maximum, norms compute
    fp32 statistics with a two-pass variance, GELU is exact (erf) or the tanh
    form as the op asks, softplus never overflows, and integer division never
    traps. Narrow floats compute in fp32.

    Unsigned element types (`ui8`, `ui4`: quantized data) become signless
    tensors, at function boundaries too.

    With `lower-fused-ops=false`, `kiln.attention`, `kiln.selective_scan` and
    `kiln.causal_conv1d` stay for the codegen stage, which gives them fused
    kernels; otherwise they get reference decompositions. The selective
    scan's is a loop over time whose body is linalg ops over the batch and
    channels (`scan=steps`, the default: each step parallel on the CPU's
    pool), or (`scan=channels`, for the CUDA target) an `scf.forall` over
    the (batch, channel) pairs, each running the recurrence over time and
    its N states, with its state in its own row of the final state: one
    GPU thread per pair, and one kernel instead of kernels per time step.
    Attention's decomposition materializes the `[Sq, Skv]` scores, each
    step a linalg op (`attention=scores`, the default), or (`attention=rows`,
    for the CUDA target) is an `scf.forall` over the (batch, head, query)
    rows, each running an online softmax over its keys (a running maximum
    rescales the sum and the accumulated output row), stopping at its last
    causally visible key: one GPU thread per row, and no scores in memory.
    With fewer than 2048 rows and at least 256 keys (a decode step), each
    row's keys are split into ranges of at least 128 (up to 2048 row-range
    pairs): a first loop leaves each range's unnormalized row, maximum and
    sum, a second combines a row's ranges (flash-decoding).
    `kiln.qmatmul` (a packed int8/int4 weight, when the CPU micro-kernels
    do not take it) unpacks the weight and dequantizes it into an f32
    buffer before a matmul, or (`fuse-dequant`, for the CUDA target) is one
    `linalg.generic` contraction that reads the packed byte, scale and zero
    point of each weight element in its loop.

    The CPU lowering needs static shapes; an op with a dynamic dimension is
    reported at its location. One exception: attention whose K and V have a
    dynamic length and are each a prefix (an `extract_slice`) of a static
    tensor, as a decoder reads its KV cache up to the current length. Its
    decomposition reads the whole static slice and masks the keys at and
    past the length (causally: query i sees key j when
    j <= i + length - Sq), so everything it builds is static.
  }];
  let options = [
    Option<"lowerFusedOps", "lower-fused-ops", "bool", /*default=*/"true",
           "Decompose kiln.attention, kiln.selective_scan and "
           "kiln.causal_conv1d too (reference lowering)">,
    Option<"fuseDequant", "fuse-dequant", "bool", /*default=*/"false",
           "kiln.qmatmul as one contraction that dequantizes the packed "
           "weight where it reads it (the CUDA target's), instead of "
           "unpacking and dequantizing it into buffers first">,
    Option<"attention", "attention", "std::string", /*default=*/"\"scores\"",
           "Attention's reference lowering: scores (materialized, each step "
           "a parallel linalg op) or rows (one parallel loop over query "
           "rows, each an online softmax; the CUDA target's)">,
    Option<"scan", "scan", "std::string", /*default=*/"\"steps\"",
           "The selective scan's reference lowering: steps (a loop over "
           "time of linalg ops, each parallel) or channels (one parallel "
           "loop over batch and channel, each running the recurrence; the "
           "CUDA target's)">
  ];
  let dependentDialects = [
    "::mlir::arith::ArithDialect", "::mlir::linalg::LinalgDialect",
    "::mlir::math::MathDialect", "::mlir::scf::SCFDialect",
    "::mlir::tensor::TensorDialect"
  ];
}

#endif // KILN_CONVERSION_PASSES_TD
