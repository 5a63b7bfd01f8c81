//===- CompilerCAPITest.cpp - the compiler C API (kiln-c/compiler.h) ------===//
//
// Sessions and options, JIT and ahead-of-time compilation, diagnostics with
// locations, bad arguments (never a crash), and the documented thread-safety
// and lifetime rules: concurrent runs of one JIT model, concurrent sessions,
// a model outliving its session.
//
//===----------------------------------------------------------------------===//

#include "kiln-c/compiler.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

// y = x * w + b, with w = 1..6 as a weight (the same as
// test/tools/Inputs/add.mlir).
const char *kAddModel = R"mlir(
func.func @main(%x: tensor<2x3xf32> {kiln.name = "x"}, %b: tensor<3xf32> {kiln.name = "b"})
    -> (tensor<2x3xf32> {kiln.name = "y"}) {
  %w = kiln.constant dense_resource<w> : tensor<2x3xf32>
  %0 = kiln.mul %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kiln.add %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}
)mlir";

// A shape error on line 3, column 8 of the file.
const char *kBadModel =
    R"mlir(func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  %b = kiln.constant dense<1.0> : tensor<4xf32>
  %0 = kiln.add %x, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}
)mlir";

/// A temporary directory, removed with its files at the end of the test.
class TempDir {
public:
  TempDir() {
    char tmpl[] = "/tmp/kiln-capi-test-XXXXXX";
    const char *p = mkdtemp(tmpl);
    path = p ? p : "/tmp";
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
  std::string file(const std::string &name, const std::string &text) const {
    std::string p = path + "/" + name;
    std::ofstream(p) << text;
    return p;
  }
  std::string path;
};

/// The status's message (or "" for success); frees it.
std::string take(kiln_compiler_status *s, kiln_status_code *code = nullptr) {
  if (code)
    *code = kiln_compiler_status_get_code(s);
  std::string msg = s ? kiln_compiler_status_get_message(s) : "";
  kiln_compiler_status_free(s);
  return msg;
}

struct Session {
  kiln_compiler *c = nullptr;
  Session() { EXPECT_EQ(take(kiln_compiler_create(&c)), ""); }
  ~Session() { kiln_compiler_destroy(c); }
};

/// Runs the add model once and checks y = x * w + b.
void expectAddWorks(kiln_model *model, kiln_context *context) {
  float x[6] = {1, 1, 1, 2, 2, 2}, b[3] = {0.5f, 0, -1}, y[6] = {};
  kiln_tensor in[2] = {{KILN_F32, 2, {2, 3}, x, sizeof(x)},
                       {KILN_F32, 1, {3}, b, sizeof(b)}};
  kiln_tensor out = {KILN_F32, 2, {2, 3}, y, sizeof(y)};
  kiln_status *s = kiln_model_run(model, context, 0, in, 2, &out, 1);
  ASSERT_EQ(s, nullptr) << kiln_status_get_message(s);
  const float want[6] = {1.5f, 2, 2, 8.5f, 10, 11};
  for (int i = 0; i < 6; ++i)
    EXPECT_FLOAT_EQ(y[i], want[i]) << "element " << i;
}

TEST(CompilerCAPI, VersionAndStatusAccessors) {
  EXPECT_EQ(kiln_compiler_api_version(), KILN_COMPILER_API_VERSION);
  EXPECT_EQ(kiln_compiler_status_get_code(nullptr), KILN_OK);
  EXPECT_STREQ(kiln_compiler_status_get_message(nullptr), "ok");
  kiln_compiler_status_free(nullptr);
  kiln_compiler_destroy(nullptr);
  kiln_compiler_clear_inputs(nullptr);
  EXPECT_STREQ(kiln_compiler_get_diagnostics(nullptr), "");
}

TEST(CompilerCAPI, NullArgumentsAreErrors) {
  kiln_status_code code;
  EXPECT_NE(take(kiln_compiler_create(nullptr), &code), "");
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  kiln_model *m = reinterpret_cast<kiln_model *>(1);
  EXPECT_NE(take(kiln_compiler_jit_file(nullptr, "x.mlir", &m), &code), "");
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  EXPECT_EQ(m, nullptr) << "*out is cleared on failure";
  Session s;
  EXPECT_NE(take(kiln_compiler_jit_file(s.c, nullptr, &m), &code), "");
  EXPECT_NE(take(kiln_compiler_jit_file(s.c, "x.mlir", nullptr), &code), "");
  EXPECT_NE(take(kiln_compiler_jit_buffer(s.c, nullptr, 4, "x.mlir", &m)), "");
  EXPECT_NE(take(kiln_compiler_jit_buffer(s.c, "x", 1, nullptr, &m)), "");
  EXPECT_NE(take(kiln_compiler_compile_file(s.c, nullptr, "o.so", nullptr)),
            "");
  EXPECT_NE(take(kiln_compiler_compile_file(s.c, "x.mlir", nullptr, nullptr)),
            "");
  EXPECT_NE(take(kiln_compiler_compile_file(nullptr, "x", "o.so", nullptr)),
            "");
  EXPECT_NE(take(kiln_compiler_set_target(nullptr, "cpu")), "");
  EXPECT_NE(take(kiln_compiler_set_target(s.c, nullptr)), "");
  EXPECT_NE(take(kiln_compiler_set_cpu(s.c, nullptr, nullptr)), "");
  EXPECT_NE(take(kiln_compiler_set_opt_level(nullptr, 2)), "");
  EXPECT_NE(take(kiln_compiler_set_ukernels(nullptr, 1)), "");
  EXPECT_NE(take(kiln_compiler_set_lower_fused_ops(nullptr, 1)), "");
  EXPECT_NE(take(kiln_compiler_add_input_shape(s.c, nullptr, 1, nullptr)), "");
  EXPECT_NE(take(kiln_compiler_add_input_shape(s.c, "x", 2, nullptr)), "");
  EXPECT_NE(take(kiln_compiler_bind_input(s.c, "x", nullptr)), "");
  EXPECT_NE(take(kiln_compiler_bind_input(nullptr, "x", "x.npy")), "");
}

TEST(CompilerCAPI, OptionsAreChecked) {
  Session s;
  kiln_status_code code;
  EXPECT_EQ(take(kiln_compiler_set_target(s.c, "cpu")), "");
  std::string msg = take(kiln_compiler_set_target(s.c, "tpu"), &code);
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("unknown target 'tpu'"), std::string::npos) << msg;
  EXPECT_EQ(take(kiln_compiler_set_cpu(s.c, "host", nullptr)), "");
  EXPECT_EQ(take(kiln_compiler_set_cpu(s.c, "x86-64-v3", "")), "");
  msg = take(kiln_compiler_set_cpu(s.c, "no-such-cpu", nullptr), &code);
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("unknown CPU 'no-such-cpu'"), std::string::npos) << msg;
  EXPECT_EQ(take(kiln_compiler_set_cpu(s.c, "znver4", "+avx2,-avx512bf16")),
            "");
  msg = take(kiln_compiler_set_cpu(s.c, "host", "+no-such-feature"), &code);
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("unknown CPU feature 'no-such-feature'"),
            std::string::npos)
      << msg;
  msg = take(kiln_compiler_set_cpu(s.c, "host", "avx2"), &code);
  EXPECT_NE(msg.find("must start with '+' or '-'"), std::string::npos) << msg;
  EXPECT_EQ(take(kiln_compiler_set_opt_level(s.c, 0)), "");
  EXPECT_NE(take(kiln_compiler_set_opt_level(s.c, 4)), "");
  EXPECT_NE(take(kiln_compiler_set_opt_level(s.c, -1)), "");
  int64_t dims[2] = {1, 8}, bad[2] = {1, -3};
  EXPECT_EQ(take(kiln_compiler_add_input_shape(s.c, "x", 2, dims)), "");
  EXPECT_EQ(take(kiln_compiler_add_input_shape(s.c, "x", 2, dims)), "");
  EXPECT_NE(take(kiln_compiler_add_input_shape(s.c, "x", 2, bad)), "");
  EXPECT_NE(take(kiln_compiler_add_input_shape(s.c, "x", 17, dims)), "");
  EXPECT_NE(take(kiln_compiler_add_input_shape(s.c, "x", -1, dims)), "");
  EXPECT_EQ(take(kiln_compiler_bind_input(s.c, "x", "x.npy")), "");
  kiln_compiler_clear_inputs(s.c);
}

TEST(CompilerCAPI, JITFromFileAndBuffer) {
  TempDir dir;
  std::string path = dir.file("add.mlir", kAddModel);
  Session s;
  kiln_model *model = nullptr;
  ASSERT_EQ(take(kiln_compiler_jit_file(s.c, path.c_str(), &model)), "");
  ASSERT_NE(model, nullptr);
  EXPECT_EQ(kiln_model_num_inputs(model, 0), 2);
  EXPECT_EQ(kiln_model_num_outputs(model, 0), 1);
  const char *name = nullptr;
  kiln_tensor info;
  ASSERT_EQ(kiln_model_input_info(model, 0, 1, &name, &info), nullptr);
  EXPECT_STREQ(name, "b");
  expectAddWorks(model, nullptr);
  kiln_model_free(model);

  model = nullptr;
  ASSERT_EQ(take(kiln_compiler_jit_buffer(s.c, kAddModel, strlen(kAddModel),
                                          "add.mlir", &model)),
            "");
  expectAddWorks(model, nullptr);
  kiln_model_free(model);
  EXPECT_STREQ(kiln_compiler_get_diagnostics(s.c), "");
}

TEST(CompilerCAPI, CompileToArtifact) {
  TempDir dir;
  std::string path = dir.file("add.mlir", kAddModel);
  std::string so = dir.path + "/add.so";
  Session s;
  ASSERT_EQ(
      take(kiln_compiler_compile_file(s.c, path.c_str(), so.c_str(), nullptr)),
      "");
  kiln_model *model = nullptr;
  kiln_status *st = kiln_model_load(so.c_str(), &model);
  ASSERT_EQ(st, nullptr) << kiln_status_get_message(st);
  expectAddWorks(model, nullptr);
  kiln_model_free(model);

  // Other emit kinds write text.
  std::string ll = dir.path + "/add.linalg.mlir";
  ASSERT_EQ(
      take(kiln_compiler_compile_file(s.c, path.c_str(), ll.c_str(), "linalg")),
      "");
  std::ifstream in(ll);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_NE(text.find("linalg."), std::string::npos);

  kiln_status_code code;
  std::string msg =
      take(kiln_compiler_compile_file(s.c, path.c_str(), so.c_str(), "bogus"),
           &code);
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("unknown emit kind 'bogus'"), std::string::npos) << msg;
  msg = take(kiln_compiler_compile_file(s.c, path.c_str(),
                                        "/nonexistent-dir/add.so", nullptr),
             &code);
  EXPECT_EQ(code, KILN_IO_ERROR);
  EXPECT_NE(msg.find("/nonexistent-dir"), std::string::npos) << msg;
}

TEST(CompilerCAPI, MissingFilesAreIOErrors) {
  Session s;
  kiln_model *model = nullptr;
  kiln_status_code code;
  std::string msg = take(
      kiln_compiler_jit_file(s.c, "/nonexistent/model.onnx", &model), &code);
  EXPECT_EQ(code, KILN_IO_ERROR);
  EXPECT_NE(msg.find("/nonexistent/model.onnx"), std::string::npos) << msg;
  EXPECT_EQ(model, nullptr);
  msg = take(kiln_compiler_jit_file(s.c, "/tmp", &model), &code);
  EXPECT_EQ(code, KILN_IO_ERROR);
  EXPECT_NE(msg.find("is a directory"), std::string::npos) << msg;

  TempDir dir;
  std::string path = dir.file("model.onnx", "not read: the binding fails");
  ASSERT_EQ(take(kiln_compiler_bind_input(s.c, "b", "/nonexistent/b.npy")), "");
  msg = take(kiln_compiler_jit_file(s.c, path.c_str(), &model), &code);
  EXPECT_EQ(code, KILN_IO_ERROR);
  EXPECT_NE(msg.find("the value bound to 'b'"), std::string::npos) << msg;
}

TEST(CompilerCAPI, ImportOptionsApplyToONNXOnly) {
  TempDir dir;
  std::string path = dir.file("add.mlir", kAddModel);
  Session s;
  kiln_model *model = nullptr;
  kiln_status_code code;
  int64_t dims[2] = {2, 3};
  ASSERT_EQ(take(kiln_compiler_add_input_shape(s.c, "x", 2, dims)), "");
  std::string msg =
      take(kiln_compiler_jit_file(s.c, path.c_str(), &model), &code);
  EXPECT_EQ(code, KILN_INVALID_ARGUMENT);
  EXPECT_NE(msg.find("apply to ONNX models only"), std::string::npos) << msg;
  kiln_compiler_clear_inputs(s.c);
  ASSERT_EQ(take(kiln_compiler_jit_file(s.c, path.c_str(), &model)), "");
  kiln_model_free(model);
}

TEST(CompilerCAPI, BadModelsReportLocatedDiagnostics) {
  TempDir dir;
  Session s;
  kiln_model *model = nullptr;
  kiln_status_code code;

  // A verifier error: the message and the session's diagnostics carry the
  // file, line and column.
  std::string bad = dir.file("bad.mlir", kBadModel);
  std::string msg =
      take(kiln_compiler_jit_file(s.c, bad.c_str(), &model), &code);
  EXPECT_EQ(code, KILN_FORMAT_ERROR);
  EXPECT_NE(msg.find("bad.mlir:3:8: error: operand shapes do not broadcast"),
            std::string::npos)
      << msg;
  EXPECT_NE(
      std::string(kiln_compiler_get_diagnostics(s.c)).find("bad.mlir:3:8"),
      std::string::npos);
  EXPECT_EQ(model, nullptr);

  // Syntax errors, from a buffer: the location uses the buffer's name.
  msg =
      take(kiln_compiler_jit_buffer(s.c, "func.func @", 11, "mem.mlir", &model),
           &code);
  EXPECT_EQ(code, KILN_FORMAT_ERROR);
  EXPECT_NE(msg.find("mem.mlir:1:"), std::string::npos) << msg;

  // Garbage ONNX, an empty buffer and an unknown format.
  std::string garbage = dir.file("garbage.onnx", "this is not a protobuf");
  msg = take(kiln_compiler_jit_file(s.c, garbage.c_str(), &model), &code);
  EXPECT_EQ(code, KILN_FORMAT_ERROR);
  EXPECT_NE(msg.find("not a valid ONNX model"), std::string::npos) << msg;
  msg = take(kiln_compiler_jit_buffer(s.c, "", 0, "empty.onnx", &model), &code);
  EXPECT_EQ(code, KILN_FORMAT_ERROR);
  std::string txt = dir.file("model.txt", kAddModel);
  msg = take(kiln_compiler_jit_file(s.c, txt.c_str(), &model), &code);
  EXPECT_EQ(code, KILN_FORMAT_ERROR);
  EXPECT_NE(msg.find("unknown model format '.txt'"), std::string::npos) << msg;

  // A model that parses but a stage rejects: dynamic shapes.
  std::string dyn = dir.file("dyn.mlir", R"mlir(
func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = kiln.exp %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
)mlir");
  msg = take(kiln_compiler_jit_file(s.c, dyn.c_str(), &model), &code);
  EXPECT_EQ(code, KILN_UNSUPPORTED);
  EXPECT_NE(msg.find("dyn.mlir:2:1: error: entry point 'main' must take and "
                     "return statically shaped tensors"),
            std::string::npos)
      << msg;

  // The session still works after failures, and its diagnostics are those of
  // the last compilation only.
  std::string good = dir.file("add.mlir", kAddModel);
  ASSERT_EQ(take(kiln_compiler_jit_file(s.c, good.c_str(), &model)), "");
  EXPECT_STREQ(kiln_compiler_get_diagnostics(s.c), "");
  kiln_model_free(model);
}

TEST(CompilerCAPI, ModelOutlivesSessionAndContext) {
  kiln_model *model = nullptr;
  {
    Session s;
    ASSERT_EQ(take(kiln_compiler_jit_buffer(s.c, kAddModel, strlen(kAddModel),
                                            "add.mlir", &model)),
              "");
  } // the session is destroyed here
  kiln_context *context = nullptr;
  ASSERT_EQ(kiln_context_create(2, &context), nullptr);
  expectAddWorks(model, context);
  kiln_context_destroy(context);
  // The model runs without the pool it ran on before, too.
  expectAddWorks(model, nullptr);
  kiln_model_free(model);
}

TEST(CompilerCAPI, ConcurrentRunsOfOneModel) {
  kiln_model *model = nullptr;
  {
    Session s;
    ASSERT_EQ(take(kiln_compiler_jit_buffer(s.c, kAddModel, strlen(kAddModel),
                                            "add.mlir", &model)),
              "");
  }
  kiln_context *context = nullptr;
  ASSERT_EQ(kiln_context_create(2, &context), nullptr);
  std::vector<std::thread> threads;
  std::vector<int> wrong(6, 0);
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < 200; ++r) {
        float x[6], b[3] = {float(t), float(r), 0}, y[6];
        for (int i = 0; i < 6; ++i)
          x[i] = float(t + r + i);
        kiln_tensor in[2] = {{KILN_F32, 2, {2, 3}, x, sizeof(x)},
                             {KILN_F32, 1, {3}, b, sizeof(b)}};
        kiln_tensor out = {KILN_F32, 2, {2, 3}, y, sizeof(y)};
        // Half the threads share a pool, half run on their own thread.
        kiln_status *s =
            kiln_model_run(model, t % 2 ? context : nullptr, 0, in, 2, &out, 1);
        if (s) {
          kiln_status_free(s);
          ++wrong[t];
          continue;
        }
        for (int i = 0; i < 6; ++i)
          if (y[i] != x[i] * float(i + 1) + b[i % 3])
            ++wrong[t];
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < 6; ++t)
    EXPECT_EQ(wrong[t], 0) << "thread " << t;
  kiln_context_destroy(context);
  kiln_model_free(model);
}

TEST(CompilerCAPI, ConcurrentSessions) {
  TempDir dir;
  std::string path = dir.file("add.mlir", kAddModel);
  std::string bad = dir.file("bad.mlir", kBadModel);
  std::vector<kiln_model *> models(4, nullptr);
  std::vector<std::string> errors(4);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      Session s;
      // Odd threads compile a bad model: their diagnostics must not leak
      // into the other sessions.
      if (t % 2)
        errors[t] = take(kiln_compiler_jit_file(s.c, bad.c_str(), &models[t]));
      else
        errors[t] = take(kiln_compiler_jit_file(s.c, path.c_str(), &models[t]));
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < 4; ++t) {
    if (t % 2) {
      EXPECT_NE(errors[t].find("bad.mlir:3:8"), std::string::npos);
      EXPECT_EQ(models[t], nullptr);
      continue;
    }
    EXPECT_EQ(errors[t], "");
    ASSERT_NE(models[t], nullptr);
    expectAddWorks(models[t], nullptr);
    kiln_model_free(models[t]);
  }
}

} // namespace
