//===- KernelStats.cpp - what each kernel region computes and moves -------===//

#include "kiln/Transforms/KernelStats.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/ADT/TypeSwitch.h"
#include "llvm/Support/Format.h"

using namespace mlir;
using namespace mlir::kiln;

namespace {
double elements(Value v) {
  auto t = dyn_cast<ShapedType>(v.getType());
  return t && t.hasStaticShape() ? double(t.getNumElements()) : 0;
}

double bytesOf(Value v) {
  auto t = dyn_cast<ShapedType>(v.getType());
  if (!t || !t.hasStaticShape())
    return 0;
  unsigned bits = t.getElementType().isIntOrFloat()
                      ? t.getElementType().getIntOrFloatBitWidth()
                      : 8;
  return double(t.getNumElements()) * std::max(bits, 8u) / 8;
}

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<ShapedType>(v.getType()).getShape();
}

/// Query-key pairs attention computes: all of them, or those a causal mask
/// (aligned bottom right) leaves visible.
double attentionPairs(int64_t sq, int64_t skv, bool causal) {
  if (!causal)
    return double(sq) * double(skv);
  double pairs = 0;
  for (int64_t i = 0; i < sq; ++i)
    pairs += double(std::clamp<int64_t>(i + skv - sq + 1, 0, skv));
  return pairs;
}

/// FLOPs of attention on [B, Hq, Sq, D] queries and [.., Skv, Dv] values.
double attentionFlops(Value q, Value v, int64_t skv, bool causal) {
  ArrayRef<int64_t> qs = shapeOf(q);
  // A dynamic size (a decoder's KV length) has no count: report 0.
  if (ShapedType::isDynamic(skv) || ShapedType::isDynamicShape(qs) ||
      ShapedType::isDynamicShape(shapeOf(v)))
    return 0;
  return 2.0 * qs[0] * qs[1] * attentionPairs(qs[2], skv, causal) *
         (qs[3] + shapeOf(v)[3]);
}
/// Multiply-adds per output of a convolution with weight `w` ([F, C, k...]).
double convTaps(Value w) {
  double taps = 1;
  for (int64_t d : shapeOf(w).drop_front())
    taps *= d;
  return taps;
}

/// The constant value of a micro-kernel's flags (its last input), or 0.
int64_t ukernelFlags(rt::UkernelOp u) {
  if (u.getInputs().empty())
    return 0;
  auto c = u.getInputs().back().getDefiningOp<arith::ConstantOp>();
  auto flags = c ? dyn_cast<IntegerAttr>(c.getValue()) : IntegerAttr();
  return flags ? flags.getInt() : 0;
}

/// A micro-kernel call's name with its matmul epilogue spelled out:
/// kiln_uk_matmul_bias_f32(gelu_tanh, +residual).
std::string ukernelLabel(rt::UkernelOp u) {
  std::string label = u.getName().str();
  if (!u.getName().starts_with("kiln_uk_matmul"))
    return label;
  int64_t flags = ukernelFlags(u);
  static const char *acts[] = {"", "relu", "gelu", "gelu_tanh", "silu"};
  int64_t act = (flags >> 8) & 0xff;
  SmallVector<std::string> parts;
  if (act > 0 && act < 5)
    parts.push_back(acts[act]);
  if (flags & 1)
    parts.push_back("+residual");
  if (!parts.empty())
    label += "(" + llvm::join(parts, ", ") + ")";
  return label;
}
} // namespace

std::string mlir::kiln::kernelKind(Operation *op) {
  return llvm::TypeSwitch<Operation *, std::string>(op)
      .Case<MatmulOp>([](auto) { return "matmul"; })
      .Case<ConvOp>([](auto) { return "conv"; })
      .Case<AttentionOp>([](auto) { return "attention"; })
      .Case<LayerNormOp, RmsNormOp, GroupNormOp>([](auto) { return "norm"; })
      .Case<SoftmaxOp, LogSoftmaxOp>([](auto) { return "softmax"; })
      .Case<ReduceOp, ArgReduceOp>([](auto) { return "reduction"; })
      .Case<PoolOp>([](auto) { return "pool"; })
      .Case<SelectiveScanOp, CausalConv1dOp>([](auto) { return "ssm"; })
      .Case<rt::UkernelOp>([](auto) { return "ukernel"; })
      .Case<TransposeOp, SliceOp, ConcatOp, GatherOp, GatherElementsOp,
            GatherNDOp, ScatterElementsOp, ScatterNDOp, ExpandOp, PadOp>(
          [](auto) { return "movement"; })
      .Default([](auto) { return "elementwise"; });
}

double mlir::kiln::opFlops(Operation *op) {
  return llvm::TypeSwitch<Operation *, double>(op)
      .Case<MatmulOp>([](MatmulOp m) {
        return 2.0 * elements(m) * shapeOf(m.getLhs()).back();
      })
      .Case<ConvOp>(
          [](ConvOp c) { return 2.0 * elements(c) * convTaps(c.getWeight()); })
      .Case<AttentionOp>([](AttentionOp a) {
        return attentionFlops(a.getQuery(), a.getValue(),
                              shapeOf(a.getKey())[2], a.getCausal());
      })
      .Case<rt::UkernelOp>([](rt::UkernelOp u) -> double {
        StringRef name = u.getName();
        ValueRange in = u.getInputs();
        if (name.starts_with("kiln_uk_matmul"))
          return 2.0 * elements(u.getOutputs()[0]) * shapeOf(in[0]).back();
        if (name.starts_with("kiln_uk_conv2d"))
          return 2.0 * elements(u.getOutputs()[0]) * convTaps(in[1]);
        // q, k, v, ... or, in two parts, q, k1, k2, v1, v2, ...
        if (name.starts_with("kiln_uk_attention_kv2"))
          return attentionFlops(in[0], in[3],
                                shapeOf(in[1])[2] + shapeOf(in[2])[2],
                                ukernelFlags(u) & 1);
        if (name.starts_with("kiln_uk_attention"))
          return attentionFlops(in[0], in[2], shapeOf(in[1])[2],
                                ukernelFlags(u) & 1);
        return 0;
      })
      .Case<LayerNormOp, RmsNormOp, GroupNormOp>(
          [](Operation *n) { return 8.0 * elements(n->getResult(0)); })
      .Case<SoftmaxOp, LogSoftmaxOp>(
          [](Operation *s) { return 5.0 * elements(s->getResult(0)); })
      .Case<ReduceOp, ArgReduceOp>(
          [](Operation *r) { return elements(r->getOperand(0)); })
      .Case<PoolOp>([](PoolOp p) {
        double window = 1;
        for (int64_t k : p.getKernel())
          window *= k;
        return elements(p) * window;
      })
      .Case<SelectiveScanOp>([](SelectiveScanOp s) {
        // Per (batch, time, channel, state): decay, input, update, output.
        return 8.0 * elements(s->getResult(0)) * shapeOf(s.getA()).back();
      })
      .Default([](Operation *op) -> double {
        if (op->hasTrait<OpTrait::kiln::Elementwise>() &&
            op->getNumResults() == 1)
          return elements(op->getResult(0));
        return 0;
      });
}

KernelStats mlir::kiln::kernelStats(Operation *kernel) {
  auto k = cast<KernelOp>(kernel);
  KernelStats stats;
  stats.kind = k.getKind().str();
  llvm::SetVector<Value> inputs;
  for (Operation &op : k.getBody().front().without_terminator()) {
    std::string name = op.getName().stripDialect().str();
    if (auto u = dyn_cast<rt::UkernelOp>(op))
      name = ukernelLabel(u);
    stats.ops.push_back(name);
    stats.flops += opFlops(&op);
    for (Value v : op.getOperands())
      if (v.getParentRegion() != &k.getBody() &&
          !v.getDefiningOp<tensor::EmptyOp>())
        inputs.insert(v);
  }
  for (Value v : inputs)
    stats.bytes += bytesOf(v);
  for (Value r : k.getResults())
    stats.bytes += bytesOf(r);
  return stats;
}

void mlir::kiln::printKernelReport(ModuleOp module, llvm::raw_ostream &os) {
  int index = 0;
  double flops = 0, bytes = 0;
  os << llvm::format("%-7s %-12s %12s %12s  %s\n", "kernel", "kind", "MFLOP",
                     "KiB moved", "ops");
  module.walk([&](KernelOp kernel) {
    KernelStats s = kernelStats(kernel);
    os << llvm::format("%-7d %-12s %12.3f %12.1f  ", index++, s.kind.c_str(),
                       s.flops / 1e6, s.bytes / 1024.0);
    llvm::interleaveComma(s.ops, os);
    os << "\n";
    flops += s.flops;
    bytes += s.bytes;
  });
  os << llvm::format("total: %d kernels, %.4g GFLOP, %.4g MiB moved\n", index,
                     flops / 1e9, bytes / (1024.0 * 1024.0));
}
