//===- Compile.cpp - compiling and JIT-compiling through the C API --------===//
//
// Each compilation gets a fresh MLIR context, so sessions on separate threads
// never share one, and a JIT-compiled model can keep its context (which owns
// the weights) alive after the session is gone. The context's diagnostics
// are printed as kiln-compile prints them (FILE:LINE:COL: error: ...) into
// the session's diagnostic text, which becomes the message of a failure.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include "kiln/Compiler/Diagnostics.h"

#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <memory>
#include <optional>
#include <unistd.h>

using namespace mlir::kiln::capi;
using namespace mlir;

namespace {

/// One compilation: a context whose diagnostics are printed into the
/// session's diagnostic text while this object lives.
class Compilation {
public:
  explicit Compilation(kiln_compiler &session)
      : session(session), context(kiln::createContext()),
        stream(session.diagnostics), handler(sourceMgr, context.get(), stream) {
  }

  MLIRContext &getContext() { return *context; }
  std::shared_ptr<MLIRContext> shareContext() { return context; }

  /// A failure of `code`, with every diagnostic printed so far.
  kiln_compiler_status *fail(kiln_status_code code, llvm::StringRef what) {
    stream.flush();
    std::string message = llvm::StringRef(session.diagnostics).rtrim().str();
    if (message.empty())
      message = what.str() + " (the compiler gave no diagnostic)";
    return makeStatus(code, std::move(message));
  }

private:
  kiln_compiler &session;
  // Declared before the handler, which unregisters itself from the context
  // when destroyed; the context itself may live on in a JIT model.
  std::shared_ptr<MLIRContext> context;
  llvm::SourceMgr sourceMgr;
  llvm::raw_string_ostream stream;
  kiln::ModelDiagnosticHandler handler;
};

kiln_compiler_status *invalid(const char *fn, const std::string &what) {
  return makeStatus(KILN_INVALID_ARGUMENT, std::string(fn) + ": " + what);
}

/// An I/O error unless `path` names a readable regular file.
kiln_compiler_status *checkReadable(llvm::StringRef path,
                                    llvm::StringRef what) {
  llvm::sys::fs::file_status st;
  if (std::error_code ec = llvm::sys::fs::status(path, st))
    return makeStatus(KILN_IO_ERROR, "cannot open " + what.str() + " '" +
                                         path.str() + "': " + ec.message());
  if (llvm::sys::fs::is_directory(st))
    return makeStatus(KILN_IO_ERROR, "cannot open " + what.str() + " '" +
                                         path.str() + "': is a directory");
  int fd;
  if (std::error_code ec = llvm::sys::fs::openFileForRead(path, fd))
    return makeStatus(KILN_IO_ERROR, "cannot read " + what.str() + " '" +
                                         path.str() + "': " + ec.message());
  ::close(fd);
  return nullptr;
}

/// An I/O error unless `path`'s directory exists and is writable.
kiln_compiler_status *checkWritable(llvm::StringRef path) {
  if (path == "-")
    return nullptr;
  llvm::StringRef dir = llvm::sys::path::parent_path(path);
  if (dir.empty())
    dir = ".";
  if (!llvm::sys::fs::is_directory(dir))
    return makeStatus(KILN_IO_ERROR, "cannot write '" + path.str() +
                                         "': directory '" + dir.str() +
                                         "' does not exist");
  if (llvm::sys::fs::access(dir, llvm::sys::fs::AccessMode::Write))
    return makeStatus(KILN_IO_ERROR, "cannot write '" + path.str() +
                                         "': directory '" + dir.str() +
                                         "' is not writable");
  return nullptr;
}

/// Checks the session and the files its options name before compiling the
/// model called `name`.
kiln_compiler_status *prepare(const char *fn, kiln_compiler *c,
                              llvm::StringRef name) {
  if (!c)
    return invalid(fn, "compiler is NULL");
  c->diagnostics.clear();
  const auto &options = c->options;
  // The ONNX importer applies these; say so rather than ignore them.
  if ((!options.inputShapes.empty() || !options.boundInputs.empty()) &&
      !name.ends_with(".onnx"))
    return invalid(fn, "input shapes and bound inputs apply to ONNX models "
                       "only, and '" +
                           name.str() +
                           "' is not one (an MLIR model states its own "
                           "shapes and constants)");
  for (const auto &[input, path] : options.boundInputs)
    if (kiln_compiler_status *s =
            checkReadable(path, "the value bound to '" + input + "'"))
      return s;
  return nullptr;
}

/// JIT-compiles `module`, loaded in `comp`.
kiln_compiler_status *jit(kiln_compiler &c, Compilation &comp,
                          OwningOpRef<ModuleOp> module, kiln_model **out) {
  if (!module)
    return comp.fail(KILN_FORMAT_ERROR, "loading the model failed");
  FailureOr<kiln_model *> model =
      kiln::compileToJIT(*module, c.options, comp.shareContext());
  if (failed(model))
    return comp.fail(KILN_UNSUPPORTED, "compiling the model failed");
  *out = *model;
  return nullptr;
}

} // namespace

extern "C" kiln_compiler_status *
kiln_compiler_compile_file(kiln_compiler *c, const char *modelPath,
                           const char *outputPath, const char *emit) {
  const char *fn = "kiln_compiler_compile_file";
  if (!modelPath)
    return invalid(fn, "model_path is NULL");
  if (!outputPath || !*outputPath)
    return invalid(fn, "output_path is NULL or empty");
  std::optional<kiln::EmitKind> kind = kiln::parseEmitKind(emit ? emit : "so");
  if (!kind)
    return invalid(fn, "unknown emit kind '" + std::string(emit) +
                           "' (kiln, linalg, kernels, codegen, bufferized, "
                           "llvm, llvm-ir, obj, so)");
  if (kiln_compiler_status *s = prepare(fn, c, modelPath))
    return s;
  if (kiln_compiler_status *s = checkReadable(modelPath, "model"))
    return s;
  if (kiln_compiler_status *s = checkWritable(outputPath))
    return s;
  Compilation comp(*c);
  OwningOpRef<ModuleOp> module =
      kiln::loadModel(comp.getContext(), modelPath, c->options);
  if (!module)
    return comp.fail(KILN_FORMAT_ERROR, "loading the model failed");
  if (failed(kiln::compileToFile(*module, *kind, c->options, outputPath)))
    return comp.fail(KILN_UNSUPPORTED, "compiling the model failed");
  return nullptr;
}

extern "C" kiln_compiler_status *kiln_compiler_jit_file(kiln_compiler *c,
                                                        const char *modelPath,
                                                        kiln_model **out) {
  const char *fn = "kiln_compiler_jit_file";
  if (!out)
    return invalid(fn, "out is NULL");
  *out = nullptr;
  if (!modelPath)
    return invalid(fn, "model_path is NULL");
  if (kiln_compiler_status *s = prepare(fn, c, modelPath))
    return s;
  if (kiln_compiler_status *s = checkReadable(modelPath, "model"))
    return s;
  Compilation comp(*c);
  return jit(*c, comp,
             kiln::loadModel(comp.getContext(), modelPath, c->options), out);
}

extern "C" kiln_compiler_status *
kiln_compiler_jit_buffer(kiln_compiler *c, const void *data, size_t size,
                         const char *name, kiln_model **out) {
  const char *fn = "kiln_compiler_jit_buffer";
  if (!out)
    return invalid(fn, "out is NULL");
  *out = nullptr;
  if (!data && size)
    return invalid(fn, "data is NULL");
  if (!name || !*name)
    return invalid(fn, "name is NULL or empty (give a file name such as "
                       "\"model.onnx\": its extension selects the format)");
  if (kiln_compiler_status *s = prepare(fn, c, name))
    return s;
  Compilation comp(*c);
  llvm::StringRef bytes(static_cast<const char *>(data), data ? size : 0);
  return jit(
      *c, comp,
      kiln::loadModelFromBuffer(comp.getContext(), bytes, name, c->options),
      out);
}
