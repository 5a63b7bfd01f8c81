//===- Config.cpp - config.json of Hugging Face checkpoints ---------------===//

#include "kiln/Frontend/HF/Importer.h"

#include "llvm/Support/JSON.h"

using namespace mlir::kiln;
using namespace mlir::kiln::hf;
using llvm::Expected;
using llvm::StringRef;

static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), message);
}

namespace {
/// Reads typed fields of the config object, remembering the first error.
struct Fields {
  const llvm::json::Object &obj;
  std::string error;

  /// A positive integer no larger than `max`; `fallback` when absent and
  /// not required.
  int64_t integer(StringRef key, std::optional<int64_t> fallback,
                  int64_t max = int64_t(1) << 31) {
    const llvm::json::Value *v = obj.get(key);
    if (!v || v->kind() == llvm::json::Value::Null) {
      if (!fallback && error.empty())
        error = ("missing integer field '" + key + "'").str();
      return fallback.value_or(0);
    }
    std::optional<int64_t> i = v->getAsInteger();
    if ((!i || *i <= 0 || *i > max) && error.empty())
      error = ("field '" + key + "' must be an integer in [1, " +
               llvm::Twine(max) + "]")
                  .str();
    return i.value_or(0);
  }
  double number(StringRef key, double fallback) {
    const llvm::json::Value *v = obj.get(key);
    if (!v || v->kind() == llvm::json::Value::Null)
      return fallback;
    std::optional<double> d = v->getAsNumber();
    if ((!d || !(*d > 0) || *d > 1e30) && error.empty())
      error = ("field '" + key + "' must be a positive number").str();
    return d.value_or(fallback);
  }
  bool boolean(StringRef key, bool fallback) {
    const llvm::json::Value *v = obj.get(key);
    if (!v || v->kind() == llvm::json::Value::Null)
      return fallback;
    std::optional<bool> b = v->getAsBoolean();
    if (!b && error.empty())
      error = ("field '" + key + "' must be true or false").str();
    return b.value_or(fallback);
  }
};
} // namespace

Expected<LlamaConfig> hf::parseLlamaConfig(StringRef json) {
  Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return fail("config.json is not valid JSON: " +
                llvm::toString(parsed.takeError()));
  const llvm::json::Object *obj = parsed->getAsObject();
  if (!obj)
    return fail("config.json is not a JSON object");
  std::optional<StringRef> type = obj->getString("model_type");
  if (!type)
    return fail("config.json has no string field 'model_type'");
  LlamaConfig c;
  c.modelType = type->str();
  if (c.modelType != "llama" && c.modelType != "mistral" &&
      c.modelType != "qwen2")
    return fail("model_type '" + *type +
                "' is not supported (kiln reads llama, mistral and qwen2 "
                "checkpoints)");
  if (std::optional<StringRef> act = obj->getString("hidden_act"))
    if (*act != "silu")
      return fail("hidden_act '" + *act + "' is not supported (only silu)");
  if (const llvm::json::Value *rs = obj->get("rope_scaling"))
    if (rs->kind() != llvm::json::Value::Null)
      return fail("rope_scaling is not supported (only plain rotary "
                  "embeddings)");

  Fields f{*obj, ""};
  c.vocabSize = f.integer("vocab_size", std::nullopt);
  c.hiddenSize = f.integer("hidden_size", std::nullopt, 1 << 16);
  c.intermediateSize = f.integer("intermediate_size", std::nullopt, 1 << 18);
  c.numLayers = f.integer("num_hidden_layers", std::nullopt, 1024);
  c.numHeads = f.integer("num_attention_heads", std::nullopt, 1024);
  c.numKVHeads = f.integer("num_key_value_heads", c.numHeads, 1024);
  c.headDim = f.integer("head_dim",
                        c.numHeads > 0
                            ? std::optional<int64_t>(c.hiddenSize / c.numHeads)
                            : std::nullopt,
                        1024);
  c.maxPositions = f.integer("max_position_embeddings", 2048, 1 << 24);
  c.rmsNormEps = f.number("rms_norm_eps", 1e-6);
  c.ropeTheta = f.number("rope_theta", 10000.0);
  c.tieWordEmbeddings = f.boolean("tie_word_embeddings", false);
  if (c.modelType == "qwen2") {
    c.attentionBias = true;
  } else if (c.modelType == "llama") {
    c.attentionBias = f.boolean("attention_bias", false);
    c.outputBias = c.attentionBias;
    c.mlpBias = f.boolean("mlp_bias", false);
  }
  if (c.modelType == "mistral" || c.modelType == "qwen2") {
    bool sliding =
        c.modelType == "mistral" || f.boolean("use_sliding_window", false);
    const llvm::json::Value *sw = obj->get("sliding_window");
    if (sliding && sw && sw->kind() != llvm::json::Value::Null) {
      int64_t window = f.integer("sliding_window", std::nullopt, 1 << 24);
      // A window at least as long as the context changes nothing.
      if (f.error.empty() && window < c.maxPositions)
        c.maxPositions = window;
    }
  }
  if (!f.error.empty())
    return fail("config.json: " + f.error);
  if (c.numHeads % c.numKVHeads != 0)
    return fail("config.json: num_attention_heads (" + llvm::Twine(c.numHeads) +
                ") is not a multiple of num_key_value_heads (" +
                llvm::Twine(c.numKVHeads) + ")");
  if (c.headDim % 2 != 0)
    return fail("config.json: head_dim " + llvm::Twine(c.headDim) +
                " is odd; rotary embeddings need an even one");
  return c;
}

Expected<MambaConfig> hf::parseMambaConfig(StringRef json) {
  Expected<llvm::json::Value> parsed = llvm::json::parse(json);
  if (!parsed)
    return fail("config.json is not valid JSON: " +
                llvm::toString(parsed.takeError()));
  const llvm::json::Object *obj = parsed->getAsObject();
  if (!obj || obj->getString("model_type") != StringRef("mamba"))
    return fail("config.json is not a mamba config");
  if (std::optional<StringRef> act = obj->getString("hidden_act"))
    if (*act != "silu")
      return fail("hidden_act '" + *act + "' is not supported (only silu)");
  Fields f{*obj, ""};
  MambaConfig c;
  c.vocabSize = f.integer("vocab_size", std::nullopt);
  c.hiddenSize = f.integer("hidden_size", std::nullopt, 1 << 16);
  c.stateSize = f.integer("state_size", 16, 256);
  c.convKernel = f.integer("conv_kernel", 4, 64);
  int64_t expand = f.integer("expand", 2, 64);
  c.intermediateSize =
      f.integer("intermediate_size", expand * c.hiddenSize, 1 << 18);
  const llvm::json::Value *rank = obj->get("time_step_rank");
  if (rank && rank->getAsString() == std::optional<StringRef>("auto"))
    rank = nullptr;
  c.timeStepRank = rank ? f.integer("time_step_rank", std::nullopt, 1 << 16)
                        : (c.hiddenSize + 15) / 16;
  c.numLayers = f.integer("num_hidden_layers", std::nullopt, 1024);
  c.layerNormEps = f.number("layer_norm_epsilon", 1e-5);
  c.useBias = f.boolean("use_bias", false);
  c.useConvBias = f.boolean("use_conv_bias", true);
  c.tieWordEmbeddings = f.boolean("tie_word_embeddings", true);
  if (!f.error.empty())
    return fail("config.json: " + f.error);
  if (c.convKernel < 2)
    return fail("config.json: conv_kernel must be at least 2");
  return c;
}
