//===- TileParallel.cpp - tile linalg ops into scf.forall tasks -----------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-tile-parallel"

namespace mlir::kiln {
#define GEN_PASS_DEF_TILEPARALLEL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct TileParallelPass : mlir::kiln::impl::TileParallelBase<TileParallelPass> {
  using Base::Base;

  /// Tile sizes that split the parallel loops of `op` into about
  /// `tasks` tiles, outer loops first; 0 leaves a loop untiled.
  SmallVector<int64_t> chooseTileSizes(linalg::LinalgOp op) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<utils::IteratorType> iters = op.getIteratorTypesArray();
    int64_t elements = 1;
    for (auto [r, it] : llvm::zip(ranges, iters))
      if (it == utils::IteratorType::parallel)
        elements *= r;
    int64_t tasks = std::min<int64_t>(
        tasksPerOp, elements / std::max<int64_t>(minTaskElements, 1));
    SmallVector<int64_t> sizes(ranges.size(), 0);
    if (tasks < 2)
      return sizes;
    int64_t remaining = tasks;
    for (auto [d, r] : llvm::enumerate(ranges)) {
      if (remaining <= 1)
        break;
      if (iters[d] != utils::IteratorType::parallel || r <= 1)
        continue;
      int64_t parts = std::min(r, remaining);
      sizes[d] = llvm::divideCeil(r, parts);
      parts = llvm::divideCeil(r, sizes[d]);
      remaining = llvm::divideCeil(remaining, parts);
    }
    return sizes;
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<linalg::LinalgOp> ops;
    for (Operation &op : func.getBody().front()) {
      auto linalgOp = dyn_cast<linalg::LinalgOp>(&op);
      if (!linalgOp || !linalgOp.hasPureTensorSemantics() ||
          !isa<TilingInterface>(&op) || linalgOp.hasDynamicShape())
        continue;
      ops.push_back(linalgOp);
    }
    IRRewriter rewriter(&getContext());
    for (linalg::LinalgOp op : ops) {
      SmallVector<int64_t> sizes = chooseTileSizes(op);
      if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
        continue;
      scf::SCFTilingOptions options;
      options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
      options.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled = scf::tileUsingSCF(
          rewriter, cast<TilingInterface>(op.getOperation()), options);
      if (failed(tiled)) {
        op.emitError("could not be tiled for the thread pool");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};

} // namespace
