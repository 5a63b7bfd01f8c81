//===- KernelStats.h - what each kernel region computes and moves -*- C++
//-*-===//
//
// The numbers behind `kiln-compile --report`: per kiln.kernel, its ops, the
// floating-point (or integer) operations it performs and the bytes it reads
// and writes outside itself (its inputs from above and its results).
//
//===----------------------------------------------------------------------===//

#ifndef KILN_TRANSFORMS_KERNELSTATS_H
#define KILN_TRANSFORMS_KERNELSTATS_H

#include "mlir/IR/BuiltinOps.h"
#include "llvm/Support/raw_ostream.h"

#include <string>

namespace mlir::kiln {

/// The kernel kind an op anchors: "matmul", "conv", "attention", "norm",
/// "softmax", "reduction", "pool", "ssm", "movement", "ukernel" or
/// "elementwise".
std::string kernelKind(Operation *op);

/// Operations `op` performs (multiply-adds count 2).
double opFlops(Operation *op);

struct KernelStats {
  std::string kind;
  SmallVector<std::string> ops;
  double flops = 0;
  double bytes = 0;
};

/// The statistics of a kiln.kernel op.
KernelStats kernelStats(Operation *kernel);

/// Prints one line per kiln.kernel of `module`, then the totals.
void printKernelReport(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::kiln

#endif // KILN_TRANSFORMS_KERNELSTATS_H
