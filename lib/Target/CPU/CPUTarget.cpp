//===- CPUTarget.cpp - from the llvm dialect to objects and artifacts -----===//

#include "kiln/Target/CPU/CPUTarget.h"
#include "kiln/Support/FileBackedMemory.h"
#include "kiln/Transforms/Passes.h"
#include "kiln/runtime.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"

#include <dlfcn.h>

using namespace mlir;
using namespace mlir::kiln;

FailureOr<std::unique_ptr<llvm::TargetMachine>>
cpu::createTargetMachine(const TargetOptions &options, std::string &error) {
  llvm::InitializeNativeTarget();
  llvm::InitializeNativeTargetAsmPrinter();
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return failure();
  std::string cpuName = options.cpu;
  std::string features = options.features;
  if (cpuName == "host") {
    cpuName = llvm::sys::getHostCPUName().str();
    llvm::StringMap<bool> hostFeatures = llvm::sys::getHostCPUFeatures();
    std::string hf;
    for (auto &f : hostFeatures)
      hf += (hf.empty() ? "" : ",") + std::string(f.second ? "+" : "-") +
            f.first().str();
    features = features.empty() ? hf : hf + "," + features;
  } else if (cpuName.empty()) {
    error = "no CPU name given";
    return failure();
  }
  llvm::TargetOptions targetOptions;
  // Module constructors (a CUDA artifact's module load) go into
  // .init_array, which the dynamic loader runs; it never runs .ctors.
  targetOptions.UseInitArray = true;
  std::unique_ptr<llvm::TargetMachine> tm(target->createTargetMachine(
      triple, cpuName, features, targetOptions, llvm::Reloc::PIC_, std::nullopt,
      options.optLevel >= 3   ? llvm::CodeGenOptLevel::Aggressive
      : options.optLevel == 0 ? llvm::CodeGenOptLevel::None
                              : llvm::CodeGenOptLevel::Default));
  if (!tm) {
    error = "cannot create a target machine for CPU '" + cpuName + "'";
    return failure();
  }
  // An unknown CPU name is not an error to LLVM (it warns); catch it here.
  if (options.cpu != "host" &&
      !tm->getMCSubtargetInfo()->isCPUStringValid(cpuName)) {
    error = "unknown CPU '" + cpuName + "' (try --cpu=host)";
    return failure();
  }
  return tm;
}

std::unique_ptr<llvm::Module> cpu::translateAndOptimize(ModuleOp module,
                                                        llvm::LLVMContext &ctx,
                                                        llvm::TargetMachine &tm,
                                                        int optLevel) {
  registerBuiltinDialectTranslation(*module.getContext());
  registerLLVMDialectTranslation(*module.getContext());
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(module, ctx, "kiln");
  if (!llvmModule)
    return nullptr;
  llvmModule->setDataLayout(tm.createDataLayout());
  llvmModule->setTargetTriple(tm.getTargetTriple());
  auto transformer = makeOptimizingTransformer(optLevel, /*sizeLevel=*/0, &tm);
  if (llvm::Error err = transformer(llvmModule.get())) {
    llvm::consumeError(std::move(err));
    return nullptr;
  }
  return llvmModule;
}

LogicalResult cpu::emitObject(llvm::Module &module, llvm::TargetMachine &tm,
                              SmallVectorImpl<char> &object,
                              std::string &error) {
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager pm;
  if (tm.addPassesToEmitFile(pm, os, nullptr,
                             llvm::CodeGenFileType::ObjectFile)) {
    error = "the target cannot emit object files";
    return failure();
  }
  pm.run(module);
  return success();
}

std::string cpu::runtimeLibraryDir() {
  Dl_info info;
  if (dladdr(reinterpret_cast<void *>(&kiln_model_run), &info) &&
      info.dli_fname)
    return llvm::sys::path::parent_path(info.dli_fname).str();
  return "";
}

LogicalResult cpu::linkSharedLibrary(StringRef objectPath, StringRef outputPath,
                                     std::string &error) {
  auto lld = llvm::sys::findProgramByName("ld.lld", {"/usr/lib/llvm-22/bin"});
  if (!lld) {
    error = "cannot find ld.lld (install lld-22)";
    return failure();
  }
  std::string rtDir = runtimeLibraryDir();
  if (rtDir.empty()) {
    error = "cannot locate the kiln runtime library";
    return failure();
  }
  SmallVector<std::string> args{*lld,
                                "-shared",
                                "--no-undefined-version",
                                "-O2",
                                "--hash-style=gnu",
                                "-z",
                                "noexecstack",
                                "-o",
                                outputPath.str(),
                                objectPath.str(),
                                "-L" + rtDir,
                                "-l:libkiln_runtime.so.1"};
  for (StringRef dir : {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu"})
    if (llvm::sys::fs::exists(dir + "/libm.so.6")) {
      args.push_back(("-L" + dir).str());
      args.push_back("-l:libm.so.6");
      break;
    }
  SmallVector<StringRef> argRefs(args.begin(), args.end());
  std::string errMsg;
  SmallString<128> logPath;
  llvm::sys::fs::createTemporaryFile("kiln-link", "log", logPath);
  std::optional<StringRef> redirects[] = {std::nullopt, logPath.str(),
                                          logPath.str()};
  int rc = llvm::sys::ExecuteAndWait(*lld, argRefs, std::nullopt, redirects, 0,
                                     0, &errMsg);
  auto log = llvm::MemoryBuffer::getFile(logPath);
  llvm::sys::fs::remove(logPath);
  if (rc != 0) {
    error = "linking failed: " + errMsg;
    if (log)
      error += "\n" + (*log)->getBuffer().str();
    return failure();
  }
  return success();
}

LogicalResult cpu::appendWeights(ModuleOp module, StringRef path,
                                 std::string &error) {
  auto weights = module->getAttrOfType<ArrayAttr>(attrs::kWeights);
  if (!weights || weights.empty())
    return success();
  // Offsets are from the start of the file; in append mode the stream's own
  // position starts at zero, so track it from the file's size.
  uint64_t pos;
  if (std::error_code ec = llvm::sys::fs::file_size(path, pos)) {
    error = "cannot stat '" + path.str() + "': " + ec.message();
    return failure();
  }
  std::error_code ec;
  llvm::raw_fd_ostream os(path, ec, llvm::sys::fs::OF_Append);
  if (ec) {
    error = "cannot open '" + path.str() + "': " + ec.message();
    return failure();
  }
  auto pad = [&](uint64_t align) {
    uint64_t target = llvm::alignTo(pos, align);
    for (; pos < target; ++pos)
      os << '\0';
  };
  pad(4096);
  uint64_t blobOffset = pos;
  SmallVector<uint64_t> table;
  for (Attribute a : weights) {
    auto res = dyn_cast<DenseResourceElementsAttr>(a);
    AsmResourceBlob *blob = res ? res.getRawHandle().getBlob() : nullptr;
    if (!blob) {
      error = "a weight's data is missing (elided resource blob?)";
      return failure();
    }
    ArrayRef<char> data = blob->getData();
    pad(64);
    table.push_back(pos);
    table.push_back(data.size());
    os.write(data.data(), data.size());
    pos += data.size();
    // Weights stream: a file-backed blob's pages leave this process once
    // written (a no-op for heap blobs).
    dropPages(data.data(), data.size());
  }
  pad(64);
  uint64_t tableOffset = pos;
  uint64_t count = weights.size();
  os.write(reinterpret_cast<const char *>(&count), 8);
  os.write(reinterpret_cast<const char *>(table.data()), table.size() * 8);
  uint64_t tableSize = 8 + table.size() * 8;
  os.write("KILNWTS1", 8);
  os.write(reinterpret_cast<const char *>(&tableOffset), 8);
  os.write(reinterpret_cast<const char *>(&tableSize), 8);
  os.write(reinterpret_cast<const char *>(&blobOffset), 8);
  os.close();
  if (os.has_error()) {
    error = "cannot write '" + path.str() + "'";
    os.clear_error();
    return failure();
  }
  return success();
}
