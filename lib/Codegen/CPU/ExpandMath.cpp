//===- ExpandMath.cpp - vectorizable math function expansions -------------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/StringSet.h"

#define DEBUG_TYPE "kiln-expand-math"

namespace mlir::kiln {
#define GEN_PASS_DEF_EXPANDMATH
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct ExpandMathPass : mlir::kiln::impl::ExpandMathBase<ExpandMathPass> {
  using Base::Base;

  void runOnOperation() override {
    // Upstream names the ops with their dialect prefix ("math.erf").
    llvm::StringSet<llvm::MallocAllocator> names;
    auto add = [&](StringRef n) {
      names.insert(n.starts_with("math.") ? n.str() : ("math." + n).str());
    };
    if (ops.empty()) {
      for (StringRef n :
           {"exp", "log", "log1p", "expm1", "tanh", "erf", "atan", "atan2"})
        add(n);
    } else {
      for (const std::string &n : ops)
        add(n);
    }
    auto predicate = [&](llvm::StringRef name) { return names.contains(name); };
    RewritePatternSet patterns(&getContext());
    populateMathF32ExpansionPatterns(patterns, predicate);
    populateMathPolynomialApproximationPatterns(patterns, predicate);
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
