//===- FileBackedMemory.cpp - weights that live in files ------------------===//

#include "kiln/Support/FileBackedMemory.h"

#include "llvm/ADT/SmallString.h"
#include "llvm/Support/Path.h"

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <fcntl.h>
#include <map>
#include <mutex>
#include <sys/mman.h>
#include <unistd.h>

using namespace mlir::kiln;

namespace {
struct Registry {
  std::mutex mutex;
  /// base -> end
  std::map<uintptr_t, uintptr_t> ranges;
};
Registry &registry() {
  static Registry r;
  return r;
}
} // namespace

void mlir::kiln::registerFileBacked(const void *base, size_t size) {
  if (!base || !size)
    return;
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto b = reinterpret_cast<uintptr_t>(base);
  r.ranges[b] = b + size;
}

void mlir::kiln::unregisterFileBacked(const void *base) {
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.ranges.erase(reinterpret_cast<uintptr_t>(base));
}

bool mlir::kiln::isFileBacked(const void *p, size_t size) {
  auto b = reinterpret_cast<uintptr_t>(p);
  Registry &r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  auto it = r.ranges.upper_bound(b);
  if (it == r.ranges.begin())
    return false;
  --it;
  return b >= it->first && b + size >= b && b + size <= it->second;
}

bool mlir::kiln::dropPages(const void *p, size_t size) {
  if (!size || !isFileBacked(p, size))
    return false;
  uintptr_t page = uintptr_t(sysconf(_SC_PAGESIZE));
  uintptr_t b = reinterpret_cast<uintptr_t>(p);
  uintptr_t first = (b + page - 1) & ~(page - 1);
  uintptr_t last = (b + size) & ~(page - 1);
  if (last <= first)
    return false;
  return madvise(reinterpret_cast<void *>(first), last - first,
                 MADV_DONTNEED) == 0;
}

llvm::Expected<FileBackedBuffer> mlir::kiln::allocateFileBacked(size_t size) {
  auto fail = [](const llvm::Twine &what) {
    return llvm::createStringError(std::make_error_code(std::errc::io_error),
                                   what + ": " + strerror(errno));
  };
  FileBackedBuffer out;
  out.size = size;
  if (!size)
    return out;
  llvm::SmallString<128> dir;
  llvm::sys::path::system_temp_directory(/*ErasedOnReboot=*/true, dir);
  int fd = -1;
#ifdef O_TMPFILE
  fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
  if (fd < 0) {
    // O_TMPFILE unsupported by the file system: create, then unlink.
    llvm::SmallString<128> tmpl(dir);
    llvm::sys::path::append(tmpl, "kiln-weights-XXXXXX");
    fd = mkostemp(tmpl.data(), O_CLOEXEC);
    if (fd < 0)
      return fail("cannot create a temporary file in '" + dir + "'");
    ::unlink(tmpl.c_str());
  }
  // Reserve the blocks now: a full disk is an error here, not a SIGBUS
  // when a page of the mapping is first written.
  if (int e = posix_fallocate(fd, 0, off_t(size))) {
    ::close(fd);
    errno = e;
    return fail("cannot make a temporary file of " + llvm::Twine(size) +
                " bytes in '" + dir + "'");
  }
  void *base = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  ::close(fd);
  if (base == MAP_FAILED) {
    errno = err;
    return fail("cannot map a temporary file");
  }
  registerFileBacked(base, size);
  out.data = static_cast<char *>(base);
  out.owner = std::shared_ptr<void>(base, [size](void *q) {
    unregisterFileBacked(q);
    munmap(q, size);
  });
  return out;
}

mlir::AsmResourceBlob mlir::kiln::allocateWeightBlob(size_t size) {
  constexpr size_t kMinFileBacked = 1u << 20;
  if (size >= kMinFileBacked) {
    llvm::Expected<FileBackedBuffer> buf = allocateFileBacked(size);
    if (buf) {
      std::shared_ptr<void> owner = buf->owner;
      return UnmanagedAsmResourceBlob::allocateWithAlign(
          llvm::ArrayRef<char>(buf->data, size), 64,
          [owner](void *, size_t, size_t) {}, /*dataIsMutable=*/true);
    }
    llvm::consumeError(buf.takeError());
  }
  AsmResourceBlob blob =
      HeapAsmResourceBlob::allocate(size, 64, /*dataIsMutable=*/true);
  std::memset(blob.getMutableData().data(), 0, size);
  return blob;
}
