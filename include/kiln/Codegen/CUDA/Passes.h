//===- Passes.h - CUDA code generation passes -------------------*- C++ -*-===//

#ifndef KILN_CODEGEN_CUDA_PASSES_H
#define KILN_CODEGEN_CUDA_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Pass/Pass.h"

namespace mlir::kiln {

#define GEN_PASS_DECL
#include "kiln/Codegen/CUDA/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "kiln/Codegen/CUDA/Passes.h.inc"

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CUDA_PASSES_H
