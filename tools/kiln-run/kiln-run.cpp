//===- kiln-run.cpp - run a compiled model --------------------------------===//
//
//   kiln-run model.so --input x.npy --expect y.npy
//   kiln-run model.onnx --random-inputs --bench 20 --threads 2
//   kiln-run llama.so --generate 32 --prompt-ids 1,2,3 --threads 2
//   kiln-run model-cuda.so --device=cuda --random-inputs
//
// MODEL is an artifact (.so, loaded by the runtime alone) or a model the
// compiler reads (.mlir, .onnx), JIT-compiled in-process. Inputs and
// expectations are given in the model's input and output order.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Compiler.h"
#include "kiln/Compiler/Diagnostics.h"
#include "kiln/runtime.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

using namespace mlir;

namespace {

/// kiln-run's options. Parsed by hand: libLLVM already registers some of
/// these names (--threads) with its own command-line parser.
struct Options {
  std::string modelPath;
  std::vector<std::string> inputFiles, expectFiles, inputShapes, binds;
  bool randomInputs = false;
  unsigned seed = 0;
  std::string outputDir, entryName, cpuName = "host", device = "cpu";
  double absTol = 1e-4, relTol = 1e-3;
  unsigned benchRuns = 0;
  int threads = 0;
  // Generation (decoder artifacts).
  int64_t generate = 0, topK = 0, eos = -1, maxContext = 0, prefillLength = 0;
  std::vector<int64_t> promptIds;
  double temperature = 0;
} opts;

const char *kUsage = R"(usage: kiln-run MODEL [options]

MODEL is an artifact (.so) or a model to JIT-compile (.mlir, .onnx).
  --input FILE.npy        an input, in the model's input order (repeatable)
  --random-inputs         fill inputs not given with random values
  --seed N                seed for --random-inputs (default 0)
  --expect FILE.npy       an expected output, in output order (repeatable)
  --atol A, --rtol R      tolerances for --expect (default 1e-4, 1e-3)
  --output-dir DIR        write every output to DIR/<name>.npy
  --bench N               time N runs after warm-up, print the median
  --threads T             threads (default: one per online core)
  --entry NAME            entry point to run (default: the first)
  --device D              cpu (default) or cuda: run an artifact compiled
                          with kiln-compile --target=cuda on the GPU (needs
                          the CUDA driver, libcuda.so.1)
  --cpu NAME              JIT: CPU to generate code for (default: host)
  --input-shape NAME=DIMS JIT: fix a dynamic input's shape (repeatable)
  --bind NAME=FILE.npy    JIT: specialize on an input's value; the input
                          leaves the signature (repeatable)

Generation, for decoder models (a checkpoint directory or its artifact):
  --generate N            generate N tokens after --prompt-ids and print
                          them with prefill and decode tokens/s
  --prompt-ids 1,2,3      the prompt's token ids
  --temperature T         sample from softmax(logits / T) (default 0: greedy)
  --top-k K               sample among the K likeliest tokens (default: all)
  --seed N                the sampler's seed
  --eos ID                stop after generating this token
  --bench R               with --generate: R timed runs after a warm-up;
                          the medians are printed
  --max-context N         JIT: the KV cache's length
  --prefill-length N      JIT: tokens per prefill call
)";

[[noreturn]] void usage(const std::string &msg) {
  llvm::errs() << "kiln-run: " << msg << "\n" << kUsage;
  std::exit(2);
}

void parseArgs(int argc, char **argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    std::string value;
    bool hasInline = false;
    if (a.rfind("--", 0) == 0 && a.find('=') != std::string::npos) {
      value = a.substr(a.find('=') + 1);
      a = a.substr(0, a.find('='));
      hasInline = true;
    }
    auto next = [&]() -> std::string {
      if (hasInline)
        return value;
      if (i + 1 >= argc)
        usage(a + " needs a value");
      return argv[++i];
    };
    auto number = [&](const std::string &s) {
      char *end = nullptr;
      errno = 0;
      double v = strtod(s.c_str(), &end);
      if (s.empty() || *end || errno)
        usage("bad number '" + s + "' for " + a);
      return v;
    };
    auto count = [&](const std::string &s, double lo, double hi) {
      double v = number(s);
      if (v != std::floor(v) || v < lo || v > hi)
        usage("bad value '" + s + "' for " + a);
      return v;
    };
    if (a == "--help" || a == "-h") {
      llvm::outs() << kUsage;
      std::exit(0);
    } else if (a == "--input")
      opts.inputFiles.push_back(next());
    else if (a == "--expect")
      opts.expectFiles.push_back(next());
    else if (a == "--random-inputs")
      opts.randomInputs = true;
    else if (a == "--seed")
      opts.seed = count(next(), 0, 4294967295.0);
    else if (a == "--atol")
      opts.absTol = number(next());
    else if (a == "--rtol")
      opts.relTol = number(next());
    else if (a == "--output-dir")
      opts.outputDir = next();
    else if (a == "--bench")
      opts.benchRuns = count(next(), 0, 1e7);
    else if (a == "--threads")
      opts.threads = count(next(), 0, 1024);
    else if (a == "--entry")
      opts.entryName = next();
    else if (a == "--cpu")
      opts.cpuName = next();
    else if (a == "--device") {
      opts.device = next();
      if (opts.device != "cpu" && opts.device != "cuda")
        usage("--device must be cpu or cuda, got '" + opts.device + "'");
    } else if (a == "--bind")
      opts.binds.push_back(next());
    else if (a == "--input-shape")
      opts.inputShapes.push_back(next());
    else if (a == "--generate")
      opts.generate = count(next(), 1, 1e9);
    else if (a == "--temperature")
      opts.temperature = number(next());
    else if (a == "--top-k")
      opts.topK = count(next(), 0, 1e9);
    else if (a == "--eos")
      opts.eos = count(next(), -1, 9e15);
    else if (a == "--max-context")
      opts.maxContext = count(next(), 1, 1e9);
    else if (a == "--prefill-length")
      opts.prefillLength = count(next(), 1, 1e9);
    else if (a == "--prompt-ids") {
      std::string list = next();
      llvm::SmallVector<llvm::StringRef> parts;
      llvm::StringRef(list).split(parts, ',');
      for (llvm::StringRef p : parts) {
        int64_t id;
        if (p.trim().getAsInteger(10, id) || id < 0)
          usage("bad token id '" + p.str() + "' in --prompt-ids");
        opts.promptIds.push_back(id);
      }
    } else if (a.rfind("-", 0) == 0)
      usage("unknown option " + a);
    else if (opts.modelPath.empty())
      opts.modelPath = a;
    else
      usage("more than one model given");
  }
  if (opts.modelPath.empty())
    usage("no model given");
  if (opts.generate && opts.promptIds.empty())
    usage("--generate needs --prompt-ids");
  if (!opts.generate && !opts.promptIds.empty())
    usage("--prompt-ids needs --generate");
  if (opts.temperature < 0 || !std::isfinite(opts.temperature))
    usage("--temperature must be a finite number >= 0");
}

/// Exits with `code` after printing `msg` and freeing `status`.
[[noreturn]] void fail(const std::string &msg, int code = 1) {
  llvm::errs() << "kiln-run: " << msg << "\n";
  std::exit(code);
}

void check(kiln_status *status, const std::string &context) {
  if (!status)
    return;
  std::string msg = kiln_status_get_message(status);
  kiln_status_free(status);
  fail(context + msg);
}

/// Element `i` of `t` as a double.
double element(const kiln_tensor &t, int64_t i) {
  const char *p = static_cast<const char *>(t.data);
  switch (t.dtype) {
  case KILN_F32:
    return reinterpret_cast<const float *>(p)[i];
  case KILN_F64:
    return reinterpret_cast<const double *>(p)[i];
  case KILN_F16: {
    uint16_t h = reinterpret_cast<const uint16_t *>(p)[i];
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v = exp == 0    ? std::ldexp(man, -24)
               : exp == 31 ? (man ? NAN : INFINITY)
                           : std::ldexp(man + 1024, exp - 25);
    return sign ? -v : v;
  }
  case KILN_BF16: {
    uint32_t bits = uint32_t(reinterpret_cast<const uint16_t *>(p)[i]) << 16;
    float f;
    memcpy(&f, &bits, 4);
    return f;
  }
  case KILN_I64:
    return reinterpret_cast<const int64_t *>(p)[i];
  case KILN_I32:
    return reinterpret_cast<const int32_t *>(p)[i];
  case KILN_I16:
    return reinterpret_cast<const int16_t *>(p)[i];
  case KILN_I8:
    return reinterpret_cast<const int8_t *>(p)[i];
  case KILN_U8:
  case KILN_BOOL:
    return reinterpret_cast<const uint8_t *>(p)[i];
  case KILN_DTYPE_MAX_ENUM:
    break; // not a dtype: the runtime never reports it
  }
  return 0;
}

void fillRandom(kiln_tensor &t, std::mt19937 &rng) {
  int64_t n = kiln_num_elements(t.rank, t.shape);
  std::uniform_real_distribution<float> uni(-1.0f, 1.0f);
  std::uniform_int_distribution<int> small(0, 63);
  char *p = static_cast<char *>(t.data);
  for (int64_t i = 0; i < n; ++i) {
    switch (t.dtype) {
    case KILN_F32:
      reinterpret_cast<float *>(p)[i] = uni(rng);
      break;
    case KILN_F64:
      reinterpret_cast<double *>(p)[i] = uni(rng);
      break;
    case KILN_F16:
    case KILN_BF16: {
      float f = uni(rng);
      uint32_t bits;
      memcpy(&bits, &f, 4);
      // bf16: truncate; f16: 0 is a safe, exact value.
      reinterpret_cast<uint16_t *>(p)[i] =
          t.dtype == KILN_BF16 ? uint16_t(bits >> 16) : 0;
      break;
    }
    case KILN_I64:
      reinterpret_cast<int64_t *>(p)[i] = small(rng);
      break;
    case KILN_I32:
      reinterpret_cast<int32_t *>(p)[i] = small(rng);
      break;
    case KILN_I16:
      reinterpret_cast<int16_t *>(p)[i] = small(rng);
      break;
    case KILN_I8:
      reinterpret_cast<int8_t *>(p)[i] = small(rng);
      break;
    case KILN_U8:
      reinterpret_cast<uint8_t *>(p)[i] = small(rng);
      break;
    case KILN_BOOL:
      reinterpret_cast<uint8_t *>(p)[i] = small(rng) & 1;
      break;
    case KILN_DTYPE_MAX_ENUM:
      break; // not a dtype: the runtime never reports it
    }
  }
}

struct Comparison {
  double maxAbs = 0, relL2 = 0, cosine = 1;
  bool ok = true;
};

Comparison compare(const kiln_tensor &got, const kiln_tensor &want) {
  Comparison c;
  int64_t n = kiln_num_elements(got.rank, got.shape);
  double num = 0, den = 0, dot = 0, gg = 0, ww = 0;
  for (int64_t i = 0; i < n; ++i) {
    double g = element(got, i), w = element(want, i);
    if (std::isnan(g) != std::isnan(w) || (std::isinf(w) && g != w)) {
      c.ok = false;
      c.maxAbs = INFINITY;
      continue;
    }
    if (std::isnan(w) || std::isinf(w))
      continue;
    double d = std::fabs(g - w);
    c.maxAbs = std::max(c.maxAbs, d);
    if (!(d <= opts.absTol + opts.relTol * std::fabs(w)))
      c.ok = false;
    num += d * d;
    den += w * w;
    dot += g * w;
    gg += g * g;
    ww += w * w;
  }
  c.relL2 = den > 0 ? std::sqrt(num / den) : std::sqrt(num);
  c.cosine = (gg > 0 && ww > 0) ? dot / std::sqrt(gg * ww) : (gg == ww ? 1 : 0);
  return c;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/// --generate: the runtime's generation loop; prints the token ids and
/// the prefill and decode rates.
int runGeneration(kiln_model *model) {
  kiln_context *context = nullptr;
  check(kiln_context_create(opts.threads, &context), "");
  kiln_generate_options g;
  kiln_generate_options_init(&g);
  g.max_new_tokens = opts.generate;
  g.temperature = static_cast<float>(opts.temperature);
  g.top_k = static_cast<int32_t>(std::min<int64_t>(opts.topK, INT32_MAX));
  g.seed = opts.seed;
  g.eos_token = opts.eos;
  std::vector<int64_t> tokens(opts.generate);
  unsigned runs = opts.benchRuns ? opts.benchRuns + 1 : 1;
  std::vector<double> prefillRate, decodeRate;
  kiln_generate_stats st{};
  for (unsigned r = 0; r < runs; ++r) {
    check(kiln_generate(model, context, opts.promptIds.data(),
                        static_cast<int64_t>(opts.promptIds.size()), &g,
                        tokens.data(), &st),
          "");
    if (opts.benchRuns && r == 0)
      continue; // warm-up
    prefillRate.push_back(st.prompt_tokens /
                          std::max(st.prefill_seconds, 1e-12));
    decodeRate.push_back(st.decode_steps / std::max(st.decode_seconds, 1e-12));
  }
  llvm::outs() << "tokens:";
  for (int64_t i = 0; i < st.generated_tokens; ++i)
    llvm::outs() << (i ? "," : " ") << tokens[i];
  llvm::outs() << "\n";
  llvm::outs() << llvm::format("prefill: %lld tokens, %.2f tokens/s\n"
                               "decode: %lld tokens, %.2f tokens/s\n",
                               (long long)st.prompt_tokens, median(prefillRate),
                               (long long)st.decode_steps, median(decodeRate));
  if (opts.benchRuns)
    llvm::outs() << "(medians of " << opts.benchRuns << " runs, "
                 << kiln_context_num_threads(context) << " threads)\n";
  kiln_context_destroy(context);
  kiln_model_free(model);
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  parseArgs(argc, argv);
  const std::string &modelPath = opts.modelPath;
  const auto &inputFiles = opts.inputFiles;
  const auto &expectFiles = opts.expectFiles;
  const auto &inputShapes = opts.inputShapes;
  const std::string &entryName = opts.entryName;
  const std::string &outputDir = opts.outputDir;

  // Load: an artifact through the runtime, anything else through the JIT.
  kiln_model *model = nullptr;
  std::shared_ptr<MLIRContext> ctx;
  bool isArtifact = llvm::sys::path::extension(modelPath) == ".so";
  bool cuda = opts.device == "cuda";
  if (cuda && !isArtifact)
    usage("--device=cuda runs artifacts compiled with kiln-compile "
          "--target=cuda; the JIT compiles for the CPU only");
  if (cuda) {
    int devices = 0;
    check(kiln_cuda_init(&devices), "--device=cuda: ");
  }
  if (isArtifact) {
    if (!opts.binds.empty() || !opts.inputShapes.empty())
      usage("--bind and --input-shape apply when compiling; an artifact "
            "has them built in");
    check(kiln_model_load(modelPath.c_str(), &model), "");
    std::string target = kiln_model_target(model);
    if (cuda && target != "cuda")
      fail("--device=cuda: '" + modelPath + "' is a " +
           (target == "cpu" ? "CPU" : target) +
           " artifact; compile the model with kiln-compile --target=cuda "
           "to run it on the GPU");
    if (!cuda && target == "cuda")
      fail("'" + modelPath + "' was compiled with --target=cuda: run it " +
           "with --device=cuda");
  } else {
    ctx = kiln::createContext();
    llvm::SourceMgr sourceMgr;
    kiln::ModelDiagnosticHandler diagnostics(sourceMgr, ctx.get());
    kiln::CompileOptions options;
    options.cpu.cpu = opts.cpuName;
    options.maxContext = opts.maxContext;
    options.prefillLength = opts.prefillLength;
    for (const std::string &s : inputShapes) {
      kiln::InputShape shape;
      std::string error;
      if (!kiln::parseInputShape(s, shape, error))
        fail("--input-shape: " + error, 2);
      options.inputShapes.push_back(shape);
    }
    for (const std::string &b : opts.binds) {
      size_t eq = b.find('=');
      if (eq == std::string::npos || eq == 0 || eq + 1 == b.size())
        usage("--bind expects NAME=FILE.npy, got '" + b + "'");
      options.boundInputs.push_back({b.substr(0, eq), b.substr(eq + 1)});
    }
    OwningOpRef<ModuleOp> module = kiln::loadModel(*ctx, modelPath, options);
    if (!module)
      return 1;
    FailureOr<kiln_model *> jit = kiln::compileToJIT(*module, options, ctx);
    if (failed(jit))
      return 1;
    model = *jit;
  }

  if (opts.generate)
    return runGeneration(model);

  int entry = 0;
  if (!entryName.empty()) {
    entry = kiln_model_find_entry(model, entryName.c_str());
    if (entry < 0)
      fail("the model has no entry point '" + entryName + "'", 2);
  }
  int nIn = kiln_model_num_inputs(model, entry);
  int nOut = kiln_model_num_outputs(model, entry);
  if (static_cast<int>(inputFiles.size()) > nIn)
    fail("the model takes " + std::to_string(nIn) + " inputs, " +
             std::to_string(inputFiles.size()) + " given",
         2);
  if (static_cast<int>(expectFiles.size()) > nOut)
    fail("the model has " + std::to_string(nOut) + " outputs, " +
             std::to_string(expectFiles.size()) + " expectations given",
         2);
  if (static_cast<int>(inputFiles.size()) < nIn && !opts.randomInputs)
    fail("the model takes " + std::to_string(nIn) + " inputs, " +
             std::to_string(inputFiles.size()) +
             " given (add --random-inputs to fill the rest)",
         2);

  std::vector<kiln_tensor> inputs(nIn), outputs(nOut);
  std::mt19937 rng(opts.seed);
  for (int i = 0; i < nIn; ++i) {
    if (i < static_cast<int>(inputFiles.size())) {
      check(kiln_npy_read(inputFiles[i].c_str(), &inputs[i]),
            "input " + std::to_string(i) + ": ");
      continue;
    }
    check(kiln_model_input_info(model, entry, i, nullptr, &inputs[i]), "");
    inputs[i].data = calloc(1, std::max<size_t>(inputs[i].size_bytes, 1));
    fillRandom(inputs[i], rng);
  }
  for (int i = 0; i < nOut; ++i)
    outputs[i].data = nullptr;
  for (int i = 0; i < nOut; ++i)
    check(kiln_model_output_info(model, entry, i, nullptr, &outputs[i]), "");
  for (kiln_tensor &o : outputs)
    o.data = nullptr;

  kiln_context *context = nullptr;
  check(kiln_context_create(opts.threads, &context), "");
  check(kiln_model_run(model, context, entry, inputs.data(), nIn,
                       outputs.data(), nOut),
        "");

  int exitCode = 0;
  for (int i = 0; i < nOut; ++i) {
    const char *name = nullptr;
    check(kiln_model_output_info(model, entry, i, &name, nullptr), "");
    if (!outputDir.empty()) {
      llvm::sys::fs::create_directories(outputDir);
      std::string path = outputDir + "/" + name + ".npy";
      check(kiln_npy_write(path.c_str(), &outputs[i]), "");
    }
    if (i >= static_cast<int>(expectFiles.size()))
      continue;
    kiln_tensor want;
    check(kiln_npy_read(expectFiles[i].c_str(), &want),
          "expectation " + std::to_string(i) + ": ");
    bool sameShape = want.rank == outputs[i].rank;
    for (int d = 0; sameShape && d < want.rank; ++d)
      sameShape = want.shape[d] == outputs[i].shape[d];
    if (!sameShape)
      fail(std::string("output ") + std::to_string(i) + " ('" + name +
           "'): expectation has a different shape");
    Comparison c = compare(outputs[i], want);
    llvm::outs() << llvm::format("output %d '%s': max_abs_err=%.3g "
                                 "rel_l2_err=%.3g cosine=%.6f %s\n",
                                 i, name, c.maxAbs, c.relL2, c.cosine,
                                 c.ok ? "ok" : "MISMATCH");
    if (!c.ok)
      exitCode = 1;
    kiln_free(want.data);
  }

  if (opts.benchRuns > 0) {
    unsigned benchRuns = opts.benchRuns;
    unsigned warmup = std::max(2u, benchRuns / 5);
    for (unsigned i = 0; i < warmup; ++i)
      check(kiln_model_run(model, context, entry, inputs.data(), nIn,
                           outputs.data(), nOut),
            "");
    std::vector<double> ms;
    for (unsigned i = 0; i < benchRuns; ++i) {
      auto t0 = std::chrono::steady_clock::now();
      check(kiln_model_run(model, context, entry, inputs.data(), nIn,
                           outputs.data(), nOut),
            "");
      auto t1 = std::chrono::steady_clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms.size() % 2
                        ? ms[ms.size() / 2]
                        : 0.5 * (ms[ms.size() / 2 - 1] + ms[ms.size() / 2]);
    llvm::outs() << llvm::format("bench: runs=%u median_ms=%.4f min_ms=%.4f\n",
                                 benchRuns, median, ms.front());
  }

  for (kiln_tensor &t : inputs)
    kiln_free(t.data);
  for (kiln_tensor &t : outputs)
    kiln_free(t.data);
  kiln_context_destroy(context);
  kiln_model_free(model);
  return exitCode;
}
