//===- TileAttention.cpp - flash attention as a tiled GPU kernel ----------===//
//
// The CUDA target's implementation of the runtime's flash-attention
// contract (kiln_uk_attention*_f32, which kiln-use-ukernels selects for a
// prefill's attention): a block takes a run of queries of one head, the
// keys and values pass through shared memory a tile at a time, and each
// query's online softmax (maximum, sum, output columns) stays in registers,
// split over a few threads whose partial dot products meet through warp
// shuffles. FlashAttention-1's structure in SIMT f32. Upstream MLIR has no
// GPU attention lowering; kiln-to-linalg's row loops (one thread per query,
// keys and values read from device memory by every query) remain for
// attention with few queries, where key splits fill the GPU instead.
//
//===----------------------------------------------------------------------===//

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
    return fail("is CPU code and has no CUDA kernel (only the flash-attention "
                "calls do)");
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
    ok &= (kp[2] == vp[2] || ShapedType::isDynamic(kp[2]) ||
           ShapedType::isDynamic(vp[2])) &&
          kp[3] == q[3] && vp[3] == v[3];
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

struct CUDATileAttentionPass
    : mlir::kiln::impl::CUDATileAttentionBase<CUDATileAttentionPass> {
  using Base::Base;

  LogicalResult rewrite(const Attention &a, StringRef kernelName) {
    rt::UkernelOp op = a.op;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    ArrayRef<int64_t> qs = shapeOf(a.q), vs = shapeOf(a.values[0]);
    int64_t batch = qs[0], hq = qs[1], sq = qs[2], d = qs[3], dv = vs[3],
            group = hq / shapeOf(a.keys[0])[1];
    OpBuilder b(op);
    // The keys' length and part 0's: constants, or host values (the sizes
    // in the buffers' descriptors).
    std::optional<int64_t> staticKeys = 0;
    auto length = [&](Value part) -> Value {
      int64_t n = shapeOf(part)[2];
      if (ShapedType::isDynamic(n)) {
        staticKeys = std::nullopt;
        return memref::DimOp::create(b, loc, part, 2);
      }
      if (staticKeys)
        *staticKeys += n;
      return arith::ConstantIndexOp::create(b, loc, n);
    };
    Value s1 = length(a.keys[0]), skv = s1;
    if (a.keys.size() == 2) {
      Value s2 = length(a.keys[1]);
      skv = staticKeys ? arith::ConstantIndexOp::create(b, loc, *staticKeys)
                       : arith::AddIOp::create(b, loc, s1, s2).getResult();
    }
    // A thread's query elements and output columns: l + tpr * e.
    // Automatically, the fewest (at least 4) that leave a thread at most 32
    // of each.
    int64_t tpr = threadsPerRow;
    if (!tpr)
      tpr = std::clamp<int64_t>(
          llvm::PowerOf2Ceil(llvm::divideCeil(std::max(d, dv), 32)), 4, 32);
    int64_t dq = llvm::divideCeil(d, tpr), dvq = llvm::divideCeil(dv, tpr);
    // Whole warps: the shuffles need every lane.
    int64_t rows =
                std::min({static_cast<int64_t>(blockRows), 1024 / tpr,
                          static_cast<int64_t>(llvm::alignTo(sq, 32 / tpr))}),
            threads = rows * tpr;
    int64_t bc = std::min<int64_t>(blockKeys, staticKeys.value_or(blockKeys));
    auto tileBytes = [&](int64_t keys) { return keys * (dq + dvq) * tpr * 4; };
    while (bc > 1 && tileBytes(bc) > sharedMemory)
      bc = (bc + 1) / 2;
    if (tileBytes(bc) > sharedMemory)
      return op.emitError("a tile of one key and value (")
             << tileBytes(1) << " bytes) does not fit in shared-memory ("
             << static_cast<int64_t>(sharedMemory) << " bytes)";
    if (hq > 65535 || batch > 65535)
      return op.emitError("attention over ")
             << batch << " x " << hq
             << " (batch, head) pairs exceeds the grid's 65535 blocks in y "
                "and z";

    Type f32 = b.getF32Type();
    auto cst = [&](OpBuilder &bb, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(bb, loc, v);
    };
    auto fcst = [&](OpBuilder &bb, double v) -> Value {
      return arith::ConstantOp::create(bb, loc, bb.getF32FloatAttr(v));
    };
    auto add = [&](OpBuilder &bb, Value x, Value y) -> Value {
      return arith::AddIOp::create(bb, loc, x, y);
    };
    auto mul = [&](OpBuilder &bb, Value x, int64_t y) -> Value {
      return arith::MulIOp::create(bb, loc, x, cst(bb, y));
    };
    auto ult = [&](OpBuilder &bb, Value x, Value y) -> Value {
      return arith::CmpIOp::create(bb, loc, arith::CmpIPredicate::ult, x, y);
    };
    // A load of `mem` at `idx` where `ok` (when given), else `other`.
    auto guardedLoad = [&](OpBuilder &bb, Value ok, Value mem, ValueRange idx,
                           Value other) -> Value {
      if (!ok)
        return memref::LoadOp::create(bb, loc, mem, idx);
      auto ifOp = scf::IfOp::create(bb, loc, TypeRange{f32}, ok, true);
      OpBuilder tb = ifOp.getThenBodyBuilder();
      scf::YieldOp::create(
          tb, loc, ValueRange{memref::LoadOp::create(tb, loc, mem, idx)});
      OpBuilder eb = ifOp.getElseBodyBuilder();
      scf::YieldOp::create(eb, loc, other);
      return ifOp.getResult(0);
    };

    auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    auto tileType = [&](int64_t cols) {
      return MemRefType::get({bc, cols * tpr}, f32, MemRefLayoutAttrInterface(),
                             shared);
    };
    Value one = cst(b, 1);
    auto launch = gpu::LaunchOp::create(
        b, loc, cst(b, llvm::divideCeil(sq, rows)), cst(b, hq), cst(b, batch),
        cst(b, threads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, TypeRange{tileType(dq), tileType(dvq)},
        /*privateAttributions=*/{}, /*clusterSizeX=*/nullptr,
        /*clusterSizeY=*/nullptr, /*clusterSizeZ=*/nullptr,
        FlatSymbolRefAttr::get(ctx, kernelModule),
        FlatSymbolRefAttr::get(ctx, kernelName));
    b.setInsertionPointToStart(&launch.getBody().front());
    Value kTile = launch.getWorkgroupAttributions()[0];
    Value vTile = launch.getWorkgroupAttributions()[1];
    Value tid = launch.getThreadIds().x;
    Value row = arith::DivUIOp::create(b, loc, tid, cst(b, tpr));
    Value lane = arith::RemUIOp::create(b, loc, tid, cst(b, tpr));
    Value first = mul(b, launch.getBlockIds().x, rows);
    Value i = add(b, first, row);
    // Queries past the sequence (a last, partial block) compute the last
    // one again and store nothing.
    Value iq = arith::MinUIOp::create(b, loc, i, cst(b, sq - 1));
    Value h = launch.getBlockIds().y, bz = launch.getBlockIds().z;
    Value hk = arith::DivUIOp::create(b, loc, h, cst(b, group));
    // An operand's batch index: 0 where it broadcasts.
    auto batchOf = [&](OpBuilder &bb, Value mem) {
      return shapeOf(mem)[0] == 1 ? cst(bb, 0) : bz;
    };
    // Element `e` of the thread's query elements or output columns, and
    // whether it exists (null: always).
    auto column = [&](OpBuilder &bb, int64_t e) {
      return add(bb, lane, cst(bb, tpr * e));
    };
    auto exists = [&](OpBuilder &bb, Value col, int64_t e,
                      int64_t size) -> Value {
      return tpr * (e + 1) > size ? ult(bb, col, cst(bb, size)) : Value();
    };

    SmallVector<Value> query;
    for (int64_t e = 0; e < dq; ++e) {
      Value col = column(b, e);
      query.push_back(guardedLoad(b, exists(b, col, e, d), a.q,
                                  {batchOf(b, a.q), h, iq, col}, fcst(b, 0)));
    }
    // The keys the block's queries see: causally, up to the last query's
    // j <= i + Skv - Sq.
    Value keyEnd = skv;
    if (a.causal) {
      Value last = add(b, add(b, first, skv), cst(b, rows - sq));
      keyEnd = arith::MinSIOp::create(
          b, loc, arith::MaxSIOp::create(b, loc, last, cst(b, 0)), keyEnd);
    }
    Value tiles = arith::DivUIOp::create(b, loc, add(b, keyEnd, cst(b, bc - 1)),
                                         cst(b, bc));

    Value ninf = fcst(b, -std::numeric_limits<double>::infinity());
    SmallVector<Value> init(dvq, fcst(b, 0));
    init.append({ninf, fcst(b, 0)});
    auto loop = scf::ForOp::create(b, loc, cst(b, 0), tiles, one, init);
    OpBuilder lb(loop.getBody(), loop.getBody()->begin());
    Value j0 = mul(lb, loop.getInductionVar(), bc);

    // Copies keys (or values) j0 .. j0 + bc into `tile`, `cols` wide
    // (padded to `width`), zero outside the sequence and the row.
    auto copyTile = [&](Value tile, ArrayRef<Value> parts, int64_t cols,
                        int64_t width) {
      int64_t total = bc * width;
      auto copy = scf::ForOp::create(lb, loc, cst(lb, 0),
                                     cst(lb, llvm::divideCeil(total, threads)),
                                     cst(lb, 1));
      OpBuilder cb(copy.getBody(), copy.getBody()->begin());
      Value idx = add(cb, tid, mul(cb, copy.getInductionVar(), threads));
      if (total % threads) {
        auto inside = scf::IfOp::create(cb, loc, ult(cb, idx, cst(cb, total)),
                                        /*withElseRegion=*/false);
        cb.setInsertionPoint(inside.thenBlock()->getTerminator());
      }
      Value r = arith::DivUIOp::create(cb, loc, idx, cst(cb, width));
      Value c = arith::RemUIOp::create(cb, loc, idx, cst(cb, width));
      Value j = add(cb, j0, r);
      Value ok = ult(cb, j, skv);
      if (width != cols)
        ok = arith::AndIOp::create(cb, loc, ok, ult(cb, c, cst(cb, cols)));
      auto ifOp = scf::IfOp::create(cb, loc, TypeRange{f32}, ok, true);
      OpBuilder tb = ifOp.getThenBodyBuilder();
      Value x;
      if (parts.size() == 1) {
        x = memref::LoadOp::create(tb, loc, parts[0],
                                   ValueRange{batchOf(tb, parts[0]), hk, j, c});
      } else {
        // Key j of [part 0; part 1].
        auto part =
            scf::IfOp::create(tb, loc, TypeRange{f32}, ult(tb, j, s1), true);
        OpBuilder p0 = part.getThenBodyBuilder(),
                  p1 = part.getElseBodyBuilder();
        scf::YieldOp::create(p0, loc,
                             ValueRange{memref::LoadOp::create(
                                 p0, loc, parts[0],
                                 ValueRange{batchOf(p0, parts[0]), hk, j, c})});
        Value j1 = arith::SubIOp::create(p1, loc, j, s1);
        scf::YieldOp::create(
            p1, loc,
            ValueRange{memref::LoadOp::create(
                p1, loc, parts[1],
                ValueRange{batchOf(p1, parts[1]), hk, j1, c})});
        x = part.getResult(0);
      }
      scf::YieldOp::create(tb, loc, x);
      OpBuilder eb = ifOp.getElseBodyBuilder();
      scf::YieldOp::create(eb, loc, fcst(eb, 0));
      memref::StoreOp::create(cb, loc, ifOp.getResult(0), tile,
                              ValueRange{r, c});
    };
    copyTile(kTile, a.keys, d, dq * tpr);
    copyTile(vTile, a.values, dv, dvq * tpr);
    gpu::BarrierOp::create(lb, loc);

    // Scores: the thread's partial dot products with the tile's keys,
    // summed over the row's threads.
    SmallVector<Value> scores;
    for (int64_t c = 0; c < bc; ++c) {
      Value s = fcst(lb, 0);
      for (int64_t e = 0; e < dq; ++e) {
        Value k = memref::LoadOp::create(lb, loc, kTile,
                                         ValueRange{cst(lb, c), column(lb, e)});
        s = math::FmaOp::create(lb, loc, query[e], k, s);
      }
      scores.push_back(s);
    }
    Value width = arith::ConstantOp::create(lb, loc, lb.getI32IntegerAttr(32));
    // A round's shuffles are independent: all of them, then the adds.
    for (int64_t off = 1; off < tpr; off *= 2) {
      Value offset =
          arith::ConstantOp::create(lb, loc, lb.getI32IntegerAttr(off));
      SmallVector<Value> other;
      for (Value s : scores)
        other.push_back(gpu::ShuffleOp::create(lb, loc, s, offset, width,
                                               gpu::ShuffleMode::XOR)
                            .getShuffleResult());
      for (auto [s, o] : llvm::zip_equal(scores, other))
        s = arith::AddFOp::create(lb, loc, s, o);
    }
    Value scale = fcst(lb, a.scale);
    for (int64_t c = 0; c < bc; ++c) {
      Value &s = scores[c];
      Value j = add(lb, j0, cst(lb, c));
      s = arith::MulFOp::create(lb, loc, s, scale);
      Value hidden =
          arith::CmpIOp::create(lb, loc, arith::CmpIPredicate::uge, j, skv);
      if (a.causal)
        // j > i + Skv - Sq, without negative numbers.
        hidden = arith::OrIOp::create(
            lb, loc, hidden,
            arith::CmpIOp::create(lb, loc, arith::CmpIPredicate::ugt,
                                  add(lb, j, cst(lb, sq)), add(lb, i, skv)));
      if (a.mask) {
        ArrayRef<int64_t> ms = shapeOf(a.mask);
        Value full[4] = {
            bz, h, iq,
            arith::MinUIOp::create(
                lb, loc, j, arith::SubIOp::create(lb, loc, skv, cst(lb, 1)))};
        SmallVector<Value> idx;
        for (int dim = 0; dim < 4; ++dim)
          idx.push_back(ms[dim] == 1 ? cst(lb, 0) : full[dim]);
        Value m = memref::LoadOp::create(lb, loc, a.mask, idx);
        if (m.getType().isInteger(1))
          hidden = arith::OrIOp::create(
              lb, loc, hidden,
              arith::XOrIOp::create(
                  lb, loc, m,
                  arith::ConstantOp::create(lb, loc, lb.getBoolAttr(true))));
        else
          s = arith::AddFOp::create(lb, loc, s, m);
      }
      s = arith::SelectOp::create(lb, loc, hidden, ninf, s);
    }

    // The online softmax: the new maximum (while it is -inf, every key so
    // far hidden, nothing accumulates), the old terms' correction, the
    // tile's weights.
    ValueRange carried = loop.getRegionIterArgs();
    Value mOld = carried[dvq], sumOld = carried[dvq + 1];
    Value mNew = mOld;
    for (Value s : scores)
      mNew = arith::MaximumFOp::create(lb, loc, mNew, s);
    Value dead =
        arith::CmpFOp::create(lb, loc, arith::CmpFPredicate::OEQ, mNew, ninf);
    auto expOr = [&](Value x, double otherwise) -> Value {
      return arith::SelectOp::create(
          lb, loc, dead, fcst(lb, otherwise),
          math::ExpOp::create(lb, loc,
                              arith::SubFOp::create(lb, loc, x, mNew)));
    };
    Value corr = expOr(mOld, 1);
    SmallVector<Value> weights;
    Value sum = arith::MulFOp::create(lb, loc, sumOld, corr);
    for (Value s : scores) {
      weights.push_back(expOr(s, 0));
      sum = arith::AddFOp::create(lb, loc, sum, weights.back());
    }
    SmallVector<Value> next;
    for (int64_t e = 0; e < dvq; ++e) {
      Value acc = arith::MulFOp::create(lb, loc, carried[e], corr);
      for (int64_t c = 0; c < bc; ++c) {
        Value v = memref::LoadOp::create(lb, loc, vTile,
                                         ValueRange{cst(lb, c), column(lb, e)});
        acc = math::FmaOp::create(lb, loc, weights[c], v, acc);
      }
      next.push_back(acc);
    }
    next.append({mNew, sum});
    gpu::BarrierOp::create(lb, loc);
    scf::YieldOp::create(lb, loc, next);

    // out = acc / sum (0 for a query that saw no key).
    Value total = loop.getResult(dvq + 1);
    Value inv = arith::SelectOp::create(
        b, loc,
        arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OEQ, total,
                              fcst(b, 0)),
        fcst(b, 0), arith::DivFOp::create(b, loc, fcst(b, 1), total));
    auto store = scf::IfOp::create(b, loc, ult(b, i, cst(b, sq)),
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
          a.out, ValueRange{batchOf(eb, a.out), h, i, col});
    }
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
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
    // Automatically, at least 4 (and blocks capped at 1024 threads).
    bool automatic = !tpr;
    tpr = automatic ? 4 : tpr;
    if (blockRows < 1 || blockRows * tpr % 32 ||
        (!automatic && blockRows * tpr > 1024)) {
      func.emitError() << "block-rows x threads-per-row ("
                       << static_cast<int64_t>(blockRows) << " x " << tpr
                       << ") must be a multiple of 32 and at most 1024";
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
