//===- EmulateLaunches.cpp - GPU launches as host loops -------------------===//
//
// A testing aid: the mapped kernels and the device-memory traffic of an
// entry point, run on the host, so that a machine without a GPU can check
// the mapping's results against a reference.
//
// A kernel whose threads synchronize (gpu.barrier) is cut into phases at
// its barriers, as MCUDA and POCL run CUDA/OpenCL kernels on CPUs: each
// phase runs for every thread of the block before the next starts, and a
// value one phase computes and a later one reads is kept per thread in a
// host array. Barriers may sit at the top of the kernel or in scf.for
// loops whose bounds are the same for every thread (a tiled matmul's loop
// over its K tiles); the values such a loop carries are kept per thread.
// Unless a barrier ends such a loop's body, one iteration's last ops and
// the next one's first ops run as one phase (the loop rotated), since
// nothing orders them between threads on a GPU either.
// A warp's tensor-core product (nvgpu.mma.sync) is a phase of its own,
// computed from the lanes' fragments by the PTX fragment layouts, and so is
// a warp shuffle (gpu.shuffle xor).
// Upstream MLIR has no such emulation.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/MmaLayout.h"
#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#define DEBUG_TYPE "kiln-cuda-emulate-launches"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDAEMULATELAUNCHES
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// Whether `op` is or contains an op all threads (of the block or of a
/// warp) run together: a barrier, a warp's tensor-core product or shuffle.
bool synchronizes(Operation *op) {
  return op
      ->walk([](Operation *inner) {
        return isa<gpu::BarrierOp, nvgpu::MmaSyncOp, gpu::ShuffleOp>(inner)
                   ? WalkResult::interrupt()
                   : WalkResult::advance();
      })
      .wasInterrupted();
}

/// Emits one block's threads: the body's ops, phase by phase.
class BlockEmulator {
public:
  /// `outside` inserts before the launch's loops (per-thread arrays,
  /// shared memory), `after` after them (their deallocations); `threads`
  /// is the number of threads in a block.
  BlockEmulator(gpu::LaunchOp launch, OpBuilder &outside, OpBuilder &after,
                Value threads)
      : launch(launch), outside(outside), after(after), threads(threads) {}

  /// Maps a value of the kernel to its block-level (uniform) value.
  IRMapping uniform;

  LogicalResult emitOps(Block &block, OpBuilder &b) {
    return emitOps(block.without_terminator(), b);
  }
  template <typename Range> LogicalResult emitOps(Range &&ops, OpBuilder &b) {
    for (Operation &op : ops) {
      if (isa<gpu::BarrierOp>(op)) {
        if (failed(flush(b)))
          return failure();
        continue;
      }
      if (auto mma = dyn_cast<nvgpu::MmaSyncOp>(op)) {
        if (failed(flush(b)) || failed(emitMma(mma, b)))
          return failure();
        continue;
      }
      if (auto shuffle = dyn_cast<gpu::ShuffleOp>(op)) {
        if (failed(flush(b)) || failed(emitShuffle(shuffle, b)))
          return failure();
        continue;
      }
      if (synchronizes(&op)) {
        if (failed(flush(b)) || failed(emitLoop(&op, b)))
          return failure();
        continue;
      }
      // Pure ops of values every thread shares run once, outside the
      // threads' loops.
      if (!perThread.contains(&op) && op.getNumRegions() == 0 &&
          isMemoryEffectFree(&op) &&
          llvm::all_of(op.getOperands(),
                       [&](Value v) { return isUniform(v); })) {
        b.clone(op, uniform);
        continue;
      }
      segment.push_back(&op);
    }
    return success();
  }

  /// Emits the pending ops in loops over the block's threads.
  LogicalResult flush(OpBuilder &b) {
    if (segment.empty())
      return success();
    IRMapping map = uniform;
    OpBuilder ib = threadLoops(b, map);
    if (failed(cloneInto(ib, map, segment)))
      return failure();
    segment.clear();
    return success();
  }

  /// Clones `ops` (one thread's run of them) at `ib`: the per-thread values
  /// of earlier phases they read are loaded, and their results read
  /// elsewhere are stored, for thread `tid`.
  LogicalResult cloneInto(OpBuilder &ib, IRMapping &map,
                          ArrayRef<Operation *> ops) {
    for (Operation *op : ops) {
      op->walk([&](Operation *inner) {
        for (Value v : inner->getOperands())
          if (!map.contains(v) && slots.count(v))
            map.map(v, memref::LoadOp::create(ib, v.getLoc(), slots[v],
                                              ValueRange{tid}));
      });
      Operation *clone = ib.clone(*op, map);
      for (auto [r, c] : llvm::zip(op->getResults(), clone->getResults())) {
        if (!escapes(r, ops))
          continue;
        FailureOr<Value> slot = slotFor(r);
        if (failed(slot))
          return failure();
        memref::StoreOp::create(ib, r.getLoc(), c, *slot, ValueRange{tid});
      }
    }
    return success();
  }

  LogicalResult mapSharedMemory() {
    for (BlockArgument arg : launch.getWorkgroupAttributions()) {
      for (Operation *user : arg.getUsers())
        if (!isa<memref::LoadOp, memref::StoreOp>(user))
          return user->emitError("cannot emulate shared memory used by '")
                 << user->getName() << "' (only loads and stores)";
      auto type = cast<MemRefType>(arg.getType());
      auto host = MemRefType::get(type.getShape(), type.getElementType(),
                                  type.getLayout());
      Value buffer = memref::AllocOp::create(outside, arg.getLoc(), host);
      memref::DeallocOp::create(after, arg.getLoc(), buffer);
      uniform.map(arg, buffer);
    }
    return success();
  }

private:
  gpu::LaunchOp launch;
  OpBuilder &outside;
  OpBuilder &after;
  Value threads;
  /// The thread's linear id in the thread loops being filled.
  Value tid;
  /// The ops of the phase being collected.
  SmallVector<Operation *> segment;
  /// Ops never run once per block (a rotated loop's leading ops, which run
  /// for two iterations in one phase).
  DenseSet<Operation *> perThread;
  /// Per-thread values that live across a barrier -> their host arrays.
  DenseMap<Value, Value> slots;

  bool isUniform(Value v) {
    if (uniform.contains(v))
      return true;
    return !launch.getBody().isAncestor(v.getParentRegion());
  }

  /// Whether `v` is read outside the pending phase.
  /// Whether `v` is read outside `ops`.
  bool escapes(Value v, ArrayRef<Operation *> ops) {
    for (Operation *user : v.getUsers())
      if (llvm::none_of(ops,
                        [&](Operation *op) { return op->isAncestor(user); }))
        return true;
    return false;
  }

  FailureOr<Value> slotFor(Value v) {
    if (Value slot = slots.lookup(v))
      return slot;
    Type t = v.getType();
    if (!isa<IntegerType, IndexType, FloatType, VectorType>(t))
      return emitError(v.getLoc(), "cannot emulate: a value of type ")
             << t << " is live across a barrier";
    Value slot = memref::AllocOp::create(
        outside, v.getLoc(), MemRefType::get({ShapedType::kDynamic}, t),
        ValueRange{threads});
    memref::DeallocOp::create(after, v.getLoc(), slot);
    slots[v] = slot;
    return slot;
  }

  /// Loops over the threads (z, y, x) at `b`; returns a builder inside
  /// them, with the thread ids mapped and `tid` set.
  OpBuilder threadLoops(OpBuilder &b, IRMapping &map) {
    Location loc = launch.getLoc();
    gpu::KernelDim3 size = launch.getBlockSizeOperandValues();
    gpu::KernelDim3 ids = launch.getThreadIds();
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    OpBuilder ib = b;
    Value loops[3];
    Value sizes[3] = {size.z, size.y, size.x};
    for (int i = 0; i < 3; ++i) {
      auto loop = scf::ForOp::create(ib, loc, c0, sizes[i], c1);
      loops[i] = loop.getInductionVar();
      ib.setInsertionPoint(loop.getBody()->getTerminator());
    }
    map.map(ids.z, loops[0]);
    map.map(ids.y, loops[1]);
    map.map(ids.x, loops[2]);
    tid = arith::AddIOp::create(
        ib, loc,
        arith::MulIOp::create(
            ib, loc,
            arith::AddIOp::create(
                ib, loc, arith::MulIOp::create(ib, loc, loops[0], size.y),
                loops[1]),
            size.x),
        loops[2]);
    return ib;
  }

  /// Stores `values` (uniform or per-thread) into `dst`, thread by thread.
  void storeAll(OpBuilder &b, ValueRange values, ArrayRef<Value> dst) {
    IRMapping map = uniform;
    OpBuilder ib = threadLoops(b, map);
    for (auto [v, slot] : llvm::zip(values, dst)) {
      Value x = isUniform(v)
                    ? uniform.lookupOrDefault(v)
                    : memref::LoadOp::create(ib, v.getLoc(), slots.lookup(v),
                                             ValueRange{tid})
                          .getResult();
      memref::StoreOp::create(ib, v.getLoc(), x, slot, ValueRange{tid});
    }
  }

  /// `v` (uniform, or kept per thread) for thread `t`, at `b`.
  Value valueFor(OpBuilder &b, Value v, Value t) {
    if (isUniform(v))
      return uniform.lookupOrDefault(v);
    return memref::LoadOp::create(b, v.getLoc(), slots.lookup(v),
                                  ValueRange{t});
  }

  /// The block's thread count for a warp operation `op`: a known multiple
  /// of 32, or a located error.
  FailureOr<int64_t> warpThreads(Operation *op) {
    gpu::KernelDim3 size = launch.getBlockSizeOperandValues();
    std::optional<int64_t> count = 1;
    for (Value v : {size.x, size.y, size.z}) {
      std::optional<int64_t> n = getConstantIntValue(v);
      count = n && count ? std::optional<int64_t>(*count * *n) : std::nullopt;
    }
    if (!count || *count % 32)
      return op->emitError("cannot emulate a warp operation in a block whose "
                           "thread count is not a known multiple of 32");
    return *count;
  }

  /// A warp's shuffle (xor, over the whole warp): every thread gets the
  /// value of the lane its own lane xor the offset names.
  LogicalResult emitShuffle(gpu::ShuffleOp shuffle, OpBuilder &b) {
    Location loc = shuffle.getLoc();
    FailureOr<int64_t> count = warpThreads(shuffle);
    if (failed(count))
      return failure();
    std::optional<int64_t> width = getConstantIntValue(shuffle.getWidth());
    if (shuffle.getMode() != gpu::ShuffleMode::XOR || width != 32 ||
        !isUniform(shuffle.getOffset()) || !shuffle.getValid().use_empty())
      return shuffle.emitError(
          "cannot emulate this shuffle: only xor over 32 lanes, with an "
          "offset every thread shares and its validity unused");
    Value v = shuffle.getValue();
    if (!isUniform(v) && !slots.count(v))
      return shuffle.emitError("cannot emulate: the value is not available");
    FailureOr<Value> dst = slotFor(shuffle.getShuffleResult());
    if (failed(dst))
      return failure();
    Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
    auto loop = scf::ForOp::create(
        b, loc, c0, arith::ConstantIndexOp::create(b, loc, *count), c1);
    OpBuilder lb(loop.getBody()->getTerminator());
    Value t = loop.getInductionVar();
    // Lanes of 32 threads: t ^ offset stays in t's warp for offsets < 32.
    Value offset = arith::IndexCastOp::create(
        lb, loc, lb.getIndexType(),
        arith::AndIOp::create(
            lb, loc, uniform.lookupOrDefault(shuffle.getOffset()),
            arith::ConstantOp::create(lb, loc, lb.getI32IntegerAttr(31))));
    Value src = arith::XOrIOp::create(lb, loc, t, offset);
    memref::StoreOp::create(lb, loc, valueFor(lb, v, src), *dst, ValueRange{t});
    return success();
  }

  /// A warp's mma.sync m16n8k16, computed from its lanes' fragments: each
  /// warp's A and B are assembled from the fragments (as f32) in host
  /// matrices, then every lane's accumulators get their dot products.
  LogicalResult emitMma(nvgpu::MmaSyncOp mma, OpBuilder &b) {
    Location loc = mma.getLoc();
    FailureOr<int64_t> count = warpThreads(mma);
    if (failed(count))
      return failure();
    std::array<int64_t, 3> shape = mma.getMmaShapeAsArray();
    Type ea = getElementTypeOrSelf(mma.getMatrixA().getType());
    Type ec = getElementTypeOrSelf(mma.getMatrixC().getType());
    if (shape != std::array<int64_t, 3>{kMmaM, kMmaN, kMmaK} ||
        !(ea.isBF16() || ea.isF16()) || !ec.isF32())
      return mma.emitError("cannot emulate this mma.sync: only m16n8k16 "
                           "with bf16 or f16 operands and f32 accumulators");
    for (Value v : {mma.getMatrixA(), mma.getMatrixB(), mma.getMatrixC()})
      if (!isUniform(v) && !slots.count(v))
        return mma.emitError("cannot emulate: an operand is not available");
    FailureOr<Value> dst = slotFor(mma.getRes());
    if (failed(dst))
      return failure();
    auto f32 = Float32Type::get(b.getContext());
    Value mats[2] = {memref::AllocOp::create(
                         outside, loc, MemRefType::get({kMmaM, kMmaK}, f32)),
                     memref::AllocOp::create(
                         outside, loc, MemRefType::get({kMmaK, kMmaN}, f32))};
    for (Value m : mats)
      memref::DeallocOp::create(after, loc, m);
    auto cst = [&](OpBuilder &bb, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(bb, loc, v);
    };
    auto loop = [&](OpBuilder &bb, int64_t n) {
      auto l = scf::ForOp::create(bb, loc, cst(bb, 0), cst(bb, n), cst(bb, 1));
      return std::make_pair(OpBuilder(l.getBody()->getTerminator()),
                            l.getInductionVar());
    };
    auto [wb, warp] = loop(b, *count / 32);
    Value base = arith::MulIOp::create(wb, loc, warp, cst(wb, 32));
    {
      auto [lb, lane] = loop(wb, 32);
      Value t = arith::AddIOp::create(lb, loc, base, lane);
      MmaOperand which[2] = {MmaOperand::A, MmaOperand::B};
      Value frags[2] = {valueFor(lb, mma.getMatrixA(), t),
                        valueFor(lb, mma.getMatrixB(), t)};
      for (int o = 0; o < 2; ++o) {
        auto [regs, perReg] = mmaFragmentShape(which[o]);
        for (int64_t r = 0; r < regs; ++r)
          for (int64_t e = 0; e < perReg; ++e) {
            auto [i, j] = mmaFragmentCoord(lb, loc, which[o], lane, r, e);
            Value x = vector::ExtractOp::create(lb, loc, frags[o],
                                                ArrayRef<int64_t>{r, e});
            x = arith::ExtFOp::create(lb, loc, f32, x);
            memref::StoreOp::create(lb, loc, x, mats[o], ValueRange{i, j});
          }
      }
    }
    auto [lb, lane] = loop(wb, 32);
    Value t = arith::AddIOp::create(lb, loc, base, lane);
    Value c = valueFor(lb, mma.getMatrixC(), t);
    SmallVector<Value> d;
    for (int64_t r = 0; r < 2; ++r)
      for (int64_t e = 0; e < 2; ++e) {
        auto [i, j] = mmaFragmentCoord(lb, loc, MmaOperand::C, lane, r, e);
        Value init =
            vector::ExtractOp::create(lb, loc, c, ArrayRef<int64_t>{r, e});
        auto k = scf::ForOp::create(lb, loc, cst(lb, 0), cst(lb, kMmaK),
                                    cst(lb, 1), ValueRange{init});
        OpBuilder kb(k.getBody(), k.getBody()->begin());
        Value kk = k.getInductionVar();
        Value p = arith::MulFOp::create(
            kb, loc,
            memref::LoadOp::create(kb, loc, mats[0], ValueRange{i, kk}),
            memref::LoadOp::create(kb, loc, mats[1], ValueRange{kk, j}));
        scf::YieldOp::create(kb, loc,
                             ValueRange{arith::AddFOp::create(
                                 kb, loc, k.getRegionIterArgs()[0], p)});
        d.push_back(k.getResult(0));
      }
    Value res =
        packFragment(lb, loc, cast<VectorType>(mma.getRes().getType()), d);
    memref::StoreOp::create(lb, loc, res, *dst, ValueRange{t});
    return success();
  }

  /// A loop whose body synchronizes: the loop runs once for the block,
  /// its body phase by phase; what it carries is kept per thread.
  LogicalResult emitLoop(Operation *op, OpBuilder &b) {
    auto loop = dyn_cast<scf::ForOp>(op);
    if (!loop)
      return op->emitError("cannot emulate a barrier inside '")
             << op->getName() << "' (only in scf.for loops)";
    if (!isUniform(loop.getLowerBound()) || !isUniform(loop.getUpperBound()) ||
        !isUniform(loop.getStep()))
      return loop.emitError("cannot emulate a loop with barriers whose "
                            "bounds differ between threads");
    SmallVector<Value> carried;
    for (Value init : loop.getInitArgs()) {
      if (!isUniform(init) && !slots.count(init))
        return loop.emitError("cannot emulate: an initial value of a loop "
                              "with barriers is not available");
      FailureOr<Value> slot = slotFor(loop.getRegionIterArgs()[carried.size()]);
      if (failed(slot))
        return failure();
      carried.push_back(*slot);
    }
    if (!carried.empty())
      storeAll(b, loop.getInitArgs(), carried);
    Value lb = uniform.lookupOrDefault(loop.getLowerBound());
    Value ub = uniform.lookupOrDefault(loop.getUpperBound());
    Value step = uniform.lookupOrDefault(loop.getStep());
    auto yield = cast<scf::YieldOp>(loop.getBody()->getTerminator());

    // The ops before the body's first synchronization (leading) and after
    // its last (trailing). Unless a barrier ends the body, nothing orders
    // one iteration's trailing ops and the next one's leading ops between
    // threads: they run as one phase (the loop rotated), so that a
    // missing barrier there shows, as it would on a GPU.
    SmallVector<Operation *> leading, trailing;
    Block &body = *loop.getBody();
    auto first = llvm::find_if(body.without_terminator(),
                               [](Operation &o) { return synchronizes(&o); });
    Operation *last = nullptr;
    for (Operation &o : body.without_terminator())
      if (synchronizes(&o))
        last = &o;
    for (Operation &o : llvm::make_range(body.begin(), first))
      leading.push_back(&o);
    for (Operation &o : llvm::make_range(std::next(last->getIterator()),
                                         body.without_terminator().end()))
      trailing.push_back(&o);
    bool rotate = !leading.empty() && !trailing.empty();
    Location loc = loop.getLoc();
    // A builder for ops that run when iteration `x` exists.
    auto ifIteration = [&](OpBuilder &at, Value x) {
      return scf::IfOp::create(at, loc,
                               arith::CmpIOp::create(
                                   at, loc, arith::CmpIPredicate::slt, x, ub),
                               /*withElseRegion=*/false)
          .getThenBodyBuilder();
    };
    if (rotate) {
      // The first iteration's leading ops, when the loop runs.
      for (Operation *o : leading)
        perThread.insert(o);
      uniform.map(loop.getInductionVar(), lb);
      OpBuilder gb = ifIteration(b, lb);
      IRMapping map = uniform;
      OpBuilder ib = threadLoops(gb, map);
      if (failed(cloneInto(ib, map, leading)))
        return failure();
    }
    auto block = scf::ForOp::create(b, loc, lb, ub, step);
    Value iv = block.getInductionVar();
    uniform.map(loop.getInductionVar(), iv);
    OpBuilder inner(block.getBody()->getTerminator());
    auto checkYield = [&]() -> LogicalResult {
      for (Value v : yield.getOperands())
        if (!isUniform(v) && !slots.count(v))
          return yield.emitError("cannot emulate: a value a loop with "
                                 "barriers carries is not available");
      return success();
    };
    if (!rotate) {
      if (failed(emitOps(body.without_terminator(), inner)) ||
          failed(flush(inner)) || failed(checkYield()))
        return failure();
      if (!carried.empty())
        storeAll(inner, yield.getOperands(), carried);
    } else {
      if (failed(
              emitOps(llvm::make_range(first, std::next(last->getIterator())),
                      inner)) ||
          failed(flush(inner)))
        return failure();
      // One phase: this iteration's trailing ops, what it carries, and
      // the next iteration's leading ops when there is one.
      IRMapping map = uniform;
      OpBuilder ib = threadLoops(inner, map);
      if (failed(cloneInto(ib, map, trailing)) || failed(checkYield()))
        return failure();
      for (auto [v, slot] : llvm::zip(yield.getOperands(), carried)) {
        Value x = map.lookupOrNull(v);
        if (!x)
          x = isUniform(v)
                  ? uniform.lookupOrDefault(v)
                  : memref::LoadOp::create(ib, loc, slots[v], ValueRange{tid})
                        .getResult();
        memref::StoreOp::create(ib, loc, x, slot, ValueRange{tid});
      }
      Value next = arith::AddIOp::create(ib, loc, iv, step);
      OpBuilder gb = ifIteration(ib, next);
      IRMapping nextMap = uniform;
      nextMap.map(loop.getInductionVar(), next);
      gpu::KernelDim3 ids = launch.getThreadIds();
      for (Value id : {ids.x, ids.y, ids.z})
        nextMap.map(id, map.lookup(id));
      if (failed(cloneInto(gb, nextMap, leading)))
        return failure();
    }
    for (auto [result, slot] : llvm::zip(loop.getResults(), carried))
      slots[result] = slot;
    return success();
  }
};

LogicalResult emulate(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return launch.emitError("cannot emulate an asynchronous launch");
  if (!launch.getBody().hasOneBlock())
    return launch.emitError("cannot emulate a kernel of several blocks");
  if (!launch.getPrivateAttributions().empty() ||
      launch.getDynamicSharedMemorySize())
    return launch.emitError("cannot emulate a kernel with private or "
                            "dynamic shared memory");

  Location loc = launch.getLoc();
  OpBuilder b(launch);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  Value threads = arith::MulIOp::create(
      b, loc, arith::MulIOp::create(b, loc, block.x, block.y), block.z);

  // Blocks z, y, x; each runs its threads' phases.
  Value sizes[3] = {grid.z, grid.y, grid.x};
  Value ids[3] = {launch.getBlockIds().z, launch.getBlockIds().y,
                  launch.getBlockIds().x};
  OpBuilder inner = b;
  Operation *outermost = nullptr;
  SmallVector<Value> ivs;
  for (int i = 0; i < 3; ++i) {
    auto loop = scf::ForOp::create(inner, loc, c0, sizes[i], c1);
    if (!outermost)
      outermost = loop;
    ivs.push_back(loop.getInductionVar());
    inner.setInsertionPoint(loop.getBody()->getTerminator());
  }
  OpBuilder outside(outermost), after(launch);
  BlockEmulator e(launch, outside, after, threads);
  for (int i = 0; i < 3; ++i)
    e.uniform.map(ids[i], ivs[i]);
  gpu::KernelDim3 gridArgs = launch.getGridSize();
  gpu::KernelDim3 blockArgs = launch.getBlockSize();
  e.uniform.map(gridArgs.x, grid.x);
  e.uniform.map(gridArgs.y, grid.y);
  e.uniform.map(gridArgs.z, grid.z);
  e.uniform.map(blockArgs.x, block.x);
  e.uniform.map(blockArgs.y, block.y);
  e.uniform.map(blockArgs.z, block.z);
  if (failed(e.mapSharedMemory()) ||
      failed(e.emitOps(launch.getBody().front(), inner)) ||
      failed(e.flush(inner)))
    return failure();
  launch.erase();
  return success();
}

struct CUDAEmulateLaunchesPass
    : mlir::kiln::impl::CUDAEmulateLaunchesBase<CUDAEmulateLaunchesPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<gpu::LaunchOp> launches;
    func.walk([&](gpu::LaunchOp l) { launches.push_back(l); });
    for (gpu::LaunchOp l : launches)
      if (failed(emulate(l)))
        return signalPassFailure();

    SmallVector<Operation *> memOps;
    func.walk([&](Operation *op) {
      if (isa<gpu::AllocOp, gpu::DeallocOp, gpu::MemcpyOp>(op))
        memOps.push_back(op);
    });
    for (Operation *op : memOps) {
      OpBuilder b(op);
      if (auto alloc = dyn_cast<gpu::AllocOp>(op)) {
        if (alloc.getAsyncToken() || alloc.getHostShared() ||
            !alloc.getSymbolOperands().empty()) {
          alloc.emitError("cannot emulate an asynchronous or shared device "
                          "allocation");
          return signalPassFailure();
        }
        auto host = memref::AllocOp::create(
            b, alloc.getLoc(), alloc.getMemref().getType(),
            alloc.getDynamicSizes(), ValueRange(), b.getI64IntegerAttr(64));
        alloc.getMemref().replaceAllUsesWith(host.getResult());
      } else if (auto dealloc = dyn_cast<gpu::DeallocOp>(op)) {
        if (dealloc.getAsyncToken()) {
          dealloc.emitError("cannot emulate an asynchronous deallocation");
          return signalPassFailure();
        }
        memref::DeallocOp::create(b, dealloc.getLoc(), dealloc.getMemref());
      } else {
        auto copy = cast<gpu::MemcpyOp>(op);
        if (copy.getAsyncToken()) {
          copy.emitError("cannot emulate an asynchronous copy");
          return signalPassFailure();
        }
        memref::CopyOp::create(b, copy.getLoc(), copy.getSrc(), copy.getDst());
      }
      op->erase();
    }
  }
};

} // namespace
