//===- safetensors_fuzzer.cpp - libFuzzer target for the HF frontend ------===//
//
// Feeds the bytes to the safetensors parser and, as text, to the config.json
// reader. A parsed file is consistent: every tensor's bytes lie inside the
// input and match its shape and dtype (they are read to let ASan check).
//
//===----------------------------------------------------------------------===//

#include "kiln/Frontend/HF/Importer.h"
#include "kiln/Frontend/HF/SafeTensors.h"

#include <cstdint>

using namespace mlir::kiln::hf;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  llvm::StringRef bytes(reinterpret_cast<const char *>(data), size);
  llvm::Expected<std::vector<TensorView>> views = parseSafeTensors(bytes);
  if (views) {
    for (const TensorView &t : *views) {
      if (t.data.size() != size_t(t.numElements() * dtypeSize(t.dtype)) ||
          (!t.data.empty() &&
           (t.data.data() < bytes.data() || t.data.end() > bytes.end())))
        __builtin_trap();
      volatile char sink = 0;
      for (char c : t.data)
        sink ^= c;
    }
  } else {
    llvm::consumeError(views.takeError());
  }
  llvm::Expected<LlamaConfig> config = parseLlamaConfig(bytes);
  if (config) {
    if (config->numHeads % config->numKVHeads || config->headDim % 2 ||
        config->hiddenSize <= 0 || config->numLayers <= 0)
      __builtin_trap();
  } else {
    llvm::consumeError(config.takeError());
  }
  return 0;
}
