//===- SafeTensors.cpp - reading .safetensors files -----------------------===//

#include "kiln/Frontend/HF/SafeTensors.h"
#include "kiln/Support/FileBackedMemory.h"

#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/JSON.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir::kiln;
using namespace mlir::kiln::hf;
using llvm::Expected;
using llvm::StringRef;

int64_t hf::dtypeSize(DType dtype) {
  switch (dtype) {
  case DType::F64:
  case DType::I64:
    return 8;
  case DType::F32:
  case DType::I32:
    return 4;
  case DType::F16:
  case DType::BF16:
  case DType::I16:
    return 2;
  case DType::I8:
  case DType::U8:
  case DType::Bool:
    return 1;
  }
  return 0;
}

StringRef hf::dtypeName(DType dtype) {
  switch (dtype) {
  case DType::F32:
    return "F32";
  case DType::F16:
    return "F16";
  case DType::BF16:
    return "BF16";
  case DType::F64:
    return "F64";
  case DType::I64:
    return "I64";
  case DType::I32:
    return "I32";
  case DType::I16:
    return "I16";
  case DType::I8:
    return "I8";
  case DType::U8:
    return "U8";
  case DType::Bool:
    return "BOOL";
  }
  return "?";
}

int64_t TensorView::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

static llvm::Error fail(const llvm::Twine &message) {
  return llvm::createStringError(
      std::make_error_code(std::errc::invalid_argument), message);
}

Expected<std::vector<TensorView>> hf::parseSafeTensors(StringRef bytes) {
  if (bytes.size() < 8)
    return fail("file of " + llvm::Twine(bytes.size()) +
                " bytes is too short for a safetensors header (8 bytes of "
                "length, then JSON)");
  uint64_t headerLen = 0;
  for (int i = 7; i >= 0; --i)
    headerLen = (headerLen << 8) | static_cast<unsigned char>(bytes[i]);
  if (headerLen > kMaxHeaderBytes || headerLen > bytes.size() - 8)
    return fail("header length " + llvm::Twine(headerLen) +
                " exceeds the file (" + llvm::Twine(bytes.size()) +
                " bytes) or the 100 MB limit");
  StringRef header = bytes.substr(8, headerLen);
  StringRef data = bytes.drop_front(8 + headerLen);
  Expected<llvm::json::Value> parsed = llvm::json::parse(header);
  if (!parsed)
    return fail("header is not valid JSON: " +
                llvm::toString(parsed.takeError()));
  const llvm::json::Object *root = parsed->getAsObject();
  if (!root)
    return fail("header is not a JSON object");

  std::vector<TensorView> tensors;
  for (const auto &[key, value] : *root) {
    std::string name = key.str();
    if (name == "__metadata__") {
      if (!value.getAsObject())
        return fail("__metadata__ is not an object");
      continue;
    }
    const llvm::json::Object *t = value.getAsObject();
    if (!t)
      return fail("tensor '" + name + "': entry is not an object");
    std::optional<StringRef> dt = t->getString("dtype");
    if (!dt)
      return fail("tensor '" + name + "': missing string field 'dtype'");
    std::optional<DType> dtype = llvm::StringSwitch<std::optional<DType>>(*dt)
                                     .Case("F32", DType::F32)
                                     .Case("F16", DType::F16)
                                     .Case("BF16", DType::BF16)
                                     .Case("F64", DType::F64)
                                     .Case("I64", DType::I64)
                                     .Case("I32", DType::I32)
                                     .Case("I16", DType::I16)
                                     .Case("I8", DType::I8)
                                     .Case("U8", DType::U8)
                                     .Case("BOOL", DType::Bool)
                                     .Default(std::nullopt);
    if (!dtype)
      return fail("tensor '" + name + "': unsupported dtype '" + *dt + "'");
    const llvm::json::Array *shape = t->getArray("shape");
    if (!shape)
      return fail("tensor '" + name + "': missing array field 'shape'");
    if (shape->size() > 16)
      return fail("tensor '" + name + "': rank " + llvm::Twine(shape->size()) +
                  " is more than 16");
    TensorView view;
    view.name = name;
    view.dtype = *dtype;
    int64_t count = 1;
    for (const llvm::json::Value &d : *shape) {
      std::optional<int64_t> dim = d.getAsInteger();
      if (!dim || *dim < 0)
        return fail("tensor '" + name +
                    "': shape holds something other than a non-negative "
                    "integer");
      if (__builtin_mul_overflow(count, *dim, &count) ||
          count > (int64_t(1) << 48))
        return fail("tensor '" + name + "': element count overflows");
      view.shape.push_back(*dim);
    }
    const llvm::json::Array *offsets = t->getArray("data_offsets");
    if (!offsets || offsets->size() != 2)
      return fail("tensor '" + name +
                  "': 'data_offsets' must be an array of two integers");
    std::optional<int64_t> begin = (*offsets)[0].getAsInteger();
    std::optional<int64_t> end = (*offsets)[1].getAsInteger();
    if (!begin || !end || *begin < 0 || *end < *begin)
      return fail("tensor '" + name + "': bad data_offsets");
    if (uint64_t(*end) > data.size())
      return fail("tensor '" + name + "': data_offsets [" +
                  llvm::Twine(*begin) + ", " + llvm::Twine(*end) +
                  ") run past the " + llvm::Twine(data.size()) +
                  " data bytes of the file");
    int64_t need = count * dtypeSize(*dtype);
    if (*end - *begin != need)
      return fail("tensor '" + name + "': holds " + llvm::Twine(*end - *begin) +
                  " bytes, its " + *dt + " shape needs " + llvm::Twine(need));
    view.data = llvm::ArrayRef<char>(data.data() + *begin, need);
    tensors.push_back(std::move(view));
  }
  // No two tensors may share bytes.
  std::vector<const TensorView *> order;
  for (const TensorView &t : tensors)
    if (!t.data.empty())
      order.push_back(&t);
  std::sort(order.begin(), order.end(),
            [](const TensorView *a, const TensorView *b) {
              return a->data.data() < b->data.data();
            });
  for (size_t i = 1; i < order.size(); ++i)
    if (order[i - 1]->data.end() > order[i]->data.data())
      return fail("tensors '" + order[i - 1]->name + "' and '" +
                  order[i]->name + "' overlap");
  std::sort(
      tensors.begin(), tensors.end(),
      [](const TensorView &a, const TensorView &b) { return a.name < b.name; });
  return tensors;
}

Expected<MappedFile> hf::mapFile(StringRef path) {
  std::string p = path.str();
  int fd = ::open(p.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                   "cannot open '" + p +
                                       "': " + strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                   "'" + p + "' is not a regular file");
  }
  size_t size = st.st_size;
  void *base =
      size ? mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0) : nullptr;
  int err = errno;
  ::close(fd);
  if (base == MAP_FAILED)
    return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                   "cannot map '" + p + "': " + strerror(err));
  // Read-only: its pages can be dropped and read back (FileBackedMemory.h).
  registerFileBacked(base, size);
  std::shared_ptr<void> owner(base, [size](void *q) {
    if (q) {
      unregisterFileBacked(q);
      munmap(q, size);
    }
  });
  return MappedFile{StringRef(static_cast<const char *>(base), size), owner};
}
