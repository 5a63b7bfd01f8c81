//===- FormKernels.cpp - group kiln ops into kernel regions ---------------===//

#include "kiln/Transforms/Passes.h"

#include "kiln/Dialect/Kiln/IR/KilnOps.h"
#include "kiln/Transforms/KernelStats.h"

#include "llvm/ADT/DenseMap.h"

namespace mlir::kiln {
#define GEN_PASS_DEF_FORMKERNELS
#include "kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Ops that are no kernel of their own: views and constants, and the
/// scalar index arithmetic and slices of state (a KV cache) around them.
bool isView(Operation *op) {
  return isa<ReshapeOp, ConstantOp, KernelOp, arith::ConstantOp,
             tensor::EmptyOp, tensor::ExtractSliceOp, tensor::InsertSliceOp,
             tensor::ExtractOp>(op) ||
         (isa<arith::ArithDialect>(op->getDialect()) &&
          llvm::all_of(op->getResultTypes(),
                       [](Type t) { return t.isIntOrIndexOrFloat(); })) ||
         op->hasTrait<OpTrait::IsTerminator>();
}

bool isElementwise(Operation *op) {
  return op->hasTrait<OpTrait::kiln::Elementwise>();
}

struct Group {
  SmallVector<Operation *> ops;
  std::string kind;
};

struct FormKernelsPass : kiln::impl::FormKernelsBase<FormKernelsPass> {
  using FormKernelsBase::FormKernelsBase;

  void runOnOperation() override {
    func::FuncOp fn = getOperation();
    // Only top-level ops of the body: one block after import.
    if (!fn.getBody().hasOneBlock())
      return;
    Block &block = fn.getBody().front();
    SmallVector<Group> groups;
    llvm::DenseMap<Operation *, unsigned> groupOf;
    for (Operation &op : block) {
      if (isView(&op) || op.getNumResults() == 0)
        continue;
      if (fuseElementwise && isElementwise(&op) &&
          joinProducer(op, groups, groupOf))
        continue;
      groupOf[&op] = groups.size();
      groups.push_back({{&op}, kernelKind(&op)});
    }
    for (Group &g : groups)
      wrap(g);
  }

  /// Adds `op` to the group whose last op defines one of its operands, if
  /// that value has no other use.
  static bool joinProducer(Operation &op, SmallVectorImpl<Group> &groups,
                           llvm::DenseMap<Operation *, unsigned> &groupOf) {
    for (Value v : op.getOperands()) {
      Operation *def = v.getDefiningOp();
      auto it = def ? groupOf.find(def) : groupOf.end();
      if (it == groupOf.end() || groups[it->second].ops.back() != def ||
          def->getNumResults() != 1 ||
          !llvm::all_of(v.getUsers(), [&](Operation *u) { return u == &op; }))
        continue;
      groups[it->second].ops.push_back(&op);
      groupOf[&op] = it->second;
      return true;
    }
    return false;
  }

  /// Moves the group's ops into a kiln.kernel at the position of its last
  /// op, yielding the values used outside.
  static void wrap(Group &g) {
    Operation *last = g.ops.back();
    llvm::SmallPtrSet<Operation *, 8> members(g.ops.begin(), g.ops.end());
    SmallVector<Value> escaping;
    for (Operation *op : g.ops)
      for (Value r : op->getResults())
        if (llvm::any_of(r.getUsers(),
                         [&](Operation *u) { return !members.contains(u); }))
          escaping.push_back(r);
    OpBuilder b(last);
    b.setInsertionPointAfter(last);
    auto kernel = KernelOp::create(b, last->getLoc(),
                                   ValueRange(escaping).getTypes(), g.kind);
    Block *body = b.createBlock(&kernel.getBody());
    for (Operation *op : g.ops)
      op->moveBefore(body, body->end());
    b.setInsertionPointToEnd(body);
    YieldOp::create(b, last->getLoc(), escaping);
    for (auto [v, r] : llvm::zip(escaping, kernel.getResults()))
      v.replaceUsesWithIf(r, [&](OpOperand &use) {
        return use.getOwner()->getParentOp() != kernel;
      });
  }
};

} // namespace
