//===- ukernels.h - the runtime's micro-kernels, as generated code calls them
//-===//
//
// kiln_rt.ukernel "NAME" becomes a call of NAME (kiln-lower-to-llvm): every
// buffer operand passes as its base pointer (offset applied), then its sizes,
// then its strides in elements, each an int64_t; scalar operands pass by
// value; `ins` come first, then `outs`; nothing is returned. The signatures
// below are that flattening written out. Sizes and strides are in elements;
// strides may be anything (0 for a broadcast dimension), kernels must not
// assume a dense layout even if they have a fast path for one.
//
// Kernels run on the calling thread and spread their work on the runtime's
// thread pool (kiln_rt_parallel_for); they may allocate their own scratch
// (packing buffers) and must be safe to call from several models at once.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_RUNTIME_UKERNELS_H
#define KILN_RUNTIME_UKERNELS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KILN_UK_API __attribute__((visibility("default")))

/// Flags of the matmul kernels.
enum {
  /// C = act(A B + bias) + C: the old contents of C are added after the
  /// activation (a residual connection); without it, C is overwritten.
  KILN_UK_ACCUMULATE = 1,
  /// B is given transposed: the buffer is [batchB, N, K] (its sizes and
  /// strides in that order), as torch's Linear weights are stored.
  KILN_UK_TRANSPOSE_B = 2,
};
/// Activation of the matmul kernels, in bits 8-15 of `flags`.
enum {
  KILN_UK_ACT_NONE = 0,
  KILN_UK_ACT_RELU = 1,
  KILN_UK_ACT_GELU_ERF = 2,
  KILN_UK_ACT_GELU_TANH = 3,
  KILN_UK_ACT_SILU = 4,
};
#define KILN_UK_ACT_SHIFT 8
#define KILN_UK_ACT_MASK 0xff00

/// Batched matrix product C[b] = act(A[b] B[b] + bias) (+ C[b]), with
/// A: [batchA, M, K], B: [batchB, K, N], C: [batch, M, N]. batchA and batchB
/// are 1 or batch (a size-1 batch is broadcast, e.g. weights shared by all
/// batches). fp32 accumulation.
KILN_UK_API void kiln_uk_matmul_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const float *b, int64_t bBatch,
    int64_t bK, int64_t bN, int64_t bStrideB, int64_t bStrideK,
    int64_t bStrideN, int64_t flags, float *c, int64_t cBatch, int64_t cM,
    int64_t cN, int64_t cStrideB, int64_t cStrideM, int64_t cStrideN);

/// The same with a bias vector of N values added to every row before the
/// activation.
KILN_UK_API void kiln_uk_matmul_bias_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const float *b, int64_t bBatch,
    int64_t bK, int64_t bN, int64_t bStrideB, int64_t bStrideK,
    int64_t bStrideN, const float *bias, int64_t biasN, int64_t biasStride,
    int64_t flags, float *c, int64_t cBatch, int64_t cM, int64_t cN,
    int64_t cStrideB, int64_t cStrideM, int64_t cStrideN);

/// bf16 operands (raw bfloat16 bits), fp32 accumulation and result.
KILN_UK_API void kiln_uk_matmul_bf16(
    const uint16_t *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const uint16_t *b, int64_t bBatch,
    int64_t bK, int64_t bN, int64_t bStrideB, int64_t bStrideK,
    int64_t bStrideN, int64_t flags, float *c, int64_t cBatch, int64_t cM,
    int64_t cN, int64_t cStrideB, int64_t cStrideM, int64_t cStrideN);

/// Flags of the attention kernels.
enum {
  /// Key j is hidden from query i when j > i + Skv - Sq.
  KILN_UK_CAUSAL = 1,
};

/// Scaled dot-product attention, O = softmax(scale Q K^T [+ mask]) V, with
/// Q: [B, Hq, Sq, D], K: [B, Hkv, Skv, D], V: [B, Hkv, Skv, Dv],
/// O: [B, Hq, Sq, Dv]; query head h reads KV head h / (Hq / Hkv). A row whose
/// keys are all masked yields zeros. Flash-style: extra memory is
/// O(block * (D + Dv)) per thread, never O(Sq * Skv).
KILN_UK_API void kiln_uk_attention_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD);

/// The same with an additive float mask [mB, mH, Sq, Skv] where each of mB,
/// mH may be 1 (broadcast) and Sq, Skv may be 1 too (a size-1 dimension
/// broadcasts); -inf hides a key.
KILN_UK_API void kiln_uk_attention_mask_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const float *mask, int64_t mB, int64_t mH, int64_t mS, int64_t mT,
    int64_t mStrideB, int64_t mStrideH, int64_t mStrideS, int64_t mStrideT,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD);

/// The same with a boolean mask (one byte per element, nonzero keeps the
/// key), broadcast like the float mask.
KILN_UK_API void kiln_uk_attention_boolmask_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const uint8_t *mask, int64_t mB, int64_t mH, int64_t mS, int64_t mT,
    int64_t mStrideB, int64_t mStrideH, int64_t mStrideS, int64_t mStrideT,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD);

/// Attention over keys and values given in two parts each, K = [K1; K2] and
/// V = [V1; V2] along the sequence (a KV cache and the new tokens' keys):
/// the same as kiln_uk_attention_f32 on the concatenations, which are never
/// built. K1, V1: [B|1, Hkv, S1, D|Dv]; K2, V2: [B|1, Hkv, S2, D|Dv]; Skv =
/// S1 + S2 for the causal offset and the mask.
KILN_UK_API void kiln_uk_attention_kv2_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *k2, int64_t k2B, int64_t k2H, int64_t k2S, int64_t k2D,
    int64_t k2StrideB, int64_t k2StrideH, int64_t k2StrideS, int64_t k2StrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const float *v2, int64_t v2B, int64_t v2H, int64_t v2S, int64_t v2D,
    int64_t v2StrideB, int64_t v2StrideH, int64_t v2StrideS, int64_t v2StrideD,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD);

/// The same with a float mask [mB, mH, Sq, Skv] (as
/// kiln_uk_attention_mask_f32).
KILN_UK_API void kiln_uk_attention_kv2_mask_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *k2, int64_t k2B, int64_t k2H, int64_t k2S, int64_t k2D,
    int64_t k2StrideB, int64_t k2StrideH, int64_t k2StrideS, int64_t k2StrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const float *v2, int64_t v2B, int64_t v2H, int64_t v2S, int64_t v2D,
    int64_t v2StrideB, int64_t v2StrideH, int64_t v2StrideS, int64_t v2StrideD,
    const float *m, int64_t mB, int64_t mH, int64_t mS, int64_t mD,
    int64_t mStrideB, int64_t mStrideH, int64_t mStrideS, int64_t mStrideD,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD);

/// The same with a boolean mask (as kiln_uk_attention_boolmask_f32).
KILN_UK_API void kiln_uk_attention_kv2_boolmask_f32(
    const float *q, int64_t qB, int64_t qH, int64_t qS, int64_t qD,
    int64_t qStrideB, int64_t qStrideH, int64_t qStrideS, int64_t qStrideD,
    const float *k, int64_t kB, int64_t kH, int64_t kS, int64_t kD,
    int64_t kStrideB, int64_t kStrideH, int64_t kStrideS, int64_t kStrideD,
    const float *k2, int64_t k2B, int64_t k2H, int64_t k2S, int64_t k2D,
    int64_t k2StrideB, int64_t k2StrideH, int64_t k2StrideS, int64_t k2StrideD,
    const float *v, int64_t vB, int64_t vH, int64_t vS, int64_t vD,
    int64_t vStrideB, int64_t vStrideH, int64_t vStrideS, int64_t vStrideD,
    const float *v2, int64_t v2B, int64_t v2H, int64_t v2S, int64_t v2D,
    int64_t v2StrideB, int64_t v2StrideH, int64_t v2StrideS, int64_t v2StrideD,
    const uint8_t *m, int64_t mB, int64_t mH, int64_t mS, int64_t mD,
    int64_t mStrideB, int64_t mStrideH, int64_t mStrideS, int64_t mStrideD,
    double scale, int64_t flags, float *o, int64_t oB, int64_t oH, int64_t oS,
    int64_t oD, int64_t oStrideB, int64_t oStrideH, int64_t oStrideS,
    int64_t oStrideD);

/// kiln_uk_matmul_f32 with B given packed (the layout of matmul_pack.h, e.g.
/// constant weights packed at compile time): `b` is a 1-D buffer of
/// kiln_uk_matmul_packed_size(k, n) floats (bSize of them, unit stride), then
/// B's logical sizes k and n (k = aK, n = cN). B is shared by all batches.
/// Decode-sized products (small M) stream it without any repacking.
KILN_UK_API void
kiln_uk_matmul_packed_f32(const float *a, int64_t aBatch, int64_t aM,
                          int64_t aK, int64_t aStrideB, int64_t aStrideM,
                          int64_t aStrideK, const float *b, int64_t bSize,
                          int64_t bStride, int64_t k, int64_t n, int64_t flags,
                          float *c, int64_t cBatch, int64_t cM, int64_t cN,
                          int64_t cStrideB, int64_t cStrideM, int64_t cStrideN);

/// The same with a bias vector of N values (as kiln_uk_matmul_bias_f32).
KILN_UK_API void kiln_uk_matmul_packed_bias_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const float *b, int64_t bSize,
    int64_t bStride, int64_t k, int64_t n, const float *bias, int64_t biasN,
    int64_t biasStride, int64_t flags, float *c, int64_t cBatch, int64_t cM,
    int64_t cN, int64_t cStrideB, int64_t cStrideM, int64_t cStrideN);

/// Flags of the convolution kernels (with KILN_UK_ACCUMULATE; they take no
/// activation): whether the bias is given (an absent one is passed as any
/// 1-D buffer and ignored).
enum {
  KILN_UK_CONV2D_BIAS = 4,
};

/// 2-D convolution in NCHW with one group, as kiln.conv:
///   y[n,f,oy,ox] = bias[f] + sum_{c,i,j} w[f,c,i,j]
///                    x[n, c, oy*strideY - padY + i*dilY,
///                            ox*strideX - padX + j*dilX]
/// (x is zero outside the image; padding after the image is implied by y's
/// size), plus the old y with KILN_UK_ACCUMULATE. The product runs on the
/// matmul kernels (W as [F, C*KH*KW] times the im2col of x), with the im2col
/// matrix packed straight from x a block at a time, never materialized.
/// fp32 accumulation.
KILN_UK_API void kiln_uk_conv2d_f32(
    const float *x, int64_t xN, int64_t xC, int64_t xH, int64_t xW,
    int64_t xStrideN, int64_t xStrideC, int64_t xStrideH, int64_t xStrideW,
    const float *w, int64_t wF, int64_t wC, int64_t wKH, int64_t wKW,
    int64_t wStrideF, int64_t wStrideC, int64_t wStrideKH, int64_t wStrideKW,
    const float *bias, int64_t biasN, int64_t biasStride, int64_t strideY,
    int64_t strideX, int64_t padY, int64_t padX, int64_t dilY, int64_t dilX,
    int64_t flags, float *y, int64_t yN, int64_t yF, int64_t yOH, int64_t yOW,
    int64_t yStrideN, int64_t yStrideF, int64_t yStrideOH, int64_t yStrideOW);

/// The same with bf16 weights (raw bfloat16 bits): x is rounded to bf16
/// while it is packed (with avx512_bf16; without it the product runs in
/// fp32 on the exact bf16 weights), fp32 accumulation.
KILN_UK_API void kiln_uk_conv2d_bf16(
    const float *x, int64_t xN, int64_t xC, int64_t xH, int64_t xW,
    int64_t xStrideN, int64_t xStrideC, int64_t xStrideH, int64_t xStrideW,
    const uint16_t *w, int64_t wF, int64_t wC, int64_t wKH, int64_t wKW,
    int64_t wStrideF, int64_t wStrideC, int64_t wStrideKH, int64_t wStrideKW,
    const float *bias, int64_t biasN, int64_t biasStride, int64_t strideY,
    int64_t strideX, int64_t padY, int64_t padX, int64_t dilY, int64_t dilX,
    int64_t flags, float *y, int64_t yN, int64_t yF, int64_t yOH, int64_t yOW,
    int64_t yStrideN, int64_t yStrideF, int64_t yStrideOH, int64_t yStrideOW);

/// Flags of the quantized-weight matmul kernels (with KILN_UK_ACCUMULATE and
/// the activation bits): whether the bias and the zero points are given (an
/// absent one is passed as any buffer of the right rank and ignored).
enum {
  KILN_UK_Q_BIAS = 4,
  KILN_UK_Q_ZERO_POINTS = 8,
};

/// C[b] = act(A[b] W + bias) (+ C[b]) with W quantized to int8 and stored
/// in the panel layout of matmul_qpack.h: w is [P, K, 64] bytes (signed
/// values), s the scales [G, N] (G = 1: per output channel; else groups of
/// K / G consecutive k), bias [N] (flag KILN_UK_Q_BIAS). A: [aBatch, M, K]
/// with aBatch 1 or cBatch; W is shared by all batches. The weights are
/// dequantized in registers, never into a full fp32 copy; fp32 accumulation.
KILN_UK_API void kiln_uk_matmul_q8_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const int8_t *w, int64_t wP, int64_t wK,
    int64_t wJ, int64_t wStrideP, int64_t wStrideK, int64_t wStrideJ,
    const float *s, int64_t sG, int64_t sN, int64_t sStrideG, int64_t sStrideN,
    const float *bias, int64_t biasN, int64_t biasStride, int64_t flags,
    float *c, int64_t cBatch, int64_t cM, int64_t cN, int64_t cStrideB,
    int64_t cStrideM, int64_t cStrideN);

/// The same with int4 weights: w is [P, K, 32] bytes of two nibbles
/// (matmul_qpack.h), z the zero points [G, N] (values 0..15, flag
/// KILN_UK_Q_ZERO_POINTS; 8 without it).
KILN_UK_API void kiln_uk_matmul_q4_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const uint8_t *w, int64_t wP,
    int64_t wK, int64_t wJ, int64_t wStrideP, int64_t wStrideK,
    int64_t wStrideJ, const float *s, int64_t sG, int64_t sN, int64_t sStrideG,
    int64_t sStrideN, const uint8_t *z, int64_t zG, int64_t zN,
    int64_t zStrideG, int64_t zStrideN, const float *bias, int64_t biasN,
    int64_t biasStride, int64_t flags, float *c, int64_t cBatch, int64_t cM,
    int64_t cN, int64_t cStrideB, int64_t cStrideM, int64_t cStrideN);

/// The same with f16 scales (IEEE half bits): 4.5 bits per weight in groups
/// of 32 instead of 5.
KILN_UK_API void kiln_uk_matmul_q4h_f32(
    const float *a, int64_t aBatch, int64_t aM, int64_t aK, int64_t aStrideB,
    int64_t aStrideM, int64_t aStrideK, const uint8_t *w, int64_t wP,
    int64_t wK, int64_t wJ, int64_t wStrideP, int64_t wStrideK,
    int64_t wStrideJ, const uint16_t *s, int64_t sG, int64_t sN,
    int64_t sStrideG, int64_t sStrideN, const uint8_t *z, int64_t zG,
    int64_t zN, int64_t zStrideG, int64_t zStrideN, const float *bias,
    int64_t biasN, int64_t biasStride, int64_t flags, float *c, int64_t cBatch,
    int64_t cM, int64_t cN, int64_t cStrideB, int64_t cStrideM,
    int64_t cStrideN);

/// Flags of the selective-scan kernel: which optional operands are given
/// (an absent one is passed as any buffer of the right rank and ignored),
/// and whether delta goes through softplus (after the bias).
enum {
  KILN_UK_SSM_D = 1,
  KILN_UK_SSM_Z = 2,
  KILN_UK_SSM_DELTA_BIAS = 4,
  KILN_UK_SSM_STATE = 8,
  KILN_UK_SSM_DELTA_SOFTPLUS = 16,
};

/// Mamba's selective scan (kiln.selective_scan), time-major: u, delta, z, y
/// are [Bt, L, Di], B and C [Bt, L, N], A [Di, N], D and delta_bias [Di],
/// the initial state h0 and the final state hN [Bt, Di, N]. For every b, d,
/// from h = h0[b, d] (or zeros):
///   dt = delta[b,t,d] (+ delta_bias[d]) (softplus'd)
///   h[n] = exp(dt A[d,n]) h[n] + dt B[b,t,n] u[b,t,d]
///   y[b,t,d] = (sum_n h[n] C[b,t,n] + D[d] u[b,t,d]) (* silu(z[b,t,d]))
/// hN may alias h0 (each part of the state is read before it is written).
/// Extra memory: a few vectors per thread, never L x Di x N.
KILN_UK_API void kiln_uk_selective_scan_f32(
    const float *u, int64_t uB, int64_t uL, int64_t uD, int64_t uSB,
    int64_t uSL, int64_t uSD, const float *delta, int64_t dtB, int64_t dtL,
    int64_t dtD, int64_t dtSB, int64_t dtSL, int64_t dtSD, const float *A,
    int64_t aD, int64_t aN, int64_t aSD, int64_t aSN, const float *B,
    int64_t bB, int64_t bL, int64_t bN, int64_t bSB, int64_t bSL, int64_t bSN,
    const float *C, int64_t cB, int64_t cL, int64_t cN, int64_t cSB,
    int64_t cSL, int64_t cSN, const float *D, int64_t dD, int64_t dS,
    const float *z, int64_t zB, int64_t zL, int64_t zD, int64_t zSB,
    int64_t zSL, int64_t zSD, const float *bias, int64_t biasD, int64_t biasS,
    const float *h0, int64_t h0B, int64_t h0D, int64_t h0N, int64_t h0SB,
    int64_t h0SD, int64_t h0SN, int64_t flags, float *y, int64_t yB, int64_t yL,
    int64_t yD, int64_t ySB, int64_t ySL, int64_t ySD, float *hN, int64_t hB,
    int64_t hD, int64_t hN_, int64_t hSB, int64_t hSD, int64_t hSN);

/// Flags of the causal conv1d kernel.
enum {
  KILN_UK_CONV_BIAS = 1,
  KILN_UK_CONV_STATE = 2,
  KILN_UK_CONV_SILU = 4,
};

/// Depthwise causal conv1d (kiln.causal_conv1d), time-major: x and y are
/// [Bt, L, Di], w [Di, K], bias [Di], the state and the new state
/// [Bt, Di, K-1]:
///   y[b,t,d] = act(bias[d] + sum_k w[d,k] x'[b, t-K+1+k, d])
/// where x' is x preceded by the state (or zeros); the new state is the
/// last K-1 steps of x'. sOut may alias state.
KILN_UK_API void kiln_uk_causal_conv1d_f32(
    const float *x, int64_t xB, int64_t xL, int64_t xD, int64_t xSB,
    int64_t xSL, int64_t xSD, const float *w, int64_t wD, int64_t wK,
    int64_t wSD, int64_t wSK, const float *bias, int64_t biasD, int64_t biasS,
    const float *state, int64_t sB, int64_t sD, int64_t sK, int64_t sSB,
    int64_t sSD, int64_t sSK, int64_t flags, float *y, int64_t yB, int64_t yL,
    int64_t yD, int64_t ySB, int64_t ySL, int64_t ySD, float *sOut, int64_t oB,
    int64_t oD, int64_t oK, int64_t oSB, int64_t oSD, int64_t oSK);

#ifdef __cplusplus
}
#endif

#endif // KILN_RUNTIME_UKERNELS_H
