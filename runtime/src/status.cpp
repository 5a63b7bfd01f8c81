//===- status.cpp - statuses, dtypes and memory ---------------------------===//

#include "internal.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <new>

using namespace kiln::rt;

kiln_status *kiln::rt::error(kiln_status_code code, const char *fmt, ...) {
  char buf[1024];
  va_list args;
  va_start(args, fmt);
  vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  auto *s = new (std::nothrow) kiln_status{code, buf};
  if (!s) {
    // Out of memory while reporting an error: a static status would have
    // to outlive kiln_status_free; abort instead of returning success.
    std::fputs("kiln runtime: out of memory while reporting an error\n",
               stderr);
    std::abort();
  }
  return s;
}

extern "C" kiln_status_code kiln_status_get_code(const kiln_status *status) {
  return status ? status->code : KILN_OK;
}

extern "C" const char *kiln_status_get_message(const kiln_status *status) {
  return status ? status->message.c_str() : "ok";
}

extern "C" void kiln_status_free(kiln_status *status) { delete status; }

namespace {
struct DtypeInfo {
  const char *name;
  size_t size;
};
const DtypeInfo kDtypes[] = {
    {"f32", 4}, {"f16", 2}, {"bf16", 2}, {"f64", 8}, {"i64", 8},
    {"i32", 4}, {"i16", 2}, {"i8", 1},   {"u8", 1},  {"bool", 1},
};
constexpr int kNumDtypes = sizeof(kDtypes) / sizeof(kDtypes[0]);
} // namespace

extern "C" const char *kiln_dtype_name(kiln_dtype dtype) {
  int i = static_cast<int>(dtype);
  return i >= 0 && i < kNumDtypes ? kDtypes[i].name : "unknown";
}

extern "C" size_t kiln_dtype_size(kiln_dtype dtype) {
  int i = static_cast<int>(dtype);
  return i >= 0 && i < kNumDtypes ? kDtypes[i].size : 0;
}

bool kiln::rt::parseDtype(const std::string &name, kiln_dtype *out) {
  for (int i = 0; i < kNumDtypes; ++i)
    if (name == kDtypes[i].name) {
      *out = static_cast<kiln_dtype>(i);
      return true;
    }
  return false;
}

extern "C" int64_t kiln_num_elements(int32_t rank, const int64_t *shape) {
  if (rank < 0 || rank > KILN_MAX_RANK || (rank > 0 && !shape))
    return -1;
  int64_t n = 1;
  for (int32_t i = 0; i < rank; ++i) {
    if (shape[i] < 0 || mulOverflow(n, shape[i], &n))
      return -1;
  }
  return n;
}

void *kiln::rt::alignedAlloc(size_t bytes) {
  void *p = nullptr;
  if (posix_memalign(&p, 64, bytes ? bytes : 64) != 0)
    return nullptr;
  return p;
}

extern "C" void kiln_free(void *data) { free(data); }
