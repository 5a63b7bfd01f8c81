//===- Checkpoint.cpp - the tensors of a checkpoint directory -------------===//

#include "Checkpoint.h"

#include "kiln/Support/FileBackedMemory.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Path.h"

#include <algorithm>
#include <cstring>

using namespace mlir;
using namespace mlir::kiln::hf;

LogicalResult Checkpoint::open(MLIRContext &context, llvm::StringRef path) {
  ctx = &context;
  dir = path.str();
  std::vector<std::string> files;
  std::error_code ec;
  for (llvm::sys::fs::directory_iterator it(path, ec), end; it != end && !ec;
       it.increment(ec))
    if (llvm::sys::path::extension(it->path()) == ".safetensors")
      files.push_back(it->path());
  if (ec)
    return emitError(FileLineColLoc::get(ctx, path, 0, 0))
           << "cannot list the checkpoint directory: " << ec.message();
  if (files.empty())
    return emitError(FileLineColLoc::get(ctx, path, 0, 0))
           << "no *.safetensors file in the checkpoint directory";
  std::sort(files.begin(), files.end());
  for (const std::string &file : files) {
    Location loc = FileLineColLoc::get(ctx, file, 0, 0);
    llvm::Expected<MappedFile> mapped = mapFile(file);
    if (!mapped)
      return emitError(loc) << llvm::toString(mapped.takeError());
    llvm::Expected<std::vector<TensorView>> views =
        parseSafeTensors(mapped->bytes);
    if (!views)
      return emitError(loc) << llvm::toString(views.takeError());
    for (TensorView &v : *views) {
      if (tensors.count(v.name))
        return emitError(loc) << "tensor '" << v.name << "' is also in '"
                              << tensors[v.name].file << "'";
      std::string name = v.name;
      tensors[name] = Entry{std::move(v), file, mapped->owner, false};
    }
  }
  return success();
}

/// IEEE half to float.
static float halfToFloat(uint16_t h) {
  uint32_t sign = uint32_t(h & 0x8000) << 16;
  uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      int e = -1;
      do {
        ++e;
        mant <<= 1;
      } while (!(mant & 0x400));
      bits = sign | uint32_t(127 - 15 - e) << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000 | mant << 13;
  } else {
    bits = sign | (exp + 127 - 15) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

FailureOr<DenseResourceElementsAttr>
Checkpoint::f32(llvm::StringRef name, llvm::ArrayRef<int64_t> shape) {
  auto it = tensors.find(name);
  if (it == tensors.end())
    return emitError(FileLineColLoc::get(ctx, dir, 0, 0))
           << "the checkpoint has no tensor '" << name << "'";
  Entry &e = it->second;
  Location loc = FileLineColLoc::get(ctx, e.file, 0, 0);
  if (llvm::ArrayRef<int64_t>(e.view.shape) != shape) {
    InFlightDiagnostic d = emitError(loc)
                           << "tensor '" << name << "' has shape [";
    llvm::interleaveComma(e.view.shape, d);
    d << "], the config implies [";
    llvm::interleaveComma(shape, d);
    return d << "]";
  }
  DType dt = e.view.dtype;
  if (dt != DType::F32 && dt != DType::F16 && dt != DType::BF16)
    return emitError(loc) << "tensor '" << name << "' has dtype "
                          << dtypeName(dt)
                          << "; weights must be F32, F16 or BF16";
  e.used = true;
  if (DenseResourceElementsAttr done = made.lookup(name))
    return done;
  auto type = RankedTensorType::get(shape, Float32Type::get(ctx));
  std::string key = name.str();
  std::replace_if(
      key.begin(), key.end(),
      [](char c) { return !isalnum(static_cast<unsigned char>(c)); }, '_');
  llvm::ArrayRef<char> raw = e.view.data;
  AsmResourceBlob blob;
  if (dt == DType::F32 && reinterpret_cast<uintptr_t>(raw.data()) % 4 == 0) {
    // In place: the blob keeps the file mapped.
    std::shared_ptr<void> owner = e.owner;
    blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        raw, 4, [owner](void *, size_t, size_t) {});
  } else {
    // Widened into a file-backed blob (allocateWeightBlob), a chunk at a
    // time; the pages of the source and of the result are dropped as the
    // conversion goes, so its resident memory is a few chunks, not the model.
    int64_t n = e.view.numElements();
    blob = allocateWeightBlob(size_t(n) * 4);
    float *out = reinterpret_cast<float *>(blob.getMutableData().data());
    const char *in = raw.data();
    int64_t inSize = dtypeSize(dt);
    constexpr int64_t kChunk = 1 << 20;
    for (int64_t start = 0; start < n; start += kChunk) {
      int64_t end = std::min(n, start + kChunk);
      for (int64_t i = start; i < end; ++i) {
        if (dt == DType::F32) {
          std::memcpy(&out[i], in + 4 * i, 4);
        } else {
          uint16_t h;
          std::memcpy(&h, in + 2 * i, 2);
          if (dt == DType::F16) {
            out[i] = halfToFloat(h);
          } else {
            uint32_t bits = uint32_t(h) << 16;
            std::memcpy(&out[i], &bits, 4);
          }
        }
      }
      dropPages(in + inSize * start, size_t(inSize * (end - start)));
      dropPages(out + start, size_t(4 * (end - start)));
    }
  }
  auto attr = DenseResourceElementsAttr::get(type, key, std::move(blob));
  made[name] = attr;
  return attr;
}

std::vector<std::string> Checkpoint::unused() const {
  std::vector<std::string> names;
  for (const auto &kv : tensors)
    if (!kv.second.used)
      names.push_back(kv.first().str());
  std::sort(names.begin(), names.end());
  return names;
}
