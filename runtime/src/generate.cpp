//===- generate.cpp - the text-generation loop over prefill and decode ----===//
//
// kiln_generate: prefill over the prompt in chunks, then decode token by
// token, sampling each next token from the logits; the KV cache is a
// runtime-owned buffer both entry points update in place. Built on the
// public API only (entry points found by name, signatures checked).
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

using kiln::rt::error;

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

struct FreeDeleter {
  void operator()(void *p) const { kiln_free(p); }
};

/// The signature of one entry point, checked against what generation needs.
struct Signature {
  int entry = -1;
  std::vector<kiln_tensor> inputs;
  std::vector<std::string> names;
  kiln_tensor logits{};
  kiln_tensor newState{}; // recurrent models: the updated state
};

kiln_status *describe(kiln_model *model, const char *name, int numInputs,
                      int numOutputs, Signature &sig) {
  sig.entry = kiln_model_find_entry(model, name);
  if (sig.entry < 0)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: the model has no '%s' entry point (compile a "
                 "checkpoint directory to get a decoder artifact)",
                 name);
  if (kiln_model_num_inputs(model, sig.entry) != numInputs ||
      kiln_model_num_outputs(model, sig.entry) != numOutputs)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: '%s' takes %d inputs and %d outputs; a "
                 "decoder's takes %d and %d",
                 name, kiln_model_num_inputs(model, sig.entry),
                 kiln_model_num_outputs(model, sig.entry), numInputs,
                 numOutputs);
  sig.inputs.resize(numInputs);
  for (int i = 0; i < numInputs; ++i) {
    const char *n;
    if (kiln_status *s =
            kiln_model_input_info(model, sig.entry, i, &n, &sig.inputs[i]))
      return s;
    sig.names.push_back(n ? n : "");
  }
  const char *n;
  if (kiln_status *s =
          kiln_model_output_info(model, sig.entry, 0, &n, &sig.logits))
    return s;
  if (numOutputs == 2) {
    if (kiln_status *s =
            kiln_model_output_info(model, sig.entry, 1, &n, &sig.newState))
      return s;
    if (!n || std::string(n) != "state" ||
        sig.newState.dtype != sig.inputs.back().dtype ||
        sig.newState.rank != sig.inputs.back().rank ||
        !std::equal(sig.newState.shape, sig.newState.shape + sig.newState.rank,
                    sig.inputs.back().shape))
      return error(KILN_INVALID_ARGUMENT,
                   "kiln_generate: '%s' must return the new state like its "
                   "input 'state'",
                   name);
  }
  if (sig.logits.dtype != KILN_F32 || sig.logits.rank != 1)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: '%s' must return f32 logits [V]", name);
  return nullptr;
}

bool isScalarI64(const kiln_tensor &t) {
  return t.dtype == KILN_I64 && t.rank == 0;
}

bool isTokens(const kiln_tensor &t) {
  return t.dtype == KILN_I64 && t.rank == 2 && t.shape[0] == 1 &&
         t.shape[1] >= 1;
}

/// A small, seedable generator (splitmix64).
struct Rng {
  uint64_t state;
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  double uniform() { return (next() >> 11) * (1.0 / 9007199254740992.0); }
};

int64_t argmax(const float *x, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (x[i] > x[best])
      best = i;
  return best;
}

/// Samples from softmax(logits / temperature) over the top_k largest.
int64_t sample(const float *logits, int64_t n, const kiln_generate_options &o,
               Rng &rng, std::vector<int64_t> &order,
               std::vector<double> &probs) {
  if (!(o.temperature > 0))
    return argmax(logits, n);
  int64_t k = o.top_k > 0 ? std::min<int64_t>(o.top_k, n) : n;
  order.resize(n);
  for (int64_t i = 0; i < n; ++i)
    order[i] = i;
  auto larger = [&](int64_t a, int64_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  };
  if (k < n)
    std::partial_sort(order.begin(), order.begin() + k, order.end(), larger);
  else
    std::sort(order.begin(), order.end(), larger);
  probs.resize(k);
  double top = logits[order[0]], sum = 0;
  for (int64_t i = 0; i < k; ++i) {
    probs[i] = std::exp((double(logits[order[i]]) - top) / o.temperature);
    sum += probs[i];
  }
  double u = rng.uniform() * sum;
  for (int64_t i = 0; i < k; ++i) {
    u -= probs[i];
    if (u < 0)
      return order[i];
  }
  return order[k - 1];
}

} // namespace

extern "C" void kiln_generate_options_init(kiln_generate_options *options) {
  if (!options)
    return;
  options->max_new_tokens = 16;
  options->temperature = 0.0f;
  options->top_k = 0;
  options->seed = 0;
  options->eos_token = -1;
}

extern "C" kiln_status *kiln_generate(kiln_model *model, kiln_context *context,
                                      const int64_t *prompt, int64_t promptLen,
                                      const kiln_generate_options *options,
                                      int64_t *outTokens,
                                      kiln_generate_stats *stats) {
  if (!model || !options || !outTokens || (promptLen > 0 && !prompt))
    return error(KILN_INVALID_ARGUMENT, "kiln_generate: NULL argument");
  if (stats)
    *stats = kiln_generate_stats{};
  const kiln_generate_options &o = *options;
  if (promptLen < 1)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: the prompt needs at least one token");
  if (o.max_new_tokens < 1)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: max_new_tokens must be at least 1, got %lld",
                 (long long)o.max_new_tokens);
  if (!std::isfinite(o.temperature) || o.top_k < 0)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: temperature must be finite and top_k >= 0");

  // A recurrent model (Mamba) names its state input "state" and returns
  // the updated state as a second output.
  int prefillEntry = kiln_model_find_entry(model, "prefill");
  const char *stateName = nullptr;
  kiln_tensor ignored;
  bool recurrent =
      prefillEntry >= 0 && kiln_model_num_inputs(model, prefillEntry) == 4 &&
      !kiln_model_input_info(model, prefillEntry, 3, &stateName, &ignored) &&
      stateName && std::string(stateName) == "state";
  Signature pre, dec;
  if (kiln_status *s = describe(model, "prefill", 4, recurrent ? 2 : 1, pre))
    return s;
  if (kiln_status *s = describe(model, "decode", 3, recurrent ? 2 : 1, dec))
    return s;
  // The state both entry points update in place: a KV cache
  // ([layers, 2, kv_heads, max_context, head_dim]), or a recurrent state
  // named "state" (Mamba's conv and SSM states), of any shape, which does
  // not bound the context.
  const kiln_tensor &kvSpec = pre.inputs[3];
  bool ok = isTokens(pre.inputs[0]) && isScalarI64(pre.inputs[1]) &&
            isScalarI64(pre.inputs[2]) && isTokens(dec.inputs[0]) &&
            dec.inputs[0].shape[1] == 1 && isScalarI64(dec.inputs[1]) &&
            kvSpec.dtype == KILN_F32 && (recurrent || kvSpec.rank == 5) &&
            dec.names[2] == pre.names[3] && dec.inputs[2].dtype == KILN_F32 &&
            dec.inputs[2].rank == kvSpec.rank &&
            std::equal(kvSpec.shape, kvSpec.shape + kvSpec.rank,
                       dec.inputs[2].shape) &&
            pre.logits.shape[0] == dec.logits.shape[0];
  if (!ok)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: the prefill and decode entry points do not "
                 "have a decoder's signatures (see runtime.h)");
  const int64_t P = pre.inputs[0].shape[1];
  const int64_t maxContext =
      recurrent ? std::numeric_limits<int64_t>::max() : kvSpec.shape[3];
  const int64_t vocab = pre.logits.shape[0];
  if (P > maxContext)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: prefill length %lld exceeds the max context",
                 (long long)P);
  int64_t needed;
  if (__builtin_add_overflow(promptLen, o.max_new_tokens - 1, &needed) ||
      needed > maxContext)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_generate: %lld prompt tokens + %lld new ones need %lld "
                 "positions; the model was compiled for a max context of %lld "
                 "(kiln-compile --max-context)",
                 (long long)promptLen, (long long)o.max_new_tokens,
                 (long long)(promptLen + o.max_new_tokens - 1),
                 (long long)maxContext);
  for (int64_t i = 0; i < promptLen; ++i)
    if (prompt[i] < 0 || prompt[i] >= vocab)
      return error(KILN_INVALID_ARGUMENT,
                   "kiln_generate: prompt token %lld is %lld, outside the "
                   "vocabulary [0, %lld)",
                   (long long)i, (long long)prompt[i], (long long)vocab);

  // The KV cache: runtime-owned, zeroed, shared by both entry points. A
  // recurrent state has a second buffer for the state each call returns;
  // the two swap after every call.
  std::unique_ptr<void, FreeDeleter> cache(
      kiln::rt::alignedAlloc(kvSpec.size_bytes));
  std::unique_ptr<void, FreeDeleter> next(
      recurrent ? kiln::rt::alignedAlloc(kvSpec.size_bytes) : nullptr);
  std::unique_ptr<void, FreeDeleter> logits(
      kiln::rt::alignedAlloc(pre.logits.size_bytes));
  if (!cache || !logits || (recurrent && !next))
    return error(KILN_OUT_OF_MEMORY,
                 "kiln_generate: cannot allocate the %zu-byte %s",
                 kvSpec.size_bytes, recurrent ? "state" : "KV cache");
  std::memset(cache.get(), 0, kvSpec.size_bytes);
  std::vector<int64_t> chunk(P);
  int64_t len = 0, pos = 0;
  kiln_tensor in[4] = {pre.inputs[0], pre.inputs[1], pre.inputs[2], kvSpec};
  in[0].data = chunk.data();
  in[1].data = &len;
  in[2].data = &pos;
  in[3].data = cache.get();
  kiln_tensor out[2] = {pre.logits, pre.newState};
  out[0].data = logits.get();
  out[1].data = next.get();
  const int numOut = recurrent ? 2 : 1;
  // After a call of a recurrent model: its new state is the next input.
  auto swapState = [&](kiln_tensor &stateIn, kiln_tensor &stateOut) {
    if (recurrent)
      std::swap(stateIn.data, stateOut.data);
  };

  // Prefill, P tokens at a time; a chunk that would run past the cache
  // starts earlier and recomputes a few cached positions (never for a
  // recurrent state, which has no such bound and cannot recompute).
  auto t0 = Clock::now();
  for (int64_t start = 0; start < promptLen; start += P) {
    pos = std::min(start, maxContext - P);
    len = std::min(promptLen, pos + P) - pos;
    std::fill(chunk.begin(), chunk.end(), 0);
    std::copy(prompt + pos, prompt + pos + len, chunk.begin());
    if (kiln_status *s =
            kiln_model_run(model, context, pre.entry, in, 4, out, numOut))
      return s;
    swapState(in[3], out[1]);
  }
  auto t1 = Clock::now();

  // Decode: each token is sampled from the last logits, then fed back.
  Rng rng{o.seed};
  std::vector<int64_t> order;
  std::vector<double> probs;
  int64_t token = 0, steps = 0, generated = 0;
  kiln_tensor din[3] = {dec.inputs[0], dec.inputs[1], dec.inputs[2]};
  din[0].data = &token;
  din[1].data = &pos;
  din[2].data = in[3].data;
  kiln_tensor dout[2] = {dec.logits, dec.newState};
  dout[0].data = logits.get();
  dout[1].data = out[1].data;
  pos = promptLen;
  while (true) {
    token = sample(static_cast<const float *>(logits.get()), vocab, o, rng,
                   order, probs);
    outTokens[generated++] = token;
    if (generated == o.max_new_tokens || token == o.eos_token)
      break;
    if (kiln_status *s =
            kiln_model_run(model, context, dec.entry, din, 3, dout, numOut))
      return s;
    swapState(din[2], dout[1]);
    ++pos;
    ++steps;
  }
  auto t2 = Clock::now();
  if (stats) {
    stats->prompt_tokens = promptLen;
    stats->generated_tokens = generated;
    stats->decode_steps = steps;
    stats->prefill_seconds = seconds(t0, t1);
    stats->decode_seconds = seconds(t1, t2);
  }
  return nullptr;
}
