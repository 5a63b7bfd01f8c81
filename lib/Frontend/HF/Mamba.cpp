//===- Mamba.cpp - Mamba checkpoints to kiln IR ---------------------------===//
//
// Builds prefill and decode (see Importer.h) for MambaForCausalLM
// checkpoints (mamba_simple's mixer, Hugging Face names):
//
//   h = embed[tokens]
//   per layer: x, z = rms_norm(h) Win^T (+ b)            [1, S, Di] each
//              x = silu(causal_conv1d(x, conv state))    (state in place)
//              dtr, B, C = x Wx^T;  dt = softplus(dtr Wdt^T + bdt)
//              y = selective_scan(x, dt, -exp(A_log), B, C, D, z, ssm state)
//              h += y Wout^T (+ b)
//   logits = rms_norm(h[last]) Wlm^T   (Wlm = embed when tied)
//
// The state is one tensor [layers, Di * (K-1) + Di * N]: per layer the conv
// state [1, Di, K-1] then the SSM state [1, Di, N], both contiguous. Each
// layer reads its part of the input and inserts the new states into it
// (written in place into the input buffer); the updated tensor is also the
// second result, `state`: nothing reads the last layer's writes inside the
// function, so without a use they would be dead code. The caller passes
// that result's buffer as the next call's input (kiln_generate swaps two).
//
// Prefill pads its chunk after `len` tokens; the padding must not change
// the state. Its dt is multiplied by 0 (a mask sliced out of a constant
// at P - len), so the scan steps over it with exp(0 A) = 1 and dt B u = 0;
// the conv state is the K-1 columns of concat(state, x) that end at the
// last real token, not the conv's own final state.
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend/HF/Importer.h"

#include "Checkpoint.h"
#include "GraphBuilder.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AsmState.h"
#include "mlir/IR/Verifier.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::hf;

namespace {

struct MambaLayer {
  Attribute norm, inProj, inBias, convW, convBias, xProj, dtProj, dtBias, aLog,
      d, outProj, outBias;
};

class MambaBuilder : GraphBuilder {
public:
  MambaBuilder(MLIRContext &ctx, const MambaConfig &c, int64_t prefillLength)
      : GraphBuilder(ctx, c.layerNormEps), c(c), P(prefillLength) {}

  LogicalResult loadWeights(Checkpoint &ckpt);
  void buildMask();
  void buildEntry(ModuleOp module, bool decode);

private:
  /// [1, S, X] <-> [1, X, S].
  Value swap(Value v) { return transpose(v, {0, 2, 1}); }
  /// Static slice [0, 0, from .. from+n) of x [1, S, X].
  Value lastDimSlice(Value x, int64_t from, int64_t n) {
    auto t = cast<RankedTensorType>(x.getType());
    return tensor::ExtractSliceOp::create(
        b, loc, f32T({1, t.getDimSize(1), n}), x,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0),
                               b.getIndexAttr(from)},
        sizes({1, t.getDimSize(1), n}), sizes({1, 1, 1}));
  }
  SmallVector<OpFoldResult> sizes(ArrayRef<int64_t> s) {
    SmallVector<OpFoldResult> r;
    for (int64_t x : s)
      r.push_back(b.getIndexAttr(x));
    return r;
  }

  const MambaConfig &c;
  int64_t P;
  Attribute embed, finalNorm, lmHead, mask;
  std::vector<MambaLayer> layers;
};

LogicalResult MambaBuilder::loadWeights(Checkpoint &ckpt) {
  int64_t d = c.hiddenSize, di = c.intermediateSize, n = c.stateSize,
          r = c.timeStepRank, k = c.convKernel;
  if (failed(
          ckpt.load("backbone.embeddings.weight", {c.vocabSize, d}, embed)) ||
      failed(ckpt.load("backbone.norm_f.weight", {d}, finalNorm)))
    return failure();
  if (c.tieWordEmbeddings && !ckpt.has("lm_head.weight"))
    lmHead = embed;
  else if (failed(ckpt.load("lm_head.weight", {c.vocabSize, d}, lmHead)))
    return failure();
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = "backbone.layers." + std::to_string(i) + ".";
    std::string m = p + "mixer.";
    MambaLayer w;
    if (failed(ckpt.load(p + "norm.weight", {d}, w.norm)) ||
        failed(ckpt.load(m + "in_proj.weight", {2 * di, d}, w.inProj)) ||
        failed(ckpt.load(m + "conv1d.weight", {di, 1, k}, w.convW)) ||
        failed(ckpt.load(m + "x_proj.weight", {r + 2 * n, di}, w.xProj)) ||
        failed(ckpt.load(m + "dt_proj.weight", {di, r}, w.dtProj)) ||
        failed(ckpt.load(m + "dt_proj.bias", {di}, w.dtBias)) ||
        failed(ckpt.load(m + "A_log", {di, n}, w.aLog)) ||
        failed(ckpt.load(m + "D", {di}, w.d)) ||
        failed(ckpt.load(m + "out_proj.weight", {d, di}, w.outProj)))
      return failure();
    if (c.useConvBias && failed(ckpt.load(m + "conv1d.bias", {di}, w.convBias)))
      return failure();
    if (c.useBias &&
        (failed(ckpt.load(m + "in_proj.bias", {2 * di}, w.inBias)) ||
         failed(ckpt.load(m + "out_proj.bias", {d}, w.outBias))))
      return failure();
    layers.push_back(w);
  }
  return success();
}

void MambaBuilder::buildMask() {
  // [1, 2P, 1]: P ones, then P zeros; rows P-len .. 2P-len-1 are the mask
  // of a chunk with `len` real tokens.
  AsmResourceBlob blob = HeapAsmResourceBlob::allocate(2 * P * 4, 64, true);
  float *m = reinterpret_cast<float *>(blob.getMutableData().data());
  for (int64_t i = 0; i < 2 * P; ++i)
    m[i] = i < P ? 1.f : 0.f;
  mask = DenseResourceElementsAttr::get(f32T({1, 2 * P, 1}), "mamba_pad_mask",
                                        std::move(blob));
}

void MambaBuilder::buildEntry(ModuleOp module, bool decode) {
  StringRef entry = decode ? "decode" : "prefill";
  locate(module.getLoc(), entry);
  int64_t S = decode ? 1 : P;
  int64_t d = c.hiddenSize, di = c.intermediateSize, n = c.stateSize,
          r = c.timeStepRank, k = c.convKernel;
  int64_t convSize = di * (k - 1), ssmSize = di * n;
  Type i64 = b.getI64Type();
  auto scalarT = RankedTensorType::get({}, i64);
  auto stateT = f32T({c.numLayers, convSize + ssmSize});
  SmallVector<Type> inputs{RankedTensorType::get({1, S}, i64)};
  SmallVector<std::string> names{decode ? "token" : "tokens"};
  if (!decode) {
    inputs.push_back(scalarT);
    names.push_back("len");
  }
  inputs.push_back(scalarT);
  names.push_back("pos");
  inputs.push_back(stateT);
  names.push_back("state");
  auto logitsT = f32T({c.vocabSize});
  b.setInsertionPointToEnd(module.getBody());
  auto fn = func::FuncOp::create(b, loc, entry,
                                 b.getFunctionType(inputs, {logitsT, stateT}));
  for (auto [i, name] : llvm::enumerate(names))
    fn.setArgAttr(i, attrs::kName, b.getStringAttr(name));
  fn.setResultAttr(0, attrs::kName, b.getStringAttr("logits"));
  fn.setResultAttr(1, attrs::kName, b.getStringAttr("state"));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value tokens = body->getArgument(0);
  Value state = body->getArgument(inputs.size() - 1);
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);

  // Prefill: the number of real tokens, and the mask of dt that leaves the
  // state alone over the padding.
  Value len, lenIdx, dtMask;
  if (!decode) {
    len = scalarInput(body->getArgument(1), 1, S);
    lenIdx = index(len);
    Value from =
        index(arith::SubIOp::create(b, loc, i64Const(P), len).getResult());
    dtMask =
        tensor::ExtractSliceOp::create(b, loc, f32T({1, S, 1}), constant(mask),
                                       ArrayRef<OpFoldResult>{zero, from, zero},
                                       sizes({1, S, 1}), sizes({1, 1, 1}));
  }

  Value h = GatherOp::create(b, loc, f32T({1, S, d}), constant(embed), tokens,
                             b.getI64IntegerAttr(0));
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const MambaLayer &w = layers[l];
    locate(module.getLoc(), entry + ": backbone.layers." + llvm::Twine(l));
    auto statePart = [&](int64_t offset, int64_t size, int64_t last) {
      Value s = tensor::ExtractSliceOp::create(
          b, loc, f32T({1, size}), state,
          ArrayRef<OpFoldResult>{b.getIndexAttr(l), b.getIndexAttr(offset)},
          sizes({1, size}), sizes({1, 1}));
      return reshape(s, {1, di, last});
    };
    Value convState = statePart(0, convSize, k - 1);
    Value ssmState = statePart(convSize, ssmSize, n);

    Value xz = linear(rmsNorm(h, w.norm), w.inProj, w.inBias);
    Value x = swap(lastDimSlice(xz, 0, di)); // [1, Di, S]
    Value z = swap(lastDimSlice(xz, di, di));
    auto conv =
        CausalConv1dOp::create(b, loc, x, reshape(constant(w.convW), {di, k}),
                               w.convBias ? constant(w.convBias) : Value(),
                               convState, Activation::silu);
    // The new conv state: the K-1 inputs that end at the last real token.
    Value seq =
        ConcatOp::create(b, loc, f32T({1, di, k - 1 + S}),
                         ValueRange{convState, x}, b.getI64IntegerAttr(2));
    Value newConv = tensor::ExtractSliceOp::create(
        b, loc, f32T({1, di, k - 1}), seq,
        ArrayRef<OpFoldResult>{zero, zero, decode ? OpFoldResult(one) : lenIdx},
        sizes({1, di, k - 1}), sizes({1, 1, 1}));
    Value u = conv.getResult();                        // [1, Di, S]
    Value dbc = linear(swap(u), w.xProj, Attribute()); // [1, S, R + 2N]
    Value dt = linear(lastDimSlice(dbc, 0, r), w.dtProj, w.dtBias);
    dt = SoftplusOp::create(b, loc, dt.getType(), dt);
    if (dtMask)
      dt = MulOp::create(b, loc, dt.getType(), dt, dtMask);
    Value aLog = constant(w.aLog);
    Value a = NegOp::create(b, loc, aLog.getType(),
                            ExpOp::create(b, loc, aLog.getType(), aLog));
    auto scan = SelectiveScanOp::create(
        b, loc, u, swap(dt), a, swap(lastDimSlice(dbc, r, n)),
        swap(lastDimSlice(dbc, r + n, n)), constant(w.d), z,
        /*delta_bias=*/Value(), ssmState, /*delta_softplus=*/false);
    Value y = linear(swap(scan.getY()), w.outProj, w.outBias);
    h = AddOp::create(b, loc, h.getType(), h, y);

    // The new states, in place.
    auto store = [&](Value v, int64_t offset, int64_t size) {
      state = tensor::InsertSliceOp::create(
          b, loc, reshape(v, {1, size}), state,
          ArrayRef<OpFoldResult>{b.getIndexAttr(l), b.getIndexAttr(offset)},
          sizes({1, size}), sizes({1, 1}));
    };
    store(newConv, 0, convSize);
    store(scan.getFinalState(), convSize, ssmSize);
  }
  locate(module.getLoc(), entry);
  if (!decode) {
    Value last =
        index(arith::SubIOp::create(b, loc, len, i64Const(1)).getResult());
    h = tensor::ExtractSliceOp::create(b, loc, f32T({1, 1, d}), h,
                                       ArrayRef<OpFoldResult>{zero, last, zero},
                                       sizes({1, 1, d}), sizes({1, 1, 1}));
  }
  h = rmsNorm(h, finalNorm);
  Value logits = linear(h, lmHead, Attribute());
  func::ReturnOp::create(b, loc,
                         ValueRange{reshape(logits, {c.vocabSize}), state});
}

} // namespace

OwningOpRef<ModuleOp> hf::importMamba(MLIRContext &ctx, llvm::StringRef dir,
                                      llvm::StringRef configText,
                                      Location configLoc,
                                      const ImportOptions &options) {
  llvm::Expected<MambaConfig> config = parseMambaConfig(configText);
  if (!config) {
    emitError(configLoc) << llvm::toString(config.takeError());
    return nullptr;
  }
  // No positions: the state does not grow, so there is no max context;
  // options.maxContext only bounds the prefill length.
  int64_t prefill = options.prefillLength ? options.prefillLength : 128;
  if (prefill < 1 || prefill > (1 << 20) ||
      (options.maxContext && prefill > options.maxContext)) {
    emitError(configLoc) << "prefill length " << prefill
                         << " is outside [1, max context]";
    return nullptr;
  }
  int64_t stateElems = 0;
  if (__builtin_mul_overflow(config->numLayers * config->intermediateSize,
                             config->convKernel - 1 + config->stateSize,
                             &stateElems) ||
      stateElems > (int64_t(1) << 36)) {
    emitError(configLoc) << "the recurrent state would be too large";
    return nullptr;
  }

  Checkpoint ckpt;
  if (failed(ckpt.open(ctx, dir)))
    return nullptr;
  MambaBuilder builder(ctx, *config, prefill);
  if (failed(builder.loadWeights(ckpt)))
    return nullptr;
  std::vector<std::string> unused = ckpt.unused();
  if (!unused.empty()) {
    emitError(FileLineColLoc::get(&ctx, dir, 0, 0))
        << "the checkpoint has tensors a mamba model with this config does "
           "not use, like '"
        << unused.front() << "' (" << unused.size() << " in all)";
    return nullptr;
  }
  builder.buildMask();
  OwningOpRef<ModuleOp> module =
      ModuleOp::create(FileLineColLoc::get(&ctx, dir, 0, 0));
  builder.buildEntry(*module, /*decode=*/false);
  builder.buildEntry(*module, /*decode=*/true);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}
