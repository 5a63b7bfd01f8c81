//===- OutlineParallel.cpp - kiln_rt.parallel_for bodies to tasks ---------===//
//
// Upstream's ways to run loops on threads (OpenMP, async) need their own
// runtime libraries, which an artifact must not depend on; this pass outlines
// parallel loop bodies for kiln's runtime instead, on the llvm dialect, after
// everything else has been converted, so captured values are plain LLVM
// values.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CPU/Passes.h"

#include "mlir/Transforms/RegionUtils.h"

#define DEBUG_TYPE "kiln-outline-parallel"

namespace mlir::kiln {
#define GEN_PASS_DEF_OUTLINEPARALLEL
#include "kiln/Codegen/CPU/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct OutlineParallelPass
    : mlir::kiln::impl::OutlineParallelBase<OutlineParallelPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto i64 = IntegerType::get(ctx, 64);
    auto voidType = LLVM::LLVMVoidType::get(ctx);

    SmallVector<rt::ParallelForOp> loops;
    module.walk([&](rt::ParallelForOp op) { loops.push_back(op); });
    if (loops.empty())
      return;

    OpBuilder b(ctx);
    auto runtimeFn =
        module.lookupSymbol<LLVM::LLVMFuncOp>("kiln_rt_parallel_for");
    if (!runtimeFn) {
      b.setInsertionPointToStart(module.getBody());
      runtimeFn = LLVM::LLVMFuncOp::create(
          b, module.getLoc(), "kiln_rt_parallel_for",
          LLVM::LLVMFunctionType::get(voidType, {i64, ptrType, ptrType}));
    }

    unsigned counter = 0;
    for (rt::ParallelForOp op : loops) {
      Location loc = op.getLoc();
      auto parent = op->getParentOfType<LLVM::LLVMFuncOp>();
      if (!parent || !op.getCount().getType().isInteger(64)) {
        op.emitError("expected a converted kiln_rt.parallel_for inside an "
                     "llvm.func (run kiln-lower-to-llvm first)");
        return signalPassFailure();
      }
      llvm::SetVector<Value> used;
      getUsedValuesDefinedAbove(op.getBody(), used);
      // Constants (loop bounds and steps, scalars of the body) are cloned
      // into the task rather than captured: LLVM must see them as constants
      // to count and vectorize the task's loops.
      llvm::SetVector<Value> captures;
      SmallVector<Operation *> constants;
      for (Value v : used) {
        Operation *def = v.getDefiningOp();
        if (def && def->getNumOperands() == 0 && def->getNumRegions() == 0 &&
            (def->hasTrait<OpTrait::ConstantLike>() ||
             isa<LLVM::AddressOfOp, LLVM::ZeroOp, LLVM::UndefOp,
                 LLVM::PoisonOp>(def)))
          constants.push_back(def);
        else
          captures.insert(v);
      }
      SmallVector<Type> captureTypes;
      for (Value v : captures)
        captureTypes.push_back(v.getType());
      auto structType = LLVM::LLVMStructType::getLiteral(ctx, captureTypes);

      // The task: void task(ptr captures, i64 begin, i64 end).
      b.setInsertionPointToEnd(module.getBody());
      std::string name = (parent.getName() + "__task" + Twine(counter++)).str();
      auto task = LLVM::LLVMFuncOp::create(
          b, loc, name,
          LLVM::LLVMFunctionType::get(voidType, {ptrType, i64, i64}),
          LLVM::Linkage::Internal);
      Block *entry = task.addEntryBlock(b);
      Region &taskBody = task.getBody();
      Block *header = new Block();
      header->addArgument(i64, loc);
      Block *latch = new Block();
      Block *exit = new Block();
      taskBody.push_back(header);
      Block *bodyEntry = &op.getBody().front();
      // The body's exits, found before empty blocks join the region.
      SmallVector<rt::YieldOp> yields;
      op.getBody().walk([&](rt::YieldOp y) { yields.push_back(y); });
      // Stack buffers of the body (kiln-plan-memory's allocas) are freed at
      // the end of each iteration; otherwise a task's stack would grow with
      // its iteration count.
      bool hasAlloca = false;
      op.getBody().walk([&](LLVM::AllocaOp) { hasAlloca = true; });
      taskBody.getBlocks().splice(taskBody.end(), op.getBody().getBlocks());
      taskBody.push_back(latch);
      taskBody.push_back(exit);

      b.setInsertionPointToStart(entry);
      for (Operation *def : constants) {
        Operation *copy = b.clone(*def);
        for (auto [from, to] : llvm::zip(def->getResults(), copy->getResults()))
          replaceAllUsesInRegionWith(from, to, taskBody);
      }
      Value capturePtr = entry->getArgument(0);
      for (auto [k, v] : llvm::enumerate(captures)) {
        Value slot =
            LLVM::GEPOp::create(b, loc, ptrType, structType, capturePtr,
                                ArrayRef<LLVM::GEPArg>{0, (int32_t)k});
        Value loaded = LLVM::LoadOp::create(b, loc, v.getType(), slot);
        replaceAllUsesInRegionWith(v, loaded, taskBody);
      }
      LLVM::BrOp::create(b, loc, ValueRange{entry->getArgument(1)}, header);

      b.setInsertionPointToStart(header);
      Value iv = header->getArgument(0);
      Value stack = hasAlloca
                        ? LLVM::StackSaveOp::create(b, loc, ptrType).getResult()
                        : Value();
      Value more = LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::slt, iv,
                                        entry->getArgument(2));
      LLVM::CondBrOp::create(b, loc, more, bodyEntry, ValueRange{iv}, exit,
                             ValueRange{});

      for (rt::YieldOp y : yields) {
        b.setInsertionPoint(y);
        LLVM::BrOp::create(b, y.getLoc(), ValueRange{}, latch);
        y.erase();
      }

      b.setInsertionPointToStart(latch);
      if (stack)
        LLVM::StackRestoreOp::create(b, loc, stack);
      Value one = LLVM::ConstantOp::create(b, loc, i64, 1);
      Value next = LLVM::AddOp::create(b, loc, iv, one);
      LLVM::BrOp::create(b, loc, ValueRange{next}, header);

      b.setInsertionPointToStart(exit);
      LLVM::ReturnOp::create(b, loc, ValueRange{});

      // The call site: captures in a struct on the caller's stack.
      Block &parentEntry = parent.getBody().front();
      b.setInsertionPointToStart(&parentEntry);
      Value c1 = LLVM::ConstantOp::create(b, loc, i64, 1);
      Value frame = LLVM::AllocaOp::create(b, loc, ptrType, structType, c1);
      b.setInsertionPoint(op);
      for (auto [k, v] : llvm::enumerate(captures)) {
        Value slot = LLVM::GEPOp::create(b, loc, ptrType, structType, frame,
                                         ArrayRef<LLVM::GEPArg>{0, (int32_t)k});
        LLVM::StoreOp::create(b, loc, v, slot);
      }
      Value fn = LLVM::AddressOfOp::create(b, loc, ptrType, task.getName());
      LLVM::CallOp::create(b, loc, runtimeFn,
                           ValueRange{op.getCount(), fn, frame});
      op.erase();
    }
  }
};

} // namespace
