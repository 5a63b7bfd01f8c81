// A C++ host that compiles a model in-process and runs it from several
// threads at once. It links the compiler C API (libkiln_compiler) and the
// runtime:
//
//   kiln-example-cpp-jit-host MODEL.onnx INPUT.npy... [--expect OUT.npy]...
//       [--threads T] [--runs R] [--input-shape NAME=DIMS]...
//
// It JIT-compiles MODEL (.onnx or .mlir), destroys the compiler session (the
// model outlives it), runs the model once to get reference outputs, checks
// them against the --expect files (numpy's allclose, atol 1e-4, rtol 1e-3),
// then starts T threads (default 4) that each run the model R times (default
// 8) at once on one shared thread pool, and checks that every run's outputs
// equal the reference bit for bit. It exits with 0 when everything matches.

#include <kiln-c/compiler.h>
#include <kiln/runtime.h>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

/// Throws the message of a failed runtime or compiler call.
void check(kiln_status *s) {
  if (!s)
    return;
  std::string msg = kiln_status_get_message(s);
  kiln_status_free(s);
  throw std::runtime_error(msg);
}

void check(kiln_compiler_status *s) {
  if (!s)
    return;
  std::string msg = kiln_compiler_status_get_message(s);
  kiln_compiler_status_free(s);
  throw std::runtime_error(msg);
}

using Model = std::unique_ptr<kiln_model, decltype(&kiln_model_free)>;
using Context = std::unique_ptr<kiln_context, decltype(&kiln_context_destroy)>;
using Session =
    std::unique_ptr<kiln_compiler, decltype(&kiln_compiler_destroy)>;

/// A tensor whose data the runtime allocated (kiln_npy_read).
struct NpyTensor {
  kiln_tensor t{};
  explicit NpyTensor(const std::string &path) {
    check(kiln_npy_read(path.c_str(), &t));
  }
  NpyTensor(const NpyTensor &) = delete;
  NpyTensor &operator=(const NpyTensor &) = delete;
  ~NpyTensor() { kiln_free(t.data); }
};

/// Output buffers owned by the host, shaped as the model's outputs.
struct Outputs {
  std::vector<std::vector<unsigned char>> storage;
  std::vector<kiln_tensor> tensors;

  Outputs(const kiln_model *model, int entry) {
    int n = kiln_model_num_outputs(model, entry);
    storage.resize(n);
    tensors.resize(n);
    for (int i = 0; i < n; ++i) {
      check(kiln_model_output_info(model, entry, i, nullptr, &tensors[i]));
      storage[i].resize(tensors[i].size_bytes);
      tensors[i].data = storage[i].data();
    }
  }
};

/// Compiles `path` with `shapes` ("NAME=1x32" each) into a model. The
/// session ends here; the model does not depend on it.
Model compile(const std::string &path, const std::vector<std::string> &shapes) {
  kiln_compiler *raw = nullptr;
  check(kiln_compiler_create(&raw));
  Session session(raw, kiln_compiler_destroy);
  for (const std::string &s : shapes) {
    size_t eq = s.find('=');
    if (eq == std::string::npos)
      throw std::runtime_error("--input-shape expects NAME=DIMS, got " + s);
    std::vector<int64_t> dims;
    for (size_t p = eq + 1; p <= s.size();) {
      size_t x = s.find('x', p);
      if (x == std::string::npos)
        x = s.size();
      dims.push_back(std::strtoll(s.substr(p, x - p).c_str(), nullptr, 10));
      p = x + 1;
    }
    check(kiln_compiler_add_input_shape(session.get(), s.substr(0, eq).c_str(),
                                        static_cast<int32_t>(dims.size()),
                                        dims.data()));
  }
  kiln_model *model = nullptr;
  check(kiln_compiler_jit_file(session.get(), path.c_str(), &model));
  // Warnings, if any, of a compilation that succeeded.
  const char *diagnostics = kiln_compiler_get_diagnostics(session.get());
  if (*diagnostics)
    std::fprintf(stderr, "%s", diagnostics);
  return Model(model, kiln_model_free);
}

/// Compares `got` with `want` as numpy's allclose does; prints the largest
/// error. Non-f32 outputs must be equal.
bool allclose(const kiln_tensor &got, const kiln_tensor &want,
              const char *name) {
  if (got.dtype != want.dtype || got.rank != want.rank ||
      std::memcmp(got.shape, want.shape, got.rank * sizeof(int64_t)) != 0) {
    std::printf("%s: MISMATCH (dtype or shape differs from the expectation)\n",
                name);
    return false;
  }
  if (got.dtype != KILN_F32) {
    bool same = std::memcmp(got.data, want.data, got.size_bytes) == 0;
    std::printf("%s: %s\n", name, same ? "ok (equal)" : "MISMATCH");
    return same;
  }
  const float *a = static_cast<const float *>(got.data);
  const float *b = static_cast<const float *>(want.data);
  int64_t n = kiln_num_elements(got.rank, got.shape);
  double maxErr = 0;
  bool ok = true;
  for (int64_t i = 0; i < n; ++i) {
    double err = std::fabs(double(a[i]) - double(b[i]));
    maxErr = std::fmax(maxErr, err);
    if (!(err <= 1e-4 + 1e-3 * std::fabs(double(b[i]))))
      ok = false;
  }
  std::printf("%s: max_abs_err=%.3g %s\n", name, maxErr,
              ok ? "ok" : "MISMATCH");
  return ok;
}

int run(int argc, char **argv) {
  std::string modelPath;
  std::vector<std::string> inputFiles, expectFiles, shapes;
  int threads = 4, runs = 8;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc)
        throw std::runtime_error(a + " needs a value");
      return argv[++i];
    };
    if (a == "--expect")
      expectFiles.push_back(value());
    else if (a == "--threads")
      threads = std::atoi(value().c_str());
    else if (a == "--runs")
      runs = std::atoi(value().c_str());
    else if (a == "--input-shape")
      shapes.push_back(value());
    else if (modelPath.empty())
      modelPath = a;
    else
      inputFiles.push_back(a);
  }
  if (modelPath.empty() || threads < 1 || runs < 1) {
    std::fprintf(stderr,
                 "usage: %s MODEL INPUT.npy... [--expect OUT.npy]... "
                 "[--threads T] [--runs R] [--input-shape NAME=DIMS]...\n",
                 argv[0]);
    return 2;
  }

  Model model = compile(modelPath, shapes);
  const int entry = 0;
  int numInputs = kiln_model_num_inputs(model.get(), entry);
  int numOutputs = kiln_model_num_outputs(model.get(), entry);
  if (static_cast<int>(inputFiles.size()) != numInputs)
    throw std::runtime_error("the model takes " + std::to_string(numInputs) +
                             " inputs, " + std::to_string(inputFiles.size()) +
                             " given");
  std::vector<std::unique_ptr<NpyTensor>> inputData;
  std::vector<kiln_tensor> inputs;
  for (const std::string &f : inputFiles) {
    inputData.push_back(std::make_unique<NpyTensor>(f));
    inputs.push_back(inputData.back()->t);
  }

  // One pool of two threads, shared by every host thread: a run that finds
  // the pool busy runs its loops on its own thread.
  kiln_context *rawContext = nullptr;
  check(kiln_context_create(2, &rawContext));
  Context context(rawContext, kiln_context_destroy);

  Outputs reference(model.get(), entry);
  check(kiln_model_run(model.get(), context.get(), entry, inputs.data(),
                       numInputs, reference.tensors.data(), numOutputs));
  bool ok = true;
  for (size_t i = 0; i < expectFiles.size() && i < size_t(numOutputs); ++i) {
    const char *name = nullptr;
    check(kiln_model_output_info(model.get(), entry, int(i), &name, nullptr));
    NpyTensor want(expectFiles[i]);
    ok &= allclose(reference.tensors[i], want.t, name);
  }

  std::atomic<int> mismatches{0}, failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t)
    pool.emplace_back([&] {
      Outputs outputs(model.get(), entry);
      for (int r = 0; r < runs; ++r) {
        kiln_status *s =
            kiln_model_run(model.get(), context.get(), entry, inputs.data(),
                           numInputs, outputs.tensors.data(), numOutputs);
        if (s) {
          std::fprintf(stderr, "run failed: %s\n", kiln_status_get_message(s));
          kiln_status_free(s);
          ++failures;
          continue;
        }
        for (int i = 0; i < numOutputs; ++i)
          if (outputs.storage[i] != reference.storage[i])
            ++mismatches;
      }
    });
  for (std::thread &t : pool)
    t.join();
  std::printf("%d threads x %d runs: %d failed, %d outputs differ from the "
              "reference\n",
              threads, runs, failures.load(), mismatches.load());
  ok &= failures == 0 && mismatches == 0;
  std::printf("%s\n", ok ? "ok" : "FAILED");
  return ok ? 0 : 1;
}

} // namespace

int main(int argc, char **argv) {
  try {
    return run(argc, argv);
  } catch (const std::exception &e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
