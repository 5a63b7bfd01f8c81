//===- MapLoops.cpp - parallel loops to gpu.launch ------------------------===//
//
// One launch per outermost scf.parallel, its iteration space flattened over
// a one-dimensional grid: any number of dimensions maps (attention's four,
// a conv's), neighbouring threads take neighbouring elements of the last
// dimension, and the trip count guards the tail. Reductions take 2-D tiles
// of their last two dimensions instead. A nest with a dimension of static
// size 0 is erased: it launches nothing. Host code that still touches
// memory is moved into single-thread launches first.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/IR/IRMapping.h"

#define DEBUG_TYPE "kiln-cuda-map-loops"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDAMAPLOOPS
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

bool touchesMemory(Operation *op) {
  // A load kiln-cuda-device-buffers left on the host reads host memory.
  if (auto load = dyn_cast<memref::LoadOp>(op))
    return !load->hasAttr(kHostLoad);
  if (isa<memref::StoreOp>(op))
    return true;
  Dialect *dialect = op->getDialect();
  return dialect && (dialect->getNamespace() == "linalg" ||
                     dialect->getNamespace() == "vector");
}

/// Whether `op` (or an op nested in it) reads or writes a memref, and
/// whether it contains a parallel loop (then it stays on the host and is
/// looked into).
void classify(Operation *op, bool &memory, bool &parallel) {
  op->walk([&](Operation *inner) {
    if (isa<scf::ParallelOp, gpu::LaunchOp>(inner))
      parallel = true;
    else if (touchesMemory(inner))
      memory = true;
  });
}

/// The op of `block` that contains `op` (or `op` itself); null if none.
Operation *ancestorIn(Block &block, Operation *op) {
  return block.findAncestorOpInBlock(*op);
}

/// Wraps the host ops of `block` that touch memory outside any parallel
/// loop in one-iteration scf.parallel loops, so they are mapped to kernels
/// like the rest. A run of ops goes into one loop when values flow between
/// them (a load and the store of its value).
LogicalResult wrapHostMemoryOps(Block &block) {
  for (auto it = block.begin(); it != block.end();) {
    Operation &op = *it;
    if (isa<scf::ParallelOp, gpu::LaunchOp>(op) ||
        op.hasTrait<OpTrait::IsTerminator>()) {
      ++it;
      continue;
    }
    bool memory = false, parallel = false;
    classify(&op, memory, parallel);
    if (!memory) {
      ++it;
      continue;
    }
    if (parallel) {
      for (Region &r : op.getRegions())
        for (Block &b : r)
          if (failed(wrapHostMemoryOps(b)))
            return failure();
      ++it;
      continue;
    }
    // The group: from `op` to the last op of the block that uses a value
    // defined in it.
    Operation *last = &op;
    for (Operation *cur = &op;; cur = cur->getNextNode()) {
      for (Value r : cur->getResults())
        for (Operation *user : r.getUsers()) {
          Operation *a = ancestorIn(block, user);
          if (!a)
            return op.emitError("computes on the host a value read from "
                                "device memory that is used elsewhere; the "
                                "CUDA target cannot map this op to a kernel");
          if (last->isBeforeInBlock(a))
            last = a;
        }
      if (cur == last)
        break;
    }
    for (Operation *cur = &op;; cur = cur->getNextNode()) {
      bool curMemory = false, curParallel = false;
      classify(cur, curMemory, curParallel);
      if (curParallel || cur->hasTrait<OpTrait::IsTerminator>())
        return op.emitError("computes on the host a value read from device "
                            "memory that a kernel or the return needs; the "
                            "CUDA target cannot map this op to a kernel");
      if (cur == last)
        break;
    }
    it = std::next(Block::iterator(last));
    OpBuilder b(&op);
    Location loc = op.getLoc();
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ParallelOp::create(b, loc, ValueRange{c0}, ValueRange{c1},
                                        ValueRange{c1});
    Operation *terminator = loop.getBody()->getTerminator();
    for (Operation *cur = &op, *next; cur; cur = next) {
      next = cur == last ? nullptr : cur->getNextNode();
      cur->moveBefore(terminator);
    }
  }
  return success();
}

struct CUDAMapLoopsPass : mlir::kiln::impl::CUDAMapLoopsBase<CUDAMapLoopsPass> {
  using Base::Base;

  LogicalResult mapLoop(scf::ParallelOp loop, StringRef kernelName) {
    if (loop.getNumResults() != 0 || !loop.getInitVals().empty())
      return loop.emitError("parallel loop with reductions: the CUDA target "
                            "maps only loops whose iterations are "
                            "independent");
    // A dimension of static trip count 0 empties the nest: nothing to
    // launch.
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      std::optional<int64_t> l = getConstantIntValue(lb),
                             u = getConstantIntValue(ub),
                             s = getConstantIntValue(step);
      if (l && u && s && *s > 0 && *u <= *l) {
        loop.erase();
        return success();
      }
    }
    Location loc = loop.getLoc();
    OpBuilder b(loop);
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIndexOp::create(b, loc, v);
    };
    // Trip count of each dimension (static where the bounds are).
    int64_t rank = loop.getNumLoops();
    SmallVector<Value> counts;
    SmallVector<std::optional<int64_t>> staticCounts;
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      std::optional<int64_t> l = getConstantIntValue(lb),
                             u = getConstantIntValue(ub),
                             s = getConstantIntValue(step);
      if (l && u && s && *s > 0) {
        int64_t c = std::max<int64_t>(0, llvm::divideCeilSigned(*u - *l, *s));
        counts.push_back(cst(c));
        staticCounts.push_back(c);
      } else {
        Value span = arith::SubIOp::create(b, loc, ub, lb);
        Value n = arith::CeilDivSIOp::create(b, loc, span, step);
        counts.push_back(arith::MaxSIOp::create(b, loc, n, cst(0)));
        staticCounts.push_back(std::nullopt);
      }
    }
    // Product of the counts of dimensions [from, to).
    auto product = [&](int64_t from, int64_t to,
                       std::optional<int64_t> &known) -> Value {
      known = 1;
      Value p = cst(1);
      for (int64_t d = from; d < to; ++d) {
        if (known && staticCounts[d])
          *known *= *staticCounts[d];
        else
          known.reset();
        p = arith::MulIOp::create(b, loc, p, counts[d]);
      }
      return known ? cst(*known) : p;
    };
    auto ceilDiv = [&](Value v, std::optional<int64_t> known,
                       int64_t by) -> std::pair<Value, std::optional<int64_t>> {
      if (known)
        return {cst(llvm::divideCeil(*known, by)),
                llvm::divideCeil(*known, by)};
      return {arith::CeilDivSIOp::create(b, loc, v, cst(by)), std::nullopt};
    };

    // Reductions (a loop in the body) over two or more parallel dimensions
    // take 2-D tiles of the last two: a block's threads then share the rows
    // of one operand and the columns of the other in the caches.
    bool hasReduction = false;
    loop.getBody()->walk([&](scf::ForOp) { hasReduction = true; });
    // A nest with fewer rows than a tile (a decoder step's single row)
    // would leave most of each block idle: it is flattened instead.
    bool tiled = tileReductions && rank >= 2 && hasReduction &&
                 threadsPerBlock % tileWidth == 0 &&
                 threadsPerBlock >= tileWidth &&
                 !(staticCounts[rank - 2] &&
                   *staticCounts[rank - 2] < threadsPerBlock / tileWidth);

    int64_t threads = threadsPerBlock;
    Value grid;
    std::optional<int64_t> staticTotal;
    Value total = product(0, rank, staticTotal);
    // Tiled: the product of the outer dimensions' counts, and whether it
    // is known to be at least 1 (every outer count static; none is 0 here).
    Value outer;
    bool outerNonEmpty = true;
    if (tiled) {
      int64_t rows = threadsPerBlock / tileWidth;
      std::optional<int64_t> outerKnown;
      outer = product(0, rank - 2, outerKnown);
      outerNonEmpty = outerKnown.has_value();
      Value tilesR =
          ceilDiv(counts[rank - 2], staticCounts[rank - 2], rows).first;
      Value tilesC =
          ceilDiv(counts[rank - 1], staticCounts[rank - 1], tileWidth).first;
      grid = arith::MulIOp::create(
          b, loc, arith::MulIOp::create(b, loc, outer, tilesR), tilesC);
    } else {
      // A static nest smaller than a block gets a block of its size.
      if (staticTotal)
        threads =
            std::max<int64_t>(1, std::min<int64_t>(threads, *staticTotal));
      grid = ceilDiv(total, staticTotal, threads).first;
    }
    Value blockSize = cst(threads);
    Value one = cst(1);
    // A nest that is empty at run time (a dynamic count of 0) still
    // launches one block, as a grid of 0 blocks is invalid; the guards
    // below keep its threads from running the body.
    grid = arith::MaxSIOp::create(b, loc, grid, one);
    auto launch = gpu::LaunchOp::create(
        b, loc, grid, one, one, blockSize, one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, /*workgroupAttributions=*/{},
        /*privateAttributions=*/{}, /*clusterSizeX=*/nullptr,
        /*clusterSizeY=*/nullptr, /*clusterSizeZ=*/nullptr,
        FlatSymbolRefAttr::get(b.getContext(), kernelModule),
        FlatSymbolRefAttr::get(b.getContext(), kernelName));
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value bx = launch.getBlockIds().x, tx = launch.getThreadIds().x;

    // Each dimension's index (0-based), and the guard, if any.
    SmallVector<Value> index(rank);
    Value inRange;
    Value rest; // the linear index over the outer dimensions
    int64_t outerRank = rank;
    if (tiled) {
      int64_t rows = threadsPerBlock / tileWidth;
      Value tilesR =
          ceilDiv(counts[rank - 2], staticCounts[rank - 2], rows).first;
      Value tilesC =
          ceilDiv(counts[rank - 1], staticCounts[rank - 1], tileWidth).first;
      // A dynamic count of 0 has no tiles (and one block runs, see above):
      // divide by at least 1; the dimension's guard keeps the threads out.
      if (!staticCounts[rank - 2])
        tilesR = arith::MaxSIOp::create(b, loc, tilesR, one);
      if (!staticCounts[rank - 1])
        tilesC = arith::MaxSIOp::create(b, loc, tilesC, one);
      Value tileC = arith::RemSIOp::create(b, loc, bx, tilesC);
      Value r = arith::DivSIOp::create(b, loc, bx, tilesC);
      Value tileR = arith::RemSIOp::create(b, loc, r, tilesR);
      rest = arith::DivSIOp::create(b, loc, r, tilesR);
      Value ty = arith::DivSIOp::create(b, loc, tx, cst(tileWidth));
      Value txx = arith::RemSIOp::create(b, loc, tx, cst(tileWidth));
      index[rank - 2] = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, tileR, cst(rows)), ty);
      index[rank - 1] = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, tileC, cst(tileWidth)), txx);
      auto guardDim = [&](int64_t d, int64_t tile) {
        if (staticCounts[d] && *staticCounts[d] % tile == 0)
          return;
        Value c = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                        index[d], counts[d]);
        inRange = inRange ? arith::AndIOp::create(b, loc, inRange, c) : c;
      };
      guardDim(rank - 2, rows);
      guardDim(rank - 1, tileWidth);
      // The blocks cover the outer dimensions exactly, unless their
      // product is 0 at run time and the grid was raised to one block.
      if (!outerNonEmpty) {
        Value c = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rest,
                                        outer);
        inRange = inRange ? arith::AndIOp::create(b, loc, inRange, c) : c;
      }
      outerRank = rank - 2;
    } else {
      rest = arith::AddIOp::create(
          b, loc, arith::MulIOp::create(b, loc, bx, blockSize), tx);
      // The tail guard, unless the grid covers the nest exactly (a static
      // total is at least 1 here; a dynamic one may be 0).
      if (!staticTotal || *staticTotal == 0 || *staticTotal % threads != 0)
        inRange = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, rest,
                                        total);
    }
    if (inRange) {
      auto guard = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
    }
    // Delinearize the rest, last dimension fastest.
    for (int64_t d = outerRank - 1; d >= 0; --d) {
      index[d] = rest;
      if (d > 0) {
        index[d] = arith::RemSIOp::create(b, loc, rest, counts[d]);
        rest = arith::DivSIOp::create(b, loc, rest, counts[d]);
      }
    }
    IRMapping map;
    for (int64_t d = 0; d < rank; ++d) {
      Value iv = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(b, loc, index[d], loop.getStep()[d]));
      map.map(loop.getInductionVars()[d], iv);
    }
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    b.setInsertionPointToEnd(&body);
    gpu::TerminatorOp::create(b, loc);
    loop.erase();
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (threadsPerBlock < 1 || threadsPerBlock > 1024) {
      func.emitError("threads-per-block must be 1 to 1024, got ")
          << static_cast<int64_t>(threadsPerBlock);
      return signalPassFailure();
    }
    if (tileWidth < 1) {
      func.emitError("tile-width must be positive, got ")
          << static_cast<int64_t>(tileWidth);
      return signalPassFailure();
    }
    for (Block &block : func.getBody())
      if (failed(wrapHostMemoryOps(block)))
        return signalPassFailure();
    SmallVector<scf::ParallelOp> loops;
    func.walk<WalkOrder::PreOrder>([&](Operation *op) {
      if (isa<gpu::LaunchOp>(op))
        return WalkResult::skip();
      if (auto loop = dyn_cast<scf::ParallelOp>(op)) {
        loops.push_back(loop);
        return WalkResult::skip();
      }
      return WalkResult::advance();
    });
    for (auto [i, loop] : llvm::enumerate(loops))
      if (failed(mapLoop(loop, (func.getName() + "_kernel" + Twine(i)).str())))
        return signalPassFailure();
  }
};

} // namespace
