//===- QuantizationReport.h - per-layer quantization report -----*- C++ -*-===//
//
// What kiln-compile --report prints about quantized weights: for every
// kiln.qmatmul, its layer, shape, bits, group size and the relative L2 error
// of its dequantized weight (recorded by kiln-quantize-weights), and the
// weight bytes before and after.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_TRANSFORMS_QUANTIZATIONREPORT_H
#define KILN_DIALECT_KILN_TRANSFORMS_QUANTIZATIONREPORT_H

#include "mlir/IR/BuiltinOps.h"

namespace mlir::kiln {

/// Prints the report (nothing when the module has no kiln.qmatmul).
void printQuantizationReport(ModuleOp module, llvm::raw_ostream &os);

} // namespace mlir::kiln

#endif // KILN_DIALECT_KILN_TRANSFORMS_QUANTIZATIONREPORT_H
