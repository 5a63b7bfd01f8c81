//===- FileBackedMemoryTest.cpp - weights that live in files --------------===//

#include "kiln/Support/FileBackedMemory.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

using namespace mlir::kiln;

namespace {

TEST(FileBackedMemory, DroppedPagesKeepTheirData) {
  const size_t size = 8u << 20;
  llvm::Expected<FileBackedBuffer> buf = allocateFileBacked(size);
  ASSERT_TRUE(bool(buf)) << llvm::toString(buf.takeError());
  ASSERT_EQ(buf->size, size);
  EXPECT_EQ(buf->data[0], 0);
  for (size_t i = 0; i < size; ++i)
    buf->data[i] = char(i * 7 + 3);
  EXPECT_TRUE(isFileBacked(buf->data + 100, size - 100));
  EXPECT_FALSE(isFileBacked(buf->data + 100, size));
  EXPECT_TRUE(dropPages(buf->data, size));
  for (size_t i = 0; i < size; i += 4093)
    ASSERT_EQ(buf->data[i], char(i * 7 + 3)) << i;
}

TEST(FileBackedMemory, HeapIsNeverDropped) {
  std::vector<char> heap(1u << 20, 'x');
  EXPECT_FALSE(isFileBacked(heap.data(), heap.size()));
  EXPECT_FALSE(dropPages(heap.data(), heap.size()));
  EXPECT_EQ(heap[4096], 'x');
}

TEST(FileBackedMemory, UnregisteredWhenReleased) {
  const char *p;
  {
    llvm::Expected<FileBackedBuffer> buf = allocateFileBacked(1u << 16);
    ASSERT_TRUE(bool(buf)) << llvm::toString(buf.takeError());
    p = buf->data;
    EXPECT_TRUE(isFileBacked(p, 1u << 16));
  }
  EXPECT_FALSE(isFileBacked(p, 1u << 16));
}

TEST(FileBackedMemory, WeightBlobs) {
  mlir::AsmResourceBlob big = allocateWeightBlob(2u << 20);
  EXPECT_TRUE(big.isMutable());
  EXPECT_TRUE(isFileBacked(big.getData().data(), big.getData().size()));
  mlir::AsmResourceBlob small = allocateWeightBlob(256);
  EXPECT_EQ(small.getData().size(), 256u);
  EXPECT_FALSE(isFileBacked(small.getData().data(), 256));
  EXPECT_EQ(small.getData()[255], 0);
}

} // namespace
