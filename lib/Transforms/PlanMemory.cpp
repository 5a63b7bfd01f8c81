//===- PlanMemory.cpp - place buffers in one arena by liveness ------------===//

#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/DataLayoutInterfaces.h"
#include "mlir/Interfaces/ValueBoundsOpInterface.h"
#include "mlir/Interfaces/ViewLikeInterface.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-plan-memory"

namespace mlir::kiln {
#define GEN_PASS_DEF_PLANMEMORY
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// True when `op` runs its body concurrently for several iterations.
bool isParallelLoop(Operation *op) {
  return isa<scf::ForallOp, scf::ParallelOp, rt::ParallelForOp>(op);
}

/// A tile's buffer is dynamically sized when the tile does not divide the
/// loop (`affine.min(step, n - iv)`), but its sizes have constant upper
/// bounds: allocates bytes for the bound and views the dynamic shape at its
/// start (the view keeps the alloc's type). Fails when a size is unbounded.
LogicalResult boundDynamicAlloc(memref::AllocOp &alloc,
                                const DataLayout &layout) {
  MemRefType t = alloc.getType();
  if (!t.getLayout().isIdentity())
    return failure();
  int64_t elements = 1;
  unsigned next = 0;
  for (int64_t d : t.getShape()) {
    if (!ShapedType::isDynamic(d)) {
      elements *= d;
      continue;
    }
    FailureOr<int64_t> ub = ValueBoundsConstraintSet::computeConstantBound(
        presburger::BoundType::UB, alloc.getDynamicSizes()[next++],
        /*stopCondition=*/nullptr, /*closedUB=*/true);
    if (failed(ub) || *ub < 0)
      return failure();
    elements *= *ub;
  }
  int64_t bytes = elements * layout.getTypeSize(t.getElementType());
  OpBuilder b(alloc);
  Location loc = alloc.getLoc();
  auto raw = memref::AllocOp::create(
      b, loc, MemRefType::get({std::max<int64_t>(bytes, 1)}, b.getI8Type()),
      alloc.getAlignmentAttr());
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  auto view =
      memref::ViewOp::create(b, loc, t, raw, zero, alloc.getDynamicSizes());
  // Deallocations free the raw buffer, not the view.
  for (Operation *user : llvm::make_early_inc_range(alloc->getUsers()))
    if (auto dealloc = dyn_cast<memref::DeallocOp>(user))
      dealloc.getMemrefMutable().assign(raw);
  alloc.replaceAllUsesWith(view.getResult());
  alloc.erase();
  alloc = raw;
  return success();
}

struct Buffer {
  memref::AllocOp alloc;
  int64_t bytes;
  int64_t align;
  unsigned begin, end; // live range, in positions of top-level ops
  int64_t offset = -1;
};

struct PlanMemoryPass : mlir::kiln::impl::PlanMemoryBase<PlanMemoryPass> {
  using Base::Base;

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (alignment <= 0 || !llvm::isPowerOf2_64(alignment)) {
      func.emitError("kiln-plan-memory: alignment must be a positive power "
                     "of two, got ")
          << static_cast<int64_t>(alignment);
      return signalPassFailure();
    }
    if (func.isExternal())
      return;
    Block &body = func.getBody().front();
    DataLayout layout = DataLayout::closest(func);

    auto byteSize = [&](MemRefType t) -> int64_t {
      int64_t elt = layout.getTypeSize(t.getElementType());
      return t.getNumElements() * elt;
    };

    // Allocations in parallel loops go on the (per-thread) stack; those in
    // sequential loops move to the top level, where they are planned.
    SmallVector<memref::AllocOp> nested;
    func.walk([&](memref::AllocOp alloc) {
      if (alloc->getBlock() != &body)
        nested.push_back(alloc);
    });
    for (memref::AllocOp alloc : nested) {
      if (!alloc.getType().hasStaticShape() &&
          failed(boundDynamicAlloc(alloc, layout))) {
        alloc.emitError("cannot plan a dynamically shaped allocation: a "
                        "size has no constant upper bound");
        return signalPassFailure();
      }
      MemRefType t = alloc.getType();
      if (!t.getLayout().isIdentity()) {
        alloc.emitError("cannot plan an allocation with a non-identity "
                        "layout");
        return signalPassFailure();
      }
      Operation *parallel = nullptr;
      for (Operation *p = alloc->getParentOp(); p != func; p = p->getParentOp())
        if (isParallelLoop(p))
          parallel = p;
      if (parallel) {
        if (byteSize(t) > maxStackBytes) {
          // Too big for a task's stack: a heap buffer per iteration, freed
          // at the end of its block (nothing in a loop body escapes it).
          Block *block = alloc->getBlock();
          if (!block->mightHaveTerminator()) {
            alloc.emitError("allocation of ")
                << byteSize(t) << " bytes inside a parallel loop exceeds the "
                << static_cast<int64_t>(maxStackBytes)
                << "-byte stack limit and its block has no end to free it at";
            return signalPassFailure();
          }
          OpBuilder b(block->getTerminator());
          memref::DeallocOp::create(b, alloc.getLoc(), alloc.getResult());
          continue;
        }
        OpBuilder b(alloc);
        auto stack = memref::AllocaOp::create(b, alloc.getLoc(), t,
                                              alloc.getAlignmentAttr());
        alloc.replaceAllUsesWith(stack.getResult());
        alloc.erase();
        continue;
      }
      Operation *top = alloc;
      while (top->getBlock() != &body)
        top = top->getParentOp();
      alloc->moveBefore(top);
    }

    // Positions of the top-level ops.
    DenseMap<Operation *, unsigned> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    auto topLevel = [&](Operation *op) {
      while (op->getBlock() != &body)
        op = op->getParentOp();
      return op;
    };

    SmallVector<Buffer> buffers;
    for (auto alloc :
         llvm::make_early_inc_range(body.getOps<memref::AllocOp>())) {
      MemRefType t = alloc.getType();
      if (!t.hasStaticShape() || !t.getLayout().isIdentity()) {
        alloc.emitError("cannot plan a dynamically shaped allocation");
        return signalPassFailure();
      }
      Buffer buf{alloc, byteSize(t),
                 std::max<int64_t>(alignment, alloc.getAlignment().value_or(1)),
                 position[alloc], position[alloc]};
      // The live range ends at the last use of the buffer or of any view of
      // it (and of anything else that may alias it).
      SmallVector<Value> work{alloc.getResult()};
      DenseSet<Value> seen;
      while (!work.empty()) {
        Value v = work.pop_back_val();
        if (!seen.insert(v).second)
          continue;
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          if (isa<func::ReturnOp>(user)) {
            buf.end = body.getOperations().size();
            continue;
          }
          if (isa<memref::DeallocOp>(user))
            continue;
          buf.end = std::max(buf.end, position[topLevel(user)]);
          for (Value r : user->getResults())
            if (isa<BaseMemRefType>(r.getType()))
              work.push_back(r);
        }
      }
      buffers.push_back(buf);
    }

    // Greedy best fit: largest first, lowest offset that avoids every
    // placed buffer whose live range overlaps.
    SmallVector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::sort(order, [](Buffer *a, Buffer *b) {
      return a->bytes != b->bytes ? a->bytes > b->bytes : a->begin < b->begin;
    });
    int64_t peak = 0;
    SmallVector<Buffer *> placed;
    for (Buffer *b : order) {
      SmallVector<std::pair<int64_t, int64_t>> taken;
      for (Buffer *p : placed)
        if (p->begin <= b->end && b->begin <= p->end)
          taken.push_back({p->offset, p->offset + p->bytes});
      llvm::sort(taken);
      int64_t offset = 0;
      for (auto [lo, hi] : taken) {
        if (offset + b->bytes <= lo)
          break;
        offset = std::max<int64_t>(offset, llvm::alignTo(hi, b->align));
      }
      b->offset = offset;
      peak = std::max(peak, offset + b->bytes);
      placed.push_back(b);
    }
    peak = llvm::alignTo(peak, alignment);

    // The workspace argument and the views into it.
    if (func.isPublic()) {
      auto wsType = MemRefType::get({peak}, IntegerType::get(&getContext(), 8));
      unsigned argIndex = func.getNumArguments();
      if (failed(func.insertArgument(argIndex, wsType, {}, func.getLoc())))
        return signalPassFailure();
      Value ws = func.getArgument(argIndex);
      for (Buffer &b : buffers) {
        OpBuilder builder(b.alloc);
        Value off =
            arith::ConstantIndexOp::create(builder, b.alloc.getLoc(), b.offset);
        Value view =
            memref::ViewOp::create(builder, b.alloc.getLoc(), b.alloc.getType(),
                                   ws, off, ValueRange{});
        for (Operation *user : llvm::make_early_inc_range(b.alloc->getUsers()))
          if (isa<memref::DeallocOp>(user))
            user->erase();
        b.alloc.replaceAllUsesWith(view);
        b.alloc.erase();
      }
      func->setAttr(
          attrs::kWorkspaceBytes,
          IntegerAttr::get(IntegerType::get(&getContext(), 64), peak));
      LLVM_DEBUG(llvm::dbgs() << func.getSymName() << ": " << buffers.size()
                              << " buffers in " << peak << " bytes\n");
    } else if (!buffers.empty()) {
      buffers.front().alloc.emitError(
          "allocation in a function that is not an entry point: only entry "
          "points receive a workspace");
      return signalPassFailure();
    }
  }
};

} // namespace
