//===- FileBackedMemory.h - weights that live in files ----------*- C++ -*-===//
//
// Weights stream from their files: the bytes of a big constant are either a
// read-only mapping of the checkpoint itself or, when they had to be
// converted (f16/bf16 widened to f32, bf16 or quantized weights), a shared
// mapping of an unlinked temporary file. Either way the kernel can write the
// pages back and drop them, so touching every weight once (converting it,
// writing it into the artifact) does not keep gigabytes resident.
//
// A process-wide registry records these address ranges; `dropPages` frees
// the resident pages of a range only when it lies inside a registered one,
// so a heap blob is never madvised.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_SUPPORT_FILEBACKEDMEMORY_H
#define KILN_SUPPORT_FILEBACKEDMEMORY_H

#include "mlir/IR/AsmState.h"
#include "llvm/Support/Error.h"

#include <cstddef>
#include <memory>

namespace mlir::kiln {

/// Records [base, base+size) as a file-backed mapping whose resident pages
/// may be dropped at any time without losing data (a read-only file mapping,
/// or a MAP_SHARED mapping of a file). Call `unregisterFileBacked` before
/// unmapping it.
void registerFileBacked(const void *base, size_t size);
void unregisterFileBacked(const void *base);

/// Whether [p, p+size) lies inside one registered range.
bool isFileBacked(const void *p, size_t size);

/// Drops the resident pages wholly inside [p, p+size) from this process
/// (madvise MADV_DONTNEED) if the range is file-backed; the next access
/// reads them back from the file (or the page cache). Returns whether it
/// did. Never touches memory that was not registered.
bool dropPages(const void *p, size_t size);

/// Writable memory of `size` bytes (zeroed) backed by an unlinked temporary
/// file in the system temporary directory ($TMPDIR or /tmp), mapped shared
/// and registered; the mapping lives as long as any copy of the returned
/// pointer. For big constants that a pass computes.
struct FileBackedBuffer {
  char *data = nullptr;
  size_t size = 0;
  std::shared_ptr<void> owner;
};
llvm::Expected<FileBackedBuffer> allocateFileBacked(size_t size);

/// A mutable, zeroed resource blob of `size` bytes for a weight: file-backed
/// (allocateFileBacked) from 1 MiB up, on the heap below that or when no
/// temporary file can be made.
AsmResourceBlob allocateWeightBlob(size_t size);

} // namespace mlir::kiln

#endif // KILN_SUPPORT_FILEBACKEDMEMORY_H
