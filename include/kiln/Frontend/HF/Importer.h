//===- Importer.h - Hugging Face checkpoints to the kiln dialect -*- C++
//-*-===//
//
// Reads a checkpoint directory in the Hugging Face layout (config.json and
// *.safetensors) and builds the model's kiln IR from its configuration:
// decoder LLMs of the Llama family (Llama, Mistral-style grouped-query
// attention, Qwen2-style q/k/v biases, tied embeddings) with two entry
// points over a KV cache the caller keeps between calls:
//
//   prefill(tokens: [1, P] i64, len: i64, pos: i64, kv_cache) -> logits [V]
//   decode(token: [1, 1] i64, pos: i64, kv_cache) -> logits [V]
//
// prefill runs P tokens that sit at positions pos .. pos+P-1 (the first
// `len` of them are real, the rest padding) and returns the logits of the
// token at pos+len-1; decode runs one token at position `pos`. Both write
// the keys and values of their tokens into `kv_cache`
// ([layers, 2, kv_heads, max_context, head_dim] f32) in place and attend
// over positions [0, pos] of it. See docs/llm.md.
//
// Mamba checkpoints (model_type "mamba") get the same two entry points
// over a recurrent state instead of a KV cache (see docs/llm.md):
//
//   prefill(tokens: [1, P] i64, len: i64, pos: i64, state) -> logits [V]
//   decode(token: [1, 1] i64, pos: i64, state) -> logits [V]
//
// state ([layers, d_inner * (conv_kernel - 1 + state_size)] f32) holds each
// layer's conv state then its SSM state; `pos` is not used by the math.
//
// Weights are never copied into the IR: fp32 tensors are referenced in the
// mapped safetensors files; fp16/bf16 tensors are widened to fp32 one
// tensor at a time while importing (the only copy).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTEND_HF_IMPORTER_H
#define KILN_FRONTEND_HF_IMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <string>

namespace mlir::kiln::hf {

/// The architecture fields of a Llama-family config.json.
struct LlamaConfig {
  std::string modelType; // "llama", "mistral", "qwen2"
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t intermediateSize = 0;
  int64_t numLayers = 0;
  int64_t numHeads = 0;
  int64_t numKVHeads = 0;
  int64_t headDim = 0;
  int64_t maxPositions = 0;
  double rmsNormEps = 1e-6;
  double ropeTheta = 10000.0;
  bool tieWordEmbeddings = false;
  bool attentionBias = false; // q, k, v (and o for Llama's attention_bias)
  bool outputBias = false;    // o_proj bias
  bool mlpBias = false;
};

/// Parses config.json text; the error says which field is missing or bad.
llvm::Expected<LlamaConfig> parseLlamaConfig(llvm::StringRef json);

/// The architecture fields of a Mamba (MambaForCausalLM) config.json.
struct MambaConfig {
  int64_t vocabSize = 0;
  int64_t hiddenSize = 0;
  int64_t stateSize = 0;        // N
  int64_t convKernel = 0;       // K
  int64_t intermediateSize = 0; // d_inner (expand * hidden_size)
  int64_t timeStepRank = 0;     // R ("auto": ceil(hidden_size / 16))
  int64_t numLayers = 0;
  double layerNormEps = 1e-5;
  bool useBias = false;    // in_proj and out_proj biases
  bool useConvBias = true; // conv1d bias
  bool tieWordEmbeddings = true;
};

/// Parses a config.json of model_type "mamba".
llvm::Expected<MambaConfig> parseMambaConfig(llvm::StringRef json);

struct ImportOptions {
  /// The KV cache's length in positions; 0 takes the config's
  /// max_position_embeddings, capped at 4096.
  int64_t maxContext = 0;
  /// Tokens per prefill call (P); 0 takes min(max context, 128).
  int64_t prefillLength = 0;
};

/// True when `path` is a directory holding a config.json.
bool isCheckpointDir(llvm::StringRef path);

/// Imports the checkpoint directory `dir`. Problems (missing or malformed
/// files, unsupported architectures, tensors whose dtype or shape does not
/// match the config) are reported as diagnostics located at the offending
/// file, and null is returned.
OwningOpRef<ModuleOp> importCheckpoint(MLIRContext &ctx, llvm::StringRef dir,
                                       const ImportOptions &options);

} // namespace mlir::kiln::hf

#endif // KILN_FRONTEND_HF_IMPORTER_H
