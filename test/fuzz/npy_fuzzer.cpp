//===- npy_fuzzer.cpp - libFuzzer target for the runtime's .npy reader ----===//

#include "kiln/runtime.h"

#include <cstring>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  kiln_tensor t;
  kiln_status *s = kiln_npy_parse(data, size, &t);
  if (s) {
    kiln_status_free(s);
    return 0;
  }
  // A parsed tensor is consistent: its data holds exactly its elements.
  int64_t n = kiln_num_elements(t.rank, t.shape);
  if (n < 0 || (size_t)n * kiln_dtype_size(t.dtype) != t.size_bytes)
    __builtin_trap();
  if (t.size_bytes)
    memset(t.data, 0, t.size_bytes);
  kiln_free(t.data);
  return 0;
}
