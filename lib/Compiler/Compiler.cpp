//===- Compiler.cpp - kiln's compiler driver ------------------------------===//

#include "kiln/Compiler/Compiler.h"

#include "kiln/Frontend/HF/Importer.h"
#include "kiln/Frontend/ONNX/Importer.h"

#include "kiln/Codegen/CPU/Passes.h"
#include "kiln/Codegen/CUDA/Passes.h"
#include "kiln/Dialect/Kiln/Transforms/QuantizationReport.h"
#include "kiln/InitAll.h"
#include "kiln/Pipelines/Pipelines.h"
#include "kiln/Transforms/KernelStats.h"
#include "kiln/Transforms/Passes.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Target/TargetMachine.h"

using namespace mlir;
using namespace mlir::kiln;

std::optional<EmitKind> kiln::parseEmitKind(llvm::StringRef name) {
  return llvm::StringSwitch<std::optional<EmitKind>>(name)
      .Case("kiln", EmitKind::Kiln)
      .Case("linalg", EmitKind::Linalg)
      .Case("kernels", EmitKind::Kernels)
      .Case("codegen", EmitKind::Codegen)
      .Case("bufferized", EmitKind::Bufferized)
      .Case("llvm", EmitKind::LLVMDialect)
      .Case("llvm-ir", EmitKind::LLVMIR)
      .Case("obj", EmitKind::Object)
      .Case("so", EmitKind::Artifact)
      .Case("ptx", EmitKind::PTX)
      .Default(std::nullopt);
}

bool kiln::parseInputShape(llvm::StringRef text, InputShape &out,
                           std::string &error) {
  auto [name, dims] = text.rsplit('=');
  if (name.empty() || dims.empty() || !text.contains('=')) {
    error =
        "expected NAME=DIMS (like input_ids=1x128), got '" + text.str() + "'";
    return false;
  }
  out.name = name.str();
  out.dims.clear();
  SmallVector<StringRef> parts;
  dims.split(parts, 'x');
  for (StringRef p : parts) {
    int64_t d;
    if (p.getAsInteger(10, d) || d < 0 || d > (int64_t(1) << 40)) {
      error = "bad dimension '" + p.str() + "' in '" + text.str() + "'";
      return false;
    }
    out.dims.push_back(d);
  }
  return true;
}

std::unique_ptr<MLIRContext> kiln::createContext() {
  DialectRegistry registry;
  mlir::kiln::registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  auto ctx = std::make_unique<MLIRContext>(registry);
  ctx->loadAllAvailableDialects();
  return ctx;
}

/// A .npy file as a constant attribute (inline when small, else a blob).
static FailureOr<Attribute> loadNpyAttr(MLIRContext &ctx, StringRef path) {
  kiln_tensor t;
  std::string p = path.str();
  if (kiln_status *s = kiln_npy_read(p.c_str(), &t)) {
    emitError(FileLineColLoc::get(&ctx, path, 0, 0))
        << "--bind: " << kiln_status_get_message(s);
    kiln_status_free(s);
    return failure();
  }
  Builder b(&ctx);
  Type et;
  switch (t.dtype) {
  case KILN_F32:
    et = b.getF32Type();
    break;
  case KILN_F16:
    et = b.getF16Type();
    break;
  case KILN_F64:
    et = b.getF64Type();
    break;
  case KILN_I64:
    et = b.getI64Type();
    break;
  case KILN_I32:
    et = b.getI32Type();
    break;
  case KILN_I16:
    et = b.getI16Type();
    break;
  case KILN_I8:
    et = b.getI8Type();
    break;
  case KILN_U8:
    et = IntegerType::get(&ctx, 8, IntegerType::Unsigned);
    break;
  case KILN_BOOL:
    et = b.getI1Type();
    break;
  default:
    break;
  }
  if (!et) {
    kiln_free(t.data);
    emitError(FileLineColLoc::get(&ctx, path, 0, 0))
        << "--bind: unsupported dtype " << kiln_dtype_name(t.dtype);
    return failure();
  }
  auto type = RankedTensorType::get(ArrayRef<int64_t>(t.shape, t.rank), et);
  ArrayRef<char> raw(static_cast<char *>(t.data), t.size_bytes);
  Attribute attr;
  if (type.getNumElements() <= 256 && !et.isInteger(1)) {
    attr = DenseElementsAttr::getFromRawBuffer(type, raw);
  } else if (type.getNumElements() <= 256) {
    SmallVector<bool> bits;
    for (char c : raw)
      bits.push_back(c != 0);
    attr = DenseElementsAttr::get(type, bits);
  } else {
    attr = DenseResourceElementsAttr::get(
        type, "bound", HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, 64));
  }
  kiln_free(t.data);
  return attr;
}

OwningOpRef<ModuleOp> kiln::loadModelFromBuffer(MLIRContext &ctx,
                                                llvm::StringRef bytes,
                                                llvm::StringRef name,
                                                const CompileOptions &options) {
  StringRef ext = llvm::sys::path::extension(name);
  if (ext == ".mlir" || ext == ".mlirbc") {
    llvm::SourceMgr sm;
    sm.AddNewSourceBuffer(llvm::MemoryBuffer::getMemBufferCopy(bytes, name),
                          llvm::SMLoc());
    return parseSourceFile<ModuleOp>(sm, &ctx);
  }
  if (ext == ".onnx") {
    onnx::ImportOptions importOptions;
    for (const InputShape &s : options.inputShapes)
      importOptions.inputShapes.push_back({s.name, s.dims});
    for (const auto &[input, path] : options.boundInputs) {
      FailureOr<Attribute> value = loadNpyAttr(ctx, path);
      if (failed(value))
        return nullptr;
      importOptions.boundInputs.push_back({input, *value});
    }
    return onnx::importModel(ctx, bytes, name, importOptions);
  }
  emitError(FileLineColLoc::get(&ctx, name, 0, 0))
      << "unknown model format '" << ext
      << "': kiln reads .onnx and .mlir files";
  return nullptr;
}

OwningOpRef<ModuleOp> kiln::loadModel(MLIRContext &ctx, llvm::StringRef path,
                                      const CompileOptions &options) {
  if (hf::isCheckpointDir(path)) {
    hf::ImportOptions importOptions;
    importOptions.maxContext = options.maxContext;
    importOptions.prefillLength = options.prefillLength;
    return hf::importCheckpoint(ctx, path, importOptions);
  }
  std::string error;
  std::unique_ptr<llvm::MemoryBuffer> buf = openInputFile(path, &error);
  if (!buf) {
    emitError(FileLineColLoc::get(&ctx, path, 0, 0)) << error;
    return nullptr;
  }
  return loadModelFromBuffer(ctx, buf->getBuffer(), path, options);
}

/// The gpu-module-to-binary format for --target=cuda: a cubin when the
/// toolkit's ptxas is there, else PTX (compiled by the driver at load).
static std::string cudaBinaryFormat(const CompileOptions &options,
                                    EmitKind emit) {
  if (emit == EmitKind::PTX)
    return "isa";
  SmallString<128> ptxas(options.cudaToolkit);
  llvm::sys::path::append(ptxas, "bin", "ptxas");
  return llvm::sys::fs::can_execute(ptxas) ? "bin" : "isa";
}

LogicalResult kiln::runStages(ModuleOp module, EmitKind emit,
                              const CompileOptions &options) {
  bool cuda = options.target == "cuda";
  if (options.target != "cpu" && !cuda)
    return emitError(module.getLoc()) << "unknown target '" << options.target
                                      << "' (supported: cpu, cuda)";
  if (cuda && !llvm::is_contained(
                  ArrayRef<StringRef>{"sm_80", "sm_86", "sm_89", "sm_90"},
                  options.gpuArch))
    return emitError(module.getLoc())
           << "unknown GPU architecture '" << options.gpuArch
           << "' (supported: sm_80, sm_86, sm_89, sm_90)";
  if (cuda && !options.lowerFusedOps)
    return emitError(module.getLoc())
           << "--target=cuda lowers attention and the Mamba ops with their "
              "reference decompositions: --lower-fused-ops=false is for "
              "the CPU micro-kernels";
  if (options.cudaEmulate && (!cuda || emit == EmitKind::PTX))
    return emitError(module.getLoc())
           << "--cuda-emulate runs --target=cuda's kernels on the host: it "
              "needs --target=cuda and makes no PTX";
  if (cuda && !options.cudaEmulate && emit >= EmitKind::LLVMDialect) {
    // Kernels link libdevice for their math functions.
    SmallString<128> libdevice(options.cudaToolkit);
    llvm::sys::path::append(libdevice, "nvvm", "libdevice", "libdevice.10.bc");
    if (!llvm::sys::fs::exists(libdevice))
      return emitError(module.getLoc())
             << "--target=cuda needs the CUDA toolkit's libdevice, not found "
                "at '"
             << libdevice << "'; give --cuda-toolkit=DIR";
  }
  if (!cuda && emit == EmitKind::PTX)
    return emitError(module.getLoc()) << "--emit=ptx needs --target=cuda";
  PassManager graph(module.getContext());
  if (options.configurePassManager &&
      failed(options.configurePassManager(graph)))
    return failure();
  if (!options.quantize.empty() && options.quantize != "int8" &&
      options.quantize != "int4")
    return emitError(module.getLoc())
           << "unknown quantization '" << options.quantize
           << "' (supported: int8, int4)";
  if (options.dtype != "f32" && options.dtype != "bf16")
    return emitError(module.getLoc())
           << "unknown dtype '" << options.dtype << "' (supported: f32, bf16)";
  GraphOptions graphOptions;
  graphOptions.quantize = options.quantize;
  graphOptions.quantGroupSize = options.quantGroupSize;
  graphOptions.quantZeroPoints = options.quantZeroPoints;
  graphOptions.quantHalfScales = options.quantHalfScales;
  graphOptions.quantExclude = options.quantExclude;
  graphOptions.dtype = options.dtype;
  buildGraphPipeline(graph, graphOptions);
  bool lowering = emit >= EmitKind::Linalg;
  // With --report, the quantized products are listed before they become
  // micro-kernel calls: the graph stage runs on its own first.
  PassManager calls(module.getContext());
  PassManager *last = &graph;
  if (options.report) {
    if (failed(graph.run(module)))
      return failure();
    printQuantizationReport(module, *options.report);
    if (options.configurePassManager &&
        failed(options.configurePassManager(calls)))
      return failure();
    last = &calls;
  }
  // The micro-kernels are CPU code: the CUDA target lowers every op but a
  // prefill's attention and the selective scan, whose calls
  // kiln-cuda-tile-attention and kiln-cuda-selective-scan compile to GPU
  // kernels.
  if ((lowering || options.report) && options.ukernels && !cuda) {
    buildUkernelsPipeline(*last);
  }
  if (lowering && cuda) {
    UseUkernelsOptions gpu;
    gpu.matmul = false;
    gpu.attention = options.cudaTileAttention;
    gpu.attentionMinQueries = 16;
    gpu.causalConv1d = false;
    last->addNestedPass<func::FuncOp>(createUseUkernels(gpu));
    // The CUDA target's counterpart of the CPU's weight packing.
    last->addNestedPass<func::FuncOp>(createCUDATransposeWeights());
  }
  if (options.report)
    last->addNestedPass<func::FuncOp>(createFormKernels());
  if (failed(last->run(module)))
    return failure();
  if (options.report)
    printKernelReport(module, *options.report);
  if (!lowering)
    return success();

  PassManager pm(module.getContext());
  if (options.configurePassManager && failed(options.configurePassManager(pm)))
    return failure();
  {
    LowerOptions lower;
    lower.lowerFusedOps = options.lowerFusedOps;
    if (cuda) {
      lower.fuseDequant = true;
      lower.attention = "rows";
      lower.scan = "channels";
    }
    buildLowerPipeline(pm, lower);
  }
  if (emit >= EmitKind::Kernels)
    buildKernelsPipeline(pm);
  if (emit >= EmitKind::Codegen && cuda) {
    buildCUDACodegenPipeline(pm);
  } else if (emit >= EmitKind::Codegen) {
    CPUCodegenOptions codegen;
    codegen.tasksPerOp = options.tasksPerOp;
    codegen.minTaskElements = options.minTaskElements;
    buildCPUCodegenPipeline(pm, codegen);
  }
  if (emit >= EmitKind::Bufferized)
    buildBufferizePipeline(pm);
  if (emit >= EmitKind::LLVMDialect && cuda) {
    CUDAOptions target;
    target.gpuArch = options.gpuArch;
    target.threadsPerBlock = options.gpuThreadsPerBlock;
    target.toolkit = options.cudaToolkit;
    target.format = cudaBinaryFormat(options, emit);
    target.emulate = options.cudaEmulate;
    target.tileContractions = options.cudaTileMatmuls;
    target.bf16Attention = options.dtype == "bf16";
    buildCUDAToLLVMPipeline(pm, target);
  } else if (emit >= EmitKind::LLVMDialect) {
    buildCPUToLLVMPipeline(pm);
  }
  return pm.run(module);
}

LogicalResult kiln::compileToFile(ModuleOp module, EmitKind emit,
                                  const CompileOptions &options,
                                  llvm::StringRef output) {
  // --emit=ptx runs every stage with the kernels kept as PTX.
  EmitKind stages =
      emit == EmitKind::PTX ? emit : std::min(emit, EmitKind::LLVMDialect);
  if (failed(runStages(module, stages, options)))
    return failure();
  std::string error;
  if (emit == EmitKind::PTX) {
    auto out = openOutputFile(output, &error);
    if (!out)
      return emitError(module.getLoc()) << error;
    for (auto binary : module.getOps<gpu::BinaryOp>())
      for (Attribute a : binary.getObjects())
        out->os() << cast<gpu::ObjectAttr>(a).getObject().getValue();
    out->keep();
    return success();
  }
  if (emit <= EmitKind::LLVMDialect) {
    auto out = openOutputFile(output, &error);
    if (!out)
      return emitError(module.getLoc()) << error;
    module.print(out->os());
    out->os() << "\n";
    out->keep();
    return success();
  }
  auto tm = cpu::createTargetMachine(options.cpu, error);
  if (failed(tm))
    return emitError(module.getLoc()) << error;
  llvm::LLVMContext llvmCtx;
  std::unique_ptr<llvm::Module> llvmModule =
      cpu::translateAndOptimize(module, llvmCtx, **tm, options.cpu.optLevel);
  if (!llvmModule)
    return emitError(module.getLoc()) << "translation to LLVM IR failed";
  if (emit == EmitKind::LLVMIR) {
    auto out = openOutputFile(output, &error);
    if (!out)
      return emitError(module.getLoc()) << error;
    llvmModule->print(out->os(), nullptr);
    out->keep();
    return success();
  }
  SmallVector<char> object;
  if (failed(cpu::emitObject(*llvmModule, **tm, object, error)))
    return emitError(module.getLoc()) << error;
  if (emit == EmitKind::Object) {
    auto out = openOutputFile(output, &error);
    if (!out)
      return emitError(module.getLoc()) << error;
    out->os().write(object.data(), object.size());
    out->keep();
    return success();
  }
  if (output == "-")
    return emitError(module.getLoc())
           << "an artifact cannot go to stdout; give -o FILE.so";
  SmallString<128> objPath;
  int fd;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("kiln", "o", fd, objPath))
    return emitError(module.getLoc())
           << "cannot create a temporary file: " << ec.message();
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os.write(object.data(), object.size());
  }
  LogicalResult linked = cpu::linkSharedLibrary(objPath, output, error);
  llvm::sys::fs::remove(objPath);
  if (failed(linked))
    return emitError(module.getLoc()) << error;
  if (failed(cpu::appendWeights(module, output, error))) {
    llvm::sys::fs::remove(output);
    return emitError(module.getLoc()) << error;
  }
  return success();
}
