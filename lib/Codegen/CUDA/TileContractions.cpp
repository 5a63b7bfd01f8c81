//===- TileContractions.cpp - matmuls as shared-memory tiled kernels ------===//
//
// Each contraction (a linalg op with one M, one N and one K dimension and
// any batch dimensions: matmuls, batched matmuls, their bf16 variants, and
// fuse-dequant's quantized products) becomes a kernel in which a block
// computes a TM x TN tile of the output: per K step its threads copy a
// TK-deep slice of both operands into shared memory (a quantized weight
// dequantized on the way), synchronize, and each accumulates a TT x TT
// sub-tile in registers from shared memory. The classic SIMT SGEMM
// structure (as in CUTLASS's SIMT kernels); the generic body of the linalg
// op is what accumulates, so fused casts work as written. bf16/f16
// products into f32 use tensor cores instead (a warp per 32 x 32, mma.sync
// m16n8k16 on fragments read from the same slices). Reductions of a few
// rows (a decoder step's products) take a split-K kernel: warps sum ranges
// of K, reduced through shared memory.
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

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/NVGPU/IR/NVGPUDialect.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

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
  OpOperand *a = nullptr; // the operand indexed by (m, k)
  OpOperand *b = nullptr; // the one indexed by (k, n)
  /// A quantized product's right operand is computed (dequantized) from
  /// several inputs: `b` is null, `x` the body's value of B's element
  /// (the ops `xOps` compute it), and the body is `acc + a * x` (`mul`,
  /// `add`).
  Value x;
  SmallVector<Operation *> xOps;
  Operation *mul = nullptr, *add = nullptr;
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

/// A quantized product as kiln-to-linalg{fuse-dequant} writes it: one
/// reduction `k`, an output indexed by its parallel dimensions (the last
/// `n`, the one before `m`, the others a batch), one input `a` indexed by
/// `m` and `k` (a projected permutation), any number of others that `m`
/// does not index (the packed weight, its scales and zero points, through
/// any affine maps), and a body `acc + a * x` where `x`, the weight's
/// element, is computed from those others and the loop indices other than
/// `m`.
FailureOr<Contraction> matchDequant(linalg::LinalgOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumDpsInputs() < 2 || op.getNumReductionLoops() != 1 ||
      op->getNumRegions() != 1)
    return failure();
  OpOperand *out = op.getDpsInitOperand(0);
  AffineMap outMap = op.getMatchingIndexingMap(out);
  if (!outMap.isProjectedPermutation() || outMap.getNumResults() < 2 ||
      outMap.getNumResults() != op.getNumParallelLoops())
    return failure();
  Contraction c;
  c.op = op;
  SmallVector<unsigned> reductions;
  op.getReductionDims(reductions);
  c.k = reductions.front();
  ArrayRef<AffineExpr> outDims = outMap.getResults();
  c.n = cast<AffineDimExpr>(outDims.back()).getPosition();
  c.m = cast<AffineDimExpr>(outDims[outDims.size() - 2]).getPosition();
  for (AffineExpr e : outDims.drop_back(2))
    c.batch.push_back(cast<AffineDimExpr>(e).getPosition());
  llvm::sort(c.batch);
  c.b = nullptr;
  for (OpOperand *in : op.getDpsInputOperands()) {
    if (in->get() == out->get())
      return failure();
    AffineMap map = op.getMatchingIndexingMap(in);
    if (!usesDim(map, c.m))
      continue;
    if (c.a || !map.isProjectedPermutation() || usesDim(map, c.n))
      return failure();
    c.a = in;
  }
  if (!c.a)
    return failure();
  Block *fn = op.getBlock();
  Value acc = fn->getArgument(out->getOperandNumber());
  Value a = fn->getArgument(c.a->getOperandNumber());
  auto add = fn->getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add || !acc.hasOneUse() || !a.hasOneUse())
    return failure();
  Value prod = add.getLhs() == acc ? add.getRhs() : add.getLhs();
  auto mul = prod.getDefiningOp<arith::MulFOp>();
  if (!mul || !prod.hasOneUse() || (add.getLhs() != acc && add.getRhs() != acc))
    return failure();
  c.x = mul.getLhs() == a ? mul.getRhs() : mul.getLhs();
  if (mul.getLhs() != a && mul.getRhs() != a)
    return failure();
  // The ops that compute x: neither a nor acc, and no index of m.
  llvm::SmallPtrSet<Operation *, 16> slice;
  if (Operation *def = c.x.getDefiningOp())
    slice.insert(def);
  for (Operation &op2 : llvm::reverse(fn->without_terminator())) {
    if (!slice.contains(&op2))
      continue;
    if (auto index = dyn_cast<linalg::IndexOp>(op2))
      if (index.getDim() == c.m)
        return failure();
    if (op2.getNumRegions())
      return failure();
    for (Value v : op2.getOperands()) {
      if (v == a || v == acc)
        return failure();
      if (Operation *def = v.getDefiningOp(); def && def->getBlock() == fn)
        slice.insert(def);
    }
  }
  if (c.x == acc)
    return failure();
  for (Operation &op2 : fn->without_terminator())
    if (slice.contains(&op2))
      c.xOps.push_back(&op2);
  c.mul = mul;
  c.add = add;
  return c;
}

/// What the kernels of one contraction share: its loop sizes and builders
/// of index constants, bounds checks and guarded operand loads.
struct KernelBuilder {
  KernelBuilder(linalg::LinalgOp op, OpBuilder &b) : op(op), loc(op.getLoc()) {
    for (Range r : op.createLoopRanges(b, loc))
      sizes.push_back(getValueOrCreateConstantIndexOp(b, loc, r.size));
  }

  linalg::LinalgOp op;
  Location loc;
  SmallVector<Value> sizes;

  Value cst(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value lt(OpBuilder &b, Value x, Value bound) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, bound);
  }
  /// The indices of `operand` for the loop indices `iv` (null where the
  /// operand does not use the dimension).
  SmallVector<Value> indices(OpOperand *operand, ArrayRef<Value> iv) {
    SmallVector<Value> idx;
    for (AffineExpr e : op.getMatchingIndexingMap(operand).getResults())
      idx.push_back(iv[cast<AffineDimExpr>(e).getPosition()]);
    return idx;
  }
  /// The indices of `operand` at `iv` (every loop index set) for any
  /// indexing map: a quantized weight's packed bytes (k floordiv 2) and
  /// group scales (k floordiv group) included.
  SmallVector<Value> affineIndices(OpBuilder &b, OpOperand *operand,
                                   ArrayRef<Value> iv) {
    AffineMap map = op.getMatchingIndexingMap(operand);
    SmallVector<Value> idx;
    for (unsigned i = 0; i < map.getNumResults(); ++i) {
      AffineExpr e = map.getResult(i);
      if (auto d = dyn_cast<AffineDimExpr>(e))
        idx.push_back(iv[d.getPosition()]);
      else
        idx.push_back(
            affine::AffineApplyOp::create(b, loc, map.getSubMap({i}), iv));
    }
    return idx;
  }
  /// Loads operand `o` at `iv` where `inBounds`, else zero.
  Value guardedLoad(OpBuilder &b, OpOperand *o, ArrayRef<Value> iv,
                    Value inBounds) {
    Type t = getElementTypeOrSelf(o->get().getType());
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{t}, inBounds,
                                  /*withElse=*/true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    Value v = memref::LoadOp::create(tb, loc, o->get(), indices(o, iv));
    scf::YieldOp::create(tb, loc, v);
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc,
                         Value(arith::ConstantOp::create(
                             eb, loc, cast<TypedAttr>(eb.getZeroAttr(t)))));
    return ifOp.getResult(0);
  }
  /// The batch's loop indices from the block's z id (its dimensions
  /// delinearized, last fastest); the others null.
  SmallVector<Value> batchIndices(OpBuilder &b, const Contraction &c,
                                  Value blockZ) {
    SmallVector<Value> iv(op.getNumLoops());
    Value rest = blockZ;
    for (unsigned d : llvm::reverse(c.batch)) {
      iv[d] = arith::RemUIOp::create(b, loc, rest, sizes[d]);
      rest = arith::DivUIOp::create(b, loc, rest, sizes[d]);
    }
    return iv;
  }
  /// max(ceil(size / tile), 1): a grid of 0 blocks is invalid; the guards
  /// keep an empty one idle.
  Value tiles(OpBuilder &b, Value size, int64_t tile) {
    Value t = arith::CeilDivSIOp::create(b, loc, size, cst(b, tile));
    return arith::MaxSIOp::create(b, loc, t, cst(b, 1));
  }
  Value batches(OpBuilder &b, const Contraction &c) {
    Value n = cst(b, 1);
    for (unsigned d : c.batch)
      n = arith::MulIOp::create(b, loc, n, sizes[d]);
    return arith::MaxSIOp::create(b, loc, n, cst(b, 1));
  }
  /// The op's body applied to `args` (its block's arguments: the inputs'
  /// elements, then the accumulator) at `b`; its `linalg.index` ops read
  /// the loop indices `iv`.
  Value body(OpBuilder &b, ValueRange args, ArrayRef<Value> iv = {}) {
    Block *fn = op.getBlock();
    IRMapping map;
    map.map(fn->getArguments(), args);
    for (Operation &x : fn->without_terminator()) {
      if (auto index = dyn_cast<linalg::IndexOp>(x))
        map.map(index.getResult(), iv[index.getDim()]);
      else
        b.clone(x, map);
    }
    return map.lookup(fn->getTerminator()->getOperand(0));
  }
  /// The body of contraction `c` applied to (a, b, acc).
  Value body(OpBuilder &b, const Contraction &c, Value a, Value bv, Value acc) {
    SmallVector<Value> args(op.getBlock()->getNumArguments());
    args[c.a->getOperandNumber()] = a;
    args[c.b->getOperandNumber()] = bv;
    args[op.getDpsInitOperand(0)->getOperandNumber()] = acc;
    return body(b, args);
  }
};

/// The constant `op`'s output holds when `op` starts, when it was just
/// filled with one: by a `linalg.fill` of the output right before `op`, or
/// by a `linalg.copy` into it of a buffer filled earlier (bufferization's
/// copy of a fill that several products share; between the fill and the
/// copy the buffer is only copied). Only views and constants may come
/// between that op and `op`. The ops that made it, which the kernel
/// replaces since it writes every element of the output, go into `dead`
/// (a shared fill only once nothing else uses its buffer).
Value constantInit(linalg::LinalgOp op, SmallVectorImpl<Operation *> &dead) {
  Value out = op.getDpsInitOperand(0)->get();
  Operation *prev = op->getPrevNode();
  while (prev && prev->getNumRegions() == 0 && isMemoryEffectFree(prev))
    prev = prev->getPrevNode();
  Type type = getElementTypeOrSelf(out.getType());
  if (auto fill = dyn_cast_or_null<linalg::FillOp>(prev)) {
    if (fill.getOutputs()[0] != out || !fill.hasPureBufferSemantics() ||
        fill.getInputs()[0].getType() != type)
      return {};
    dead.push_back(fill);
    return fill.getInputs()[0];
  }
  auto copy = dyn_cast_or_null<linalg::CopyOp>(prev);
  if (!copy || copy.getOutputs()[0] != out || !copy.hasPureBufferSemantics())
    return {};
  Value src = copy.getInputs()[0];
  // The source's last writer before the copy is a fill (the closest
  // preceding one); between them, its users only copy it.
  Block *block = copy->getBlock();
  linalg::FillOp fill;
  for (Operation *user : src.getUsers()) {
    auto f = dyn_cast<linalg::FillOp>(user);
    if (f && f->getBlock() == block && f.getOutputs()[0] == src &&
        f->isBeforeInBlock(copy) && (!fill || fill->isBeforeInBlock(f)))
      fill = f;
  }
  if (!fill || fill.getInputs()[0].getType() != type)
    return {};
  for (Operation *user : src.getUsers()) {
    Operation *at = block->findAncestorOpInBlock(*user);
    if (!at)
      return {};
    if (user == fill || user == copy || !fill->isBeforeInBlock(at) ||
        !at->isBeforeInBlock(copy))
      continue;
    auto c = dyn_cast<linalg::CopyOp>(user);
    if (!c || c.getInputs()[0] != src || c.getOutputs()[0] == src)
      return {};
  }
  dead.push_back(copy);
  // The fill goes with its last user.
  if (llvm::count_if(src.getUsers(), [&](Operation *u) {
        return u != fill.getOperation();
      }) == 1)
    dead.push_back(fill);
  return fill.getInputs()[0];
}

struct CUDATileContractionsPass
    : mlir::kiln::impl::CUDATileContractionsBase<CUDATileContractionsPass> {
  using Base::Base;

  /// The weight's element of a quantized product `c` at the loop indices
  /// `iv` (m unset) where `ok`, else zero: its inputs loaded through their
  /// maps, then the body's ops that compute it.
  static Value dequantize(KernelBuilder &kb, OpBuilder &b, const Contraction &c,
                          ArrayRef<Value> iv, Value ok) {
    linalg::LinalgOp op = c.op;
    Location loc = op.getLoc();
    Type t = c.x.getType();
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{t}, ok, true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    SmallVector<Value> at(iv);
    at[c.m] = kb.cst(tb, 0); // m indexes none of the weight's inputs
    Block *fn = op.getBlock();
    IRMapping map;
    for (OpOperand *o : op.getDpsInputOperands())
      if (o != c.a)
        map.map(fn->getArgument(o->getOperandNumber()),
                memref::LoadOp::create(tb, loc, o->get(),
                                       kb.affineIndices(tb, o, at)));
    for (Operation *x : c.xOps) {
      if (auto index = dyn_cast<linalg::IndexOp>(x))
        map.map(index.getResult(), at[index.getDim()]);
      else
        tb.clone(*x, map);
    }
    scf::YieldOp::create(tb, loc, map.lookupOrDefault(c.x));
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc,
                         Value(arith::ConstantOp::create(
                             eb, loc, cast<TypedAttr>(eb.getZeroAttr(t)))));
    return ifOp.getResult(0);
  }

  /// `acc` plus the product of the slices' elements `a` and `b`: the op's
  /// body, or for a quantized product its last two ops (the weight's
  /// element was dequantized into the slice).
  static Value product(KernelBuilder &kb, OpBuilder &b, const Contraction &c,
                       Value a, Value bv, Value acc) {
    if (c.b)
      return kb.body(b, c, a, bv, acc);
    linalg::LinalgOp op = c.op;
    Block *fn = op.getBlock();
    IRMapping map;
    map.map(fn->getArgument(c.a->getOperandNumber()), a);
    map.map(c.x, bv);
    map.map(fn->getArgument(op.getDpsInitOperand(0)->getOperandNumber()), acc);
    b.clone(*c.mul, map);
    return b.clone(*c.add, map)->getResult(0);
  }

  LogicalResult rewrite(Contraction &c, StringRef kernelName) {
    linalg::LinalgOp op = c.op;
    Location loc = op.getLoc();
    OpBuilder b(op);
    KernelBuilder kb(c.op, b);
    SmallVector<Operation *> dead;
    Value init = constantInit(op, dead);
    auto cst = [&](OpBuilder &bb, int64_t v) { return kb.cst(bb, v); };
    auto lt = [&](OpBuilder &bb, Value x, Value bound) {
      return kb.lt(bb, x, bound);
    };
    Value M = kb.sizes[c.m], N = kb.sizes[c.n], K = kb.sizes[c.k];
    Value one = cst(b, 1);
    // Tensor cores: a warp per 32 x 32 of the tile, as 2 x 4 mma.sync
    // m16n8k16 tiles; otherwise a thread per thread-tile x thread-tile.
    bool mma = useMma(c);
    int64_t rowThreads = tileM / threadTile, colThreads = tileN / threadTile;
    int64_t threads =
        mma ? (tileM / 32) * (tileN / 32) * 32 : rowThreads * colThreads;

    Type ta = getElementTypeOrSelf(c.a->get().getType());
    // A dequantized weight is stored in shared memory as the body
    // computes its elements.
    Type tb = c.b ? getElementTypeOrSelf(c.b->get().getType()) : c.x.getType();
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
        b, loc, kb.tiles(b, N, tileN), kb.tiles(b, M, tileM), kb.batches(b, c),
        cst(b, threads), one, one,
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

    // The loop indices every thread of the block shares: the batch.
    SmallVector<Value> iv = kb.batchIndices(b, c, launch.getBlockIds().z);

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
    // The accumulators start from the output, or from the constant it was
    // just filled with (no read; the fill and its copy go).
    SmallVector<Value> acc;
    for (auto [x, ok] : llvm::zip(outAt, outOk))
      acc.push_back(init ? init : kb.guardedLoad(b, out, x, ok));
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
                      int64_t extent, Value dst) {
        // A dequantized weight's elements are numbered along N (its packed
        // bytes and scales are laid out along N).
        bool kInner = o && cast<AffineDimExpr>(
                               op.getMatchingIndexingMap(o).getResults().back())
                                   .getPosition() == c.k;
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
          Value v =
              o ? kb.guardedLoad(cb, o, x, ok) : dequantize(kb, cb, c, x, ok);
          memref::StoreOp::create(cb, loc, v, dst, ValueRange{kk, xx});
        }
      };
      copy(c.a, c.m, m0, M, tileM, tileA);
      copy(c.b, c.n, n0, N, tileN, tileB);
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
        SmallVector<Value> sums;
        for (int64_t i = 0; i < threadTile; ++i)
          for (int64_t j = 0; j < threadTile; ++j)
            sums.push_back(
                product(kb, ib, c, av[i], bv[j],
                        inner.getRegionIterArgs()[i * threadTile + j]));
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
      memref::StoreOp::create(gb, loc, v, out->get(), kb.indices(out, x));
    }
    gpu::TerminatorOp::create(b, loc);
    op->erase();
    for (Operation *d : dead)
      d->erase();
    return success();
  }

  /// A reduction with few rows (a decoder step's product, quantized or
  /// not: `rows` output elements per column) as a split-K kernel: a block
  /// per 32 columns (`n`, the output's last dimension), its `gemv-splits`
  /// warps each summing one range of the reduction `k` for every row (a
  /// warp's lanes read 32 neighbouring columns of the weight), their
  /// partial sums reduced through shared memory by the first warp, which
  /// adds them to the output. The body must add a term to the accumulator
  /// (acc + f(inputs)) so that partial sums from zero add up; the inputs
  /// may be indexed by any affine map (packed int4 bytes, group scales).
  LogicalResult rewriteSplitK(linalg::LinalgOp op, ArrayRef<unsigned> rowDims,
                              unsigned n, unsigned k, int64_t rows,
                              StringRef kernelName) {
    Location loc = op.getLoc();
    OpBuilder b(op);
    KernelBuilder kb(op, b);
    SmallVector<Operation *> dead;
    Value init = constantInit(op, dead);
    Value N = kb.sizes[n], K = kb.sizes[k];
    Value one = kb.cst(b, 1);
    int64_t splits = gemvSplits;
    OpOperand *out = op.getDpsInitOperand(0);
    Type tc = getElementTypeOrSelf(out->get().getType());
    auto partials =
        MemRefType::get({splits, rows, 32}, tc, MemRefLayoutAttrInterface(),
                        gpu::AddressSpaceAttr::get(
                            b.getContext(), gpu::AddressSpace::Workgroup));
    auto launch = gpu::LaunchOp::create(
        b, loc, kb.tiles(b, N, 32), one, one, kb.cst(b, 32 * splits), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, TypeRange{partials},
        /*privateAttributions=*/{}, /*clusterSizeX=*/nullptr,
        /*clusterSizeY=*/nullptr, /*clusterSizeZ=*/nullptr,
        FlatSymbolRefAttr::get(b.getContext(), kernelModule),
        FlatSymbolRefAttr::get(b.getContext(), kernelName));
    Value shared = launch.getWorkgroupAttributions()[0];
    b.setInsertionPointToStart(&launch.getBody().front());
    Value tid = launch.getThreadIds().x;
    Value lane = arith::RemUIOp::create(b, loc, tid, kb.cst(b, 32));
    Value split = arith::DivUIOp::create(b, loc, tid, kb.cst(b, 32));
    Value col = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().x, kb.cst(b, 32)),
        lane);
    Value colOk = kb.lt(b, col, N);
    // Each row's loop indices (its row dimensions delinearized, last
    // fastest; all static), the column set; k is set in the loop.
    SmallVector<int64_t> shape = op.getStaticLoopRanges();
    SmallVector<SmallVector<Value>> at;
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> iv(op.getNumLoops());
      int64_t rest = r;
      for (unsigned d : llvm::reverse(rowDims)) {
        iv[d] = kb.cst(b, rest % shape[d]);
        rest /= shape[d];
      }
      iv[n] = col;
      at.push_back(iv);
    }
    // This warp's range of k: [split * chunk, min(K, (split + 1) * chunk)).
    Value chunk = arith::CeilDivSIOp::create(b, loc, K, kb.cst(b, splits));
    Value lo = arith::MinSIOp::create(
        b, loc, arith::MulIOp::create(b, loc, split, chunk), K);
    Value hi = arith::MinSIOp::create(
        b, loc, arith::AddIOp::create(b, loc, lo, chunk), K);
    Value zero =
        arith::ConstantOp::create(b, loc, cast<TypedAttr>(b.getZeroAttr(tc)));
    auto guard = scf::IfOp::create(b, loc, SmallVector<Type>(rows, tc), colOk,
                                   /*withElse=*/true);
    {
      OpBuilder tb = guard.getThenBodyBuilder();
      auto loop = scf::ForOp::create(tb, loc, lo, hi, one,
                                     SmallVector<Value>(rows, zero));
      OpBuilder lb = OpBuilder::atBlockBegin(loop.getBody());
      // An input that no row dimension indexes (the weight) is loaded once
      // per k for all rows.
      SmallVector<Value> loaded(op.getNumDpsInputs());
      for (SmallVector<Value> &iv : at)
        iv[k] = loop.getInductionVar();
      auto load = [&](OpOperand *o, int64_t r) -> Value {
        return memref::LoadOp::create(lb, loc, o->get(),
                                      kb.affineIndices(lb, o, at[r]));
      };
      SmallVector<Value> next;
      for (int64_t r = 0; r < rows; ++r) {
        SmallVector<Value> args;
        for (OpOperand *o : op.getDpsInputOperands()) {
          AffineMap map = op.getMatchingIndexingMap(o);
          bool perRow = llvm::any_of(
              rowDims, [&](unsigned d) { return map.isFunctionOfDim(d); });
          Value &once = loaded[o->getOperandNumber()];
          if (perRow)
            args.push_back(load(o, r));
          else
            args.push_back(once ? once : (once = load(o, r)));
        }
        args.push_back(loop.getRegionIterArgs()[r]);
        next.push_back(kb.body(lb, args, at[r]));
      }
      scf::YieldOp::create(lb, loc, next);
      scf::YieldOp::create(tb, loc, loop.getResults());
      OpBuilder eb = guard.getElseBodyBuilder();
      scf::YieldOp::create(eb, loc, SmallVector<Value>(rows, zero));
    }
    for (int64_t r = 0; r < rows; ++r)
      memref::StoreOp::create(b, loc, guard.getResult(r), shared,
                              ValueRange{split, kb.cst(b, r), lane});
    gpu::BarrierOp::create(b, loc);
    // The first warp adds the partial sums, in split order, to the output.
    Value first = arith::AndIOp::create(
        b, loc,
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq, split,
                              kb.cst(b, 0)),
        colOk);
    auto store = scf::IfOp::create(b, loc, first, /*withElse=*/false);
    OpBuilder sb = store.getThenBodyBuilder();
    for (int64_t r = 0; r < rows; ++r) {
      SmallVector<Value> idx = kb.affineIndices(sb, out, at[r]);
      Value acc =
          init ? init : memref::LoadOp::create(sb, loc, out->get(), idx);
      for (int64_t sp = 0; sp < splits; ++sp) {
        Value p = memref::LoadOp::create(
            sb, loc, shared, ValueRange{kb.cst(sb, sp), kb.cst(sb, r), lane});
        acc = isa<FloatType>(tc)
                  ? Value(arith::AddFOp::create(sb, loc, acc, p))
                  : Value(arith::AddIOp::create(sb, loc, acc, p));
      }
      memref::StoreOp::create(sb, loc, acc, out->get(), idx);
    }
    gpu::TerminatorOp::create(b, loc);
    op->erase();
    for (Operation *d : dead)
      d->erase();
    return success();
  }

  /// A reduction the split-K kernel takes: on buffers, one output indexed
  /// by every parallel dimension (its last, `n`, not statically under
  /// min-size), one reduction `k`, the other parallel dimensions (the
  /// rows) static with at most gemv-rows elements, inputs other than the
  /// output, and a body that adds a term not reading the accumulator to it
  /// (acc + f(inputs), floats or integers; it may read the loop indices,
  /// as int4 products do to pick a nibble).
  struct SplitK {
    SmallVector<unsigned> rowDims;
    unsigned n, k;
    int64_t rows;
  };
  std::optional<SplitK> matchSplitK(linalg::LinalgOp op) {
    if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
        op.getNumReductionLoops() != 1 || op->getNumRegions() != 1)
      return std::nullopt;
    OpOperand *out = op.getDpsInitOperand(0);
    AffineMap outMap = op.getMatchingIndexingMap(out);
    if (!outMap.isProjectedPermutation() ||
        outMap.getNumResults() != op.getNumParallelLoops() ||
        outMap.getNumResults() == 0)
      return std::nullopt;
    for (OpOperand *in : op.getDpsInputOperands())
      if (in->get() == out->get())
        return std::nullopt;
    Block *fn = op.getBlock();
    Value acc = fn->getArgument(out->getOperandNumber());
    Operation *add = fn->getTerminator()->getOperand(0).getDefiningOp();
    if (!add || !isa<arith::AddFOp, arith::AddIOp>(add) || !acc.hasOneUse() ||
        (add->getOperand(0) != acc && add->getOperand(1) != acc))
      return std::nullopt;
    SplitK sk;
    sk.n = cast<AffineDimExpr>(outMap.getResults().back()).getPosition();
    SmallVector<unsigned> reductions;
    op.getReductionDims(reductions);
    sk.k = reductions.front();
    SmallVector<int64_t> shape = op.getStaticLoopRanges();
    if (!ShapedType::isDynamic(shape[sk.n]) && shape[sk.n] < minSize)
      return std::nullopt;
    sk.rows = 1;
    for (AffineExpr e : outMap.getResults().drop_back()) {
      unsigned d = cast<AffineDimExpr>(e).getPosition();
      if (ShapedType::isDynamic(shape[d]))
        return std::nullopt;
      sk.rowDims.push_back(d);
      sk.rows *= shape[d];
    }
    if (sk.rows < 1 || sk.rows > gemvRows)
      return std::nullopt;
    return sk;
  }

  /// Whether `c` runs on tensor cores: 16-bit float operands (bf16 or
  /// f16, both alike), an f32 accumulator, and a body that is exactly the
  /// f32 product of the extended operands added to it, as mma.sync
  /// computes; tiles that split into warps' 32 x 32 and whole 16-deep
  /// steps.
  bool useMma(const Contraction &c) {
    if (!c.b || !tensorCores || tileM % 32 || tileN % 32 || tileK % kMmaK)
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
    if (gemvSplits < 1 || gemvSplits > 32) {
      func.emitError() << "gemv-splits must be 1 to 32, got "
                       << static_cast<int64_t>(gemvSplits);
      return signalPassFailure();
    }
    // The contractions to tile, and the few-row reductions to split.
    SmallVector<Contraction> tiled;
    SmallVector<std::pair<linalg::LinalgOp, SplitK>> split;
    func.walk([&](linalg::LinalgOp op) {
      if (op->getParentOfType<gpu::LaunchOp>())
        return;
      // A tile would leave most threads idle on a small product: one of
      // a few rows (a decoder step) takes the split-K kernel, the others
      // stay with kiln-cuda-map-loops.
      SmallVector<int64_t> shape = op.getStaticLoopRanges();
      auto small = [&](unsigned d) {
        return !ShapedType::isDynamic(shape[d]) && shape[d] < minSize;
      };
      FailureOr<Contraction> c = match(op);
      if (failed(c))
        c = matchDequant(op);
      // The batch is grid z, at most 65535 blocks.
      auto batchFits = [&](const Contraction &c) {
        int64_t n = 1;
        for (unsigned d : c.batch)
          n = ShapedType::isDynamic(shape[d]) ? n : n * shape[d];
        return n <= 65535;
      };
      if (succeeded(c) && !small(c->m) && !small(c->n) && batchFits(*c))
        tiled.push_back(*c);
      else if (std::optional<SplitK> sk = matchSplitK(op))
        split.push_back({op, *sk});
    });
    int64_t count = 0;
    auto name = [&] {
      return (func.getName() + "_matmul" + Twine(count++)).str();
    };
    for (Contraction &c : tiled)
      if (failed(rewrite(c, name())))
        return signalPassFailure();
    for (auto &[op, sk] : split)
      if (failed(rewriteSplitK(op, sk.rowDims, sk.n, sk.k, sk.rows, name())))
        return signalPassFailure();
  }
};

} // namespace
