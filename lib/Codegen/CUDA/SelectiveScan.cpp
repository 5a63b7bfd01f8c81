//===- SelectiveScan.cpp - Mamba's selective scan as a GPU kernel ---------===//
//
// The CUDA target's implementation of the runtime's selective-scan contract
// (kiln_uk_selective_scan_f32, which kiln-use-ukernels selects): a thread
// per (batch, channel) runs the recurrence with its N-element state in
// registers, and a block's channels share each time step's B and C rows,
// which pass through shared memory a chunk of steps at a time. Reading u,
// delta, z and writing y are coalesced (time-major: neighbouring channels
// are neighbouring addresses). kiln-to-linalg's scan=channels loops keep
// the state in device memory, read and written at every step; upstream
// MLIR has no scan lowering.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"

#include "mlir/Dialect/Utils/StaticValueUtils.h"

#include "ukernels.h"

#define DEBUG_TYPE "kiln-cuda-selective-scan"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDASELECTIVESCAN
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

constexpr llvm::StringLiteral kScan = "kiln_uk_selective_scan_f32";

/// A scan call's operands (time-major, on buffers) and flags.
struct Scan {
  rt::UkernelOp op;
  Value u, delta, a, b, c, d, z, bias, h0, y, hN;
  int64_t flags = 0;
};

ArrayRef<int64_t> shapeOf(Value v) {
  return cast<MemRefType>(v.getType()).getShape();
}

/// The call `op` as a scan, or a located error.
FailureOr<Scan> parse(rt::UkernelOp op) {
  auto fail = [&](const Twine &why) -> FailureOr<Scan> {
    op.emitError("micro-kernel '") << op.getName() << "' " << why;
    return failure();
  };
  ValueRange ins = op.getInputs(), outs = op.getOutputs();
  if (ins.size() != 10 || outs.size() != 2)
    return fail("takes 10 inputs and 2 outputs, got " + Twine(ins.size()) +
                " and " + Twine(outs.size()));
  std::optional<int64_t> flags = getConstantIntValue(ins[9]);
  if (!flags)
    return fail("needs constant flags");
  Scan s{op,     ins[0], ins[1], ins[2],  ins[3],  ins[4], ins[5],
         ins[6], ins[7], ins[8], outs[0], outs[1], *flags};
  Type f32 = Float32Type::get(op.getContext());
  SmallVector<Value> buffers{s.u, s.delta, s.a,  s.b, s.c, s.d,
                             s.z, s.bias,  s.h0, s.y, s.hN};
  for (Value v : buffers) {
    auto t = dyn_cast<MemRefType>(v.getType());
    if (!t || !t.hasStaticShape() || t.getElementType() != f32)
      return fail("needs static f32 buffers");
  }
  ArrayRef<int64_t> u = shapeOf(s.u), a = shapeOf(s.a), bs = shapeOf(s.b);
  if (u.size() != 3 || a.size() != 2 || bs.size() != 3)
    return fail("has operand shapes that do not agree");
  int64_t batch = u[0], steps = u[1], channels = u[2], n = a[1];
  auto is = [](Value v, ArrayRef<int64_t> shape) {
    return shapeOf(v) == shape;
  };
  bool ok = is(s.delta, u) && is(s.y, u) && a[0] == channels &&
            is(s.b, {batch, steps, n}) && is(s.c, {batch, steps, n}) &&
            is(s.hN, {batch, channels, n});
  // The optional operands: their shapes where the flags say they are
  // given (otherwise any stand-in).
  ok &= !(*flags & KILN_UK_SSM_D) || is(s.d, {channels});
  ok &= !(*flags & KILN_UK_SSM_Z) || is(s.z, u);
  ok &= !(*flags & KILN_UK_SSM_DELTA_BIAS) || is(s.bias, {channels});
  ok &= !(*flags & KILN_UK_SSM_STATE) || is(s.h0, {batch, channels, n});
  if (!ok)
    return fail("has operand shapes that do not agree");
  return s;
}

struct CUDASelectiveScanPass
    : mlir::kiln::impl::CUDASelectiveScanBase<CUDASelectiveScanPass> {
  using Base::Base;

  LogicalResult rewrite(const Scan &s, StringRef kernelName) {
    rt::UkernelOp op = s.op;
    Location loc = op.getLoc();
    MLIRContext *ctx = op.getContext();
    ArrayRef<int64_t> u = shapeOf(s.u);
    int64_t batch = u[0], steps = u[1], channels = u[2], n = shapeOf(s.a)[1];
    // No channel: nothing to write.
    if (batch == 0 || channels == 0) {
      op.erase();
      return success();
    }
    if (batch > 65535)
      return op.emitError("a batch of ")
             << batch << " exceeds the grid's 65535 blocks in y";
    // The B and C rows of a chunk: 2 x chunk x N floats of static shared
    // memory (48 KiB at most); a state of size 0 still gets a column.
    int64_t width = std::max<int64_t>(n, 1);
    int64_t maxChunk = 49152 / (2 * 4 * width);
    if (maxChunk < 1)
      return op.emitError("a state of ")
             << n << " elements leaves no room for a step's B and C rows in "
             << "shared memory (48 KiB)";
    int64_t threads =
                std::min<int64_t>(blockChannels, llvm::alignTo(channels, 32)),
            chunk = std::clamp<int64_t>(std::min<int64_t>(stepsPerChunk, steps),
                                        1, maxChunk);
    OpBuilder b(op);
    Type f32 = b.getF32Type();
    auto cst = [&](OpBuilder &bb, int64_t v) -> Value {
      return arith::ConstantIndexOp::create(bb, loc, v);
    };
    auto fcst = [&](OpBuilder &bb, double v) -> Value {
      return arith::ConstantOp::create(bb, loc, bb.getF32FloatAttr(v));
    };
    auto ult = [&](OpBuilder &bb, Value x, int64_t y) -> Value {
      return arith::CmpIOp::create(bb, loc, arith::CmpIPredicate::ult, x,
                                   cst(bb, y));
    };
    auto load = [&](OpBuilder &bb, Value mem, ValueRange idx) -> Value {
      return memref::LoadOp::create(bb, loc, mem, idx);
    };
    auto has = [&](int64_t flag) { return (s.flags & flag) != 0; };

    auto shared = gpu::AddressSpaceAttr::get(ctx, gpu::AddressSpace::Workgroup);
    auto rowsType = MemRefType::get({chunk, width}, f32,
                                    MemRefLayoutAttrInterface(), shared);
    Value one = cst(b, 1);
    auto launch = gpu::LaunchOp::create(
        b, loc, cst(b, llvm::divideCeil(channels, threads)), cst(b, batch), one,
        cst(b, threads), one, one,
        /*dynamicSharedMemorySize=*/nullptr, /*asyncTokenType=*/nullptr,
        /*asyncDependencies=*/{}, TypeRange{rowsType, rowsType},
        /*privateAttributions=*/{}, /*clusterSizeX=*/nullptr,
        /*clusterSizeY=*/nullptr, /*clusterSizeZ=*/nullptr,
        FlatSymbolRefAttr::get(ctx, kernelModule),
        FlatSymbolRefAttr::get(ctx, kernelName));
    b.setInsertionPointToStart(&launch.getBody().front());
    Value bRows = launch.getWorkgroupAttributions()[0];
    Value cRows = launch.getWorkgroupAttributions()[1];
    Value tid = launch.getThreadIds().x, bi = launch.getBlockIds().y;
    Value ch = arith::AddIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, launch.getBlockIds().x, cst(b, threads)),
        tid);
    // Channels past the last (a last, partial block) run the last one
    // again and store nothing.
    Value d = arith::MinUIOp::create(b, loc, ch, cst(b, channels - 1));
    Value inside = ult(b, ch, channels);

    // The channel's A row, D and bias; the initial state.
    SmallVector<Value> aRow, init;
    for (int64_t k = 0; k < n; ++k) {
      aRow.push_back(load(b, s.a, {d, cst(b, k)}));
      init.push_back(has(KILN_UK_SSM_STATE) ? load(b, s.h0, {bi, d, cst(b, k)})
                                            : fcst(b, 0));
    }
    Value dSkip = has(KILN_UK_SSM_D) ? load(b, s.d, {d}) : Value();
    Value bias = has(KILN_UK_SSM_DELTA_BIAS) ? load(b, s.bias, {d}) : Value();

    // The chunks of steps: B's and C's rows copied into shared memory by
    // the block, then the chunk's steps.
    auto chunks = scf::ForOp::create(
        b, loc, cst(b, 0), cst(b, llvm::divideCeil(steps, chunk)), one, init);
    OpBuilder lb(chunks.getBody(), chunks.getBody()->begin());
    Value t0 = arith::MulIOp::create(lb, loc, chunks.getInductionVar(),
                                     cst(lb, chunk));
    int64_t total = chunk * n;
    auto copy = scf::ForOp::create(
        lb, loc, cst(lb, 0), cst(lb, llvm::divideCeil(total, threads)), one);
    {
      OpBuilder cb(copy.getBody(), copy.getBody()->begin());
      Value idx = arith::AddIOp::create(
          cb, loc, tid,
          arith::MulIOp::create(cb, loc, copy.getInductionVar(),
                                cst(cb, threads)));
      Value r = arith::DivUIOp::create(cb, loc, idx, cst(cb, n));
      Value k = arith::RemUIOp::create(cb, loc, idx, cst(cb, n));
      Value t = arith::AddIOp::create(cb, loc, t0, r);
      Value ok = ult(cb, t, steps);
      if (total % threads)
        ok = arith::AndIOp::create(cb, loc, ult(cb, idx, total), ok);
      auto ifOp = scf::IfOp::create(cb, loc, ok, /*withElseRegion=*/false);
      OpBuilder tb(ifOp.thenBlock()->getTerminator());
      for (auto [src, dst] : {std::pair(s.b, bRows), std::pair(s.c, cRows)})
        memref::StoreOp::create(tb, loc, load(tb, src, {bi, t, k}), dst,
                                ValueRange{r, k});
    }
    gpu::BarrierOp::create(lb, loc);

    // The chunk's steps (fewer in the last), the state carried.
    Value count = arith::MinUIOp::create(
        lb, loc, cst(lb, chunk),
        arith::SubIOp::create(lb, loc, cst(lb, steps), t0));
    auto stepLoop = scf::ForOp::create(lb, loc, cst(lb, 0), count, one,
                                       chunks.getRegionIterArgs());
    {
      OpBuilder sb(stepLoop.getBody(), stepLoop.getBody()->begin());
      Value tt = stepLoop.getInductionVar();
      Value t = arith::AddIOp::create(sb, loc, t0, tt);
      // dt = delta (+ bias) (softplus'd, as kiln-to-linalg: max(x, 0) +
      // log1p(exp(-|x|))).
      Value dt = load(sb, s.delta, {bi, t, d});
      if (bias)
        dt = arith::AddFOp::create(sb, loc, dt, bias);
      if (has(KILN_UK_SSM_DELTA_SOFTPLUS))
        dt = arith::AddFOp::create(
            sb, loc, arith::MaximumFOp::create(sb, loc, dt, fcst(sb, 0)),
            math::Log1pOp::create(
                sb, loc,
                math::ExpOp::create(
                    sb, loc,
                    arith::NegFOp::create(sb, loc,
                                          math::AbsFOp::create(sb, loc, dt)))));
      Value x = load(sb, s.u, {bi, t, d});
      Value dtx = arith::MulFOp::create(sb, loc, dt, x);
      // h = exp(dt A) h + dt x B; y = sum h C.
      SmallVector<Value> next;
      Value y = fcst(sb, 0);
      ValueRange h = stepLoop.getRegionIterArgs();
      for (int64_t k = 0; k < n; ++k) {
        Value decay = math::ExpOp::create(
            sb, loc, arith::MulFOp::create(sb, loc, dt, aRow[k]));
        Value bk = load(sb, bRows, {tt, cst(sb, k)});
        Value hk = math::FmaOp::create(sb, loc, decay, h[k],
                                       arith::MulFOp::create(sb, loc, dtx, bk));
        next.push_back(hk);
        y = math::FmaOp::create(sb, loc, hk, load(sb, cRows, {tt, cst(sb, k)}),
                                y);
      }
      if (dSkip)
        y = math::FmaOp::create(sb, loc, dSkip, x, y);
      if (has(KILN_UK_SSM_Z)) {
        // y * silu(z) = y * z / (1 + exp(-z)).
        Value z = load(sb, s.z, {bi, t, d});
        Value silu = arith::DivFOp::create(
            sb, loc, z,
            arith::AddFOp::create(
                sb, loc, fcst(sb, 1),
                math::ExpOp::create(sb, loc,
                                    arith::NegFOp::create(sb, loc, z))));
        y = arith::MulFOp::create(sb, loc, y, silu);
      }
      auto store = scf::IfOp::create(sb, loc, inside, /*withElseRegion=*/false);
      OpBuilder yb(store.thenBlock()->getTerminator());
      memref::StoreOp::create(yb, loc, y, s.y, ValueRange{bi, t, ch});
      scf::YieldOp::create(sb, loc, next);
    }
    gpu::BarrierOp::create(lb, loc);
    scf::YieldOp::create(lb, loc, stepLoop.getResults());

    // The final state.
    auto store = scf::IfOp::create(b, loc, inside, /*withElseRegion=*/false);
    OpBuilder fb(store.thenBlock()->getTerminator());
    for (int64_t k = 0; k < n; ++k)
      memref::StoreOp::create(fb, loc, chunks.getResult(k), s.hN,
                              ValueRange{bi, ch, cst(fb, k)});
    gpu::TerminatorOp::create(b, loc);
    op.erase();
    return success();
  }

  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (blockChannels < 32 || blockChannels > 1024 || blockChannels % 32) {
      func.emitError() << "block-channels must be a multiple of 32 from 32 to "
                          "1024, got "
                       << static_cast<int64_t>(blockChannels);
      return signalPassFailure();
    }
    if (stepsPerChunk < 1) {
      func.emitError() << "chunk must be positive, got "
                       << static_cast<int64_t>(stepsPerChunk);
      return signalPassFailure();
    }
    SmallVector<rt::UkernelOp> calls;
    func.walk([&](rt::UkernelOp op) {
      if (op.getName() == kScan)
        calls.push_back(op);
    });
    int64_t count = 0;
    for (rt::UkernelOp op : calls) {
      FailureOr<Scan> s = parse(op);
      if (failed(s) ||
          failed(
              rewrite(*s, (func.getName() + "_scan" + Twine(count++)).str())))
        return signalPassFailure();
    }
  }
};

} // namespace
