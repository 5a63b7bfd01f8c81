//===- RuntimeTest.cpp - unit tests of the kiln runtime C API -------------===//

#include "kiln/runtime.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

/// Frees a status and returns its message ("" for success).
std::string message(kiln_status *s) {
  std::string m = s ? kiln_status_get_message(s) : "";
  kiln_status_free(s);
  return m;
}

std::vector<unsigned char> npy(const std::string &header,
                               const std::vector<unsigned char> &data) {
  std::vector<unsigned char> b = {0x93,
                                  'N',
                                  'U',
                                  'M',
                                  'P',
                                  'Y',
                                  1,
                                  0,
                                  (unsigned char)(header.size() & 0xff),
                                  (unsigned char)(header.size() >> 8)};
  b.insert(b.end(), header.begin(), header.end());
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

TEST(Runtime, DtypesAndCounts) {
  EXPECT_STREQ(kiln_dtype_name(KILN_BF16), "bf16");
  EXPECT_EQ(kiln_dtype_size(KILN_I64), 8u);
  EXPECT_EQ(kiln_dtype_size(static_cast<kiln_dtype>(99)), 0u);
  int64_t shape[] = {2, 3, 4};
  EXPECT_EQ(kiln_num_elements(3, shape), 24);
  int64_t neg[] = {2, -1};
  EXPECT_EQ(kiln_num_elements(2, neg), -1);
  int64_t huge[] = {INT64_MAX / 2, 3};
  EXPECT_EQ(kiln_num_elements(2, huge), -1);
  EXPECT_EQ(kiln_num_elements(-1, shape), -1);
  EXPECT_EQ(kiln_num_elements(0, nullptr), 1);
}

TEST(Runtime, StatusOfSuccess) {
  EXPECT_EQ(kiln_status_get_code(nullptr), KILN_OK);
  EXPECT_STREQ(kiln_status_get_message(nullptr), "ok");
  kiln_status_free(nullptr);
}

TEST(Npy, ParsesVersion1) {
  float v[] = {1.5f, -2.0f, 3.25f};
  std::vector<unsigned char> data((unsigned char *)v, (unsigned char *)v + 12);
  auto b =
      npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", data);
  kiln_tensor t;
  ASSERT_EQ(message(kiln_npy_parse(b.data(), b.size(), &t)), "");
  EXPECT_EQ(t.dtype, KILN_F32);
  EXPECT_EQ(t.rank, 1);
  EXPECT_EQ(t.shape[0], 3);
  EXPECT_EQ(0, memcmp(t.data, v, 12));
  kiln_free(t.data);
}

TEST(Npy, ParsesScalarsAndKeyOrder) {
  int64_t v = 42;
  std::vector<unsigned char> data((unsigned char *)&v, (unsigned char *)&v + 8);
  auto b = npy("{\"shape\": (), \"fortran_order\": False, \"descr\": \"<i8\"}",
               data);
  kiln_tensor t;
  ASSERT_EQ(message(kiln_npy_parse(b.data(), b.size(), &t)), "");
  EXPECT_EQ(t.rank, 0);
  EXPECT_EQ(*static_cast<int64_t *>(t.data), 42);
  kiln_free(t.data);
}

TEST(Npy, RejectsBadInput) {
  kiln_tensor t;
  std::vector<std::pair<std::vector<unsigned char>, std::string>> cases = {
      {{'x'}, "not a .npy file (bad magic)"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
           {0, 0, 0, 0}),
       ".npy data is truncated: 12 bytes expected, 4 present"},
      {npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", {}),
       ".npy dtype '<c8' is not supported"},
      {npy("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }", {}),
       ".npy file is in Fortran order"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
           "(99999999999, 99999999999), }",
           {}),
       ".npy shape is too large"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (1,", {}),
       ".npy header: bad dimension"},
      {npy("{'descr': '<f4', 'fortran_order': False}", {}),
       ".npy header lacks descr, fortran_order or shape"},
      {npy("{'descr: '<f4'}", {}), ".npy header: malformed entry"},
      {npy("[1, 2]", {}), ".npy header is not a dictionary"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", {}),
       ".npy header: bad dimension"},
      {npy("{'descr': '<f4', 'fortran_order': False, 'shape': "
           "(1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }",
           {}),
       ".npy rank exceeds 16"},
  };
  for (auto &[bytes, want] : cases) {
    EXPECT_EQ(message(kiln_npy_parse(bytes.data(), bytes.size(), &t)), want);
    EXPECT_EQ(t.data, nullptr);
  }
  EXPECT_NE(message(kiln_npy_parse(nullptr, 10, &t)), "");
  EXPECT_NE(message(kiln_npy_parse("x", 1, nullptr)), "");
}

TEST(Npy, RoundTripsThroughAFile) {
  int32_t v[6] = {1, 2, 3, 4, 5, 6};
  kiln_tensor t{};
  t.dtype = KILN_I32;
  t.rank = 2;
  t.shape[0] = 2;
  t.shape[1] = 3;
  t.data = v;
  t.size_bytes = sizeof(v);
  std::string path = ::testing::TempDir() + "/roundtrip.npy";
  ASSERT_EQ(message(kiln_npy_write(path.c_str(), &t)), "");
  kiln_tensor r;
  ASSERT_EQ(message(kiln_npy_read(path.c_str(), &r)), "");
  EXPECT_EQ(r.dtype, KILN_I32);
  EXPECT_EQ(r.shape[1], 3);
  EXPECT_EQ(0, memcmp(r.data, v, sizeof(v)));
  kiln_free(r.data);
  t.size_bytes = 4; // too small for its shape
  EXPECT_EQ(message(kiln_npy_write(path.c_str(), &t)),
            "kiln_npy_write: inconsistent tensor");
}

kiln_entry_fn noResolver(void *, const char *) { return nullptr; }

void addOne(void **buffers, void *const *, void *) {
  auto *in = static_cast<float *>(buffers[0]);
  auto *out = static_cast<float *>(buffers[1]);
  for (int i = 0; i < 3; ++i)
    out[i] = in[i] + 1;
}
kiln_entry_fn addOneResolver(void *, const char *name) {
  return std::string(name) == "kiln_entry_f" ? addOne : nullptr;
}
const char *kAddOneMeta = "kiln-artifact 1\nweights 0\nentry f 0 1 1\n"
                          "input x f32 1 3\noutput y f32 1 3\nend\n";

TEST(Model, RejectsBadMetadata) {
  kiln_model *m = nullptr;
  std::vector<std::pair<const char *, std::string>> cases = {
      {"", "artifact metadata is truncated"},
      {"kiln-artifact 9\nend\n",
       "artifact format version 9; this runtime reads 1"},
      {"kiln-artifact 1\nend\n", "artifact has no entry points"},
      {"kiln-artifact 1\nentry f 0 1 0\nend\n",
       "artifact metadata: entry 'f' lists the wrong number of tensors"},
      {"kiln-artifact 1\nentry f -5 0 0\nend\n",
       "artifact metadata line 2: expected 'entry <name> <workspace> <inputs> "
       "<outputs>': 'entry f -5 0 0'"},
      {"kiln-artifact 1\nentry f 0 1 0\ninput x q7 1 3\nend\n",
       "artifact metadata line 3: unknown dtype: 'input x q7 1 3'"},
      {"kiln-artifact 1\nentry f 0 1 0\ninput x f32 1 -3\nend\n",
       "artifact metadata line 3: bad dimension: 'input x f32 1 -3'"},
      {"kiln-artifact 1\nentry f 0 1 0\ninput x f32 2 4611686018427387904 "
       "4\nend\n",
       "artifact metadata line 3: tensor too large: 'input x f32 2 "
       "4611686018427387904 4'"},
      {"kiln-artifact 1\ninput x f32 1 3\nend\n",
       "artifact metadata line 2: tensor outside an entry: 'input x f32 1 3'"},
      {"kiln-artifact 1\nweights 2\nweight 0 8\nentry f 0 0 0\nend\n",
       "artifact metadata lists 1 weight sizes for 2 weights"},
      {"kiln-artifact 1\nentry f 0 0 0\nend\nmore\n",
       "artifact metadata line 4: text after 'end': 'more'"},
      {"kiln-artifact 1\nbogus\nend\n",
       "artifact metadata line 2: unknown keyword: 'bogus'"},
  };
  for (auto &[meta, want] : cases) {
    EXPECT_EQ(message(kiln_model_create(meta, noResolver, nullptr, nullptr, 0,
                                        nullptr, nullptr, &m)),
              want);
    EXPECT_EQ(m, nullptr);
  }
  EXPECT_EQ(message(kiln_model_create(kAddOneMeta, noResolver, nullptr, nullptr,
                                      0, nullptr, nullptr, &m)),
            "kiln_model_create: no function kiln_entry_f");
}

TEST(Model, ValidatesEveryRun) {
  kiln_model *m = nullptr;
  ASSERT_EQ(message(kiln_model_create(kAddOneMeta, addOneResolver, nullptr,
                                      nullptr, 0, nullptr, nullptr, &m)),
            "");
  float x[3] = {1, 2, 3};
  kiln_tensor in{}, out{};
  in.dtype = KILN_F32;
  in.rank = 1;
  in.shape[0] = 3;
  in.data = x;
  in.size_bytes = sizeof(x);
  out.dtype = KILN_F32;
  out.rank = 1;
  out.shape[0] = 3;
  ASSERT_EQ(message(kiln_model_run(m, nullptr, 0, &in, 1, &out, 1)), "");
  ASSERT_NE(out.data, nullptr);
  EXPECT_EQ(static_cast<float *>(out.data)[2], 4.0f);
  kiln_free(out.data);
  out.data = nullptr;

  EXPECT_EQ(message(kiln_model_run(m, nullptr, 1, &in, 1, &out, 1)),
            "kiln_model_run: no entry point 1");
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &in, 2, &out, 1)),
            "f takes 1 inputs and 1 outputs, got 2 and 1");
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, nullptr, 1, &out, 1)),
            "kiln_model_run: NULL tensor array");
  kiln_tensor bad = in;
  bad.dtype = KILN_I32;
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &bad, 1, &out, 1)),
            "f: input 0 ('x') must be f32, got i32");
  bad = in;
  bad.shape[0] = 4;
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &bad, 1, &out, 1)),
            "f: input 0 ('x') must have shape [3], got [4]");
  bad = in;
  bad.rank = 99;
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &bad, 1, &out, 1)),
            "f: input 0 ('x') has rank 99");
  bad = in;
  bad.size_bytes = 4;
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &bad, 1, &out, 1)),
            "f: input 0 ('x') holds 4 bytes, needs 12");
  bad = in;
  bad.data = nullptr;
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &bad, 1, &out, 1)),
            "f: input 0 ('x') has no data");
  float small[1];
  kiln_tensor tiny = out;
  tiny.data = small;
  tiny.size_bytes = sizeof(small);
  EXPECT_EQ(message(kiln_model_run(m, nullptr, 0, &in, 1, &tiny, 1)),
            "f: output 0 ('y') holds 4 bytes, needs 12");
  EXPECT_EQ(message(kiln_model_run(nullptr, nullptr, 0, &in, 1, &out, 1)),
            "kiln_model_run: no entry point 0");

  const char *name = nullptr;
  kiln_tensor info;
  EXPECT_EQ(message(kiln_model_input_info(m, 0, 0, &name, &info)), "");
  EXPECT_STREQ(name, "x");
  EXPECT_EQ(info.size_bytes, 12u);
  EXPECT_EQ(message(kiln_model_output_info(m, 0, 3, &name, &info)),
            "entry point 'f' has no output 3");
  EXPECT_EQ(kiln_model_find_entry(m, "f"), 0);
  EXPECT_EQ(kiln_model_find_entry(m, "g"), -1);
  EXPECT_EQ(kiln_model_entry_name(m, 5), nullptr);
  kiln_model_free(m);
}

TEST(Model, LoadErrors) {
  kiln_model *m = nullptr;
  EXPECT_EQ(message(kiln_model_load(nullptr, &m)),
            "kiln_model_load: path is NULL");
  EXPECT_EQ(message(kiln_model_load("x.so", nullptr)),
            "kiln_model_load: out is NULL");
  EXPECT_EQ(message(kiln_model_load("/nonexistent/m.so", &m)),
            "cannot read '/nonexistent/m.so': No such file or directory");
}

std::atomic<int64_t> hits[1000];
void countTask(void *, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i)
    hits[i].fetch_add(1);
}

TEST(ThreadPool, RunsEveryIndexOnce) {
  for (int threads : {1, 2, 4, 7}) {
    kiln_context *ctx = nullptr;
    ASSERT_EQ(message(kiln_context_create(threads, &ctx)), "");
    EXPECT_EQ(kiln_context_num_threads(ctx), threads);
    for (auto &h : hits)
      h = 0;
    // Generated code runs parallel loops from inside kiln_model_run, which
    // makes the context current; an entry function stands in for that.
    kiln_model *m = nullptr;
    static const char *meta =
        "kiln-artifact 1\nweights 0\nentry p 0 0 0\nend\n";
    auto resolver = [](void *, const char *) -> kiln_entry_fn {
      return [](void **, void *const *, void *) {
        for (int rep = 0; rep < 50; ++rep)
          kiln_rt_parallel_for(1000, countTask, nullptr);
        kiln_rt_parallel_for(0, countTask, nullptr);
      };
    };
    ASSERT_EQ(message(kiln_model_create(meta, resolver, nullptr, nullptr, 0,
                                        nullptr, nullptr, &m)),
              "");
    ASSERT_EQ(message(kiln_model_run(m, ctx, 0, nullptr, 0, nullptr, 0)), "");
    for (auto &h : hits)
      EXPECT_EQ(h.load(), 50);
    kiln_model_free(m);
    kiln_context_destroy(ctx);
  }
  kiln_context *ctx = nullptr;
  EXPECT_EQ(message(kiln_context_create(-1, &ctx)),
            "kiln_context_create: -1 threads is out of range [0, 1024]");
  EXPECT_EQ(message(kiln_context_create(0, &ctx)), "");
  EXPECT_GE(kiln_context_num_threads(ctx), 1);
  kiln_context_destroy(ctx);
  kiln_context_destroy(nullptr);
}

// Many tiny jobs on more workers than cores: most workers wake after the
// caller has taken every item and closed the job, and must neither run
// items of it nor join the next one late; every index still runs exactly
// once per job.
TEST(ThreadPool, LateWorkersNeverRunClosedJobs) {
  kiln_context *ctx = nullptr;
  ASSERT_EQ(message(kiln_context_create(16, &ctx)), "");
  for (auto &h : hits)
    h = 0;
  static const char *meta = "kiln-artifact 1\nweights 0\nentry p 0 0 0\nend\n";
  auto resolver = [](void *, const char *) -> kiln_entry_fn {
    return [](void **, void *const *, void *) {
      for (int rep = 0; rep < 20000; ++rep)
        kiln_rt_parallel_for(3 + rep % 5, countTask, nullptr);
    };
  };
  kiln_model *m = nullptr;
  ASSERT_EQ(message(kiln_model_create(meta, resolver, nullptr, nullptr, 0,
                                      nullptr, nullptr, &m)),
            "");
  ASSERT_EQ(message(kiln_model_run(m, ctx, 0, nullptr, 0, nullptr, 0)), "");
  // Index i < 3 runs in all 20000 jobs; index 3 + k in those with
  // rep % 5 > k.
  for (int i = 0; i < 7; ++i)
    EXPECT_EQ(hits[i].load(), i < 3 ? 20000 : 4000 * (7 - i)) << i;
  for (int i = 7; i < 1000; ++i)
    EXPECT_EQ(hits[i].load(), 0);
  kiln_model_free(m);
  kiln_context_destroy(ctx);
}

TEST(ThreadPool, ConcurrentRunsShareAPool) {
  kiln_context *ctx = nullptr;
  ASSERT_EQ(message(kiln_context_create(2, &ctx)), "");
  for (auto &h : hits)
    h = 0;
  static const char *meta = "kiln-artifact 1\nweights 0\nentry p 64 0 0\nend\n";
  auto resolver = [](void *, const char *) -> kiln_entry_fn {
    return [](void **, void *const *, void *ws) {
      memset(ws, 1, 64); // every run has a workspace of its own
      for (int rep = 0; rep < 20; ++rep)
        kiln_rt_parallel_for(1000, countTask, nullptr);
    };
  };
  kiln_model *m = nullptr;
  ASSERT_EQ(message(kiln_model_create(meta, resolver, nullptr, nullptr, 0,
                                      nullptr, nullptr, &m)),
            "");
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t)
    callers.emplace_back([&] {
      for (int i = 0; i < 10; ++i)
        EXPECT_EQ(message(kiln_model_run(m, ctx, 0, nullptr, 0, nullptr, 0)),
                  "");
    });
  for (auto &c : callers)
    c.join();
  for (auto &h : hits)
    EXPECT_EQ(h.load(), 4 * 10 * 20);
  kiln_model_free(m);
  kiln_context_destroy(ctx);
}

} // namespace
