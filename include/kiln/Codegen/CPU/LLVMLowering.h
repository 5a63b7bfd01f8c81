//===- LLVMLowering.h - host lowering to llvm shared by targets -*- C++ -*-===//
//
// What kiln-lower-to-llvm (CPU) and kiln-cuda-host-to-llvm (the CUDA
// target's host side) both do to host functions: bare-pointer entry points,
// whose zero-element buffers are passed opaquely, and the conversion of
// func, arith, math, memref, cf, index, ub and kiln_rt.weight to llvm.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_CODEGEN_CPU_LLVMLOWERING_H
#define KILN_CODEGEN_CPU_LLVMLOWERING_H

#include "mlir/Dialect/Func/IR/FuncOps.h"

namespace mlir {
class LLVMTypeConverter;
class RewritePatternSet;
} // namespace mlir

namespace mlir::kiln {

/// Zero-element buffers (a tensor with a 0 dimension) of rank 2 or more
/// cannot be passed as bare pointers, and nothing reads or writes them:
/// such an argument of `func` becomes an opaque pointer and its uses an
/// empty stack buffer (memref.alloca, so the memref dialect must be loaded).
void passEmptyBuffersOpaquely(func::FuncOp func);

/// Adds the patterns that lower host code to llvm: func, arith, math,
/// memref (finalize), cf, index and ub, and kiln_rt.weight (a pointer
/// loaded from the weight table, viewed statically). `converter` is meant to
/// use the bare-pointer call convention.
void populateHostToLLVMConversionPatterns(LLVMTypeConverter &converter,
                                          RewritePatternSet &patterns);

} // namespace mlir::kiln

#endif // KILN_CODEGEN_CPU_LLVMLOWERING_H
