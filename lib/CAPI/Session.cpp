//===- Session.cpp - compiler sessions and their options ------------------===//
//
// A kiln_compiler holds a CompileOptions; each setter checks its argument
// and changes one field, so a bad value fails at the call that set it.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include "llvm/Support/Regex.h"
#include <algorithm>
#include <mutex>
#include <new>

using namespace mlir::kiln::capi;
using mlir::kiln::InputShape;

void mlir::kiln::capi::initializeLLVMOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
  });
}

namespace {

kiln_compiler_status *invalid(const char *fn, const std::string &what) {
  return makeStatus(KILN_INVALID_ARGUMENT, std::string(fn) + ": " + what);
}

} // namespace

extern "C" kiln_compiler_status *kiln_compiler_create(kiln_compiler **out) {
  if (!out)
    return invalid("kiln_compiler_create", "out is NULL");
  *out = nullptr;
  initializeLLVMOnce();
  auto *c = new (std::nothrow) kiln_compiler;
  if (!c)
    return makeStatus(KILN_OUT_OF_MEMORY,
                      "kiln_compiler_create: out of memory");
  *out = c;
  return nullptr;
}

extern "C" void kiln_compiler_destroy(kiln_compiler *compiler) {
  delete compiler;
}

extern "C" kiln_compiler_status *kiln_compiler_set_target(kiln_compiler *c,
                                                          const char *target) {
  const char *fn = "kiln_compiler_set_target";
  if (!c)
    return invalid(fn, "compiler is NULL");
  if (!target)
    return invalid(fn, "target is NULL");
  if (std::string(target) != "cpu")
    return invalid(fn, "unknown target '" + std::string(target) +
                           "' (supported: cpu)");
  c->options.target = target;
  return nullptr;
}

/// Checks a CPU name and a feature list against LLVM's tables for this
/// machine's target, without LLVM's warnings on stderr; "" when valid.
static std::string checkCPU(const std::string &cpu,
                            const std::string &features) {
  llvm::Triple triple(llvm::sys::getDefaultTargetTriple());
  std::string error;
  const llvm::Target *target =
      llvm::TargetRegistry::lookupTarget(triple, error);
  if (!target)
    return error;
  std::unique_ptr<llvm::MCSubtargetInfo> info(
      target->createMCSubtargetInfo(triple, "", ""));
  if (!info)
    return "no subtarget information for " + triple.str();
  if (cpu != "host" && !info->isCPUStringValid(cpu))
    return "unknown CPU '" + cpu + "' (try \"host\")";
  llvm::SmallVector<llvm::StringRef> list;
  llvm::StringRef(features).split(list, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef f : list) {
    llvm::StringRef name = f.trim();
    if (!name.consume_front("+") && !name.consume_front("-"))
      return "feature '" + f.str() + "' must start with '+' or '-'";
    bool known = llvm::any_of(
        info->getAllProcessorFeatures(),
        [&](const llvm::SubtargetFeatureKV &kv) { return name == kv.Key; });
    if (!known)
      return "unknown CPU feature '" + name.str() + "'";
  }
  return "";
}

extern "C" kiln_compiler_status *
kiln_compiler_set_cpu(kiln_compiler *c, const char *cpu, const char *features) {
  const char *fn = "kiln_compiler_set_cpu";
  if (!c)
    return invalid(fn, "compiler is NULL");
  if (!cpu || !*cpu)
    return invalid(fn, "cpu is NULL or empty (use \"host\" for this machine)");
  std::string error = checkCPU(cpu, features ? features : "");
  if (!error.empty())
    return invalid(fn, error);
  c->options.cpu.cpu = cpu;
  c->options.cpu.features = features ? features : "";
  return nullptr;
}

extern "C" kiln_compiler_status *kiln_compiler_set_opt_level(kiln_compiler *c,
                                                             int level) {
  const char *fn = "kiln_compiler_set_opt_level";
  if (!c)
    return invalid(fn, "compiler is NULL");
  if (level < 0 || level > 3)
    return invalid(fn, "level " + std::to_string(level) +
                           " is out of range [0, 3]");
  c->options.cpu.optLevel = level;
  return nullptr;
}

extern "C" kiln_compiler_status *kiln_compiler_set_ukernels(kiln_compiler *c,
                                                            int enabled) {
  if (!c)
    return invalid("kiln_compiler_set_ukernels", "compiler is NULL");
  c->options.ukernels = enabled != 0;
  return nullptr;
}

extern "C" kiln_compiler_status *
kiln_compiler_set_lower_fused_ops(kiln_compiler *c, int enabled) {
  if (!c)
    return invalid("kiln_compiler_set_lower_fused_ops", "compiler is NULL");
  c->options.lowerFusedOps = enabled != 0;
  return nullptr;
}

extern "C" kiln_compiler_status *
kiln_compiler_set_quantization(kiln_compiler *c, const char *mode,
                               int group_size, int zero_points,
                               const char *exclude) {
  const char *fn = "kiln_compiler_set_quantization";
  if (!c)
    return invalid(fn, "compiler is NULL");
  std::string m = mode ? mode : "";
  if (!m.empty() && m != "int8" && m != "int4")
    return invalid(fn, "mode '" + m + "' is not int8, int4 or NULL (none)");
  if (group_size != 32 && group_size != 64 && group_size != 128)
    return invalid(fn, "group_size " + std::to_string(group_size) +
                           " is not 32, 64 or 128");
  if (zero_points && m != "int4")
    return invalid(fn, "zero points apply to int4 only");
  std::string pattern = exclude ? exclude : "";
  std::string error;
  if (!pattern.empty() && !llvm::Regex(pattern).isValid(error))
    return invalid(fn, "exclude '" + pattern +
                           "' is not a regular expression: " + error);
  c->options.quantize = m;
  c->options.quantGroupSize = group_size;
  c->options.quantZeroPoints = zero_points != 0;
  c->options.quantExclude = pattern;
  return nullptr;
}

extern "C" kiln_compiler_status *kiln_compiler_set_dtype(kiln_compiler *c,
                                                         const char *dtype) {
  const char *fn = "kiln_compiler_set_dtype";
  if (!c)
    return invalid(fn, "compiler is NULL");
  std::string d = dtype ? dtype : "f32";
  if (d != "f32" && d != "bf16")
    return invalid(fn, "dtype '" + d + "' is not f32 or bf16");
  c->options.dtype = d;
  return nullptr;
}

extern "C" kiln_compiler_status *
kiln_compiler_add_input_shape(kiln_compiler *c, const char *name, int32_t rank,
                              const int64_t *dims) {
  const char *fn = "kiln_compiler_add_input_shape";
  if (!c)
    return invalid(fn, "compiler is NULL");
  if (!name || !*name)
    return invalid(fn, "name is NULL or empty");
  if (rank < 0 || rank > KILN_MAX_RANK)
    return invalid(fn, "rank " + std::to_string(rank) +
                           " is out of range [0, " +
                           std::to_string(KILN_MAX_RANK) + "]");
  if (rank > 0 && !dims)
    return invalid(fn, "dims is NULL");
  InputShape shape;
  shape.name = name;
  for (int32_t i = 0; i < rank; ++i) {
    // The same bound kiln-compile's --input-shape parser enforces.
    if (dims[i] < 0 || dims[i] > (int64_t(1) << 40))
      return invalid(fn, "dimension " + std::to_string(i) + " of '" +
                             shape.name + "' is " + std::to_string(dims[i]) +
                             ", out of range [0, 2^40]");
    shape.dims.push_back(dims[i]);
  }
  auto &shapes = c->options.inputShapes;
  auto it = std::find_if(shapes.begin(), shapes.end(),
                         [&](const auto &s) { return s.name == shape.name; });
  if (it != shapes.end())
    *it = std::move(shape);
  else
    shapes.push_back(std::move(shape));
  return nullptr;
}

extern "C" kiln_compiler_status *kiln_compiler_bind_input(kiln_compiler *c,
                                                          const char *name,
                                                          const char *npyPath) {
  const char *fn = "kiln_compiler_bind_input";
  if (!c)
    return invalid(fn, "compiler is NULL");
  if (!name || !*name)
    return invalid(fn, "name is NULL or empty");
  if (!npyPath || !*npyPath)
    return invalid(fn, "npy_path is NULL or empty");
  auto &bound = c->options.boundInputs;
  auto it = std::find_if(bound.begin(), bound.end(),
                         [&](const auto &b) { return b.first == name; });
  if (it != bound.end())
    it->second = npyPath;
  else
    bound.emplace_back(name, npyPath);
  return nullptr;
}

extern "C" void kiln_compiler_clear_inputs(kiln_compiler *c) {
  if (!c)
    return;
  c->options.inputShapes.clear();
  c->options.boundInputs.clear();
}

extern "C" const char *kiln_compiler_get_diagnostics(const kiln_compiler *c) {
  return c ? c->diagnostics.c_str() : "";
}
