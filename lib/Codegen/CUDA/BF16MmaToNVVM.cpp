//===- BF16MmaToNVVM.cpp - bf16 mma.sync to nvvm.mma.sync -----------------===//
//
// Upstream's convert-nvgpu-to-nvvm (LLVM 22) lowers nvgpu.mma.sync for f16,
// tf32, f64 and integer operands but fails on bf16 ("failed to deduce
// operand PTX types": the fragments' registers are plain 32-bit words, so
// the element type must be given). This pass lowers the bf16 products
// itself, before that pass: each register of a fragment (2 bf16) becomes
// an i32, and nvvm.mma.sync names bf16 as the multiplicands' PTX type.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/MmaLayout.h"
#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

#define DEBUG_TYPE "kiln-cuda-bf16-mma-to-nvvm"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDABF16MMATONVVM
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// The registers of a [registers x 2] bf16 fragment, as i32 words.
SmallVector<Value> words(OpBuilder &b, Location loc, Value fragment) {
  auto type = cast<VectorType>(fragment.getType());
  auto word = VectorType::get({1}, b.getI32Type());
  SmallVector<Value> out;
  for (int64_t r = 0; r < type.getDimSize(0); ++r) {
    Value pair =
        vector::ExtractOp::create(b, loc, fragment, ArrayRef<int64_t>{r});
    Value w = vector::BitCastOp::create(b, loc, word, pair);
    out.push_back(vector::ExtractOp::create(b, loc, w, ArrayRef<int64_t>{0}));
  }
  return out;
}

struct CUDABF16MmaToNVVMPass
    : mlir::kiln::impl::CUDABF16MmaToNVVMBase<CUDABF16MmaToNVVMPass> {
  void runOnOperation() override {
    SmallVector<nvgpu::MmaSyncOp> ops;
    getOperation()->walk([&](nvgpu::MmaSyncOp op) {
      if (getElementTypeOrSelf(op.getMatrixA().getType()).isBF16())
        ops.push_back(op);
    });
    for (nvgpu::MmaSyncOp op : ops) {
      Location loc = op.getLoc();
      auto cType = cast<VectorType>(op.getMatrixC().getType());
      std::array<int64_t, 3> shape = op.getMmaShapeAsArray();
      if (!cType.getElementType().isF32() || cType.getRank() != 2 ||
          shape != std::array<int64_t, 3>{16, 8, 16}) {
        op.emitError("bf16 mma.sync: only m16n8k16 with f32 accumulators");
        return signalPassFailure();
      }
      OpBuilder b(op);
      SmallVector<Value> c;
      for (int64_t r = 0; r < cType.getDimSize(0); ++r)
        for (int64_t e = 0; e < cType.getDimSize(1); ++e)
          c.push_back(vector::ExtractOp::create(b, loc, op.getMatrixC(),
                                                ArrayRef<int64_t>{r, e}));
      Type f32 = b.getF32Type();
      auto result = LLVM::LLVMStructType::getLiteral(b.getContext(),
                                                     {f32, f32, f32, f32});
      auto mma = NVVM::MmaOp::create(
          b, loc, result, words(b, loc, op.getMatrixA()),
          words(b, loc, op.getMatrixB()), c, ArrayRef<int64_t>(shape),
          std::nullopt, std::nullopt,
          std::array<NVVM::MMATypes, 2>{NVVM::MMATypes::bf16,
                                        NVVM::MMATypes::bf16},
          std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                         NVVM::MMALayout::col});
      SmallVector<Value> d;
      for (int64_t i = 0; i < 4; ++i)
        d.push_back(LLVM::ExtractValueOp::create(b, loc, mma.getResult(), i));
      op.getRes().replaceAllUsesWith(packFragment(b, loc, cType, d));
      op.erase();
    }
  }
};

} // namespace
