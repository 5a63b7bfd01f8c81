//===- Weights.cpp - the constant weights of matmuls ----------------------===//

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "kiln/Support/FileBackedMemory.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cstring>
#include <mutex>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::weights;

Value weights::f32MatmulWeightSource(MatmulOp op, bool &transposed) {
  auto lhs = cast<RankedTensorType>(op.getLhs().getType());
  auto out = cast<RankedTensorType>(op.getType());
  transposed = false;
  if (!lhs.getElementType().isF32() || !out.getElementType().isF32() ||
      lhs.getRank() < 2 || out.getRank() != lhs.getRank())
    return {};
  Value rhs = op.getRhs();
  if (auto t = rhs.getDefiningOp<TransposeOp>()) {
    if (t.getPermutation() != ArrayRef<int64_t>{1, 0})
      return {};
    transposed = true;
    return t.getInput();
  }
  return rhs;
}

std::optional<MatmulWeight> weights::matchConstantWeight(MatmulOp op) {
  auto lhs = cast<RankedTensorType>(op.getLhs().getType());
  auto out = cast<RankedTensorType>(op.getType());
  MatmulWeight w;
  Value rhs = f32MatmulWeightSource(op, w.transposed);
  if (!rhs)
    return std::nullopt;
  w.constant = rhs.getDefiningOp<ConstantOp>();
  auto type = cast<RankedTensorType>(rhs.getType());
  if (!w.constant || type.getRank() != 2 || !type.hasStaticShape() ||
      !type.getElementType().isF32())
    return std::nullopt;
  w.k = type.getDimSize(w.transposed ? 1 : 0);
  w.n = type.getDimSize(w.transposed ? 0 : 1);
  if (lhs.getShape().back() != w.k || out.getShape().back() != w.n)
    return std::nullopt;
  w.name = locationName(op.getLoc()) + " " + locationName(w.constant.getLoc());
  return w;
}

bool weights::readConstant(ConstantOp c, int64_t count,
                           std::vector<float> &out) {
  ElementsAttr attr = c.getValue();
  if (!attr.getElementType().isF32() || attr.getNumElements() != count)
    return false;
  if (isa<DenseResourceElementsAttr>(attr)) {
    const float *src = blobFloats(c, count);
    if (!src)
      return false;
    out.assign(src, src + count);
    doneReading(c); // a file-backed source leaves resident memory once read
    return true;
  }
  auto dense = dyn_cast<DenseElementsAttr>(attr);
  if (!dense)
    return false;
  out.clear();
  out.reserve(size_t(count));
  if (dense.isSplat())
    out.assign(size_t(count), dense.getSplatValue<float>());
  else
    for (float x : dense.getValues<float>())
      out.push_back(x);
  return true;
}

bool weights::readWeight(const MatmulWeight &w, std::vector<float> &out) {
  if (!readConstant(w.constant, w.k * w.n, out))
    return false;
  if (w.transposed) {
    // Stored [N, K].
    std::vector<float> src = std::move(out);
    out.assign(src.size(), 0.0f);
    for (int64_t n = 0; n < w.n; ++n)
      for (int64_t k = 0; k < w.k; ++k)
        out[size_t(k * w.n + n)] = src[size_t(n * w.k + k)];
  }
  return true;
}

std::string weights::locationName(Location loc) {
  if (auto name = dyn_cast<NameLoc>(loc))
    return name.getName().str();
  if (auto fused = dyn_cast<FusedLoc>(loc)) {
    std::string out;
    for (Location l : fused.getLocations()) {
      std::string s = locationName(l);
      if (!s.empty())
        out += (out.empty() ? "" : " ") + s;
    }
    return out;
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  loc.print(os);
  return out;
}

bool weights::toHalf(float x, uint16_t &h) {
  if (x == 0.0f) {
    h = 0;
    return true;
  }
  uint32_t b;
  std::memcpy(&b, &x, sizeof b);
  uint32_t sign = (b >> 16) & 0x8000u, man = b & 0x7fffffu;
  int32_t exp = int32_t((b >> 23) & 0xffu) - 127 + 15;
  if (exp < 1 || exp > 30)
    return false;
  uint32_t r = sign | (uint32_t(exp) << 10) | (man >> 13), rem = man & 0x1fffu;
  if (rem > 0x1000u || (rem == 0x1000u && (r & 1u)))
    ++r; // may carry into the exponent: still the nearest value
  if ((r & 0x7c00u) == 0x7c00u)
    return false; // rounded up to infinity
  h = uint16_t(r);
  return true;
}

float weights::fromHalf(uint16_t h) {
  if ((h & 0x7fffu) == 0)
    return (h & 0x8000u) ? -0.0f : 0.0f;
  uint32_t b = (uint32_t(h & 0x8000u) << 16) |
               ((uint32_t((h >> 10) & 0x1fu) + 112) << 23) |
               (uint32_t(h & 0x3ffu) << 13);
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}

std::string weights::blobKey(ConstantOp c) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
    return res.getRawHandle().getKey().str();
  return "w";
}

namespace {

/// Blob lookups and insertions happen under this lock: function passes may
/// run in parallel, and the second function to convert a shared weight must
/// find the first one's blob.
std::mutex &blobMutex() {
  static std::mutex mutex;
  return mutex;
}

/// A constant of `type` reading an existing blob entry.
Value constantOf(OpBuilder &b, Location loc, RankedTensorType type,
                 DialectResourceBlobManager::BlobEntry *entry) {
  auto *dialect = b.getContext()->getOrLoadDialect<BuiltinDialect>();
  auto attr = DenseResourceElementsAttr::get(
      type, DenseResourceElementsHandle(entry, dialect));
  return ConstantOp::create(b, loc, type, attr);
}

/// The stored blob named `key`, if any.
DialectResourceBlobManager::BlobEntry *lookupBlob(MLIRContext *ctx,
                                                  llvm::StringRef key) {
  return DenseResourceElementsHandle::getManagerInterface(ctx)
      .getBlobManager()
      .lookup(key);
}

/// A new blob of `bytes` bytes written by `fill`: file-backed when big
/// (FileBackedMemory.h), its pages dropped once written.
Value newBlobConstant(OpBuilder &b, Location loc, RankedTensorType type,
                      llvm::StringRef key, size_t bytes,
                      llvm::function_ref<void(char *)> fill) {
  AsmResourceBlob blob = allocateWeightBlob(bytes);
  fill(blob.getMutableData().data());
  dropPages(blob.getData().data(), bytes);
  auto attr = DenseResourceElementsAttr::get(type, key, std::move(blob));
  return ConstantOp::create(b, loc, type, attr);
}

} // namespace

Value weights::blobConstant(OpBuilder &b, Location loc, RankedTensorType type,
                            llvm::StringRef key, llvm::ArrayRef<char> bytes) {
  return newBlobConstant(b, loc, type, key, bytes.size(), [&](char *dst) {
    std::memcpy(dst, bytes.data(), bytes.size());
  });
}

Value weights::sharedBlobConstant(OpBuilder &b, Location loc,
                                  RankedTensorType type, llvm::StringRef key,
                                  llvm::ArrayRef<char> bytes) {
  std::lock_guard<std::mutex> lock(blobMutex());
  if (auto *entry = lookupBlob(b.getContext(), key)) {
    const AsmResourceBlob *blob = entry->getBlob();
    bool same =
        blob && blob->getData().size() == bytes.size() &&
        std::memcmp(blob->getData().data(), bytes.data(), bytes.size()) == 0;
    // The comparison read a file-backed blob back in: drop it again.
    if (blob)
      dropPages(blob->getData().data(), blob->getData().size());
    if (same)
      return constantOf(b, loc, type, entry);
  }
  return blobConstant(b, loc, type, key, bytes);
}

const float *weights::blobFloats(ConstantOp c, int64_t count) {
  auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue());
  if (!res || !res.getElementType().isF32() || res.getNumElements() != count)
    return nullptr;
  AsmResourceBlob *blob = res.getRawHandle().getBlob();
  if (!blob || blob->getData().size() < size_t(count) * sizeof(float))
    return nullptr;
  return reinterpret_cast<const float *>(blob->getData().data());
}

void weights::doneReading(ConstantOp c) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(c.getValue()))
    if (AsmResourceBlob *blob = res.getRawHandle().getBlob())
      dropPages(blob->getData().data(), blob->getData().size());
}

Value weights::derivedBlobConstant(OpBuilder &b, Location loc,
                                   RankedTensorType type, llvm::StringRef key,
                                   size_t bytes,
                                   llvm::function_ref<void(char *)> fill) {
  // Built under the lock too: the second function to ask finds the blob.
  std::lock_guard<std::mutex> lock(blobMutex());
  if (auto *entry = lookupBlob(b.getContext(), key)) {
    const AsmResourceBlob *blob = entry->getBlob();
    if (blob && blob->getData().size() == bytes)
      return constantOf(b, loc, type, entry);
  }
  return newBlobConstant(b, loc, type, key, bytes, fill);
}

bool weights::compileExclude(llvm::StringRef pattern, Location loc,
                             std::optional<llvm::Regex> &out) {
  out.reset();
  if (pattern.empty())
    return true;
  out.emplace(pattern);
  std::string error;
  if (!out->isValid(error)) {
    emitError(loc) << "exclude: bad regular expression '" << pattern
                   << "': " << error;
    return false;
  }
  return true;
}
