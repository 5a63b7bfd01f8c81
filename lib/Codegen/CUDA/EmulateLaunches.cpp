//===- EmulateLaunches.cpp - GPU launches as host loops -------------------===//
//
// A testing aid: the mapped kernels and the device-memory traffic of an
// entry point, run on the host, so that a machine without a GPU can check
// the mapping's results against a reference.
//
//===----------------------------------------------------------------------===//

#include "kiln/Codegen/CUDA/Passes.h"

#include "mlir/IR/IRMapping.h"

#define DEBUG_TYPE "kiln-cuda-emulate-launches"

namespace mlir::kiln {
#define GEN_PASS_DEF_CUDAEMULATELAUNCHES
#include "kiln/Codegen/CUDA/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;

namespace {

LogicalResult emulate(gpu::LaunchOp launch) {
  if (launch.getAsyncToken() || !launch.getAsyncDependencies().empty())
    return launch.emitError("cannot emulate an asynchronous launch");
  if (!launch.getBody().hasOneBlock())
    return launch.emitError("cannot emulate a kernel of several blocks");
  if (!launch.getWorkgroupAttributions().empty() ||
      !launch.getPrivateAttributions().empty() ||
      launch.getDynamicSharedMemorySize())
    return launch.emitError("cannot emulate a kernel with shared or private "
                            "memory attributions");
  WalkResult barrier = launch.getBody().walk([](gpu::BarrierOp b) {
    b.emitError("cannot emulate a kernel that synchronizes its threads");
    return WalkResult::interrupt();
  });
  if (barrier.wasInterrupted())
    return failure();

  Location loc = launch.getLoc();
  OpBuilder b(launch);
  Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
  Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
  gpu::KernelDim3 grid = launch.getGridSizeOperandValues();
  gpu::KernelDim3 block = launch.getBlockSizeOperandValues();
  IRMapping map;
  gpu::KernelDim3 gridArgs = launch.getGridSize();
  gpu::KernelDim3 blockArgs = launch.getBlockSize();
  map.map(gridArgs.x, grid.x);
  map.map(gridArgs.y, grid.y);
  map.map(gridArgs.z, grid.z);
  map.map(blockArgs.x, block.x);
  map.map(blockArgs.y, block.y);
  map.map(blockArgs.z, block.z);
  // Blocks z, y, x, then threads z, y, x: the innermost loop is thread x.
  Value sizes[6] = {grid.z, grid.y, grid.x, block.z, block.y, block.x};
  Value ids[6] = {launch.getBlockIds().z,  launch.getBlockIds().y,
                  launch.getBlockIds().x,  launch.getThreadIds().z,
                  launch.getThreadIds().y, launch.getThreadIds().x};
  for (int i = 0; i < 6; ++i) {
    auto loop = scf::ForOp::create(b, loc, c0, sizes[i], c1);
    map.map(ids[i], loop.getInductionVar());
    b.setInsertionPoint(loop.getBody()->getTerminator());
  }
  for (Operation &op : launch.getBody().front().without_terminator())
    b.clone(op, map);
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
