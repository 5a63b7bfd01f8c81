//===- MmaLayout.h - mma.sync m16n8k16 fragment layouts ---------*- C++ -*-===//
//
// Which elements of the warp's matrices each lane holds for the tensor-core
// instruction mma.sync.m16n8k16 (16-bit operands, f32 accumulators), as the
// PTX ISA gives them ("Matrix Fragments for mma.m16n8k16"). One place for
// the kernels that build fragments (kiln-cuda-tile-contractions) and the
// host emulation that computes the instruction (kiln-cuda-emulate-launches).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CUDA_MMALAYOUT_H
#define KILN_CODEGEN_CUDA_MMALAYOUT_H

#include "mlir/IR/Builders.h"

namespace mlir::kiln {

/// mma.sync.m16n8k16: A is 16 x 16 (M x K), B is 16 x 8 (K x N), C and D
/// are 16 x 8 (M x N).
constexpr int64_t kMmaM = 16, kMmaN = 8, kMmaK = 16;

enum class MmaOperand { A, B, C };

/// The fragment's shape as nvgpu.mma.sync takes it per lane: registers x
/// elements per register (A: 4 x 2, B: 2 x 2, C: 2 x 2).
std::pair<int64_t, int64_t> mmaFragmentShape(MmaOperand which);

/// The (row, column) in its matrix of element `element` of register
/// `reg` of `lane`'s fragment of `which` (index values built at `b`).
std::pair<Value, Value> mmaFragmentCoord(OpBuilder &b, Location loc,
                                         MmaOperand which, Value lane,
                                         int64_t reg, int64_t element);

/// A 2-D fragment vector of `type` from its elements, row-major (built by
/// vector.insert, which every vector lowering takes, CPU included).
Value packFragment(OpBuilder &b, Location loc, VectorType type,
                   ValueRange elements);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CUDA_MMALAYOUT_H
