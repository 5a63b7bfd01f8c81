//===- TileContractions.cpp - matmuls as shared-memory tiled kernels ------===//
//
// Each contraction (a linalg op with one M, one N and one K dimension and
// any batch dimensions: matmuls, batched matmuls, their bf16 variants)
// becomes a kernel in which a block computes a TM x TN tile of the output:
// per K step its threads copy a TK-deep slice of both operands into shared
// memory, synchronize, and each accumulates a TT x TT sub-tile in
// registers from shared memory. The classic SIMT SGEMM structure (as in
// CUTLASS's SIMT kernels); the generic body of the linalg op is what
// accumulates, so fused casts (bf16 operands, f32 accumulation) work as
// written.
//
// Upstream's tile-and-promote route (linalg tiling to scf.forall mapped to
// blocks and threads, linalg promotion to workgroup memory, gpu mapping)
// keeps the accumulator in the output buffer between K steps, reads it
// through memory on every step and cannot hold a thread's sub-tile in
// registers across the K loop; writing the kernel directly keeps it in
// iter_args.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/MmaLayout.h"
#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"

#define DEBUG_TYPE "kiln-cuda-tile-contractions"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDATILECONTRACTIONS
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

struct Contraction {
  linalg::LinalgOp op;
  unsigned m, n, k;
  SmallVector<unsigned> batch;
  OpOperand *a, *b; // the operand indexed by (m, k), the one by (k, n)
};

bool usesDim(AffineMap map, unsigned d) { return map.isFunctionOfDim(d); }

FailureOr<Contraction> match(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.hasIndexSemantics() ||
      op->getNumRegions() != 1)
    return failure();
  if (!llvm::all_of(op.getIndexingMapsArray(),
                    [](AffineMap m) { return m.isProjectedPermutation(); }))
    return failure();
  FailureOr<linalg::ContractionDimensions> dims =
      linalg::inferContractionDims(op);
  if (failed(dims) || dims->m.empty() || dims->n.empty() ||
      dims->k.size() != 1 ||
      op.getNumLoops() !=
          dims->batch.size() + dims->m.size() + dims->n.size() + 1)
    return failure();
  // Of several M (or N) dimensions (a batch that only one operand has:
  // [B, M, K] x [K, N]), the tile takes the one the output varies fastest
  // along; the others are batch dimensions of the grid.
  AffineMap outMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<unsigned> batch(dims->batch.begin(), dims->batch.end());
  auto pick = [&](ArrayRef<unsigned> candidates) {
    unsigned best = candidates.front();
    for (unsigned d : candidates)
      if (*outMap.getResultPosition(getAffineDimExpr(d, op.getContext())) >
          *outMap.getResultPosition(getAffineDimExpr(best, op.getContext())))
        best = d;
    for (unsigned d : candidates)
      if (d != best)
        batch.push_back(d);
    return best;
  };
  Contraction c{op,    pick(dims->m), pick(dims->n), dims->k[0],
                batch, nullptr,       nullptr};
  llvm::sort(c.batch);
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    if (usesDim(map, c.m) && !usesDim(map, c.n))
      c.a = in;
    else if (usesDim(map, c.n) && !usesDim(map, c.m))
      c.b = in;
  }
  if (!c.a || !c.b || c.a == c.b)
    return failure();
  // A product that reads the buffer it writes would see other blocks'
  // partial results.
  Value out = op.getDpsInitOperand(0)->get();
  if (c.a->get() == out || c.b->get() == out)
    return failure();
  return c;
}

struct CUDATileContractionsPass
    : mlir::kiln::impl::CUDATileContractionsBase<CUDATileContractionsPass> {
  using Base::Base;

  /// The indices of `operand` for the loop indices `iv` (null where the
  /// operand does not use the dimension).
  static SmallVector<Value> indices(linalg::LinalgOp op, OpOperand *operand,
                                    ArrayRef<Value> iv) {
    SmallVector<Value> idx;
    for (AffineExpr e : op.getMatchingIndexingMap(operand).getResults())
      idx.push_back(iv[cast<AffineDimExpr>(e).getPosition()]);
    return idx;
  }

  LogicalResult rewrite(Contraction &c, StringRef kernelName) {
    linalg::LinalgOp op = c.op;
    Location loc = op.getLoc();
    OpBuilder b(op);
    auto cst = [&](OpBuilder &bb, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(bb, loc, v);
    };
    SmallVector<Value> sizes;
    for (Range r : op.createLoopRanges(b, loc))
      sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
    Value M = sizes[c.m], N = sizes[c.n], K = sizes[c.k];
    Value one = cst(b, 1);
    Value batches = one;
    for (unsigned d : c.batch)
      batches = arith::MulIOp::create(b, loc, batches, sizes[d]);
    auto tiles = [&](Value size, int64_t tile) -> Value {
      Value t = arith::CeilDivSIOp::create(b, loc, size, cst(b, tile));
      // A grid of 0 blocks is invalid; the guards keep an empty one idle.
      return arith::MaxSIOp::create(b, loc, t, one);
    };
    // Tensor cores: a warp per 32 x 32 of the tile, as 2 x 4 mma.sync
    // m16n8k16 tiles; otherwise a thread per thread-tile x thread-tile.
    bool mma = useMma(c);
    int64_t rowThreads = tileM / threadTile, colThreads = tileN / threadTile;
    int64_t threads =
        mma ? (tileM / 32) * (tileN / 32) * 32 : rowThreads * colThreads;

    Type ta = getElementTypeOrSelf(c.a->get().getType());
    Type tb = getElementTypeOrSelf(c.b->get().getType());
    Type tc = getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
    auto shared = gpu::AddressSpaceAttr::get(b.getContext(),
                                             gpu::AddressSpace::Workgroup);
    // One padding column: copies along K then write rows TM + 1 apart,
    // a different bank for each thread of a warp.
    auto sharedA = MemRefType::get({tileK, tileM + 1}, ta,
                                   MemRefLayoutAttrInterface(), shared);
    auto sharedB = MemRefType::get({tileK, tileN + 1}, tb,
                                   MemRefLayoutAttrInterface(), shared);
    auto launch = gpu::LaunchOp::create(
        b, loc, tiles(N, tileN), tiles(M, tileM),
        arith::MaxSIOp::create(b, loc, batches, one), cst(b, threads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, TypeRange{sharedA, sharedB},
        /*privateAttributions=*/{}, /*clusterSizeX=*/nullptr,
        /*clusterSizeY=*/nullptr, /*clusterSizeZ=*/nullptr,
        FlatSymbolRefAttr::get(b.getContext(), kernelModule),
        FlatSymbolRefAttr::get(b.getContext(), kernelName));
    Block &body = launch.getBody().front();
    b.setInsertionPointToStart(&body);
    Value tileA = launch.getWorkgroupAttributions()[0];
    Value tileB = launch.getWorkgroupAttributions()[1];
    Value tid = launch.getThreadIds().x;
    Value m0 =
        arith::MulIOp::create(b, loc, launch.getBlockIds().y, cst(b, tileM));
    Value n0 =
        arith::MulIOp::create(b, loc, launch.getBlockIds().x, cst(b, tileN));

    // The loop indices every thread of the block shares: the batch (its
    // dimensions delinearized, last fastest).
    SmallVector<Value> iv(op.getNumLoops());
    Value rest = launch.getBlockIds().z;
    for (unsigned d : llvm::reverse(c.batch)) {
      iv[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
      rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
    }
    auto lt = [&](OpBuilder &bb, Value x, Value bound) -> Value {
      return arith::CmpIOp::create(bb, loc, arith::CmpIPredicate::ult, x,
                                   bound);
    };
    /// Loads operand `o` at `iv` where `inBounds`, else zero.
    auto guardedLoad = [&](OpBuilder &bb, OpOperand *o, ArrayRef<Value> at,
                           Value inBounds, Type t) -> Value {
      auto ifOp = scf::IfOp::create(bb, loc, TypeRange{t}, inBounds,
                                    /*withElse=*/true);
      OpBuilder tb = ifOp.getThenBodyBuilder();
      Value v = memref::LoadOp::create(tb, loc, o->get(), indices(op, o, at));
      scf::YieldOp::create(tb, loc, v);
      OpBuilder eb = ifOp.getElseBodyBuilder();
      scf::YieldOp::create(eb, loc,
                           Value(arith::ConstantOp::create(
                               eb, loc, cast<TypedAttr>(eb.getZeroAttr(t)))));
      return ifOp.getResult(0);
    };

    // The thread's accumulator elements (their rows and columns in the
    // tile), in the order the compute below packs them.
    SmallVector<std::pair<Value, Value>> elems;
    Value row, col, warpRow, warpCol, lane;
    if (mma) {
      Value warp = arith::DivUIOp::create(b, loc, tid, cst(b, 32));
      lane = arith::RemUIOp::create(b, loc, tid, cst(b, 32));
      int64_t warpCols = tileN / 32;
      warpRow = arith::MulIOp::create(
          b, loc, arith::DivUIOp::create(b, loc, warp, cst(b, warpCols)),
          cst(b, 32));
      warpCol = arith::MulIOp::create(
          b, loc, arith::RemUIOp::create(b, loc, warp, cst(b, warpCols)),
          cst(b, 32));
      for (int64_t mi = 0; mi < 2; ++mi)
        for (int64_t ni = 0; ni < 4; ++ni)
          for (int64_t r = 0; r < 2; ++r)
            for (int64_t e = 0; e < 2; ++e) {
              auto [i, j] = mmaFragmentCoord(b, loc, MmaOperand::C, lane, r, e);
              elems.push_back(
                  {arith::AddIOp::create(
                       b, loc, warpRow,
                       arith::AddIOp::create(b, loc, i, cst(b, mi * kMmaM))),
                   arith::AddIOp::create(
                       b, loc, warpCol,
                       arith::AddIOp::create(b, loc, j, cst(b, ni * kMmaN)))});
            }
    } else {
      // Rows row + i * rowThreads, columns col + j * colThreads
      // (neighbouring threads, neighbouring columns).
      row = arith::DivUIOp::create(b, loc, tid, cst(b, colThreads));
      col = arith::RemUIOp::create(b, loc, tid, cst(b, colThreads));
      for (int64_t i = 0; i < threadTile; ++i)
        for (int64_t j = 0; j < threadTile; ++j)
          elems.push_back(
              {arith::AddIOp::create(b, loc, row, cst(b, i * rowThreads)),
               arith::AddIOp::create(b, loc, col, cst(b, j * colThreads))});
    }
    OpOperand *out = op.getDpsInitOperand(0);
    SmallVector<SmallVector<Value>> outAt;
    SmallVector<Value> outOk;
    for (auto [i, j] : elems) {
      SmallVector<Value> x = iv;
      x[c.m] = arith::AddIOp::create(b, loc, m0, i);
      x[c.n] = arith::AddIOp::create(b, loc, n0, j);
      outOk.push_back(
          arith::AndIOp::create(b, loc, lt(b, x[c.m], M), lt(b, x[c.n], N)));
      outAt.push_back(x);
    }
    SmallVector<Value> acc;
    for (auto [x, ok] : llvm::zip(outAt, outOk))
      acc.push_back(guardedLoad(b, out, x, ok, tc));
    // mma.sync takes a fragment of 2 x 2 accumulators per tile.
    auto fragType = VectorType::get({2, 2}, tc);
    if (mma) {
      SmallVector<Value> packed;
      for (size_t i = 0; i < acc.size(); i += 4)
        packed.push_back(
            packFragment(b, loc, fragType, ArrayRef<Value>(acc).slice(i, 4)));
      acc = packed;
    }

    auto kLoop = scf::ForOp::create(b, loc, cst(b, 0), K, cst(b, tileK), acc);
    {
      OpBuilder lb = OpBuilder::atBlockBegin(kLoop.getBody());
      Value k0 = kLoop.getInductionVar();
      // Copy a slice of each operand into shared memory, the elements
      // numbered along the operand's last (contiguous) dimension so that
      // neighbouring threads read neighbouring addresses.
      auto copy = [&](OpOperand *o, unsigned dim, Value base, Value bound,
                      int64_t extent, Value dst, Type t) {
        AffineMap map = op.getMatchingIndexingMap(o);
        bool kInner =
            cast<AffineDimExpr>(map.getResults().back()).getPosition() == c.k;
        int64_t elems = extent * tileK;
        for (int64_t r = 0; r * threads < elems; ++r) {
          Value e = arith::AddIOp::create(lb, loc, tid, cst(lb, r * threads));
          OpBuilder cb = lb;
          if ((r + 1) * threads > elems) {
            auto guard =
                scf::IfOp::create(lb, loc, lt(lb, e, cst(lb, elems)), false);
            cb = guard.getThenBodyBuilder();
          }
          Value inner = kInner ? cst(cb, tileK) : cst(cb, extent);
          Value hi = arith::DivUIOp::create(cb, loc, e, inner);
          Value lo = arith::RemUIOp::create(cb, loc, e, inner);
          Value kk = kInner ? lo : hi, xx = kInner ? hi : lo;
          SmallVector<Value> x = iv;
          x[dim] = arith::AddIOp::create(cb, loc, base, xx);
          x[c.k] = arith::AddIOp::create(cb, loc, k0, kk);
          Value ok = arith::AndIOp::create(cb, loc, lt(cb, x[dim], bound),
                                           lt(cb, x[c.k], K));
          Value v = guardedLoad(cb, o, x, ok, t);
          memref::StoreOp::create(cb, loc, v, dst, ValueRange{kk, xx});
        }
      };
      copy(c.a, c.m, m0, M, tileM, tileA, ta);
      copy(c.b, c.n, n0, N, tileN, tileB, tb);
      gpu::BarrierOp::create(lb, loc);

      SmallVector<Value> next;
      if (mma) {
        // Whole 16-deep steps: past K the slices hold zeros on both sides.
        next.assign(kLoop.getRegionIterArgs().begin(),
                    kLoop.getRegionIterArgs().end());
        auto fragment = [&](MmaOperand which, Value slice, Type t, Value kBase,
                            Value xBase) -> Value {
          auto [regs, perReg] = mmaFragmentShape(which);
          SmallVector<Value> v;
          for (int64_t r = 0; r < regs; ++r)
            for (int64_t e = 0; e < perReg; ++e) {
              auto [i, j] = mmaFragmentCoord(lb, loc, which, lane, r, e);
              // A is (m, k), B is (k, n); the slices are [k][m] and [k][n].
              Value kk = which == MmaOperand::A ? j : i;
              Value xx = which == MmaOperand::A ? i : j;
              v.push_back(memref::LoadOp::create(
                  lb, loc, slice,
                  ValueRange{arith::AddIOp::create(lb, loc, kBase, kk),
                             arith::AddIOp::create(lb, loc, xBase, xx)}));
            }
          return packFragment(lb, loc, VectorType::get({regs, perReg}, t), v);
        };
        for (int64_t ks = 0; ks < tileK; ks += kMmaK) {
          Value kBase = cst(lb, ks);
          SmallVector<Value> fa, fb;
          for (int64_t mi = 0; mi < 2; ++mi)
            fa.push_back(fragment(
                MmaOperand::A, tileA, ta, kBase,
                arith::AddIOp::create(lb, loc, warpRow, cst(lb, mi * kMmaM))));
          for (int64_t ni = 0; ni < 4; ++ni)
            fb.push_back(fragment(
                MmaOperand::B, tileB, tb, kBase,
                arith::AddIOp::create(lb, loc, warpCol, cst(lb, ni * kMmaN))));
          for (int64_t mi = 0; mi < 2; ++mi)
            for (int64_t ni = 0; ni < 4; ++ni)
              next[mi * 4 + ni] = nvgpu::MmaSyncOp::create(
                  lb, loc, fa[mi], fb[ni], next[mi * 4 + ni],
                  ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK});
        }
      } else {
        // Accumulate over the slice (shorter at the end of K) with the
        // op's own body.
        Value kc = arith::MinSIOp::create(
            lb, loc, cst(lb, tileK), arith::SubIOp::create(lb, loc, K, k0));
        auto inner = scf::ForOp::create(lb, loc, cst(lb, 0), kc, cst(lb, 1),
                                        kLoop.getRegionIterArgs());
        OpBuilder ib = OpBuilder::atBlockBegin(inner.getBody());
        Value kk = inner.getInductionVar();
        SmallVector<Value> av, bv;
        for (int64_t i = 0; i < threadTile; ++i) {
          Value r =
              arith::AddIOp::create(ib, loc, row, cst(ib, i * rowThreads));
          av.push_back(
              memref::LoadOp::create(ib, loc, tileA, ValueRange{kk, r}));
          Value cl =
              arith::AddIOp::create(ib, loc, col, cst(ib, i * colThreads));
          bv.push_back(
              memref::LoadOp::create(ib, loc, tileB, ValueRange{kk, cl}));
        }
        Block *fn = op.getBlock();
        auto yield = cast<linalg::YieldOp>(fn->getTerminator());
        SmallVector<Value> sums;
        for (int64_t i = 0; i < threadTile; ++i)
          for (int64_t j = 0; j < threadTile; ++j) {
            IRMapping map;
            map.map(fn->getArgument(c.a->getOperandNumber()), av[i]);
            map.map(fn->getArgument(c.b->getOperandNumber()), bv[j]);
            map.map(fn->getArgument(out->getOperandNumber()),
                    inner.getRegionIterArgs()[i * threadTile + j]);
            for (Operation &x : fn->without_terminator())
              ib.clone(x, map);
            sums.push_back(map.lookup(yield.getOperand(0)));
          }
        scf::YieldOp::create(ib, loc, sums);
        next.assign(inner.getResults().begin(), inner.getResults().end());
      }
      // The next slice overwrites shared memory: wait for every reader.
      gpu::BarrierOp::create(lb, loc);
      scf::YieldOp::create(lb, loc, next);
    }
    SmallVector<Value> results;
    for (Value r : kLoop.getResults()) {
      if (!mma) {
        results.push_back(r);
        continue;
      }
      for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 2; ++j)
          results.push_back(
              vector::ExtractOp::create(b, loc, r, ArrayRef<int64_t>{i, j}));
    }
    for (auto [v, x, ok] : llvm::zip(results, outAt, outOk)) {
      auto guard = scf::IfOp::create(b, loc, ok, false);
      OpBuilder gb = guard.getThenBodyBuilder();
      memref::StoreOp::create(gb, loc, v, out->get(), indices(op, out, x));
    }
    gpu::TerminatorOp::create(b, loc);
    op->erase();
    return success();
  }

  /// Whether `c` runs on tensor cores: 16-bit float operands (bf16 or
  /// f16, both alike), an f32 accumulator, and a body that is exactly the
  /// f32 product of the extended operands added to it, as mma.sync
  /// computes; tiles that split into warps' 32 x 32 and whole 16-deep
  /// steps.
  bool useMma(const Contraction &c) {
    if (!tensorCores || tileM % 32 || tileN % 32 || tileK % kMmaK)
      return false;
    linalg::LinalgOp op = c.op;
    Type ta = getElementTypeOrSelf(c.a->get().getType());
    Type tb = getElementTypeOrSelf(c.b->get().getType());
    Type tc = getElementTypeOrSelf(op.getDpsInitOperand(0)->get().getType());
    if (ta != tb || !(ta.isBF16() || ta.isF16()) || !tc.isF32())
      return false;
    Block *fn = op.getBlock();
    Value a = fn->getArgument(c.a->getOperandNumber());
    Value bArg = fn->getArgument(c.b->getOperandNumber());
    Value acc = fn->getArgument(op.getDpsInitOperand(0)->getOperandNumber());
    auto add =
        fn->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
    if (!add || fn->getOperations().size() != 5)
      return false;
    Value prod = add.getLhs() == acc ? add.getRhs() : add.getLhs();
    if ((add.getLhs() == acc) == (add.getRhs() == acc))
      return false;
    auto mul = prod.getDefiningOp<arith::MulFOp>();
    if (!mul)
      return false;
    auto ext = [](Value v) -> Value {
      auto e = v.getDefiningOp<arith::ExtFOp>();
      return e ? e.getIn() : Value();
    };
    Value x = ext(mul.getLhs()), y = ext(mul.getRhs());
    return (x == a && y == bArg) || (x == bArg && y == a);
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    int64_t tm = tileM, tn = tileN, tk = tileK, tt = threadTile;
    auto positive = [&](int64_t v, StringRef name) {
      if (v > 0)
        return true;
      func.emitError() << name << " must be positive, got " << v;
      return false;
    };
    if (!positive(tm, "tile-m") || !positive(tn, "tile-n") ||
        !positive(tk, "tile-k") || !positive(tt, "thread-tile"))
      return signalPassFailure();
    if (tm % tt || tn % tt) {
      func.emitError() << "tile-m and tile-n (" << tm << ", " << tn
                       << ") must be multiples of thread-tile (" << tt << ")";
      return signalPassFailure();
    }
    int64_t threads = (tm / tt) * (tn / tt);
    if (threads > 1024) {
      func.emitError() << "a tile of " << tm << " x " << tn
                       << " with thread-tile " << tt << " needs " << threads
                       << " threads per block (at most 1024)";
      return signalPassFailure();
    }
    SmallVector<Contraction> found;
    func.walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      FailureOr<Contraction> c = match(op);
      if (failed(c))
        return;
      // Small products (a decoder's single row) keep the one thread per
      // output element mapping: a tile would leave most threads idle.
      SmallVector<int64_t> shape = op.getStaticLoopRanges();
      auto small = [&](unsigned d) {
        return !ShapedType::isDynamic(shape[d]) && shape[d] < minSize;
      };
      if (small(c->m) || small(c->n))
        return;
      found.push_back(*c);
    });
    for (auto [i, c] : llvm::enumerate(found))
      if (failed(rewrite(c, (func.getName() + "_matmul" + Twine(i)).str())))
        return signalPassFailure();
  }
};

} // namespace
