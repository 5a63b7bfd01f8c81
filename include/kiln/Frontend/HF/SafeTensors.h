//===- SafeTensors.h - reading .safetensors files ---------------*- C++ -*-===//
//
// The safetensors format: an 8-byte little-endian header length N, N bytes
// of JSON mapping tensor names to {"dtype", "shape", "data_offsets"} (plus
// an optional "__metadata__" object of strings), then the tensors' bytes;
// offsets are relative to the end of the header. The parser checks every
// field against the file (sizes, overflow, overlap) and never reads outside
// the bytes it is given.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_FRONTEND_HF_SAFETENSORS_H
#define KILN_FRONTEND_HF_SAFETENSORS_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mlir::kiln::hf {

/// Element types of safetensors files that kiln reads.
enum class DType { F32, F16, BF16, F64, I64, I32, I16, I8, U8, Bool };

/// The size of one element in bytes.
int64_t dtypeSize(DType dtype);
/// The safetensors name ("F32", "BF16", ...).
llvm::StringRef dtypeName(DType dtype);

/// One tensor of a file: its bytes are a view into the file's mapping.
struct TensorView {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  llvm::ArrayRef<char> data;

  int64_t numElements() const;
};

/// The largest header kiln accepts (the format's own limit is 100 MB).
constexpr uint64_t kMaxHeaderBytes = 100u << 20;

/// Parses safetensors `bytes` (a whole file). The views point into `bytes`.
/// Errors name the offending tensor and field.
llvm::Expected<std::vector<TensorView>> parseSafeTensors(llvm::StringRef bytes);

/// A file mapped read-only into memory; the mapping lives as long as any
/// copy of `owner`.
struct MappedFile {
  llvm::StringRef bytes;
  std::shared_ptr<void> owner;
};

/// Maps `path` read-only (an empty file maps to no bytes).
llvm::Expected<MappedFile> mapFile(llvm::StringRef path);

} // namespace mlir::kiln::hf

#endif // KILN_FRONTEND_HF_SAFETENSORS_H
