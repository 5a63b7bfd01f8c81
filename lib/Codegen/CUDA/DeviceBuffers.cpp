//===- DeviceBuffers.cpp - an entry point's buffers in device memory ------===//
//
// The artifact's C ABI is the same on every target: an entry point receives
// host pointers (inputs, outputs, the weight table, the workspace). For
// CUDA each memref the function touches gets a device twin; inputs and
// constants are copied in, outputs (and inputs the function writes, like a
// decoder's KV cache) copied out, everything freed again, on every call. An
// input only the host reads (a decoder's position) gets no twin: the host
// reads it where it is. Weights are not copied on every call:
// kiln-cuda-resident-weights (on by default) uploads them once, by the first
// call, and they are read from its device table, which this pass leaves
// alone. Only with resident-weights=false are weights read from the host
// table, and then copied in on every call too.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"
#include "kiln/Transforms/Passes.h"

#define DEBUG_TYPE "kiln-cuda-device-buffers"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDADEVICEBUFFERS
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

/// A device buffer shaped like `host` (an identity-layout memref), with
/// its dynamic sizes read from `host`.
/// The ops it creates are added to `created`: they keep reading `host`.
FailureOr<Value> allocLike(OpBuilder &b, Location loc, Value host,
                           Operation *diagOp, StringRef what,
                           SmallPtrSetImpl<Operation *> &created) {
  auto type = cast<MemRefType>(host.getType());
  if (!type.getLayout().isIdentity())
    return diagOp->emitError("cannot give ")
           << what << " of type " << type
           << " device memory: only identity layouts are supported";
  if (type.getMemorySpace())
    return diagOp->emitError("cannot give ")
           << what << " of type " << type
           << " device memory: it already has a memory space";
  SmallVector<Value> dynSizes;
  for (int64_t d = 0; d < type.getRank(); ++d)
    if (type.isDynamicDim(d)) {
      auto dim = memref::DimOp::create(b, loc, host, d);
      created.insert(dim);
      dynSizes.push_back(dim);
    }
  auto alloc = gpu::AllocOp::create(b, loc, type, /*asyncToken=*/Type(),
                                    /*asyncDependencies=*/ValueRange(),
                                    dynSizes, /*symbolOperands=*/ValueRange());
  return alloc.getMemref();
}

/// Whether the function may write `buffer`, directly or through a view of
/// it: a write effect on it, or a use whose effects are unknown (a call).
bool mayBeWritten(Value buffer) {
  SmallVector<Value> work{buffer};
  while (!work.empty()) {
    Value v = work.pop_back_val();
    for (Operation *user : v.getUsers()) {
      if (user->hasTrait<OpTrait::ReturnLike>())
        continue;
      auto effects = dyn_cast<MemoryEffectOpInterface>(user);
      if (!effects)
        return true;
      SmallVector<MemoryEffects::EffectInstance> onV;
      effects.getEffectsOnValue(v, onV);
      if (llvm::any_of(onV, [](const MemoryEffects::EffectInstance &e) {
            return isa<MemoryEffects::Write>(e.getEffect());
          }))
        return true;
      // A view (subview, reshape, cast) aliases it.
      for (Value r : user->getResults())
        if (isa<MemRefType>(r.getType()))
          work.push_back(r);
    }
  }
  return false;
}

struct CUDADeviceBuffersPass
    : mlir::kiln::impl::CUDADeviceBuffersBase<CUDADeviceBuffersPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    auto inputs = func->getAttrOfType<ArrayAttr>(attrs::kInputs);
    auto outputs = func->getAttrOfType<ArrayAttr>(attrs::kOutputs);
    if (func.isExternal() || !inputs || !outputs)
      return;
    if (!func.getBody().hasOneBlock()) {
      func.emitError("entry point '")
          << func.getName() << "' has more than one block";
      return signalPassFailure();
    }
    Block &entry = func.getBody().front();
    unsigned nIn = inputs.size(), nOut = outputs.size();
    if (entry.getNumArguments() < nIn + nOut) {
      func.emitError("entry point '")
          << func.getName() << "' takes fewer arguments than its " << nIn
          << " inputs and " << nOut << " outputs";
      return signalPassFailure();
    }

    // Device buffers to free on return, and output pairs (host, device).
    SmallVector<Value> deviceBuffers;
    SmallVector<std::pair<Value, Value>> copyOut;
    OpBuilder b(&entry, entry.begin());
    // After the weights' upload, which synchronizes: the entry point's own
    // device work then runs on one stream.
    if (auto call = dyn_cast<func::CallOp>(entry.front());
        call && call.getCallee() == kResidentWeightsFn)
      b.setInsertionPointAfter(call);
    for (auto [i, arg] : llvm::enumerate(entry.getArguments())) {
      if (!isa<MemRefType>(arg.getType()))
        continue;
      std::string what = i < nIn ? "input " + std::to_string(i)
                         : i < nIn + nOut
                             ? "output " + std::to_string(i)
                             : "workspace argument " + std::to_string(i);
      SmallPtrSet<Operation *, 4> keep;
      // An input that is only loaded is never written, so its host buffer
      // stays valid: the loads at the top level of the entry point (scalars
      // the host computes with, like a decoder's position) keep reading it.
      if (i < nIn && llvm::all_of(arg.getUsers(), [&](Operation *user) {
            return isa<memref::LoadOp>(user);
          })) {
        for (Operation *user : arg.getUsers())
          if (user->getBlock() == &entry) {
            user->setAttr(kHostLoad, UnitAttr::get(user->getContext()));
            keep.insert(user);
          }
        if (llvm::all_of(arg.getUsers(),
                         [&](Operation *user) { return keep.contains(user); }))
          continue;
      }
      // Outputs, and inputs the entry point updates in place (a decoder's
      // KV cache), go back to the host.
      bool back = i < nIn ? mayBeWritten(arg) : i < nIn + nOut;
      FailureOr<Value> dev = allocLike(b, func.getLoc(), arg, func, what, keep);
      if (failed(dev))
        return signalPassFailure();
      if (i < nIn)
        keep.insert(gpu::MemcpyOp::create(b, func.getLoc(), Type(),
                                          ValueRange(), *dev, arg));
      arg.replaceUsesWithIf(
          *dev, [&](OpOperand &use) { return !keep.contains(use.getOwner()); });
      deviceBuffers.push_back(*dev);
      if (back)
        copyOut.push_back({arg, *dev});
    }

    // The runtime allocates the host workspace the entry point records; on
    // the device it is unused.
    if (func->hasAttr(attrs::kWorkspaceBytes))
      func->setAttr(
          attrs::kWorkspaceBytes,
          IntegerAttr::get(IntegerType::get(func.getContext(), 64), 0));

    // Weights and constant globals: a device copy each, made where they
    // are read.
    SmallVector<Operation *> hostData;
    func.walk([&](Operation *op) {
      // Weights read from kiln-cuda-resident-weights' device table are
      // already on the device.
      if (auto w = dyn_cast<rt::WeightOp>(op);
          w && w.getTable().getDefiningOp<LLVM::AddressOfOp>())
        return;
      if (isa<rt::WeightOp, memref::GetGlobalOp>(op))
        hostData.push_back(op);
    });
    for (Operation *op : hostData) {
      if (op->getBlock() != &entry) {
        op->emitError("reads host data inside a loop or branch; the CUDA "
                      "target copies weights and constants only at the top "
                      "level of an entry point");
        return signalPassFailure();
      }
      b.setInsertionPointAfter(op);
      Value host = op->getResult(0);
      SmallPtrSet<Operation *, 4> keep;
      FailureOr<Value> dev =
          allocLike(b, op->getLoc(), host, op,
                    isa<rt::WeightOp>(op) ? "a weight" : "a constant", keep);
      if (failed(dev))
        return signalPassFailure();
      keep.insert(gpu::MemcpyOp::create(b, op->getLoc(), Type(), ValueRange(),
                                        *dev, host));
      host.replaceUsesWithIf(
          *dev, [&](OpOperand &use) { return !keep.contains(use.getOwner()); });
      deviceBuffers.push_back(*dev);
    }

    // Host allocations the memory plan left (dynamic sizes) become device
    // allocations; stack buffers inside loops become kernel-local later.
    SmallVector<memref::AllocOp> allocs;
    func.walk([&](memref::AllocOp alloc) {
      if (!alloc->getParentOfType<scf::ParallelOp>())
        allocs.push_back(alloc);
    });
    for (memref::AllocOp alloc : allocs) {
      if (!alloc.getSymbolOperands().empty() ||
          !alloc.getType().getLayout().isIdentity()) {
        alloc.emitError("cannot place this allocation in device memory");
        return signalPassFailure();
      }
      b.setInsertionPoint(alloc);
      auto dev = gpu::AllocOp::create(b, alloc.getLoc(), alloc.getType(),
                                      Type(), ValueRange(),
                                      alloc.getDynamicSizes(), ValueRange());
      alloc.replaceAllUsesWith(dev.getMemref());
      alloc.erase();
    }
    SmallVector<memref::DeallocOp> deallocs;
    func.walk([&](memref::DeallocOp d) {
      if (d.getMemref().getDefiningOp<gpu::AllocOp>())
        deallocs.push_back(d);
    });
    for (memref::DeallocOp d : deallocs) {
      b.setInsertionPoint(d);
      gpu::DeallocOp::create(b, d.getLoc(), Type(), ValueRange(),
                             d.getMemref());
      d.erase();
    }

    func.walk([&](func::ReturnOp ret) {
      b.setInsertionPoint(ret);
      for (auto [host, dev] : copyOut)
        gpu::MemcpyOp::create(b, ret.getLoc(), Type(), ValueRange(), host, dev);
      for (Value dev : deviceBuffers)
        gpu::DeallocOp::create(b, ret.getLoc(), Type(), ValueRange(), dev);
    });
  }
};

} // namespace
