//===- QuantizationReport.cpp - per-layer quantization report -------------===//

#include "kiln/Dialect/Kiln/Transforms/QuantizationReport.h"

#include "kiln/Dialect/Kiln/Transforms/Weights.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::kiln;

/// The gather of a constant table that `v` is computed from by a few
/// elementwise and shape ops (an int4 table's rows are unpacked after the
/// gather), or null.
static GatherOp gatheredConstant(Value v) {
  for (int depth = 0; depth < 12 && v; ++depth) {
    Operation *def = v.getDefiningOp();
    if (auto g = dyn_cast_or_null<GatherOp>(def))
      return g.getInput().getDefiningOp<ConstantOp>() ? g : GatherOp();
    if (!def || def->getNumOperands() == 0)
      return {};
    v = def->getOperand(0);
  }
  return {};
}

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
  // A name longer than its column goes on its own line, the figures on the
  // next (fused products name all their parts).
  auto printName = [&](std::string name) {
    if (name.size() > 56) {
      os << "  " << name << "\n";
      name.clear();
    }
    os << llvm::format("  %-56s ", name.c_str());
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
    std::string shape = std::to_string(k) + "x" + std::to_string(n);
    double err =
        op.getWeightError() ? op.getWeightError()->convertToDouble() : -1.0;
    worst = std::max(worst, err);
    printName(weights::locationName(op.getLoc()));
    os << llvm::format("%-12s %4lld %6lld ", shape.c_str(),
                       (long long)op.getBits(), (long long)op.getGroupSize());
    if (err >= 0)
      os << llvm::format("%10.5f\n", err);
    else
      os << llvm::format("%10s\n", "-");
  }
  // Gather tables stored as int8 or int4 rows (kiln-quantize-embeddings):
  // the dequantization of the gathered rows names the row and scale tables.
  int64_t tables = 0;
  module.walk([&](DequantizeOp op) {
    auto err = op->getAttrOfType<FloatAttr>("kiln.weight_error");
    auto rows = gatheredConstant(op.getInput());
    auto scales = gatheredConstant(op.getScale());
    if (!err || !rows || !scales)
      return;
    Value table = rows.getInput();
    if (!firstUse(table))
      return;
    ++tables;
    auto t = cast<RankedTensorType>(table.getType());
    int64_t v = t.getDimSize(0),
            d = cast<RankedTensorType>(op.getType()).getShape().back();
    bool int4 = t.getDimSize(1) * 2 == d;
    before += v * d * 4;
    after += bytes(table) + bytes(scales.getInput());
    worst = std::max(worst, err.getValueAsDouble());
    // Named after the table's location, or its blob when it has none.
    auto c = table.getDefiningOp<ConstantOp>();
    printName(c && isa<UnknownLoc>(table.getLoc())
                  ? weights::blobKey(c)
                  : weights::locationName(table.getLoc()));
    std::string shape = std::to_string(v) + "x" + std::to_string(d);
    std::string group =
        op.getBlockSize() == d ? "row" : std::to_string(op.getBlockSize());
    os << llvm::format("%-12s %4d %6s %10.5f\n", shape.c_str(), int4 ? 4 : 8,
                       group.c_str(), err.getValueAsDouble());
  });
  os << llvm::format("  %zu products of %lld weights, %lld gather tables, "
                     "weights %.1f MB -> %.1f MB (%.2fx), largest error %.5f\n",
                     ops.size(), (long long)weightCount, (long long)tables,
                     before / 1e6, after / 1e6,
                     after ? double(before) / double(after) : 0.0, worst);
}
