//===- kiln-compile.cpp - the ahead-of-time compiler ----------------------===//
//
//   kiln-compile model.onnx -o model.so
//   kiln-compile model.mlir --emit=linalg
//
// A thin main over lib/Compiler; every MLIR debugging flag
// (--mlir-print-ir-after-all, --mlir-pass-pipeline-crash-reproducer,
// --mlir-timing, ...) applies to the pipeline it runs.
//
//===----------------------------------------------------------------------===//

#include "kiln/Compiler/Compiler.h"
#include "kiln/Compiler/Diagnostics.h"
#include "kiln/InitAll.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/Timing.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"

using namespace mlir;
using namespace mlir::kiln;
namespace cl = llvm::cl;

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("<model>"),
                                      cl::Required);
static cl::opt<std::string> outputFile(
    "o",
    cl::desc("Output file (default: the model's name with .so for "
             "--emit=so and .o for obj; stdout for the textual forms)"),
    cl::value_desc("file"));
static cl::opt<std::string> emitKind(
    "emit",
    cl::desc("What to write: kiln, linalg, kernels, codegen, bufferized, "
             "llvm (MLIR stages), llvm-ir, obj or so (the default); ptx "
             "(--target=cuda: the kernels)"),
    cl::init("so"));
static cl::opt<std::string>
    target("target",
           cl::desc("Target: cpu, or cuda (NVIDIA GPUs; host code for the "
                    "CPU, kernels as cubin, or PTX without ptxas)"),
           cl::init("cpu"));
static cl::opt<std::string>
    gpuArch("gpu-arch",
            cl::desc("--target=cuda: the GPU, sm_80, sm_86, sm_89 or sm_90"),
            cl::init("sm_90"));
static cl::opt<std::string> cudaToolkit(
    "cuda-toolkit",
    cl::desc("--target=cuda: the CUDA toolkit (libdevice; bin/ptxas)"),
    cl::init("/usr/local/cuda"));
static cl::opt<bool> cudaEmulate(
    "cuda-emulate",
    cl::desc("--target=cuda, for testing without a GPU: run the mapped "
             "kernels on the host (a CPU artifact)"),
    cl::init(false));
static cl::opt<bool> cudaTileMatmuls(
    "cuda-tile-matmuls",
    cl::desc("--target=cuda: matmuls as shared-memory tiled, tensor-core "
             "(bf16) and split-K (decode) kernels; false: one thread per "
             "output element, like the other ops"),
    cl::init(true));
static cl::opt<bool> cudaTileAttention(
    "cuda-tile-attention",
    cl::desc("--target=cuda: attention with 16 or more queries per head as "
             "a flash-attention kernel with shared-memory tiles; false: one "
             "thread per query row"),
    cl::init(true));
static cl::opt<std::string>
    cpuName("cpu",
            cl::desc("CPU to generate code for: host (default) or an LLVM "
                     "CPU name such as znver4, skylake-avx512, x86-64-v3"),
            cl::init("host"));
static cl::opt<std::string>
    cpuFeatures("cpu-features",
                cl::desc("Extra LLVM target features, e.g. -avx512bf16"),
                cl::init(""));
static cl::opt<int> optLevel("O", cl::desc("LLVM optimization level (0-3)"),
                             cl::init(3), cl::Prefix);
static cl::list<std::string>
    inputShapes("input-shape",
                cl::desc("Fix the shape of a model input: NAME=1x128x768"),
                cl::value_desc("name=dims"));
static cl::list<std::string> bindInputs(
    "bind",
    cl::desc("Specialize the model on an input's value: NAME=FILE.npy (the "
             "input becomes a constant and leaves the signature)"),
    cl::value_desc("name=file.npy"));
static cl::opt<int64_t> maxContext(
    "max-context",
    cl::desc("Checkpoints: positions the KV cache holds (default: the "
             "config's max_position_embeddings, at most 4096)"),
    cl::init(0));
static cl::opt<int64_t> prefillLength(
    "prefill-length",
    cl::desc("Checkpoints: tokens per prefill call (default: min(max "
             "context, 128))"),
    cl::init(0));
static cl::opt<bool> lowerFusedOps(
    "lower-fused-ops",
    cl::desc("Lower attention and the Mamba ops with their reference "
             "decompositions instead of kernels"),
    cl::init(true));

static cl::opt<std::string> quantize(
    "quantize",
    cl::desc("Quantize the constant weights of matmuls: int8 (per output "
             "channel, symmetric) or int4 (group-wise, two per byte)"),
    cl::value_desc("int8|int4"), cl::init(""));
static cl::opt<int64_t>
    quantGroup("quant-group",
               cl::desc("int4: rows sharing a scale (32, 64 or 128)"),
               cl::init(32));
static cl::opt<bool>
    quantZeroPoints("quant-zero-points",
                    cl::desc("int4: asymmetric groups with zero points"),
                    cl::init(false));
static cl::opt<bool> quantHalfScales(
    "quant-half-scales",
    cl::desc("int4: f16 scales (4.5 bits per weight in groups of 32); "
             "=false: f32 scales"),
    cl::init(true));
static cl::opt<std::string> quantExclude(
    "quant-exclude",
    cl::desc("Regular expression: weights whose ONNX node or initializer "
             "name matches keep their type (e.g. lm_head)"),
    cl::value_desc("regex"), cl::init(""));
static cl::opt<std::string>
    dtype("dtype",
          cl::desc("Element type of matmuls with constant weights: f32 (as "
                   "written) or bf16 (bf16 weights and inputs, fp32 "
                   "accumulation)"),
          cl::init("f32"));

static cl::opt<bool>
    ukernels("ukernels",
             cl::desc("Call the runtime's micro-kernels for matmuls and "
                      "attention (off: generated loops for every op)"),
             cl::init(true));
static cl::opt<bool>
    report("report",
           cl::desc("Print the kernels (ops, FLOPs, bytes moved) to stderr"),
           cl::init(false));

int main(int argc, char **argv) {
  llvm::InitLLVM init(argc, argv);
  // Pass names must be known before the pass-manager options that take them
  // (--mlir-print-ir-after=PASS) are registered.
  mlir::kiln::registerAllPasses();
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerDefaultTimingManagerCLOptions();
  cl::ParseCommandLineOptions(argc, argv, "kiln ahead-of-time compiler\n");

  std::optional<EmitKind> emit = parseEmitKind(emitKind);
  if (!emit) {
    llvm::errs() << "kiln-compile: unknown --emit value '" << emitKind << "'\n";
    return 2;
  }
  if (optLevel < 0 || optLevel > 3) {
    llvm::errs() << "kiln-compile: -O must be 0 to 3\n";
    return 2;
  }
  CompileOptions options;
  options.target = target;
  options.gpuArch = gpuArch;
  options.cudaToolkit = cudaToolkit;
  options.cudaEmulate = cudaEmulate;
  options.cudaTileMatmuls = cudaTileMatmuls;
  options.cudaTileAttention = cudaTileAttention;
  options.cpu.cpu = cpuName;
  options.cpu.features = cpuFeatures;
  options.cpu.optLevel = optLevel;
  options.lowerFusedOps = lowerFusedOps;
  options.ukernels = ukernels;
  if (!quantize.empty() && quantize != "int8" && quantize != "int4") {
    llvm::errs() << "kiln-compile: --quantize must be int8 or int4, got '"
                 << quantize << "'\n";
    return 2;
  }
  if (quantGroup != 32 && quantGroup != 64 && quantGroup != 128) {
    llvm::errs() << "kiln-compile: --quant-group must be 32, 64 or 128\n";
    return 2;
  }
  if (dtype != "f32" && dtype != "bf16") {
    llvm::errs() << "kiln-compile: --dtype must be f32 or bf16, got '" << dtype
                 << "'\n";
    return 2;
  }
  options.quantize = quantize;
  options.quantGroupSize = quantGroup;
  options.quantZeroPoints = quantZeroPoints;
  options.quantHalfScales = quantHalfScales;
  options.quantExclude = quantExclude;
  options.dtype = dtype;
  if (maxContext < 0 || prefillLength < 0) {
    llvm::errs() << "kiln-compile: --max-context and --prefill-length must "
                    "not be negative\n";
    return 2;
  }
  options.maxContext = maxContext;
  options.prefillLength = prefillLength;
  if (report)
    options.report = &llvm::errs();
  for (const std::string &s : inputShapes) {
    InputShape shape;
    std::string error;
    if (!parseInputShape(s, shape, error)) {
      llvm::errs() << "kiln-compile: --input-shape: " << error << "\n";
      return 2;
    }
    options.inputShapes.push_back(shape);
  }
  for (const std::string &b : bindInputs) {
    size_t eq = b.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == b.size()) {
      llvm::errs() << "kiln-compile: --bind expects NAME=FILE.npy, got '" << b
                   << "'\n";
      return 2;
    }
    options.boundInputs.push_back({b.substr(0, eq), b.substr(eq + 1)});
  }
  options.configurePassManager = [](PassManager &pm) {
    if (failed(applyPassManagerCLOptions(pm)))
      return failure();
    applyDefaultTimingPassManagerCLOptions(pm);
    return success();
  };

  std::string output = outputFile;
  if (output.empty()) {
    // A checkpoint directory may be given with a trailing slash.
    llvm::SmallString<128> p(
        llvm::sys::path::filename(llvm::StringRef(inputFile).rtrim('/')));
    if (*emit == EmitKind::Artifact)
      llvm::sys::path::replace_extension(p, ".so");
    else if (*emit == EmitKind::Object)
      llvm::sys::path::replace_extension(p, ".o");
    else
      p = "-";
    output = p.str().str();
  }

  std::unique_ptr<MLIRContext> ctx = createContext();
  llvm::SourceMgr sourceMgr;
  ModelDiagnosticHandler diagnostics(sourceMgr, ctx.get());
  OwningOpRef<ModuleOp> module = loadModel(*ctx, inputFile, options);
  if (!module)
    return 1;
  if (failed(compileToFile(*module, *emit, options, output)))
    return 1;
  return 0;
}
