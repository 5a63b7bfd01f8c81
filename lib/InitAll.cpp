//===- InitAll.cpp - register everything kiln knows -----------------------===//

#include "kiln/InitAll.h"

#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Conversion/Passes.h"
#include "kiln/Dialect/Kiln/IR/KilnDialect.h"
#include "kiln/Dialect/Kiln/Transforms/Passes.h"
#include "kiln/Dialect/KilnRT/IR/KilnRT.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"

void mlir::kiln::registerAllDialects(mlir::DialectRegistry &registry) {
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  registry.insert<mlir::kiln::KilnDialect, mlir::kiln::rt::KilnRTDialect>();
  mlir::kiln::rt::registerBufferizableOpInterfaceExternalModels(registry);
  // The CUDA target compiles kernel modules (gpu-module-to-binary) and
  // translates gpu.binary and gpu.launch_func with the host code.
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  mlir::registerGPUDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
  mlir::gpu::registerOffloadingLLVMTranslationInterfaceExternalModels(registry);
}

void mlir::kiln::registerAllPasses() {
  mlir::registerAllPasses();
  mlir::kiln::registerKilnGraphPasses();
  mlir::kiln::registerKilnConversionPasses();
  mlir::kiln::registerKilnTransformsPasses();
  mlir::kiln::registerKilnCPUPasses();
  mlir::kiln::registerKilnCUDAPasses();
  mlir::kiln::registerPipelines();
}
