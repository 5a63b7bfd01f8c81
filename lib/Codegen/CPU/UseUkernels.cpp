//===- UseUkernels.cpp - call the runtime's micro-kernels -----------------===//
//
// Matmuls and attention are where models spend their time. The runtime has
// hand-tuned AVX-512 kernels for both (runtime/ukernels/); this pass routes
// the kiln ops they cover to them, folding a matmul's epilogue (bias,
// activation, residual) into the call so the result is written once.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "ukernels.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_USEUKERNELS
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

RankedTensorType typeOf(Value v) { return cast<RankedTensorType>(v.getType()); }

int64_t product(ArrayRef<int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims)
    n *= d;
  return n;
}

/// The batch count an operand with batch dimensions `batch` contributes to
/// a result with batch dimensions `outBatch`: the result's own (when the
/// dimensions agree, aligned at the right) or 1 (all ones); -1 otherwise.
int64_t operandBatch(ArrayRef<int64_t> batch, ArrayRef<int64_t> outBatch) {
  if (llvm::all_of(batch, [](int64_t d) { return d == 1; }))
    return 1;
  SmallVector<int64_t> padded(outBatch.size() - batch.size(), 1);
  llvm::append_range(padded, batch);
  return ArrayRef<int64_t>(padded) == outBatch ? product(outBatch) : -1;
}

Value reshapeTo(PatternRewriter &rewriter, Location loc, Value v,
                ArrayRef<int64_t> shape) {
  auto t = typeOf(v);
  if (t.getShape() == shape)
    return v;
  return ReshapeOp::create(rewriter, loc,
                           RankedTensorType::get(shape, t.getElementType()), v);
}

Value i64Constant(PatternRewriter &rewriter, Location loc, int64_t x) {
  return arith::ConstantOp::create(rewriter, loc,
                                   rewriter.getI64IntegerAttr(x));
}

/// The single user of `v` when it is an `OpTy`, else null.
template <typename OpTy> OpTy soleUser(Value v) {
  if (!v.hasOneUse())
    return nullptr;
  return dyn_cast<OpTy>(*v.getUsers().begin());
}

/// matmul [+ bias] [-> act] [+ residual] -> kiln_uk_matmul_*.
struct MatmulPattern : OpRewritePattern<MatmulOp> {
  MatmulPattern(MLIRContext *ctx, bool epilogues)
      : OpRewritePattern(ctx), epilogues(epilogues) {}
  bool epilogues;

  LogicalResult matchAndRewrite(MatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto a = typeOf(op.getLhs()), b = typeOf(op.getRhs()), c = typeOf(op);
    Type f32 = rewriter.getF32Type();
    bool bf16 = a.getElementType().isBF16() && b.getElementType().isBF16();
    // A bf16 product (an ONNX bf16 MatMul) accumulates in fp32 like the
    // others and is rounded to bf16 once, after the kernel.
    bool bf16Result = bf16 && c.getElementType().isBF16();
    if ((c.getElementType() != f32 && !bf16Result) ||
        (!bf16 && a.getElementType() != f32))
      return rewriter.notifyMatchFailure(op, "not an f32 or bf16 matmul");
    if (!a.hasStaticShape() || !b.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    int64_t rank = c.getRank();
    int64_t m = c.getDimSize(rank - 2), n = c.getDimSize(rank - 1);
    int64_t k = a.getShape().back();
    ArrayRef<int64_t> outBatch = c.getShape().drop_back(2);
    int64_t batch = product(outBatch);
    int64_t batchA = operandBatch(a.getShape().drop_back(2), outBatch);
    int64_t batchB = operandBatch(b.getShape().drop_back(2), outBatch);
    // B = transpose(Bt) over its last two dimensions (torch Linear weights,
    // [N, K]): the kernel reads Bt in place rather than a transposed copy.
    Value bOperand = op.getRhs();
    bool transposeB = false;
    if (auto t = op.getRhs().getDefiningOp<TransposeOp>()) {
      ArrayRef<int64_t> perm = t.getPermutation();
      int64_t r = perm.size();
      transposeB = r >= 2 && perm[r - 2] == r - 1 && perm[r - 1] == r - 2 &&
                   llvm::equal(perm.drop_back(2), llvm::seq<int64_t>(0, r - 2));
      if (transposeB)
        bOperand = t.getInput();
    }
    if (batchA < 0 || batchB < 0)
      return rewriter.notifyMatchFailure(op, "mixed batch broadcasting");

    // The epilogue, each step the sole user of the previous one.
    Operation *last = op;
    Value bias, residual;
    int64_t act = KILN_UK_ACT_NONE;
    if (epilogues && !bf16Result) {
      auto sameType = [&](Operation *o) {
        return o && o->getResult(0).getType() == c;
      };
      if (auto add = soleUser<AddOp>(last->getResult(0)); sameType(add)) {
        Value other =
            add.getLhs() == last->getResult(0) ? add.getRhs() : add.getLhs();
        ArrayRef<int64_t> s = typeOf(other).getShape();
        while (!s.empty() && s.front() == 1 && s.size() > 1)
          s = s.drop_front();
        if (!bf16 && s.size() == 1 && s[0] == n) {
          bias = other;
          last = add;
        }
      }
      Value cur = last->getResult(0);
      if (auto relu = soleUser<ReluOp>(cur); sameType(relu)) {
        act = KILN_UK_ACT_RELU;
        last = relu;
      } else if (auto silu = soleUser<SiluOp>(cur); sameType(silu)) {
        act = KILN_UK_ACT_SILU;
        last = silu;
      } else if (auto gelu = soleUser<GeluOp>(cur); sameType(gelu)) {
        act = gelu.getApproximate() == GeluApproximation::tanh
                  ? KILN_UK_ACT_GELU_TANH
                  : KILN_UK_ACT_GELU_ERF;
        last = gelu;
      }
      cur = last->getResult(0);
      if (auto add = soleUser<AddOp>(cur); sameType(add)) {
        Value other = add.getLhs() == cur ? add.getRhs() : add.getLhs();
        if (other.getType() == c) {
          residual = other;
          last = add;
        }
      }
    }

    // At the last epilogue op: the bias and the residual may be computed
    // after the product.
    Location loc = op.getLoc();
    rewriter.setInsertionPoint(last);
    Value a3 = reshapeTo(rewriter, loc, op.getLhs(), {batchA, m, k});
    Value b3 = transposeB ? reshapeTo(rewriter, loc, bOperand, {batchB, n, k})
                          : reshapeTo(rewriter, loc, bOperand, {batchB, k, n});
    SmallVector<int64_t> cShape{batch, m, n};
    Value init =
        residual
            ? reshapeTo(rewriter, loc, residual, cShape)
            : tensor::EmptyOp::create(rewriter, loc, cShape, f32).getResult();
    int64_t flags = (residual ? KILN_UK_ACCUMULATE : 0) |
                    (transposeB ? KILN_UK_TRANSPOSE_B : 0) |
                    (act << KILN_UK_ACT_SHIFT);
    SmallVector<Value> ins{a3, b3};
    StringRef name = bf16 ? "kiln_uk_matmul_bf16" : "kiln_uk_matmul_f32";
    if (bias) {
      ins.push_back(reshapeTo(rewriter, loc, bias, {n}));
      name = "kiln_uk_matmul_bias_f32";
    }
    ins.push_back(i64Constant(rewriter, loc, flags));
    auto call = rt::UkernelOp::create(rewriter, loc, TypeRange{init.getType()},
                                      name, ins, ValueRange{init});
    Value result = reshapeTo(rewriter, loc, call.getResult(0), c.getShape());
    if (bf16Result)
      result = CastOp::create(rewriter, loc, c, result);
    rewriter.replaceOp(last, result);
    return success();
  }
};

/// The parts of `kv` when it is the concatenation of two tensors along the
/// sequence (a KV cache and the new tokens' keys or values); none otherwise.
SmallVector<Value, 2> sequenceParts(Value kv) {
  auto cat = kv.getDefiningOp<ConcatOp>();
  if (!cat || cat.getAxis() != 2 || cat.getInputs().size() != 2 ||
      !llvm::all_of(cat.getInputs(),
                    [](Value v) { return typeOf(v).hasStaticShape(); }))
    return {};
  return SmallVector<Value, 2>(cat.getInputs());
}

/// f32 attention -> kiln_uk_attention_*. When K and V are both a
/// concatenation of two parts split at the same position, the kernel reads
/// the parts (kiln_uk_attention_kv2_*): a decode step that appends to a
/// past KV cache then never copies the cache.
struct AttentionPattern : OpRewritePattern<AttentionOp> {
  AttentionPattern(MLIRContext *ctx, int64_t minQueries)
      : OpRewritePattern(ctx), minQueries(minQueries) {}
  int64_t minQueries;
  LogicalResult matchAndRewrite(AttentionOp op,
                                PatternRewriter &rewriter) const override {
    auto out = typeOf(op);
    if (!out.getElementType().isF32() || !out.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a static f32 attention");
    if (out.getDimSize(2) < minQueries)
      return rewriter.notifyMatchFailure(op, "fewer queries than asked for");
    Location loc = op.getLoc();
    SmallVector<Value> ins{op.getQuery()};
    SmallVector<Value, 2> keys = sequenceParts(op.getKey()),
                          values = sequenceParts(op.getValue());
    bool split =
        keys.size() == 2 && values.size() == 2 &&
        typeOf(keys[0]).getDimSize(2) == typeOf(values[0]).getDimSize(2);
    std::string name = split ? "kiln_uk_attention_kv2" : "kiln_uk_attention";
    if (split) {
      llvm::append_range(ins, keys);
      llvm::append_range(ins, values);
    } else {
      ins.append({op.getKey(), op.getValue()});
    }
    if (Value mask = op.getMask()) {
      auto mt = typeOf(mask);
      SmallVector<int64_t> shape(4 - mt.getRank(), 1);
      llvm::append_range(shape, mt.getShape());
      ins.push_back(reshapeTo(rewriter, loc, mask, shape));
      name += mt.getElementType().isInteger(1) ? "_boolmask" : "_mask";
    }
    name += "_f32";
    ins.push_back(arith::ConstantOp::create(rewriter, loc, op.getScaleAttr()));
    ins.push_back(
        i64Constant(rewriter, loc, op.getCausal() ? KILN_UK_CAUSAL : 0));
    Value init = tensor::EmptyOp::create(rewriter, loc, out.getShape(),
                                         out.getElementType());
    rewriter.replaceOpWithNewOp<rt::UkernelOp>(op, TypeRange{out}, name, ins,
                                               ValueRange{init});
    return success();
  }
};

/// `v` ([X, Y, L]) as the time-major [X, L, Y] the SSM kernels take: the
/// input of the transpose that made it channel-major, or a new transpose.
Value timeMajor(PatternRewriter &rewriter, Location loc, Value v) {
  if (auto t = v.getDefiningOp<TransposeOp>())
    if (t.getPermutation() == ArrayRef<int64_t>{0, 2, 1})
      return t.getInput();
  auto t = typeOf(v);
  return TransposeOp::create(
      rewriter, loc,
      RankedTensorType::get({t.getDimSize(0), t.getDimSize(2), t.getDimSize(1)},
                            t.getElementType()),
      v, rewriter.getDenseI64ArrayAttr({0, 2, 1}));
}

/// Replaces the channel-major `old` with the time-major `tm`: transposes
/// back to time-major read `tm` itself.
void replaceTimeMajor(PatternRewriter &rewriter, Location loc, Value old,
                      Value tm) {
  for (OpOperand &use : llvm::make_early_inc_range(old.getUses()))
    if (auto t = dyn_cast<TransposeOp>(use.getOwner()))
      if (t.getPermutation() == ArrayRef<int64_t>{0, 2, 1})
        rewriter.replaceOp(t, tm);
  if (!old.use_empty())
    rewriter.replaceAllUsesWith(
        old, TransposeOp::create(rewriter, loc, old.getType(), tm,
                                 rewriter.getDenseI64ArrayAttr({0, 2, 1})));
}

/// A stand-in for an absent optional operand of rank `rank` (ignored by
/// the kernel, whose flags say it is absent).
Value absent(PatternRewriter &rewriter, Location loc, int64_t rank) {
  auto t = RankedTensorType::get(SmallVector<int64_t>(rank, 1),
                                 rewriter.getF32Type());
  return ConstantOp::create(
      rewriter, loc, t,
      DenseElementsAttr::get(t, rewriter.getF32FloatAttr(0.f)));
}

bool staticF32(Operation *op) {
  auto isIt = [](Type t) {
    auto r = dyn_cast<RankedTensorType>(t);
    return r && r.hasStaticShape() && r.getElementType().isF32();
  };
  return llvm::all_of(op->getOperandTypes(), isIt) &&
         llvm::all_of(op->getResultTypes(), isIt);
}

/// Replaces `op` by a call of the sequence kernel `name`: the kernel writes
/// `y` time-major ([B, L, D] for the op's [B, D, L]) and the final state
/// `state`, which replace the op's results.
void callTimeMajor(PatternRewriter &rewriter, Operation *op, StringRef name,
                   ValueRange ins, Value y, Value state) {
  Location loc = op->getLoc();
  auto yt = typeOf(y);
  auto st = typeOf(state);
  Type f32 = rewriter.getF32Type();
  SmallVector<int64_t> yShape{yt.getDimSize(0), yt.getDimSize(2),
                              yt.getDimSize(1)};
  Value yInit = tensor::EmptyOp::create(rewriter, loc, yShape, f32);
  Value sInit = tensor::EmptyOp::create(rewriter, loc, st.getShape(), f32);
  auto call =
      rt::UkernelOp::create(rewriter, loc, TypeRange{yInit.getType(), st}, name,
                            ins, ValueRange{yInit, sInit});
  replaceTimeMajor(rewriter, loc, y, call.getResult(0));
  rewriter.replaceAllUsesWith(state, call.getResult(1));
  rewriter.eraseOp(op);
}

/// f32 selective scan -> kiln_uk_selective_scan_f32 (time-major operands).
struct SelectiveScanPattern : OpRewritePattern<SelectiveScanOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(SelectiveScanOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticF32(op))
      return rewriter.notifyMatchFailure(op, "not a static f32 scan");
    Location loc = op.getLoc();
    int64_t flags = (op.getD() ? KILN_UK_SSM_D : 0) |
                    (op.getZ() ? KILN_UK_SSM_Z : 0) |
                    (op.getDeltaBias() ? KILN_UK_SSM_DELTA_BIAS : 0) |
                    (op.getInitialState() ? KILN_UK_SSM_STATE : 0) |
                    (op.getDeltaSoftplus() ? KILN_UK_SSM_DELTA_SOFTPLUS : 0);
    auto or_ = [&](Value v, int64_t rank) {
      return v ? v : absent(rewriter, loc, rank);
    };
    SmallVector<Value> ins{timeMajor(rewriter, loc, op.getU()),
                           timeMajor(rewriter, loc, op.getDelta()),
                           op.getA(),
                           timeMajor(rewriter, loc, op.getB()),
                           timeMajor(rewriter, loc, op.getC()),
                           or_(op.getD(), 1),
                           op.getZ() ? timeMajor(rewriter, loc, op.getZ())
                                     : absent(rewriter, loc, 3),
                           or_(op.getDeltaBias(), 1),
                           or_(op.getInitialState(), 3),
                           i64Constant(rewriter, loc, flags)};
    callTimeMajor(rewriter, op, "kiln_uk_selective_scan_f32", ins, op.getY(),
                  op.getFinalState());
    return success();
  }
};

/// f32 causal conv1d -> kiln_uk_causal_conv1d_f32 (time-major input and
/// result).
struct CausalConv1dPattern : OpRewritePattern<CausalConv1dOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(CausalConv1dOp op,
                                PatternRewriter &rewriter) const override {
    if (!staticF32(op))
      return rewriter.notifyMatchFailure(op, "not a static f32 conv1d");
    Location loc = op.getLoc();
    int64_t flags =
        (op.getBias() ? KILN_UK_CONV_BIAS : 0) |
        (op.getState() ? KILN_UK_CONV_STATE : 0) |
        (op.getActivation() == Activation::silu ? KILN_UK_CONV_SILU : 0);
    SmallVector<Value> ins{
        timeMajor(rewriter, loc, op.getInput()), op.getWeight(),
        op.getBias() ? op.getBias() : absent(rewriter, loc, 1),
        op.getState() ? op.getState() : absent(rewriter, loc, 3),
        i64Constant(rewriter, loc, flags)};
    callTimeMajor(rewriter, op, "kiln_uk_causal_conv1d_f32", ins,
                  op.getResult(), op.getFinalState());
    return success();
  }
};

/// The epilogue of a product `op` of type `c`, each step the sole user of
/// the previous one: [+ bias [N]] [-> relu | silu | gelu] [+ residual].
struct Epilogue {
  Operation *last;
  Value bias, residual;
  int64_t act = KILN_UK_ACT_NONE;
};

Epilogue matchEpilogue(Operation *op, RankedTensorType c) {
  Epilogue e{op, {}, {}};
  auto sameType = [&](Operation *o) {
    return o && o->getResult(0).getType() == c;
  };
  int64_t n = c.getShape().back();
  Value cur = op->getResult(0);
  if (auto add = soleUser<AddOp>(cur); sameType(add)) {
    Value other = add.getLhs() == cur ? add.getRhs() : add.getLhs();
    ArrayRef<int64_t> s = typeOf(other).getShape();
    while (s.size() > 1 && s.front() == 1)
      s = s.drop_front();
    if (s.size() == 1 && s[0] == n) {
      e.bias = other;
      e.last = add;
    }
  }
  cur = e.last->getResult(0);
  if (auto relu = soleUser<ReluOp>(cur); sameType(relu)) {
    e.act = KILN_UK_ACT_RELU;
    e.last = relu;
  } else if (auto silu = soleUser<SiluOp>(cur); sameType(silu)) {
    e.act = KILN_UK_ACT_SILU;
    e.last = silu;
  } else if (auto gelu = soleUser<GeluOp>(cur); sameType(gelu)) {
    e.act = gelu.getApproximate() == GeluApproximation::tanh
                ? KILN_UK_ACT_GELU_TANH
                : KILN_UK_ACT_GELU_ERF;
    e.last = gelu;
  }
  cur = e.last->getResult(0);
  if (auto add = soleUser<AddOp>(cur); sameType(add)) {
    Value other = add.getLhs() == cur ? add.getRhs() : add.getLhs();
    if (other.getType() == c) {
      e.residual = other;
      e.last = add;
    }
  }
  return e;
}

/// qmatmul [+ bias] [-> act] [+ residual] -> kiln_uk_matmul_q{8,4}_f32:
/// the kernels stream the packed int8 / int4 weight and dequantize it in
/// registers.
struct QMatmulPattern : OpRewritePattern<QMatmulOp> {
  QMatmulPattern(MLIRContext *ctx, bool epilogues)
      : OpRewritePattern(ctx), epilogues(epilogues) {}
  bool epilogues;

  LogicalResult matchAndRewrite(QMatmulOp op,
                                PatternRewriter &rewriter) const override {
    auto a = typeOf(op.getLhs()), c = typeOf(op);
    if (!a.hasStaticShape() || !c.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    int64_t rank = c.getRank();
    int64_t m = c.getDimSize(rank - 2), n = c.getDimSize(rank - 1);
    int64_t k = a.getShape().back();
    ArrayRef<int64_t> outBatch = c.getShape().drop_back(2);
    int64_t batch = product(outBatch);
    int64_t batchA = operandBatch(a.getShape().drop_back(2), outBatch);
    if (batchA < 0)
      return rewriter.notifyMatchFailure(op, "broadcast batch dimensions");
    Epilogue e = epilogues ? matchEpilogue(op, c) : Epilogue{op, {}, {}};

    Location loc = op.getLoc();
    rewriter.setInsertionPoint(e.last);
    SmallVector<int64_t> cShape{batch, m, n};
    Value init = e.residual ? reshapeTo(rewriter, loc, e.residual, cShape)
                            : tensor::EmptyOp::create(rewriter, loc, cShape,
                                                      rewriter.getF32Type())
                                  .getResult();
    bool q4 = op.getBits() == 4;
    int64_t flags = (e.residual ? KILN_UK_ACCUMULATE : 0) |
                    (e.bias ? KILN_UK_Q_BIAS : 0) |
                    (op.getZeroPoints() ? KILN_UK_Q_ZERO_POINTS : 0) |
                    (e.act << KILN_UK_ACT_SHIFT);
    SmallVector<Value> ins{
        reshapeTo(rewriter, loc, op.getLhs(), {batchA, m, k}), op.getWeight(),
        op.getScales()};
    if (q4)
      ins.push_back(op.getZeroPoints() ? op.getZeroPoints()
                                       : absent(rewriter, loc, 2));
    ins.push_back(e.bias ? reshapeTo(rewriter, loc, e.bias, {n})
                         : absent(rewriter, loc, 1));
    ins.push_back(i64Constant(rewriter, loc, flags));
    StringRef name = !q4 ? "kiln_uk_matmul_q8_f32"
                     : getElementTypeOrSelf(op.getScales()).isF16()
                         ? "kiln_uk_matmul_q4h_f32"
                         : "kiln_uk_matmul_q4_f32";
    auto call = rt::UkernelOp::create(rewriter, loc, TypeRange{init.getType()},
                                      name, ins, ValueRange{init});
    rewriter.replaceOp(
        e.last, reshapeTo(rewriter, loc, call.getResult(0), c.getShape()));
    return success();
  }
};

/// The per-channel vector ([F]) that `v` broadcasts over an NCHW result
/// with F channels ([F, 1, 1] or [1, F, 1, 1]), else null.
Value perChannel(PatternRewriter &rewriter, Location loc, Value v, int64_t f) {
  auto t = typeOf(v);
  if (!t.getElementType().isF32() || !t.hasStaticShape() || t.getRank() < 3)
    return nullptr;
  ArrayRef<int64_t> s = t.getShape();
  if (s[s.size() - 3] != f || s.take_back(2) != ArrayRef<int64_t>{1, 1} ||
      llvm::any_of(s.drop_back(3), [](int64_t d) { return d != 1; }))
    return nullptr;
  return reshapeTo(rewriter, loc, v, {f});
}

/// 2-D single-group conv [+ per-channel add] [+ residual] ->
/// kiln_uk_conv2d_{f32,bf16}: the im2col matrix is packed from the image
/// by the kernel, never built. f32 input and result; f32 or bf16 weights.
struct Conv2dPattern : OpRewritePattern<ConvOp> {
  Conv2dPattern(MLIRContext *ctx, bool epilogues)
      : OpRewritePattern(ctx), epilogues(epilogues) {}
  bool epilogues;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    auto x = typeOf(op.getInput()), w = typeOf(op.getWeight()), y = typeOf(op);
    if (op.getSpatialRank() != 2 || op.getGroups() != 1)
      return rewriter.notifyMatchFailure(op, "not a 2-D single-group conv");
    if (!x.hasStaticShape() || !w.hasStaticShape() || !y.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic shapes");
    bool bf16 = w.getElementType().isBF16();
    if (!x.getElementType().isF32() || !y.getElementType().isF32() ||
        !(bf16 || w.getElementType().isF32()))
      return rewriter.notifyMatchFailure(op, "not f32 (or bf16 weights)");
    Location loc = op.getLoc();
    int64_t f = y.getDimSize(1);
    Value bias = op.getBias();
    if (bias)
      bias = reshapeTo(rewriter, loc, bias, {f});
    // The epilogue: a per-channel add (a time embedding) joins the bias; a
    // residual of the result's type is accumulated onto.
    Operation *last = op;
    Value residual;
    if (epilogues) {
      if (auto add = soleUser<AddOp>(last->getResult(0));
          add && add.getType() == y) {
        Value cur = last->getResult(0);
        Value other = add.getLhs() == cur ? add.getRhs() : add.getLhs();
        rewriter.setInsertionPoint(add);
        if (Value v = perChannel(rewriter, loc, other, f)) {
          bias = bias ? AddOp::create(rewriter, loc, bias, v).getResult() : v;
          last = add;
        }
      }
      Value cur = last->getResult(0);
      if (auto add = soleUser<AddOp>(cur); add && add.getType() == y) {
        Value other = add.getLhs() == cur ? add.getRhs() : add.getLhs();
        if (other.getType() == y) {
          residual = other;
          last = add;
        }
      }
    }
    rewriter.setInsertionPoint(last);
    SmallVector<int64_t> pads = op.getPaddingOrDefault();
    SmallVector<int64_t> strides = op.getStridesOrDefault();
    SmallVector<int64_t> dil = op.getDilationsOrDefault();
    int64_t flags =
        (residual ? KILN_UK_ACCUMULATE : 0) | (bias ? KILN_UK_CONV2D_BIAS : 0);
    SmallVector<Value> ins{op.getInput(), op.getWeight(),
                           bias ? bias : absent(rewriter, loc, 1)};
    // Padding after the image is implied by the result's size.
    for (int64_t v :
         {strides[0], strides[1], pads[0], pads[1], dil[0], dil[1], flags})
      ins.push_back(i64Constant(rewriter, loc, v));
    Value init = residual ? residual
                          : tensor::EmptyOp::create(rewriter, loc, y.getShape(),
                                                    y.getElementType())
                                .getResult();
    rewriter.replaceOpWithNewOp<rt::UkernelOp>(
        last, TypeRange{y}, bf16 ? "kiln_uk_conv2d_bf16" : "kiln_uk_conv2d_f32",
        ins, ValueRange{init});
    return success();
  }
};

struct UseUkernelsPass : kiln::impl::UseUkernelsBase<UseUkernelsPass> {
  using UseUkernelsBase::UseUkernelsBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    if (matmul)
      patterns.add<MatmulPattern, QMatmulPattern, Conv2dPattern>(&getContext(),
                                                                 epilogues);
    if (attention)
      patterns.add<AttentionPattern>(&getContext(), attentionMinQueries);
    if (ssm)
      patterns.add<SelectiveScanPattern>(&getContext());
    if (ssm && causalConv1d)
      patterns.add<CausalConv1dPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
