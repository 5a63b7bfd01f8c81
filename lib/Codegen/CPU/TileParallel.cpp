//===- TileParallel.cpp - tile kernels into scf.forall tasks --------------===//
//
// Each kernel region becomes one parallel loop nest: its last op (the root)
// is tiled over its parallel dimensions and the ops of the region that
// produce its operands are fused into the tile, so a task runs the whole
// region on a block of the data while it is in cache (a norm's statistics
// and its normalization, a softmax's max, sum and scaling, a conv and its
// activation). Linalg ops outside regions, or not fused into their root,
// are tiled on their own.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/IR/Iterators.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/TilingInterface.h"
#include "mlir/Transforms/RegionUtils.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_TILEPARALLEL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

bool isTileable(Operation *op) {
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  return linalgOp && linalgOp.hasPureTensorSemantics() &&
         isa<TilingInterface>(op) && !linalgOp.hasDynamicShape();
}

/// The linalg op computing a kernel's single result, looking through
/// reshapes; null if there is none.
linalg::LinalgOp kernelRoot(KernelOp kernel) {
  auto yield = cast<YieldOp>(kernel.getBody().front().getTerminator());
  if (yield.getValues().size() != 1)
    return {};
  Value v = yield.getValues().front();
  while (Operation *def = v.getDefiningOp()) {
    if (isa<tensor::ExpandShapeOp, tensor::CollapseShapeOp>(def)) {
      v = def->getOperand(0);
      continue;
    }
    if (def->getParentOp() == kernel && isTileable(def))
      return cast<linalg::LinalgOp>(def);
    return {};
  }
  return {};
}

/// A number of tiles near `parts` that divides `range`, so that every tile
/// is full (static shapes, no partial-tile buffers): `parts` up to twice
/// that first (more tasks only balance better), then down to half; else
/// `parts` itself.
int64_t evenParts(int64_t range, int64_t parts) {
  for (int64_t q = parts; q <= std::min(range, 2 * parts); ++q)
    if (range % q == 0)
      return q;
  for (int64_t q = parts - 1; q >= std::max<int64_t>(2, (parts + 1) / 2); --q)
    if (range % q == 0)
      return q;
  return parts;
}

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
      int64_t parts = evenParts(r, std::min(r, remaining));
      sizes[d] = llvm::divideCeil(r, parts);
      parts = llvm::divideCeil(r, sizes[d]);
      remaining = llvm::divideCeil(remaining, parts);
    }
    return sizes;
  }

  scf::SCFTilingOptions tilingOptions(ArrayRef<int64_t> sizes) {
    scf::SCFTilingOptions options;
    options.setLoopType(scf::SCFTilingOptions::LoopType::ForallOp);
    options.setTileSizes(getAsIndexOpFoldResult(&getContext(), sizes));
    return options;
  }

  /// Tiles the root of `kernel` and fuses the region's producers into it.
  LogicalResult tileKernel(IRRewriter &rewriter, KernelOp kernel) {
    linalg::LinalgOp root = kernelRoot(kernel);
    if (!root)
      return success();
    SmallVector<int64_t> sizes = chooseTileSizes(root);
    if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
      return success();
    scf::SCFTileAndFuseOptions options;
    options.setTilingOptions(tilingOptions(sizes));
    options.setFusionControlFn(
        [&](tensor::ExtractSliceOp, OpResult producer, bool)
            -> std::optional<scf::SCFTileAndFuseOptions::ControlFnResult> {
          if (producer.getOwner()->getParentOp() != kernel)
            return std::nullopt;
          return scf::SCFTileAndFuseOptions::ControlFnResult{};
        });
    rewriter.setInsertionPoint(root);
    FailureOr<scf::SCFTileAndFuseResult> tiled =
        scf::tileConsumerAndFuseProducersUsingSCF(
            rewriter, cast<TilingInterface>(root.getOperation()), options);
    if (failed(tiled))
      return root.emitError("could not be tiled for the thread pool");
    for (OpResult r : root->getResults())
      if (Value repl = tiled->replacements.lookup(r))
        rewriter.replaceAllUsesWith(r, repl);
    // The untiled ops are dead now unless used elsewhere in the region
    // (fusion leaves the slices it fused through; they go first).
    bool erased = true;
    while (erased) {
      erased = false;
      kernel.getBody().walk<WalkOrder::PostOrder, ReverseIterator>(
          [&](Operation *op) {
            if (isOpTriviallyDead(op)) {
              rewriter.eraseOp(op);
              erased = true;
            }
          });
    }
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    IRRewriter rewriter(&getContext());
    SmallVector<KernelOp> kernels;
    for (Operation &op : func.getBody().front())
      if (auto k = dyn_cast<KernelOp>(op))
        kernels.push_back(k);
    for (KernelOp k : kernels)
      if (failed(tileKernel(rewriter, k)))
        return signalPassFailure();

    // What is left: ops outside regions, and ops of a region that were not
    // fused into its root (still used there, outside any loop).
    SmallVector<linalg::LinalgOp> ops;
    auto collect = [&](Block &block) {
      for (Operation &op : block)
        if (isTileable(&op) && !op.use_empty())
          ops.push_back(cast<linalg::LinalgOp>(op));
    };
    collect(func.getBody().front());
    for (KernelOp k : kernels)
      collect(k.getBody().front());
    for (linalg::LinalgOp op : ops) {
      SmallVector<int64_t> sizes = chooseTileSizes(op);
      if (llvm::all_of(sizes, [](int64_t s) { return s == 0; }))
        continue;
      rewriter.setInsertionPoint(op);
      FailureOr<scf::SCFTilingResult> tiled =
          scf::tileUsingSCF(rewriter, cast<TilingInterface>(op.getOperation()),
                            tilingOptions(sizes));
      if (failed(tiled)) {
        op.emitError("could not be tiled for the thread pool");
        return signalPassFailure();
      }
      rewriter.replaceOp(op, tiled->replacements);
    }
  }
};

} // namespace
