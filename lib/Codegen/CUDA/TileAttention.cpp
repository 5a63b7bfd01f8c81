//===- TileAttention.cpp - flash attention as a tiled GPU kernel ----------===//
//
// The CUDA target's implementation of the runtime's flash-attention
// contract (kiln_uk_attention*_f32, which kiln-use-ukernels selects for a
// prefill's attention): a block takes a run of queries of one head, the
// keys and values pass through shared memory a tile at a time, and each
// query's online softmax (maximum, sum, output columns) stays in registers,
// split over a few threads whose partial dot products meet through warp
// shuffles: FlashAttention-1's structure in SIMT f32. With tensor cores
// (bf16), FlashAttention-2's: a warp per 16 queries, both products as
// mma.sync, the scores' accumulators reused as the weights' operand
// fragments. Upstream MLIR has no GPU attention lowering; kiln-to-linalg's
// row loops (one thread per query, keys and values read from device memory
// by every query) remain for attention with few queries, where key splits
// fill the GPU instead.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/MmaLayout.h"
#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

#include "llvm/Support/FormatVariadic.h"

#include "ukernels.h"

#define DEBUG_TYPE "kiln-cuda-tile-attention"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDATILEATTENTION
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// A flash-attention call on buffers: Q [B, Hq, Sq, D], K and V in one or
/// two parts along the sequence ([B|1, Hkv, S_i, D|Dv]), an optional mask
/// [mB, mH, mS, mT] (float, added, or i1, keeping the key where set), the
/// output [B, Hq, Sq, Dv].
struct Attention {
  rt::UkernelOp op;
  Value q, out, mask;
  SmallVector<Value, 2> keys, values;
  double scale = 1;
  bool causal = false;
};

/// Static shared memory per block, and the tensor-core kernel's row
/// padding (elements) in its tiles.
constexpr int64_t kStaticShared = 49152, kTilePad = 8;

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<MemRefType>(v.getType()).getShape();
}

/// The call `op` as an attention, or a located error: a micro-kernel the
/// GPU has no kernel for, or operands the contract does not allow.
FailureOr<Attention> parse(rt::UkernelOp op) {
  StringRef name = op.getName();
  auto fail = [&](const Twine &why) -> FailureOr<Attention> {
    op.emitError("micro-kernel '") << op.getName() << "' " << why;
    return failure();
  };
  if (!name.consume_front("kiln_uk_attention") || !name.consume_back("_f32"))
    return fail("is CPU code and has no CUDA kernel (only flash attention "
                "and the selective scan have one)");
  bool kv2 = name.consume_front("_kv2");
  bool floatMask = name == "_mask", boolMask = name == "_boolmask";
  if (!name.empty() && !floatMask && !boolMask)
    return fail("is not a flash-attention kernel");
  Attention a;
  a.op = op;
  ValueRange ins = op.getInputs();
  unsigned parts = kv2 ? 2 : 1;
  unsigned want = 1 + 2 * parts + (floatMask || boolMask) + 2;
  if (ins.size() != want || op.getOutputs().size() != 1)
    return fail("takes " + Twine(want) + " inputs and one output, got " +
                Twine(ins.size()) + " and " + Twine(op.getOutputs().size()));
  a.q = ins[0];
  a.keys.assign(ins.begin() + 1, ins.begin() + 1 + parts);
  a.values.assign(ins.begin() + 1 + parts, ins.begin() + 1 + 2 * parts);
  if (floatMask || boolMask)
    a.mask = ins[1 + 2 * parts];
  a.out = op.getOutputs()[0];
  FloatAttr scale;
  std::optional<int64_t> flags = getConstantIntValue(ins[want - 1]);
  if (!matchPattern(ins[want - 2], m_Constant(&scale)) || !flags)
    return fail("needs a constant scale and constant flags");
  a.scale = scale.getValueAsDouble();
  a.causal = *flags & KILN_UK_CAUSAL;

  // Keys and values may be a dynamic prefix of a static cache (a
  // decoder's prefill reads the keys up to the current length).
  auto isBuffer = [](Value v, Type element, bool sequence = false) {
    auto t = dyn_cast<MemRefType>(v.getType());
    return t && t.getRank() == 4 && t.getElementType() == element &&
           llvm::all_of(llvm::seq<int64_t>(0, 4), [&](int64_t d) {
             return !t.isDynamicDim(d) || (sequence && d == 2);
           });
  };
  Type f32 = Float32Type::get(op.getContext());
  SmallVector<Value> operands{a.q, a.out};
  llvm::append_range(operands, a.keys);
  llvm::append_range(operands, a.values);
  for (Value v : operands)
    if (!isBuffer(v, f32, v != a.q && v != a.out))
      return fail("needs rank-4 f32 buffers, static but for the keys' and "
                  "values' length, got " +
                  llvm::formatv("{0}", v.getType()).str());
  if (a.mask &&
      !isBuffer(a.mask,
                boolMask ? Type(IntegerType::get(op.getContext(), 1)) : f32))
    return fail("needs a static rank-4 mask of its type");
  ArrayRef<int64_t> q = shapeOf(a.q), o = shapeOf(a.out),
                    k = shapeOf(a.keys[0]), v = shapeOf(a.values[0]);
  int64_t skv = 0;
  bool ok = o[0] == q[0] && o[1] == q[1] && o[2] == q[2] && o[3] == v[3] &&
            k[1] > 0 && q[1] % k[1] == 0;
  for (unsigned p = 0; p < parts; ++p) {
    ArrayRef<int64_t> kp = shapeOf(a.keys[p]), vp = shapeOf(a.values[p]);
    for (ArrayRef<int64_t> s : {kp, vp})
      ok &= (s[0] == q[0] || s[0] == 1) && s[1] == k[1];
    // A dynamic length is the same prefix of both (kiln.attention's
    // verifier makes K's and V's lengths equal).
    ok &= kp[2] == vp[2] && kp[3] == q[3] && vp[3] == v[3];
    skv = ShapedType::isDynamic(kp[2]) || ShapedType::isDynamic(skv)
              ? ShapedType::kDynamic
              : skv + kp[2];
  }
  // A mask's key dimension is 1 or the keys' (static) length.
  if (a.mask) {
    ArrayRef<int64_t> m = shapeOf(a.mask);
    int64_t full[4] = {q[0], q[1], q[2], skv};
    for (int d = 0; d < 4; ++d)
      ok &= m[d] == 1 || m[d] == full[d];
  }
  if (!ok)
    return fail("has operand shapes that do not agree");
  return a;
}

/// What the two kernels share: the call's sizes, index helpers, the launch
/// and its block's coordinates, the key and value tiles' copies and the
/// scores' scaling and masking.
struct Emitter {
  const Attention &a;
  Location loc;
  int64_t batch, hq, sq, d, dv, group;
  /// The keys' length and part 0's (constants, or host values: the sizes
  /// in the buffers' descriptors); the length when it is static.
  Value s1, skv;
  std::optional<int64_t> staticKeys = 0;
  /// In the kernel: the block's first query, its head, batch and KV head.
  Value tid, first, h, bz, hk;
  Type f32;

  Emitter(const Attention &a, OpBuilder &b) : a(a), loc(a.op->getLoc()) {
    ArrayRef<int64_t> qs = shapeOf(a.q);
    batch = qs[0], hq = qs[1], sq = qs[2], d = qs[3];
    dv = shapeOf(a.values[0])[3];
    group = hq / shapeOf(a.keys[0])[1];
    f32 = b.getF32Type();
    auto length = [&](Value part) -> Value {
      int64_t n = shapeOf(part)[2];
      if (ShapedType::isDynamic(n)) {
        staticKeys = std::nullopt;
        return memref::DimOp::create(b, loc, part, 2);
      }
      if (staticKeys)
        *staticKeys += n;
      return cst(b, n);
    };
    s1 = skv = length(a.keys[0]);
    if (a.keys.size() == 2) {
      Value s2 = length(a.keys[1]);
      skv = staticKeys ? cst(b, *staticKeys) : add(b, s1, s2);
    }
  }

  Value cst(OpBuilder &b, int64_t v) {
    return arith::ConstantIndexOp::create(b, loc, v);
  }
  Value fcst(OpBuilder &b, double v) {
    return arith::ConstantOp::create(b, loc, b.getF32FloatAttr(v));
  }
  Value ninf(OpBuilder &b) {
    return fcst(b, -std::numeric_limits<double>::infinity());
  }
  Value add(OpBuilder &b, Value x, Value y) {
    return arith::AddIOp::create(b, loc, x, y);
  }
  Value add(OpBuilder &b, Value x, int64_t y) { return add(b, x, cst(b, y)); }
  Value mul(OpBuilder &b, Value x, int64_t y) {
    return arith::MulIOp::create(b, loc, x, cst(b, y));
  }
  Value div(OpBuilder &b, Value x, int64_t y) {
    return arith::DivUIOp::create(b, loc, x, cst(b, y));
  }
  Value rem(OpBuilder &b, Value x, int64_t y) {
    return arith::RemUIOp::create(b, loc, x, cst(b, y));
  }
  Value ult(OpBuilder &b, Value x, Value y) {
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, x, y);
  }
  /// Query `i` if it exists, else the last (a last, partial block computes
  /// the last query again and stores nothing).
  Value clampQuery(OpBuilder &b, Value i) {
    return arith::MinUIOp::create(b, loc, i, cst(b, sq - 1));
  }
  /// An operand's batch index: 0 where it broadcasts.
  Value batchOf(OpBuilder &b, Value mem) {
    return shapeOf(mem)[0] == 1 ? cst(b, 0) : bz;
  }
  /// A load of `mem` at `idx` where `ok` (when given), else 0.
  Value guardedLoad(OpBuilder &b, Value ok, Value mem, ValueRange idx) {
    if (!ok)
      return memref::LoadOp::create(b, loc, mem, idx);
    auto ifOp = scf::IfOp::create(b, loc, TypeRange{f32}, ok, true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    scf::YieldOp::create(tb, loc,
                         ValueRange{memref::LoadOp::create(tb, loc, mem, idx)});
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc, fcst(eb, 0));
    return ifOp.getResult(0);
  }
  /// 1 / sum, or 0 for a query that saw no key.
  Value inverse(OpBuilder &b, Value sum) {
    return arith::SelectOp::create(
        b, loc,
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, sum,
                              fcst(b, 0)),
        fcst(b, 0), arith::DivFOp::create(b, loc, fcst(b, 1), sum));
  }
  /// exp(x - m), the online softmax's weights and corrections, or
  /// `otherwise` while the maximum `m` is -inf (`dead`: every key so far
  /// hidden, nothing accumulates).
  Value expOr(OpBuilder &b, Value x, Value m, Value dead, double otherwise) {
    return arith::SelectOp::create(
        b, loc, dead, fcst(b, otherwise),
        math::ExpOp::create(b, loc, arith::SubFOp::create(b, loc, x, m)));
  }
  Value isDead(OpBuilder &b, Value m) {
    return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, m, ninf(b));
  }

  /// The kernel: a block per `rows` queries of one (batch, head), with
  /// shared `tiles`; the builder `b` is left at the start of its body.
  gpu::LaunchOp launch(OpBuilder &b, int64_t rows, int64_t threads,
                       TypeRange tiles, StringRef module, StringRef name) {
    MLIRContext *ctx = b.getContext();
    Value one = cst(b, 1);
    auto launch = gpu::LaunchOp::create(
        b, loc, cst(b, llvm::divideCeil(sq, rows)), cst(b, hq), cst(b, batch),
        cst(b, threads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, tiles,
        /*privateAttributions=*/{}, /*clusterSizeX=*/nullptr,
        /*clusterSizeY=*/nullptr, /*clusterSizeZ=*/nullptr,
        FlatSymbolRefAttr::get(ctx, module), FlatSymbolRefAttr::get(ctx, name));
    b.setInsertionPointToStart(&launch.getBody().front());
    tid = launch.getThreadIds().x;
    first = mul(b, launch.getBlockIds().x, rows);
    h = launch.getBlockIds().y;
    bz = launch.getBlockIds().z;
    hk = div(b, h, group);
    return launch;
  }

  /// A tile loop, a builder in its body after the copies and the barrier,
  /// and the tile's first key.
  struct TileLoop {
    scf::ForOp loop;
    OpBuilder body;
    Value j0;
  };

  /// The loop over the key tiles of `bc` keys the block's queries see
  /// (causally, up to the last query's j <= i + Skv - Sq), carrying `init`;
  /// each iteration starts by copying the tile's keys and values into
  /// `kTile` and `vTile` with the block's `threads`, then synchronizes.
  TileLoop tileLoop(OpBuilder &b, int64_t rows, int64_t bc, ValueRange init,
                    Value kTile, Value vTile, int64_t threads) {
    Value keyEnd = skv;
    if (a.causal) {
      Value last = add(b, add(b, first, skv), rows - sq);
      keyEnd = arith::MinSIOp::create(
          b, loc, arith::MaxSIOp::create(b, loc, last, cst(b, 0)), keyEnd);
    }
    Value tiles = div(b, add(b, keyEnd, bc - 1), bc);
    auto loop = scf::ForOp::create(b, loc, cst(b, 0), tiles, cst(b, 1), init);
    OpBuilder lb(loop.getBody(), loop.getBody()->begin());
    Value j0 = mul(lb, loop.getInductionVar(), bc);
    copyTile(lb, j0, kTile, a.keys, d, threads);
    copyTile(lb, j0, vTile, a.values, dv, threads);
    gpu::BarrierOp::create(lb, loc);
    return {loop, lb, j0};
  }

  /// Copies keys (or values, `parts`) j0 .. j0 + rows of `tile` into it,
  /// `cols` of each (the tile may be wider), converted to the tile's
  /// element type; zero outside the sequence and the row.
  void copyTile(OpBuilder &b, Value j0, Value tile, ArrayRef<Value> parts,
                int64_t cols, int64_t threads) {
    auto type = cast<MemRefType>(tile.getType());
    int64_t width = type.getDimSize(1), total = type.getNumElements();
    auto copy = scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, llvm::divideCeil(total, threads)), cst(b, 1));
    OpBuilder cb(copy.getBody(), copy.getBody()->begin());
    Value idx = add(cb, tid, mul(cb, copy.getInductionVar(), threads));
    if (total % threads) {
      auto inside = scf::IfOp::create(cb, loc, ult(cb, idx, cst(cb, total)),
                                      /*withElseRegion=*/false);
      cb.setInsertionPoint(inside.thenBlock()->getTerminator());
    }
    Value r = div(cb, idx, width), c = rem(cb, idx, width);
    Value j = add(cb, j0, r);
    Value ok = ult(cb, j, skv);
    if (width != cols)
      ok = arith::AndIOp::create(cb, loc, ok, ult(cb, c, cst(cb, cols)));
    auto ifOp = scf::IfOp::create(cb, loc, TypeRange{f32}, ok, true);
    OpBuilder tb = ifOp.getThenBodyBuilder();
    auto load = [&](OpBuilder &lb, Value part, Value at) -> Value {
      return memref::LoadOp::create(lb, loc, part,
                                    ValueRange{batchOf(lb, part), hk, at, c});
    };
    Value x;
    if (parts.size() == 1) {
      x = load(tb, parts[0], j);
    } else {
      // Key j of [part 0; part 1].
      auto part =
          scf::IfOp::create(tb, loc, TypeRange{f32}, ult(tb, j, s1), true);
      OpBuilder p0 = part.getThenBodyBuilder(), p1 = part.getElseBodyBuilder();
      scf::YieldOp::create(p0, loc, load(p0, parts[0], j));
      scf::YieldOp::create(
          p1, loc, load(p1, parts[1], arith::SubIOp::create(p1, loc, j, s1)));
      x = part.getResult(0);
    }
    scf::YieldOp::create(tb, loc, x);
    OpBuilder eb = ifOp.getElseBodyBuilder();
    scf::YieldOp::create(eb, loc, fcst(eb, 0));
    x = ifOp.getResult(0);
    if (type.getElementType() != f32)
      x = arith::TruncFOp::create(cb, loc, type.getElementType(), x);
    memref::StoreOp::create(cb, loc, x, tile, ValueRange{r, c});
  }

  /// The score of query `i` and key `j` from its dot product: scaled,
  /// masked (the mask, the causal limit, the sequence's end) to -inf.
  Value score(OpBuilder &b, Value dot, Value i, Value j) {
    Value s = arith::MulFOp::create(b, loc, dot, fcst(b, a.scale));
    Value hidden =
        arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, j, skv);
    if (a.causal)
      // j > i + Skv - Sq, without negative numbers.
      hidden = arith::OrIOp::create(
          b, loc, hidden,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                add(b, j, sq), add(b, i, skv)));
    if (a.mask) {
      ArrayRef<int64_t> ms = shapeOf(a.mask);
      Value full[4] = {
          bz, h, clampQuery(b, i),
          arith::MinUIOp::create(
              b, loc, j, arith::SubIOp::create(b, loc, skv, cst(b, 1)))};
      SmallVector<Value> idx;
      for (int dim = 0; dim < 4; ++dim)
        idx.push_back(ms[dim] == 1 ? cst(b, 0) : full[dim]);
      Value m = memref::LoadOp::create(b, loc, a.mask, idx);
      if (m.getType().isInteger(1))
        hidden = arith::OrIOp::create(
            b, loc, hidden,
            arith::XOrIOp::create(
                b, loc, m,
                arith::ConstantOp::create(b, loc, b.getBoolAttr(true))));
      else
        s = arith::AddFOp::create(b, loc, s, m);
    }
    return arith::SelectOp::create(b, loc, hidden, ninf(b), s);
  }

  /// `values` each combined with the value of lane `lane xor off` for
  /// off = 1, 2, .. below `lanes`: a reduction over groups of `lanes`
  /// neighbouring lanes. A round's shuffles are independent: all of them
  /// first, then the combining ops.
  void reduceLanes(OpBuilder &b, MutableArrayRef<Value> values, int64_t lanes,
                   function_ref<Value(OpBuilder &, Value, Value)> combine) {
    Value width = arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(32));
    for (int64_t off = 1; off < lanes; off *= 2) {
      Value offset =
          arith::ConstantOp::create(b, loc, b.getI32IntegerAttr(off));
      SmallVector<Value> other;
      for (Value v : values)
        other.push_back(gpu::ShuffleOp::create(b, loc, v, offset, width,
                                               gpu::ShuffleMode::XOR)
                            .getShuffleResult());
      for (auto [v, o] : llvm::zip_equal(values, other))
        v = combine(b, v, o);
    }
  }
};

struct CUDATileAttentionPass
    : mlir::kiln::impl::CUDATileAttentionBase<CUDATileAttentionPass> {
  using Base::Base;

  /// The workgroup memref type of a tile.
  static MemRefType tileType(MLIRContext *ctx, int64_t keys, int64_t cols,
                             Type element) {
    return MemRefType::get(
        {keys, cols}, element, MemRefLayoutAttrInterface(),
        gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup));
  }

  /// The SIMT kernel: `tpr` threads per query, each with every tpr-th
  /// element of the query and of the output row in registers, f32 tiles.
  LogicalResult rewriteSimt(const Attention &a, StringRef kernelName) {
    rt::UkernelOp op = a.op;
    OpBuilder b(op);
    Emitter em(a, b);
    Location loc = em.loc;
    int64_t sq = em.sq, d = em.d, dv = em.dv;
    // A thread's query elements and output columns: l + tpr * e.
    // Automatically, the fewest (at least 4) that leave a thread at most 32
    // of each.
    int64_t tpr = threadsPerRow;
    if (!tpr)
      tpr = std::clamp<int64_t>(
          llvm::PowerOf2Ceil(llvm::divideCeil(std::max(d, dv), 32)), 4, 32);
    // At least one of each (a head of size 0 reads zeros).
    int64_t dq = std::max<int64_t>(1, llvm::divideCeil(d, tpr)),
            dvq = std::max<int64_t>(1, llvm::divideCeil(dv, tpr));
    // Whole warps: the shuffles need every lane.
    int64_t rows =
                std::min({static_cast<int64_t>(blockRows), 1024 / tpr,
                          static_cast<int64_t>(llvm::alignTo(sq, 32 / tpr))}),
            threads = rows * tpr;
    int64_t bc =
        std::clamp<int64_t>(em.staticKeys.value_or(blockKeys), 1, blockKeys);
    auto tileBytes = [&](int64_t keys) { return keys * (dq + dvq) * tpr * 4; };
    while (bc > 1 && tileBytes(bc) > sharedMemory)
      bc = (bc + 1) / 2;
    if (tileBytes(bc) > sharedMemory)
      return op.emitError("a tile of one key and value (")
             << tileBytes(1) << " bytes) does not fit in shared-memory ("
             << static_cast<int64_t>(sharedMemory) << " bytes)";

    MLIRContext *ctx = op.getContext();
    Type f32 = em.f32;
    auto launch = em.launch(
        b, rows, threads,
        {tileType(ctx, bc, dq * tpr, f32), tileType(ctx, bc, dvq * tpr, f32)},
        kernelModule, kernelName);
    Value kTile = launch.getWorkgroupAttributions()[0];
    Value vTile = launch.getWorkgroupAttributions()[1];
    Value lane = em.rem(b, em.tid, tpr);
    Value i = em.add(b, em.first, em.div(b, em.tid, tpr));
    Value iq = em.clampQuery(b, i);
    // Element `e` of the thread's query elements or output columns, and
    // whether it exists (null: always).
    auto column = [&](OpBuilder &bb, int64_t e) {
      return em.add(bb, lane, tpr * e);
    };
    auto exists = [&](OpBuilder &bb, Value col, int64_t e,
                      int64_t size) -> Value {
      return tpr * (e + 1) > size ? em.ult(bb, col, em.cst(bb, size)) : Value();
    };

    SmallVector<Value> query;
    for (int64_t e = 0; e < dq; ++e) {
      Value col = column(b, e);
      query.push_back(em.guardedLoad(b, exists(b, col, e, d), a.q,
                                     {em.batchOf(b, a.q), em.h, iq, col}));
    }
    SmallVector<Value> init(dvq, em.fcst(b, 0));
    init.append({em.ninf(b), em.fcst(b, 0)});
    Emitter::TileLoop tile =
        em.tileLoop(b, rows, bc, init, kTile, vTile, threads);
    scf::ForOp loop = tile.loop;
    OpBuilder &lb = tile.body;
    Value j0 = tile.j0;

    // Scores: the thread's partial dot products with the tile's keys,
    // summed over the row's threads.
    SmallVector<Value> scores;
    for (int64_t c = 0; c < bc; ++c) {
      Value s = em.fcst(lb, 0);
      for (int64_t e = 0; e < dq; ++e) {
        Value k = memref::LoadOp::create(
            lb, loc, kTile, ValueRange{em.cst(lb, c), column(lb, e)});
        s = math::FmaOp::create(lb, loc, query[e], k, s);
      }
      scores.push_back(s);
    }
    em.reduceLanes(lb, scores, tpr, [&](OpBuilder &bb, Value x, Value y) {
      return arith::AddFOp::create(bb, loc, x, y);
    });
    for (int64_t c = 0; c < bc; ++c)
      scores[c] = em.score(lb, scores[c], i, em.add(lb, j0, c));

    // The online softmax: the new maximum, the old terms' correction, the
    // tile's weights.
    ValueRange carried = loop.getRegionIterArgs();
    Value mNew = carried[dvq];
    for (Value s : scores)
      mNew = arith::MaximumFOp::create(lb, loc, mNew, s);
    Value dead = em.isDead(lb, mNew);
    Value corr = em.expOr(lb, carried[dvq], mNew, dead, 1);
    SmallVector<Value> weights;
    Value sum = arith::MulFOp::create(lb, loc, carried[dvq + 1], corr);
    for (Value s : scores) {
      weights.push_back(em.expOr(lb, s, mNew, dead, 0));
      sum = arith::AddFOp::create(lb, loc, sum, weights.back());
    }
    SmallVector<Value> next;
    for (int64_t e = 0; e < dvq; ++e) {
      Value acc = arith::MulFOp::create(lb, loc, carried[e], corr);
      for (int64_t c = 0; c < bc; ++c) {
        Value v = memref::LoadOp::create(
            lb, loc, vTile, ValueRange{em.cst(lb, c), column(lb, e)});
        acc = math::FmaOp::create(lb, loc, weights[c], v, acc);
      }
      next.push_back(acc);
    }
    next.append({mNew, sum});
    gpu::BarrierOp::create(lb, loc);
    scf::YieldOp::create(lb, loc, next);

    Value inv = em.inverse(b, loop.getResult(dvq + 1));
    auto store = scf::IfOp::create(b, loc, em.ult(b, i, em.cst(b, sq)),
                                   /*withElseRegion=*/false);
    OpBuilder sb(store.thenBlock()->getTerminator());
    for (int64_t e = 0; e < dvq; ++e) {
      Value col = column(sb, e);
      OpBuilder eb = sb;
      if (Value ok = exists(sb, col, e, dv)) {
        auto inside = scf::IfOp::create(sb, loc, ok, /*withElseRegion=*/false);
        eb.setInsertionPoint(inside.thenBlock()->getTerminator());
      }
      memref::StoreOp::create(
          eb, loc, arith::MulFOp::create(eb, loc, loop.getResult(e), inv),
          a.out, ValueRange{em.batchOf(eb, a.out), em.h, i, col});
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
  }

  /// The tensor-core kernel (FlashAttention-2's structure): a warp per 16
  /// queries, bf16 tiles; S = Q K^T and O += P V as mma.sync m16n8k16,
  /// the scores' accumulators reused as P's A fragments.
  LogicalResult rewriteMma(const Attention &a, StringRef kernelName) {
    rt::UkernelOp op = a.op;
    OpBuilder b(op);
    Emitter em(a, b);
    Location loc = em.loc;
    MLIRContext *ctx = op.getContext();
    int64_t sq = em.sq, d = em.d, dv = em.dv;
    // A warp per 16 of the block's queries (block-rows rounded up to 16).
    int64_t warps = std::min<int64_t>(
        {static_cast<int64_t>(llvm::divideCeil(blockRows, kMmaM)), 32,
         static_cast<int64_t>(llvm::divideCeil(sq, kMmaM))});
    int64_t rows = warps * kMmaM, threads = warps * 32;
    // Keys in whole 16-deep steps of the second product.
    int64_t bc = std::max<int64_t>(kMmaK, blockKeys / kMmaK * kMmaK);
    // Rows padded by 8 elements (16 bytes): a fragment's lanes read 8 rows
    // (keys) or 4 pairs of rows (values) of a tile, which then fall in
    // different banks.
    int64_t kWidth = d + kTilePad, vWidth = dv + kTilePad;
    auto tileBytes = [&](int64_t keys) { return keys * (kWidth + vWidth) * 2; };
    while (bc > kMmaK && tileBytes(bc) > sharedMemory)
      bc = std::max<int64_t>(kMmaK, bc / 2 / kMmaK * kMmaK);
    Type f32 = em.f32, bf16 = b.getBF16Type();
    auto launch = em.launch(
        b, rows, threads,
        {tileType(ctx, bc, kWidth, bf16), tileType(ctx, bc, vWidth, bf16)},
        kernelModule, kernelName);
    Value kTile = launch.getWorkgroupAttributions()[0];
    Value vTile = launch.getWorkgroupAttributions()[1];
    Value lane = em.rem(b, em.tid, 32);
    // The warp's first query; a lane's rows (C fragments) are
    // rowBase + lane / 4 and 8 more, its columns 2 * (lane % 4) and 1 more.
    Value rowBase = em.add(b, em.first, em.mul(b, em.div(b, em.tid, 32), 16));
    Value quadRow = em.div(b, lane, 4);
    Value pairCol = em.mul(b, em.rem(b, lane, 4), 2);
    auto fragType = [&](MmaOperand which, Type t) {
      auto [regs, perReg] = mmaFragmentShape(which);
      return VectorType::get({regs, perReg}, t);
    };
    // A fragment of `which` whose element (row, column) `element` gives.
    auto fragment = [&](OpBuilder &fb, MmaOperand which,
                        function_ref<Value(Value, Value)> element) -> Value {
      auto [regs, perReg] = mmaFragmentShape(which);
      SmallVector<Value> v;
      for (int64_t r = 0; r < regs; ++r)
        for (int64_t e = 0; e < perReg; ++e) {
          auto [i, j] = mmaFragmentCoord(fb, loc, which, lane, r, e);
          v.push_back(element(i, j));
        }
      return packFragment(fb, loc, fragType(which, bf16), v);
    };
    auto mma = [&](OpBuilder &mb, Value x, Value y, Value acc) -> Value {
      return nvgpu::MmaSyncOp::create(mb, loc, x, y, acc,
                                      ArrayRef<int64_t>{kMmaM, kMmaN, kMmaK});
    };

    // The warp's queries as A fragments, one per 16 of D, in bf16.
    SmallVector<Value> query;
    for (int64_t k0 = 0; k0 < d; k0 += kMmaK)
      query.push_back(fragment(b, MmaOperand::A, [&](Value i, Value j) {
        Value x = memref::LoadOp::create(
            b, loc, a.q,
            ValueRange{em.batchOf(b, a.q), em.h,
                       em.clampQuery(b, em.add(b, rowBase, i)),
                       em.add(b, j, k0)});
        return arith::TruncFOp::create(b, loc, bf16, x);
      }));

    // Carried: the output's C fragments (one per 8 of Dv), then for each
    // of the lane's two rows the maximum and the lane's part of the sum.
    Type accType = fragType(MmaOperand::C, f32);
    Value zeros =
        arith::ConstantOp::create(b, loc, accType, b.getZeroAttr(accType));
    int64_t outTiles = dv / kMmaN;
    SmallVector<Value> init(outTiles, zeros);
    init.append({em.ninf(b), em.ninf(b), em.fcst(b, 0), em.fcst(b, 0)});
    Emitter::TileLoop tile =
        em.tileLoop(b, rows, bc, init, kTile, vTile, threads);
    scf::ForOp loop = tile.loop;
    OpBuilder &lb = tile.body;
    Value j0 = tile.j0;

    // A B fragment from a tile: (k, n) at [k0 + k][n0 + n], or transposed
    // at [n0 + n][k0 + k].
    auto tileFragment = [&](Value tile, int64_t k0, int64_t n0,
                            bool transposed) {
      return fragment(lb, MmaOperand::B, [&](Value k, Value n) -> Value {
        Value kk = em.add(lb, k, k0), nn = em.add(lb, n, n0);
        return memref::LoadOp::create(lb, loc, tile,
                                      transposed ? ValueRange{nn, kk}
                                                 : ValueRange{kk, nn});
      });
    };

    // S = Q K^T, 8 keys per C fragment: B's (k, n) is key n's element k.
    int64_t keyTiles = bc / kMmaN;
    SmallVector<Value> s(keyTiles * 4);
    for (int64_t nt = 0; nt < keyTiles; ++nt) {
      Value acc = zeros;
      for (int64_t kk = 0; kk < d / kMmaK; ++kk)
        acc = mma(lb, query[kk],
                  tileFragment(kTile, kk * kMmaK, nt * kMmaN, true), acc);
      // Element (r, e): row quadRow + 8 r, key 8 nt + pairCol + e.
      for (int64_t r = 0; r < 2; ++r)
        for (int64_t e = 0; e < 2; ++e) {
          Value x =
              vector::ExtractOp::create(lb, loc, acc, ArrayRef<int64_t>{r, e});
          Value i = em.add(lb, em.add(lb, rowBase, quadRow), 8 * r);
          Value j = em.add(lb, em.add(lb, j0, pairCol), nt * kMmaN + e);
          s[nt * 4 + r * 2 + e] = em.score(lb, x, i, j);
        }
    }
    // Per row: the tile's maximum over the quad of lanes holding the row,
    // the new maximum, the correction and the weights.
    ValueRange carried = loop.getRegionIterArgs();
    SmallVector<Value> corr(2), mNew(2), sum(2), p(s.size());
    for (int64_t r = 0; r < 2; ++r) {
      Value m = carried[outTiles + r];
      for (int64_t nt = 0; nt < keyTiles; ++nt)
        for (int64_t e = 0; e < 2; ++e)
          m = arith::MaximumFOp::create(lb, loc, m, s[nt * 4 + r * 2 + e]);
      mNew[r] = m;
    }
    em.reduceLanes(lb, mNew, 4, [&](OpBuilder &bb, Value x, Value y) {
      return arith::MaximumFOp::create(bb, loc, x, y);
    });
    for (int64_t r = 0; r < 2; ++r) {
      Value dead = em.isDead(lb, mNew[r]);
      corr[r] = em.expOr(lb, carried[outTiles + r], mNew[r], dead, 1);
      sum[r] =
          arith::MulFOp::create(lb, loc, carried[outTiles + 2 + r], corr[r]);
      for (int64_t nt = 0; nt < keyTiles; ++nt)
        for (int64_t e = 0; e < 2; ++e) {
          int64_t at = nt * 4 + r * 2 + e;
          p[at] = em.expOr(lb, s[at], mNew[r], dead, 0);
          sum[r] = arith::AddFOp::create(lb, loc, sum[r], p[at]);
        }
    }
    // P as A fragments, 16 keys each: the C fragments of keys 0-7 give
    // registers 0 (row quadRow) and 1 (row + 8), those of keys 8-15
    // registers 2 and 3 (the PTX layouts of C and A line up).
    SmallVector<Value> weights;
    for (int64_t kk = 0; kk < bc / kMmaK; ++kk) {
      SmallVector<Value> regs;
      for (int64_t half = 0; half < 2; ++half)
        for (int64_t r = 0; r < 2; ++r)
          for (int64_t e = 0; e < 2; ++e)
            regs.push_back(arith::TruncFOp::create(
                lb, loc, bf16, p[(2 * kk + half) * 4 + r * 2 + e]));
      weights.push_back(
          packFragment(lb, loc, fragType(MmaOperand::A, bf16), regs));
    }
    // O = O * corr + P V: B's (k, n) is key k's value in column n.
    Value corrRows = packFragment(lb, loc, cast<VectorType>(accType),
                                  {corr[0], corr[0], corr[1], corr[1]});
    SmallVector<Value> next;
    for (int64_t dn = 0; dn < outTiles; ++dn) {
      Value acc = arith::MulFOp::create(lb, loc, carried[dn], corrRows);
      for (int64_t kk = 0; kk < bc / kMmaK; ++kk)
        acc = mma(lb, weights[kk],
                  tileFragment(vTile, kk * kMmaK, dn * kMmaN, false), acc);
      next.push_back(acc);
    }
    next.append({mNew[0], mNew[1], sum[0], sum[1]});
    gpu::BarrierOp::create(lb, loc);
    scf::YieldOp::create(lb, loc, next);

    // The rows' sums over their quads, then the guarded stores.
    SmallVector<Value> total{loop.getResult(outTiles + 2),
                             loop.getResult(outTiles + 3)};
    em.reduceLanes(b, total, 4, [&](OpBuilder &bb, Value x, Value y) {
      return arith::AddFOp::create(bb, loc, x, y);
    });
    for (int64_t r = 0; r < 2; ++r) {
      Value inv = em.inverse(b, total[r]);
      Value i = em.add(b, em.add(b, rowBase, quadRow), 8 * r);
      auto store = scf::IfOp::create(b, loc, em.ult(b, i, em.cst(b, sq)),
                                     /*withElseRegion=*/false);
      OpBuilder sb(store.thenBlock()->getTerminator());
      for (int64_t dn = 0; dn < outTiles; ++dn)
        for (int64_t e = 0; e < 2; ++e) {
          Value x = vector::ExtractOp::create(sb, loc, loop.getResult(dn),
                                              ArrayRef<int64_t>{r, e});
          memref::StoreOp::create(
              sb, loc, arith::MulFOp::create(sb, loc, x, inv), a.out,
              ValueRange{em.batchOf(sb, a.out), em.h, i,
                         em.add(sb, pairCol, dn * kMmaN + e)});
        }
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
  }

  /// Whether the call takes the tensor-core kernel: asked for, and heads
  /// in whole steps of the two products.
  bool useMma(const Attention &a) {
    int64_t d = shapeOf(a.q)[3], dv = shapeOf(a.values[0])[3];
    return tensorCores && d > 0 && dv > 0 && d % kMmaK == 0 &&
           dv % kMmaN == 0 &&
           (d + dv + 2 * kTilePad) * kMmaK * 2 <= sharedMemory;
  }

  LogicalResult rewrite(const Attention &a, StringRef kernelName) {
    // Nothing to write.
    if (cast<MemRefType>(a.out.getType()).getNumElements() == 0) {
      a.op->erase();
      return success();
    }
    ArrayRef<int64_t> q = shapeOf(a.q);
    if (q[0] > 65535 || q[1] > 65535)
      return a.op->emitError("attention over ")
             << q[0] << " x " << q[1]
             << " (batch, head) pairs exceeds the grid's 65535 blocks in y "
                "and z";
    return useMma(a) ? rewriteMma(a, kernelName) : rewriteSimt(a, kernelName);
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    int64_t tpr = threadsPerRow;
    if (tpr < 0 || tpr > 32 || (tpr && !llvm::isPowerOf2_64(tpr))) {
      func.emitError() << "threads-per-row must be 0 (automatic) or a power "
                          "of two from 1 to 32, got "
                       << tpr;
      return signalPassFailure();
    }
    // Automatically, at least 4; blocks are capped at 1024 threads.
    tpr = tpr ? tpr : 4;
    if (blockRows < 1 || blockRows * tpr % 32) {
      func.emitError() << "block-rows x threads-per-row ("
                       << static_cast<int64_t>(blockRows) << " x " << tpr
                       << ") must be a positive multiple of 32";
      return signalPassFailure();
    }
    // Workgroup attributions are static shared memory: 48 KiB at most.
    if (sharedMemory < 1 || sharedMemory > kStaticShared) {
      func.emitError() << "shared-memory must be 1 to " << kStaticShared
                       << " bytes (static shared memory), got "
                       << static_cast<int64_t>(sharedMemory);
      return signalPassFailure();
    }
    if (blockKeys < 1) {
      func.emitError() << "block-keys must be positive, got "
                       << static_cast<int64_t>(blockKeys);
      return signalPassFailure();
    }
    SmallVector<rt::UkernelOp> calls;
    func.walk([&](rt::UkernelOp op) { calls.push_back(op); });
    int64_t count = 0;
    for (rt::UkernelOp op : calls) {
      FailureOr<Attention> a = parse(op);
      if (failed(a) ||
          failed(rewrite(
              *a, (func.getName() + "_attention" + Twine(count++)).str())))
        return signalPassFailure();
    }
  }
};

} // namespace
