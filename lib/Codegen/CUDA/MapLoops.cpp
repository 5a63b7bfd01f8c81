//===- MapLoops.cpp - parallel loops to gpu.launch ------------------------===//
//
// One launch per outermost scf.parallel, its iteration space flattened over
// a one-dimensional grid: any number of dimensions maps (attention's four,
// a conv's), neighbouring threads take neighbouring elements of the last
// dimension, and the trip count guards the tail. Host code that still
// touches memory is moved into single-thread launches first.
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
  return isa<memref::LoadOp, memref::StoreOp>(op) ||
         op->getDialect()->getNamespace() == "linalg" ||
         op->getDialect()->getNamespace() == "vector";
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
    Location loc = loop.getLoc();
    OpBuilder b(loop);
    // Trip count of each dimension, and of the whole nest.
    SmallVector<Value> counts;
    std::optional<int64_t> staticTotal = 1;
    Value total = arith::ConstantIndexOp::create(b, loc, 1);
    for (auto [lb, ub, step] : llvm::zip(
             loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
      std::optional<int64_t> l = getConstantIntValue(lb),
                             u = getConstantIntValue(ub),
                             s = getConstantIntValue(step);
      Value n;
      if (l && u && s && *s > 0) {
        int64_t c = std::max<int64_t>(0, llvm::divideCeilSigned(*u - *l, *s));
        n = arith::ConstantIndexOp::create(b, loc, c);
        if (staticTotal)
          *staticTotal *= c;
      } else {
        Value span = arith::SubIOp::create(b, loc, ub, lb);
        n = arith::CeilDivSIOp::create(b, loc, span, step);
        Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
        n = arith::MaxSIOp::create(b, loc, n, c0);
        staticTotal.reset();
      }
      counts.push_back(n);
      total = arith::MulIOp::create(b, loc, total, n);
    }
    if (staticTotal)
      total = arith::ConstantIndexOp::create(b, loc, *staticTotal);
    // A static nest smaller than a block gets a block of its size.
    int64_t threads = threadsPerBlock;
    if (staticTotal)
      threads = std::max<int64_t>(1, std::min<int64_t>(threads, *staticTotal));
    Value blockSize = arith::ConstantIndexOp::create(b, loc, threads);
    Value one = arith::ConstantIndexOp::create(b, loc, 1);
    Value grid = arith::CeilDivSIOp::create(b, loc, total, blockSize);
    // An empty nest still launches one block, whose threads do nothing.
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
    Value id = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().x, blockSize),
        launch.getThreadIds().x);
    // The tail guard, unless the grid covers the nest exactly.
    if (!staticTotal || *staticTotal % threads != 0) {
      Value inRange =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt, id, total);
      auto guard = scf::IfOp::create(b, loc, inRange, /*withElse=*/false);
      b.setInsertionPointToStart(&guard.getThenRegion().front());
    }
    // Delinearize, last dimension fastest.
    IRMapping map;
    Value rest = id;
    for (int64_t d = loop.getNumLoops() - 1; d >= 0; --d) {
      Value i = rest;
      if (d > 0) {
        i = arith::RemSIOp::create(b, loc, rest, counts[d]);
        rest = arith::DivSIOp::create(b, loc, rest, counts[d]);
      }
      Value iv = arith::AddIOp::create(
          b, loc, loop.getLowerBound()[d],
          arith::MulIOp::create(b, loc, i, loop.getStep()[d]));
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
