//===- QuantizationReport.cpp - per-layer quantization report -------------===//

#include "kiln/Dialect/Kiln/Transforms/QuantizationReport.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::kiln;

void kiln::printQuantizationReport(ModuleOp module, llvm::raw_ostream &os) {
  SmallVector<QMatmulOp> ops;
  module.walk([&](QMatmulOp op) { ops.push_back(op); });
  bool anyTable = false;
  module.walk([&](DequantizeOp op) {
    anyTable |= bool(op->getAttr("kiln.weight_error"));
  });
  if (ops.empty() && !anyTable)
    return;
  auto bytes = [](Value v) {
    auto t = cast<RankedTensorType>(v.getType());
    return t.getNumElements() * int64_t(t.getElementTypeBitWidth() / 8);
  };
  // Weights shared by several products (also across entry points, which
  // hold their own constants of one blob) are listed and counted once.
  llvm::StringSet<> seen;
  auto firstUse = [&](Value v) {
    auto c = v.getDefiningOp<ConstantOp>();
    std::string key = c && isa<DenseResourceElementsAttr>(c.getValue())
                          ? weights::blobKey(c)
                          : "%" + std::to_string(reinterpret_cast<uintptr_t>(
                                      v.getAsOpaquePointer()));
    return seen.insert(key).second;
  };
  int64_t before = 0, after = 0, weightCount = 0;
  double worst = 0;
  os << "quantized weights (relative L2 error of the dequantized weight):\n";
  os << llvm::format("  %-56s %-12s %4s %6s %10s\n", "layer", "K x N", "bits",
                     "group", "rel. error");
  for (QMatmulOp op : ops) {
    int64_t k = op.getK(), n = op.getN();
    if (!firstUse(op.getWeight()))
      continue;
    ++weightCount;
    before += k * n * 4;
    after += bytes(op.getWeight()) + bytes(op.getScales()) +
             (op.getZeroPoints() ? bytes(op.getZeroPoints()) : 0);
    std::string name = weights::locationName(op.getLoc());
    if (name.size() > 56)
      name = "..." + name.substr(name.size() - 53);
    std::string shape = std::to_string(k) + "x" + std::to_string(n);
    double err =
        op.getWeightError() ? op.getWeightError()->convertToDouble() : -1.0;
    worst = std::max(worst, err);
    os << llvm::format("  %-56s %-12s %4lld %6lld ", name.c_str(),
                       shape.c_str(), (long long)op.getBits(),
                       (long long)op.getGroupSize());
    if (err >= 0)
      os << llvm::format("%10.5f\n", err);
    else
      os << llvm::format("%10s\n", "-");
  }
  // Gather tables stored as int8 rows (kiln-quantize-embeddings).
  int64_t tables = 0;
  module.walk([&](DequantizeOp op) {
    auto err = op->getAttrOfType<FloatAttr>("kiln.weight_error");
    auto gather = op.getInput().getDefiningOp<GatherOp>();
    if (!err || !gather)
      return;
    Value table = gather.getInput();
    if (!firstUse(table))
      return;
    ++tables;
    auto t = cast<RankedTensorType>(table.getType());
    before += t.getNumElements() * 4;
    after += bytes(table) + t.getDimSize(0) * 4;
    worst = std::max(worst, err.getValueAsDouble());
    // Named after the table's location, or its blob when it has none.
    auto c = table.getDefiningOp<ConstantOp>();
    std::string name = c && isa<UnknownLoc>(table.getLoc())
                           ? weights::blobKey(c)
                           : weights::locationName(table.getLoc());
    if (name.size() > 56)
      name = "..." + name.substr(name.size() - 53);
    std::string shape =
        std::to_string(t.getDimSize(0)) + "x" + std::to_string(t.getDimSize(1));
    os << llvm::format("  %-56s %-12s %4d %6s %10.5f\n", name.c_str(),
                       shape.c_str(), 8, "row", err.getValueAsDouble());
  });
  os << llvm::format("  %zu products of %lld weights, %lld gather tables, "
                     "weights %.1f MB -> %.1f MB (%.2fx), largest error %.5f\n",
                     ops.size(), (long long)weightCount, (long long)tables,
                     before / 1e6, after / 1e6,
                     after ? double(before) / double(after) : 0.0, worst);
}
