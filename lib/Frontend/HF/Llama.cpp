//===- Llama.cpp - Llama-family checkpoints to kiln IR --------------------===//
//
// Builds prefill and decode (see Importer.h) for Llama, Mistral and Qwen2
// checkpoints:
//
//   h = embed[tokens]
//   per layer: x = rms_norm(h); q, k, v = x Wq^T (+ b), ...; rotary(q, k);
//              k, v -> kv_cache[layer, 0/1, :, pos .. pos+S-1, :];
//              h += attention(q, kv_cache[.., 0 .. pos+S-1, ..]) Wo^T
//              x = rms_norm(h); h += (silu(x Wg^T) * x Wu^T) Wd^T
//   logits = rms_norm(h[last]) Wlm^T   (Wlm = embed when tied)
//
// Linear weights stay in torch's [out, in] layout: each product reads
// transpose(W), which the matmul micro-kernel takes as a transposed operand.
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
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/JSON.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <cmath>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::hf;

bool hf::isCheckpointDir(llvm::StringRef path) {
  if (!llvm::sys::fs::is_directory(path))
    return false;
  llvm::SmallString<256> config(path);
  llvm::sys::path::append(config, "config.json");
  return llvm::sys::fs::exists(config);
}

namespace {

struct LayerWeights {
  Attribute inNorm, postNorm, q, k, v, o, gate, up, down;
  Attribute qBias, kBias, vBias, oBias, gateBias, upBias, downBias;
};

class LlamaBuilder : GraphBuilder {
public:
  LlamaBuilder(MLIRContext &ctx, const LlamaConfig &c, int64_t maxContext,
               int64_t prefillLength)
      : GraphBuilder(ctx, c.rmsNormEps), c(c), C(maxContext), P(prefillLength) {
  }

  LogicalResult loadWeights(Checkpoint &ckpt);
  void buildTables();
  void buildEntry(ModuleOp module, bool decode);

private:
  const LlamaConfig &c;
  int64_t C, P;
  Attribute embed, finalNorm, lmHead, cosTable, sinTable;
  std::vector<LayerWeights> layers;
};

LogicalResult LlamaBuilder::loadWeights(Checkpoint &ckpt) {
  int64_t d = c.hiddenSize, f = c.intermediateSize, dh = c.headDim;
  int64_t qDim = c.numHeads * dh, kvDim = c.numKVHeads * dh;
  if (failed(ckpt.load("model.embed_tokens.weight", {c.vocabSize, d}, embed)) ||
      failed(ckpt.load("model.norm.weight", {d}, finalNorm)))
    return failure();
  if (c.tieWordEmbeddings && !ckpt.has("lm_head.weight"))
    lmHead = embed;
  else if (failed(ckpt.load("lm_head.weight", {c.vocabSize, d}, lmHead)))
    return failure();
  for (int64_t i = 0; i < c.numLayers; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    LayerWeights w;
    std::string at = p + "self_attn.", mlp = p + "mlp.";
    if (failed(ckpt.load(p + "input_layernorm.weight", {d}, w.inNorm)) ||
        failed(ckpt.load(p + "post_attention_layernorm.weight", {d},
                         w.postNorm)) ||
        failed(ckpt.load(at + "q_proj.weight", {qDim, d}, w.q)) ||
        failed(ckpt.load(at + "k_proj.weight", {kvDim, d}, w.k)) ||
        failed(ckpt.load(at + "v_proj.weight", {kvDim, d}, w.v)) ||
        failed(ckpt.load(at + "o_proj.weight", {d, qDim}, w.o)) ||
        failed(ckpt.load(mlp + "gate_proj.weight", {f, d}, w.gate)) ||
        failed(ckpt.load(mlp + "up_proj.weight", {f, d}, w.up)) ||
        failed(ckpt.load(mlp + "down_proj.weight", {d, f}, w.down)))
      return failure();
    if (c.attentionBias &&
        (failed(ckpt.load(at + "q_proj.bias", {qDim}, w.qBias)) ||
         failed(ckpt.load(at + "k_proj.bias", {kvDim}, w.kBias)) ||
         failed(ckpt.load(at + "v_proj.bias", {kvDim}, w.vBias))))
      return failure();
    if (c.outputBias && failed(ckpt.load(at + "o_proj.bias", {d}, w.oBias)))
      return failure();
    if (c.mlpBias &&
        (failed(ckpt.load(mlp + "gate_proj.bias", {f}, w.gateBias)) ||
         failed(ckpt.load(mlp + "up_proj.bias", {f}, w.upBias)) ||
         failed(ckpt.load(mlp + "down_proj.bias", {d}, w.downBias))))
      return failure();
    layers.push_back(w);
  }
  return success();
}

void LlamaBuilder::buildTables() {
  // cos/sin of pos * theta^(-2i/dh), computed in double and rounded once.
  int64_t half = c.headDim / 2;
  auto type = f32T({C, half});
  AsmResourceBlob cosBlob =
      HeapAsmResourceBlob::allocate(C * half * 4, 64, true);
  AsmResourceBlob sinBlob =
      HeapAsmResourceBlob::allocate(C * half * 4, 64, true);
  float *cs = reinterpret_cast<float *>(cosBlob.getMutableData().data());
  float *sn = reinterpret_cast<float *>(sinBlob.getMutableData().data());
  for (int64_t i = 0; i < half; ++i) {
    double invFreq = 1.0 / std::pow(c.ropeTheta, double(2 * i) / c.headDim);
    for (int64_t p = 0; p < C; ++p) {
      cs[p * half + i] = float(std::cos(p * invFreq));
      sn[p * half + i] = float(std::sin(p * invFreq));
    }
  }
  cosTable =
      DenseResourceElementsAttr::get(type, "rotary_cos", std::move(cosBlob));
  sinTable =
      DenseResourceElementsAttr::get(type, "rotary_sin", std::move(sinBlob));
}

void LlamaBuilder::buildEntry(ModuleOp module, bool decode) {
  StringRef entry = decode ? "decode" : "prefill";
  locate(module.getLoc(), entry);
  int64_t S = decode ? 1 : P;
  int64_t L = c.numLayers, hq = c.numHeads, hkv = c.numKVHeads, dh = c.headDim,
          d = c.hiddenSize;
  Type i64 = b.getI64Type();
  auto scalarT = RankedTensorType::get({}, i64);
  auto kvT = f32T({L, 2, hkv, C, dh});
  SmallVector<Type> inputs{RankedTensorType::get({1, S}, i64)};
  SmallVector<std::string> names{decode ? "token" : "tokens"};
  if (!decode) {
    inputs.push_back(scalarT);
    names.push_back("len");
  }
  inputs.push_back(scalarT);
  names.push_back("pos");
  inputs.push_back(kvT);
  names.push_back("kv_cache");
  auto logitsT = f32T({c.vocabSize});
  b.setInsertionPointToEnd(module.getBody());
  auto fn =
      func::FuncOp::create(b, loc, entry, b.getFunctionType(inputs, {logitsT}));
  for (auto [i, n] : llvm::enumerate(names))
    fn.setArgAttr(i, attrs::kName, b.getStringAttr(n));
  fn.setResultAttr(0, attrs::kName, b.getStringAttr("logits"));
  Block *body = fn.addEntryBlock();
  b.setInsertionPointToStart(body);
  Value tokens = body->getArgument(0);
  Value kv = body->getArgument(inputs.size() - 1);

  // Positions: the tokens sit at pos .. pos+S-1 (clamped so that they fit
  // the cache); the keys attended to are 0 .. pos+S-1.
  Value pos = scalarInput(body->getArgument(inputs.size() - 2), 0, C - S);
  Value posIdx = index(pos);
  Value kvLen = index(arith::AddIOp::create(b, loc, pos, i64Const(S)));
  OpFoldResult zero = b.getIndexAttr(0), one = b.getIndexAttr(1);
  auto sizes = [&](ArrayRef<int64_t> s) {
    SmallVector<OpFoldResult> r;
    for (int64_t x : s)
      r.push_back(b.getIndexAttr(x));
    return r;
  };
  SmallVector<OpFoldResult> unit5(5, one);
  int64_t half = dh / 2;
  auto rotT = f32T({S, half});
  Value cosS = tensor::ExtractSliceOp::create(
      b, loc, rotT, constant(cosTable), ArrayRef<OpFoldResult>{posIdx, zero},
      sizes({S, half}), ArrayRef<OpFoldResult>{one, one});
  Value sinS = tensor::ExtractSliceOp::create(
      b, loc, rotT, constant(sinTable), ArrayRef<OpFoldResult>{posIdx, zero},
      sizes({S, half}), ArrayRef<OpFoldResult>{one, one});

  Value h = GatherOp::create(b, loc, f32T({1, S, d}), constant(embed), tokens,
                             b.getI64IntegerAttr(0));
  double scale = 1.0 / std::sqrt(double(dh));
  auto kvViewT =
      RankedTensorType::get({1, hkv, ShapedType::kDynamic, dh}, b.getF32Type());
  for (int64_t l = 0; l < L; ++l) {
    const LayerWeights &w = layers[l];
    locate(module.getLoc(), entry + ": model.layers." + llvm::Twine(l));
    Value x = rmsNorm(h, w.inNorm);
    auto heads = [&](Value y, int64_t n) {
      return transpose(reshape(y, {1, S, n, dh}), {0, 2, 1, 3});
    };
    Value q = heads(linear(x, w.q, w.qBias), hq);
    Value k = heads(linear(x, w.k, w.kBias), hkv);
    Value v = heads(linear(x, w.v, w.vBias), hkv);
    q = RotaryOp::create(b, loc, q.getType(), q, cosS, sinS);
    k = RotaryOp::create(b, loc, k.getType(), k, cosS, sinS);
    // Into the cache, in place; then the attention reads its prefix.
    for (int64_t which = 0; which < 2; ++which) {
      Value src = reshape(which == 0 ? k : v, {hkv, S, dh});
      kv = tensor::InsertSliceOp::create(
          b, loc, src, kv,
          ArrayRef<OpFoldResult>{b.getIndexAttr(l), b.getIndexAttr(which), zero,
                                 posIdx, zero},
          sizes({1, 1, hkv, S, dh}), unit5);
    }
    SmallVector<Value> kvView;
    for (int64_t which = 0; which < 2; ++which)
      kvView.push_back(tensor::ExtractSliceOp::create(
          b, loc, kvViewT, kv,
          ArrayRef<OpFoldResult>{b.getIndexAttr(l), b.getIndexAttr(which), zero,
                                 zero, zero},
          ArrayRef<OpFoldResult>{one, one, b.getIndexAttr(hkv), kvLen,
                                 b.getIndexAttr(dh)},
          unit5));
    Value a = AttentionOp::create(b, loc, q.getType(), q, kvView[0], kvView[1],
                                  Value(), b.getF64FloatAttr(scale),
                                  b.getBoolAttr(true));
    a = reshape(transpose(a, {0, 2, 1, 3}), {1, S, hq * dh});
    h = AddOp::create(b, loc, h.getType(), h, linear(a, w.o, w.oBias));
    x = rmsNorm(h, w.postNorm);
    Value g = linear(x, w.gate, w.gateBias);
    g = SiluOp::create(b, loc, g.getType(), g);
    Value u = linear(x, w.up, w.upBias);
    Value m = MulOp::create(b, loc, g.getType(), g, u);
    h = AddOp::create(b, loc, h.getType(), h, linear(m, w.down, w.downBias));
  }
  locate(module.getLoc(), entry);
  if (!decode) {
    // The last real token: index len-1 of the chunk.
    Value len = scalarInput(body->getArgument(1), 1, S);
    Value last =
        index(arith::SubIOp::create(b, loc, len, i64Const(1)).getResult());
    h = tensor::ExtractSliceOp::create(
        b, loc, f32T({1, 1, d}), h, ArrayRef<OpFoldResult>{zero, last, zero},
        sizes({1, 1, d}), ArrayRef<OpFoldResult>{one, one, one});
  }
  h = rmsNorm(h, finalNorm);
  Value logits = linear(h, lmHead, Attribute());
  func::ReturnOp::create(b, loc, reshape(logits, {c.vocabSize}));
}

/// The file's text, or an error at `loc`.
FailureOr<std::string> readText(MLIRContext &ctx, llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buf =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buf)
    return emitError(FileLineColLoc::get(&ctx, path, 0, 0))
           << "cannot read: " << buf.getError().message();
  if ((*buf)->getBufferSize() > (64u << 20))
    return emitError(FileLineColLoc::get(&ctx, path, 0, 0))
           << "is larger than 64 MiB; not a config file";
  return (*buf)->getBuffer().str();
}

} // namespace

OwningOpRef<ModuleOp> hf::importCheckpoint(MLIRContext &ctx,
                                           llvm::StringRef dir,
                                           const ImportOptions &options) {
  ctx.loadDialect<KilnDialect, func::FuncDialect, arith::ArithDialect,
                  tensor::TensorDialect>();
  llvm::SmallString<256> configPath(dir);
  llvm::sys::path::append(configPath, "config.json");
  Location configLoc = FileLineColLoc::get(&ctx, configPath, 0, 0);
  FailureOr<std::string> text = readText(ctx, configPath);
  if (failed(text))
    return nullptr;
  // Mamba has its own builder (Mamba.cpp); parse errors are reported below.
  if (std::optional<llvm::json::Value> json =
          llvm::expectedToOptional(llvm::json::parse(*text)))
    if (const llvm::json::Object *obj = json->getAsObject())
      if (obj->getString("model_type") == llvm::StringRef("mamba"))
        return importMamba(ctx, dir, *text, configLoc, options);
  llvm::Expected<LlamaConfig> config = parseLlamaConfig(*text);
  if (!config) {
    emitError(configLoc) << llvm::toString(config.takeError());
    return nullptr;
  }
  int64_t maxContext = options.maxContext
                           ? options.maxContext
                           : std::min<int64_t>(config->maxPositions, 4096);
  if (maxContext < 1 || maxContext > config->maxPositions) {
    emitError(configLoc) << "max context " << maxContext << " is outside [1, "
                         << config->maxPositions
                         << "] (max_position_embeddings or sliding_window)";
    return nullptr;
  }
  int64_t prefill = options.prefillLength ? options.prefillLength
                                          : std::min<int64_t>(maxContext, 128);
  if (prefill < 1 || prefill > maxContext) {
    emitError(configLoc) << "prefill length " << prefill
                         << " is outside [1, max context " << maxContext << "]";
    return nullptr;
  }
  // The KV cache must stay addressable (and allocatable).
  int64_t cacheElems = 0;
  if (__builtin_mul_overflow(config->numLayers * 2 * config->numKVHeads,
                             maxContext * config->headDim, &cacheElems) ||
      cacheElems > (int64_t(1) << 36)) {
    emitError(configLoc) << "the KV cache for max context " << maxContext
                         << " would be too large";
    return nullptr;
  }

  Checkpoint ckpt;
  if (failed(ckpt.open(ctx, dir)))
    return nullptr;
  LlamaBuilder builder(ctx, *config, maxContext, prefill);
  if (failed(builder.loadWeights(ckpt)))
    return nullptr;
  std::vector<std::string> unused = ckpt.unused();
  // Rotary inverse frequencies some exports keep are derived, not learned.
  llvm::erase_if(unused, [](const std::string &n) {
    return llvm::StringRef(n).ends_with("rotary_emb.inv_freq");
  });
  if (!unused.empty()) {
    emitError(FileLineColLoc::get(&ctx, dir, 0, 0))
        << "the checkpoint has tensors a " << config->modelType
        << " model with this config does not use, like '" << unused.front()
        << "' (" << unused.size() << " in all)";
    return nullptr;
  }
  builder.buildTables();
  OwningOpRef<ModuleOp> module =
      ModuleOp::create(FileLineColLoc::get(&ctx, dir, 0, 0));
  builder.buildEntry(*module, /*decode=*/false);
  builder.buildEntry(*module, /*decode=*/true);
  if (failed(verify(*module)))
    return nullptr;
  return module;
}
