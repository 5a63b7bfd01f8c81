//===- Passes.h - CUDA code generation passes -------------------*- C++ -*-===//

#ifndef KILN_CODEGEN_CUDA_PASSES_H
#define KILN_CODEGEN_CUDA_PASSES_H

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kiln {

#define GEN_PASS_DECL
#include "kiln/Codegen/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Codegen/CUDA/Passes.h.inc"

/// The function kiln-cuda-resident-weights calls first in each entry point
/// (the weights' upload, on the first call).
constexpr llvm::StringLiteral kResidentWeightsFn = "kiln_cuda_resident_weights";

/// Marks a memref.load that reads host memory (an input only the host reads,
/// left there by kiln-cuda-device-buffers): kiln-cuda-map-loops keeps it on
/// the host instead of moving it into a kernel.
constexpr llvm::StringLiteral kHostLoad = "kiln.host_load";

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CUDA_PASSES_H
