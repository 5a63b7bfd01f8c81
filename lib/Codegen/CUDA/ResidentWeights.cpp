//===- ResidentWeights.cpp - weights uploaded once, on the first call -----===//
//
// The runtime maps the weights when it loads an artifact and passes their
// host addresses to every call; it knows nothing of the device. The
// generated code keeps its own device copy: a table of device pointers and
// a state word (0: not uploaded, 1: uploading, 2: uploaded), claimed with
// a compare-and-exchange so that concurrent first calls upload once; the
// others wait in the runtime (kiln_rt_cuda_wait, which yields). The upload
// succeeded only if every allocation returned memory and the runtime
// recorded no error during it (kiln_rt_cuda_error_count before,
// kiln_rt_cuda_ok_since after: a failed copy or stream synchronization is
// seen too). A failed upload frees every slot it filled and zeroes it
// before it resets the state, so that the next call retries from scratch.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/ControlFlow/IR/ControlFlowOps.h"

#define DEBUG_TYPE "kiln-cuda-resident-weights"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDARESIDENTWEIGHTS
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

constexpr llvm::StringLiteral kTable = "kiln_cuda_weights";
constexpr llvm::StringLiteral kState = "kiln_cuda_weights_state";
constexpr llvm::StringLiteral kEnsure = kResidentWeightsFn;
constexpr llvm::StringLiteral kUpload = "kiln_cuda_upload_weights";
constexpr llvm::StringLiteral kFree = "kiln_cuda_free_weights";
constexpr llvm::StringLiteral kDiscard = "kiln_cuda_discard_weights";

constexpr int32_t kNotUploaded = 0, kUploading = 1, kUploaded = 2;

struct CUDAResidentWeightsPass
    : mlir::kiln::impl::CUDAResidentWeightsBase<CUDAResidentWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Location loc = module.getLoc();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    Type i32 = IntegerType::get(ctx, 32), i1 = IntegerType::get(ctx, 1);

    // The weights the entry points read, with their types.
    SmallVector<rt::WeightOp> reads;
    llvm::MapVector<int64_t, MemRefType> types;
    for (auto func : module.getOps<func::FuncOp>()) {
      if (!func->hasAttr(attrs::kInputs))
        continue;
      WalkResult r = func.walk([&](rt::WeightOp w) {
        auto [it, inserted] = types.insert({w.getIndex(), w.getType()});
        if (!inserted && it->second != w.getType()) {
          w.emitError("weight ") << w.getIndex() << " is read as both "
                                 << it->second << " and " << w.getType();
          return WalkResult::interrupt();
        }
        if (!w.getType().hasStaticShape() ||
            !w.getType().getLayout().isIdentity()) {
          w.emitError("weight of type ")
              << w.getType() << " has no static, identity-layout shape";
          return WalkResult::interrupt();
        }
        reads.push_back(w);
        return WalkResult::advance();
      });
      if (r.wasInterrupted())
        return signalPassFailure();
    }
    if (reads.empty())
      return;
    int64_t count = 0;
    for (auto &[index, type] : types)
      count = std::max(count, index + 1);

    OpBuilder b(ctx);
    b.setInsertionPointToEnd(module.getBody());
    auto tableType = LLVM::LLVMArrayType::get(ptrType, count);
    auto table = LLVM::GlobalOp::create(b, loc, tableType, /*isConstant=*/false,
                                        LLVM::Linkage::Internal, kTable,
                                        Attribute(), /*alignment=*/8);
    {
      OpBuilder::InsertionGuard g(b);
      b.createBlock(&table.getInitializerRegion());
      Value zero = LLVM::ZeroOp::create(b, loc, tableType);
      LLVM::ReturnOp::create(b, loc, zero);
    }
    auto state = LLVM::GlobalOp::create(
        b, loc, i32, /*isConstant=*/false, LLVM::Linkage::Internal, kState,
        b.getI32IntegerAttr(kNotUploaded), /*alignment=*/4);

    // kiln_cuda_upload_weights(host table) -> i1: every weight copied to
    // the device, its address in the device table; false if an allocation
    // returned null (the caller also asks the runtime whether a copy
    // failed).
    auto upload = func::FuncOp::create(b, loc, kUpload,
                                       b.getFunctionType({ptrType}, {i1}));
    upload.setPrivate();
    {
      OpBuilder::InsertionGuard g(b);
      Block *body = upload.addEntryBlock();
      b.setInsertionPointToStart(body);
      Value host = body->getArgument(0);
      Value dev = LLVM::AddressOfOp::create(b, loc, table);
      Value ok = arith::ConstantIntOp::create(b, loc, 1, 1);
      Value zero64 = arith::ConstantIntOp::create(b, loc, 0, 64);
      for (auto &[index, type] : types) {
        Value h = rt::WeightOp::create(b, loc, type, host, index);
        auto d = gpu::AllocOp::create(b, loc, type, Type(), ValueRange(),
                                      ValueRange(), ValueRange());
        gpu::MemcpyOp::create(b, loc, Type(), ValueRange(), d.getMemref(), h);
        Value addr = memref::ExtractAlignedPointerAsIndexOp::create(
            b, loc, d.getMemref());
        Value addr64 = arith::IndexCastOp::create(b, loc, b.getI64Type(), addr);
        Value ptr = LLVM::IntToPtrOp::create(b, loc, ptrType, addr64);
        Value slot =
            LLVM::GEPOp::create(b, loc, ptrType, ptrType, dev,
                                ArrayRef<LLVM::GEPArg>{(int32_t)index});
        LLVM::StoreOp::create(b, loc, ptr, slot, /*alignment=*/8);
        if (type.getNumElements() > 0) {
          Value nonNull = arith::CmpIOp::create(
              b, loc, arith::CmpIPredicate::ne, addr64, zero64);
          ok = arith::AndIOp::create(b, loc, ok, nonNull);
        }
      }
      func::ReturnOp::create(b, loc, ok);
    }

    // The runtime's side (runtime/src/cuda/mgpu.cpp) and the discard of a
    // failed upload.
    auto i64 = b.getI64Type();
    auto errorCount = declare(b, "kiln_rt_cuda_error_count", i64, {});
    auto okSince = declare(b, "kiln_rt_cuda_ok_since", i32, {i64});
    auto waitFn = declare(b, "kiln_rt_cuda_wait", LLVM::LLVMVoidType::get(ctx),
                          {ptrType});
    LLVM::LLVMFuncOp discard = addDiscard(b, table, count);

    // kiln_cuda_resident_weights(host table): returns once the weights are
    // on the device, uploading them if no other call has.
    auto ensure =
        func::FuncOp::create(b, loc, kEnsure, b.getFunctionType({ptrType}, {}));
    ensure.setPrivate();
    {
      OpBuilder::InsertionGuard g(b);
      Block *entry = ensure.addEntryBlock();
      Block *check = ensure.addBlock(), *claim = ensure.addBlock(),
            *wait = ensure.addBlock(), *copy = ensure.addBlock(),
            *success = ensure.addBlock(), *failure = ensure.addBlock(),
            *done = ensure.addBlock();
      b.setInsertionPointToStart(entry);
      cf::BranchOp::create(b, loc, check);

      b.setInsertionPointToStart(check);
      Value st = LLVM::AddressOfOp::create(b, loc, state);
      Value s =
          LLVM::LoadOp::create(b, loc, i32, st, /*alignment=*/4, false, false,
                               false, false, LLVM::AtomicOrdering::acquire);
      Value uploaded = arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::eq, s,
          arith::ConstantIntOp::create(b, loc, kUploaded, 32));
      cf::CondBranchOp::create(b, loc, uploaded, done, claim);

      // Claim the upload; if another call holds it, wait for it.
      b.setInsertionPointToStart(claim);
      Value st2 = LLVM::AddressOfOp::create(b, loc, state);
      auto xchg = LLVM::AtomicCmpXchgOp::create(
          b, loc, st2, arith::ConstantIntOp::create(b, loc, kNotUploaded, 32),
          arith::ConstantIntOp::create(b, loc, kUploading, 32),
          LLVM::AtomicOrdering::acq_rel, LLVM::AtomicOrdering::acquire);
      Value won = LLVM::ExtractValueOp::create(b, loc, xchg, 1);
      cf::CondBranchOp::create(b, loc, won, copy, wait);

      b.setInsertionPointToStart(wait);
      LLVM::CallOp::create(b, loc, waitFn, ValueRange{st2});
      cf::BranchOp::create(b, loc, check);

      b.setInsertionPointToStart(copy);
      Value before =
          LLVM::CallOp::create(b, loc, errorCount, ValueRange()).getResult();
      Value ok = func::CallOp::create(b, loc, upload,
                                      copy->getParent()->front().getArgument(0))
                     .getResult(0);
      Value clean =
          LLVM::CallOp::create(b, loc, okSince, ValueRange{before}).getResult();
      Value good = arith::AndIOp::create(
          b, loc, ok,
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, clean,
                                arith::ConstantIntOp::create(b, loc, 0, 32)));
      cf::CondBranchOp::create(b, loc, good, success, failure);

      b.setInsertionPointToStart(success);
      Value st3 = LLVM::AddressOfOp::create(b, loc, state);
      LLVM::StoreOp::create(
          b, loc, arith::ConstantIntOp::create(b, loc, kUploaded, 32), st3,
          /*alignment=*/4, false, false, false, LLVM::AtomicOrdering::release);
      cf::BranchOp::create(b, loc, done);

      // A failed upload: free what it allocated, then let the next call
      // retry.
      b.setInsertionPointToStart(failure);
      LLVM::CallOp::create(b, loc, discard, ValueRange());
      Value st4 = LLVM::AddressOfOp::create(b, loc, state);
      LLVM::StoreOp::create(
          b, loc, arith::ConstantIntOp::create(b, loc, kNotUploaded, 32), st4,
          /*alignment=*/4, false, false, false, LLVM::AtomicOrdering::release);
      cf::BranchOp::create(b, loc, done);

      b.setInsertionPointToStart(done);
      func::ReturnOp::create(b, loc);
    }

    // The entry points: ensure the upload, then read the device table.
    DenseSet<Operation *> seen;
    for (rt::WeightOp w : reads) {
      auto func = w->getParentOfType<func::FuncOp>();
      if (!seen.insert(func).second)
        continue;
      Block &entry = func.getBody().front();
      b.setInsertionPointToStart(&entry);
      func::CallOp::create(b, loc, ensure, w.getTable());
      Value dev = LLVM::AddressOfOp::create(b, loc, table);
      func.walk([&](rt::WeightOp r) { r.getTableMutable().assign(dev); });
    }

    if (freeAtUnload)
      addFree(b, table, state, count);
  }

  /// The declaration of the external function `name`, added at the end
  /// of the module if missing.
  LLVM::LLVMFuncOp declare(OpBuilder &b, StringRef name, Type result,
                           ArrayRef<Type> args) {
    ModuleOp module = getOperation();
    if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
      return fn;
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToEnd(module.getBody());
    return LLVM::LLVMFuncOp::create(b, module.getLoc(), name,
                                    LLVM::LLVMFunctionType::get(result, args));
  }

  /// Frees every slot of the device table (mgpuMemFree ignores null) and
  /// zeroes it, at the builder's insertion point.
  void freeSlots(OpBuilder &b, LLVM::GlobalOp table, int64_t count) {
    MLIRContext *ctx = &getContext();
    Location loc = getOperation().getLoc();
    auto ptrType = LLVM::LLVMPointerType::get(ctx);
    auto memFree = declare(b, "mgpuMemFree", LLVM::LLVMVoidType::get(ctx),
                           {ptrType, ptrType});
    Value dev = LLVM::AddressOfOp::create(b, loc, table);
    Value null = LLVM::ZeroOp::create(b, loc, ptrType);
    for (int64_t i = 0; i < count; ++i) {
      Value slot = LLVM::GEPOp::create(b, loc, ptrType, ptrType, dev,
                                       ArrayRef<LLVM::GEPArg>{(int32_t)i});
      Value p = LLVM::LoadOp::create(b, loc, ptrType, slot, /*alignment=*/8);
      LLVM::CallOp::create(b, loc, memFree, ValueRange{p, null});
      LLVM::StoreOp::create(b, loc, null, slot, /*alignment=*/8);
    }
  }

  /// kiln_cuda_discard_weights: frees what a failed upload allocated and
  /// clears the table (called with the state word at 1, so by one thread).
  LLVM::LLVMFuncOp addDiscard(OpBuilder &b, LLVM::GlobalOp table,
                              int64_t count) {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    OpBuilder::InsertionGuard g(b);
    b.setInsertionPointToEnd(module.getBody());
    auto fn = LLVM::LLVMFuncOp::create(
        b, module.getLoc(), kDiscard,
        LLVM::LLVMFunctionType::get(LLVM::LLVMVoidType::get(ctx), {}),
        LLVM::Linkage::Internal);
    b.setInsertionPointToStart(fn.addEntryBlock(b));
    freeSlots(b, table, count);
    LLVM::ReturnOp::create(b, module.getLoc(), ValueRange());
    return fn;
  }

  /// kiln_cuda_free_weights, a global destructor: frees the device copies
  /// if they were made.
  void addFree(OpBuilder &b, LLVM::GlobalOp table, LLVM::GlobalOp state,
               int64_t count) {
    ModuleOp module = getOperation();
    MLIRContext *ctx = &getContext();
    Location loc = module.getLoc();
    auto voidType = LLVM::LLVMVoidType::get(ctx);
    Type i32 = IntegerType::get(ctx, 32);
    b.setInsertionPointToEnd(module.getBody());
    auto fn = LLVM::LLVMFuncOp::create(
        b, loc, kFree, LLVM::LLVMFunctionType::get(voidType, {}),
        LLVM::Linkage::Internal);
    Block *entry = fn.addEntryBlock(b);
    Block *freeAll = fn.addBlock(), *done = fn.addBlock();
    b.setInsertionPointToStart(entry);
    Value st = LLVM::AddressOfOp::create(b, loc, state);
    Value s =
        LLVM::LoadOp::create(b, loc, i32, st, /*alignment=*/4, false, false,
                             false, false, LLVM::AtomicOrdering::acquire);
    Value uploaded =
        LLVM::ICmpOp::create(b, loc, LLVM::ICmpPredicate::eq, s,
                             LLVM::ConstantOp::create(b, loc, i32, kUploaded));
    LLVM::CondBrOp::create(b, loc, uploaded, freeAll, done);
    b.setInsertionPointToStart(freeAll);
    freeSlots(b, table, count);
    LLVM::BrOp::create(b, loc, done);
    b.setInsertionPointToStart(done);
    LLVM::ReturnOp::create(b, loc, ValueRange());
    b.setInsertionPointToEnd(module.getBody());
    LLVM::GlobalDtorsOp::create(
        b, loc, b.getArrayAttr({FlatSymbolRefAttr::get(fn)}),
        b.getI32ArrayAttr({0}), b.getArrayAttr({LLVM::ZeroAttr::get(ctx)}));
  }
};

} // namespace
