//===- artifact_fuzzer.cpp - libFuzzer target for the artifact loader -----===//
//
// The input is artifact metadata text, a NUL byte, then the bytes of an
// artifact file (whose tail holds the weights table and footer). The loader
// must reject anything inconsistent; weights it accepts must lie inside the
// file.
//
//===----------------------------------------------------------------------===//

#include "../../runtime/src/internal.h"

#include <cstdio>
#include <cstring>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = static_cast<const uint8_t *>(memchr(data, 0, size));
  if (!nul)
    return 0;
  std::string metadata(reinterpret_cast<const char *>(data), nul - data);
  static std::string path = [] {
    char tmpl[] = "/tmp/kiln-artifact-fuzz-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd >= 0)
      close(fd);
    return std::string(tmpl);
  }();
  FILE *f = fopen(path.c_str(), "wb");
  if (!f)
    return 0;
  fwrite(nul + 1, 1, size - (nul + 1 - data), f);
  fclose(f);
  if (kiln_status *s =
          kiln::rt::checkArtifactParts(metadata.c_str(), path.c_str()))
    kiln_status_free(s);
  return 0;
}
