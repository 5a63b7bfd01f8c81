//===- model.cpp - loading and running kiln models ------------------------===//
//
// An artifact is a shared library exporting `kiln_artifact_metadata` (text
// describing the entry points) and `kiln_entry_<name>` functions, followed in
// the same file by its weights (see docs/artifact.md):
//
//   [ELF shared object][weights, each 64-byte aligned][table][footer]
//   table:  u64 count, then count x (u64 offset, u64 size), offsets from the
//           start of the file
//   footer: "KILNWTS1", u64 table offset, u64 table size, u64 weights offset
//
// The weights are mapped read-only, never copied.
//
//===----------------------------------------------------------------------===//

#include "internal.h"

#include "cuda/driver.h"

#include <cerrno>
#include <cstring>
#include <dlfcn.h>
#include <fcntl.h>
#include <memory>
#include <mutex>
#include <new>
#include <sstream>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

using namespace kiln::rt;

namespace {

struct TensorSpec {
  std::string name;
  kiln_dtype dtype;
  std::vector<int64_t> shape;
  size_t bytes;
};

struct Entry {
  std::string name;
  kiln_entry_fn fn = nullptr;
  int64_t workspaceBytes = 0;
  std::vector<TensorSpec> inputs, outputs;
  // The entry point's own workspace; a concurrent run takes a fresh one.
  std::mutex workspaceMutex;
  void *workspace = nullptr;
  ~Entry() { kiln_free(workspace); }
};

struct Metadata {
  std::string target = "cpu";
  int64_t numWeights = 0;
  std::vector<uint64_t> weightBytes;
  std::vector<std::unique_ptr<Entry>> entries;
};

constexpr int64_t kMaxCount = 1 << 20;
constexpr char kFooterMagic[8] = {'K', 'I', 'L', 'N', 'W', 'T', 'S', '1'};

/// Parses artifact metadata; on error returns a status naming the line.
kiln_status *parseMetadata(const char *text, Metadata &md) {
  std::istringstream in(text);
  std::string line;
  int lineNo = 0;
  auto bad = [&](const char *what) {
    return error(KILN_FORMAT_ERROR, "artifact metadata line %d: %s: '%.200s'",
                 lineNo, what, line.c_str());
  };
  Entry *entry = nullptr;
  size_t expectIn = 0, expectOut = 0;
  bool sawHeader = false, sawEnd = false;
  while (std::getline(in, line)) {
    ++lineNo;
    std::istringstream ls(line);
    std::string kw;
    if (!(ls >> kw))
      continue;
    if (sawEnd)
      return bad("text after 'end'");
    if (!sawHeader) {
      int version = 0;
      if (kw != "kiln-artifact" || !(ls >> version))
        return bad("expected 'kiln-artifact <version>'");
      if (version != KILN_RUNTIME_ABI_VERSION)
        return error(KILN_UNSUPPORTED,
                     "artifact format version %d; this runtime reads %d",
                     version, KILN_RUNTIME_ABI_VERSION);
      sawHeader = true;
      continue;
    }
    if (kw == "target") {
      // Optional; before the entries. "cpu" when absent.
      if (!(ls >> md.target) || !md.entries.empty())
        return bad("expected 'target <name>' before the entries");
      if (md.target != "cpu" && md.target != "cuda")
        return error(KILN_UNSUPPORTED,
                     "the artifact targets '%.64s'; this runtime runs 'cpu' "
                     "and 'cuda' artifacts",
                     md.target.c_str());
    } else if (kw == "weights") {
      if (!(ls >> md.numWeights) || md.numWeights < 0 ||
          md.numWeights > kMaxCount)
        return bad("bad weight count");
    } else if (kw == "weight") {
      int64_t index;
      uint64_t bytes;
      if (!(ls >> index >> bytes) ||
          index != static_cast<int64_t>(md.weightBytes.size()) ||
          index >= md.numWeights)
        return bad("bad weight line");
      md.weightBytes.push_back(bytes);
    } else if (kw == "entry") {
      if (entry && (entry->inputs.size() != expectIn ||
                    entry->outputs.size() != expectOut))
        return bad("previous entry has the wrong number of inputs or outputs");
      auto e = std::make_unique<Entry>();
      int64_t nIn, nOut;
      if (!(ls >> e->name >> e->workspaceBytes >> nIn >> nOut) ||
          e->workspaceBytes < 0 || nIn < 0 || nOut < 0 || nIn > kMaxCount ||
          nOut > kMaxCount)
        return bad("expected 'entry <name> <workspace> <inputs> <outputs>'");
      expectIn = nIn;
      expectOut = nOut;
      entry = e.get();
      md.entries.push_back(std::move(e));
      if (md.entries.size() > kMaxCount)
        return bad("too many entry points");
    } else if (kw == "input" || kw == "output") {
      if (!entry)
        return bad("tensor outside an entry");
      TensorSpec spec;
      std::string dtype;
      int64_t rank;
      if (!(ls >> spec.name >> dtype >> rank) || rank < 0 ||
          rank > KILN_MAX_RANK)
        return bad("expected '<name> <dtype> <rank> <dims...>'");
      if (!parseDtype(dtype, &spec.dtype))
        return bad("unknown dtype");
      for (int64_t i = 0; i < rank; ++i) {
        int64_t d;
        if (!(ls >> d) || d < 0)
          return bad("bad dimension");
        spec.shape.push_back(d);
      }
      int64_t n = kiln_num_elements(rank, spec.shape.data());
      int64_t bytes;
      if (n < 0 || mulOverflow(n, kiln_dtype_size(spec.dtype), &bytes))
        return bad("tensor too large");
      spec.bytes = bytes;
      auto &list = kw == "input" ? entry->inputs : entry->outputs;
      list.push_back(std::move(spec));
      if ((kw == "input" && list.size() > expectIn) ||
          (kw == "output" && list.size() > expectOut))
        return bad("more tensors than the entry declares");
    } else if (kw == "end") {
      sawEnd = true;
    } else {
      return bad("unknown keyword");
    }
  }
  if (!sawHeader || !sawEnd)
    return error(KILN_FORMAT_ERROR, "artifact metadata is truncated");
  if (entry &&
      (entry->inputs.size() != expectIn || entry->outputs.size() != expectOut))
    return error(KILN_FORMAT_ERROR,
                 "artifact metadata: entry '%s' lists the wrong number of "
                 "tensors",
                 entry->name.c_str());
  if (md.entries.empty())
    return error(KILN_FORMAT_ERROR, "artifact has no entry points");
  if (static_cast<int64_t>(md.weightBytes.size()) != md.numWeights)
    return error(KILN_FORMAT_ERROR,
                 "artifact metadata lists %zu weight sizes for %lld weights",
                 md.weightBytes.size(), (long long)md.numWeights);
  return nullptr;
}

} // namespace

struct kiln_model {
  Metadata md;
  std::vector<void *> weights;
  void *dl = nullptr;
  void *map = nullptr;
  size_t mapSize = 0;
  void *owner = nullptr;
  void (*release)(void *) = nullptr;

  ~kiln_model() {
    md.entries.clear();
    if (map)
      munmap(map, mapSize);
    if (dl) {
      // A CUDA artifact's destructors (module unload, weight frees) run in
      // dlclose: what they fail at is not printed but dropped, since
      // kiln_model_free has no status to return and the memory is released
      // whatever the driver says.
      cuda::ErrorScope cudaErrors;
      dlclose(dl);
      kiln_status_free(cudaErrors.take());
    }
    if (release)
      release(owner);
  }
};

namespace {

/// Maps the weights appended to the artifact at `path`.
kiln_status *mapWeights(const char *path, kiln_model &model) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return error(KILN_IO_ERROR, "cannot open '%s': %s", path, strerror(errno));
  struct Closer {
    int fd;
    ~Closer() { close(fd); }
  } closer{fd};
  struct stat st;
  if (fstat(fd, &st) != 0)
    return error(KILN_IO_ERROR, "cannot stat '%s': %s", path, strerror(errno));
  uint64_t fileSize = st.st_size;
  int64_t n = model.md.numWeights;
  if (fileSize < 32) {
    if (n == 0)
      return nullptr;
    return error(KILN_FORMAT_ERROR, "'%s' has no weights section", path);
  }
  unsigned char footer[32];
  if (pread(fd, footer, 32, fileSize - 32) != 32)
    return error(KILN_IO_ERROR, "cannot read '%s'", path);
  if (memcmp(footer, kFooterMagic, 8) != 0) {
    if (n == 0)
      return nullptr;
    return error(KILN_FORMAT_ERROR,
                 "'%s' lacks its weights (the file was truncated or stripped)",
                 path);
  }
  uint64_t tableOffset, tableSize, blobOffset;
  memcpy(&tableOffset, footer + 8, 8);
  memcpy(&tableSize, footer + 16, 8);
  memcpy(&blobOffset, footer + 24, 8);
  uint64_t limit = fileSize - 32;
  if (tableOffset > limit || tableSize > limit - tableOffset ||
      blobOffset > tableOffset || blobOffset % 4096 != 0 || tableSize < 8 ||
      (tableSize - 8) % 16 != 0)
    return error(KILN_FORMAT_ERROR, "'%s': corrupt weights footer", path);
  uint64_t count;
  if (pread(fd, &count, 8, tableOffset) != 8)
    return error(KILN_IO_ERROR, "cannot read '%s'", path);
  if (count != static_cast<uint64_t>(n) || count != (tableSize - 8) / 16)
    return error(KILN_FORMAT_ERROR,
                 "'%s' holds %llu weights; its code expects %lld", path,
                 (unsigned long long)count, (long long)n);
  std::vector<uint64_t> table(2 * count);
  if (count && pread(fd, table.data(), 16 * count, tableOffset + 8) !=
                   static_cast<ssize_t>(16 * count))
    return error(KILN_IO_ERROR, "cannot read '%s'", path);
  size_t blobSize = tableOffset - blobOffset;
  void *base = nullptr;
  if (blobSize > 0) {
    base = mmap(nullptr, blobSize, PROT_READ, MAP_PRIVATE, fd, blobOffset);
    if (base == MAP_FAILED)
      return error(KILN_IO_ERROR, "cannot map the weights of '%s': %s", path,
                   strerror(errno));
    model.map = base;
    model.mapSize = blobSize;
  }
  for (uint64_t i = 0; i < count; ++i) {
    uint64_t off = table[2 * i], size = table[2 * i + 1];
    if (off < blobOffset || off > tableOffset || size > tableOffset - off ||
        off % 64 != 0 || size != model.md.weightBytes[i])
      return error(KILN_FORMAT_ERROR,
                   "'%s': weight %llu lies outside its section or has the "
                   "wrong size",
                   path, (unsigned long long)i);
    model.weights.push_back(static_cast<char *>(base) + (off - blobOffset));
  }
  return nullptr;
}

} // namespace

extern "C" kiln_status *kiln_model_load(const char *path, kiln_model **out) {
  if (!out)
    return error(KILN_INVALID_ARGUMENT, "kiln_model_load: out is NULL");
  *out = nullptr;
  if (!path)
    return error(KILN_INVALID_ARGUMENT, "kiln_model_load: path is NULL");
  if (access(path, R_OK) != 0)
    return error(KILN_IO_ERROR, "cannot read '%s': %s", path, strerror(errno));
  std::unique_ptr<kiln_model> model(new (std::nothrow) kiln_model());
  if (!model)
    return error(KILN_OUT_OF_MEMORY, "out of memory");
  // dlopen needs a path with a slash to skip the library search path.
  std::string p = strchr(path, '/') ? path : std::string("./") + path;
  // A CUDA artifact loads its GPU modules from constructors that run in
  // dlopen (mgpuModuleLoad): collect their first error.
  cuda::ErrorScope cudaErrors;
  model->dl = dlopen(p.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (kiln_status *s = cudaErrors.take()) {
    kiln_status *e = error(kiln_status_get_code(s), "'%s': %s", path,
                           kiln_status_get_message(s));
    kiln_status_free(s);
    return e;
  }
  if (!model->dl) {
    const char *msg = dlerror();
    return error(KILN_FORMAT_ERROR, "'%s' is not a loadable artifact: %s", path,
                 msg ? msg : "dlopen failed");
  }
  auto *meta =
      static_cast<const char *>(dlsym(model->dl, "kiln_artifact_metadata"));
  if (!meta)
    return error(KILN_FORMAT_ERROR,
                 "'%s' is not a kiln artifact (no kiln_artifact_metadata)",
                 path);
  // Bound the metadata so a corrupt library cannot make us read forever.
  size_t len = strnlen(meta, 1 << 24);
  if (len == (1 << 24))
    return error(KILN_FORMAT_ERROR, "'%s': metadata is not terminated", path);
  if (kiln_status *s = parseMetadata(meta, model->md))
    return s;
  if (model->md.target == "cuda")
    if (kiln_status *s = kiln_cuda_init(nullptr)) {
      kiln_status *e =
          error(kiln_status_get_code(s), "'%s' was compiled for CUDA: %s", path,
                kiln_status_get_message(s));
      kiln_status_free(s);
      return e;
    }
  for (auto &e : model->md.entries) {
    std::string sym = "kiln_entry_" + e->name;
    e->fn = reinterpret_cast<kiln_entry_fn>(dlsym(model->dl, sym.c_str()));
    if (!e->fn)
      return error(KILN_FORMAT_ERROR, "'%s' lacks the function %s", path,
                   sym.c_str());
  }
  if (kiln_status *s = mapWeights(path, *model))
    return s;
  *out = model.release();
  return nullptr;
}

extern "C" kiln_status *
kiln_model_create(const char *metadata, kiln_entry_resolver resolve, void *user,
                  void *const *weights, int64_t numWeights, void *owner,
                  void (*release)(void *), kiln_model **out) {
  if (!out)
    return error(KILN_INVALID_ARGUMENT, "kiln_model_create: out is NULL");
  *out = nullptr;
  if (!metadata || !resolve || numWeights < 0 || (numWeights && !weights))
    return error(KILN_INVALID_ARGUMENT, "kiln_model_create: bad arguments");
  std::unique_ptr<kiln_model> model(new (std::nothrow) kiln_model());
  if (!model)
    return error(KILN_OUT_OF_MEMORY, "out of memory");
  if (kiln_status *s = parseMetadata(metadata, model->md))
    return s;
  if (model->md.numWeights != numWeights)
    return error(KILN_INVALID_ARGUMENT,
                 "kiln_model_create: %lld weights given, %lld expected",
                 (long long)numWeights, (long long)model->md.numWeights);
  model->weights.assign(weights, weights + numWeights);
  for (auto &e : model->md.entries) {
    std::string sym = "kiln_entry_" + e->name;
    e->fn = resolve(user, sym.c_str());
    if (!e->fn)
      return error(KILN_INVALID_ARGUMENT, "kiln_model_create: no function %s",
                   sym.c_str());
  }
  model->owner = owner;
  model->release = release;
  *out = model.release();
  return nullptr;
}

extern "C" void kiln_model_free(kiln_model *model) { delete model; }

extern "C" const char *kiln_model_target(const kiln_model *model) {
  return model ? model->md.target.c_str() : nullptr;
}

namespace {
Entry *getEntry(const kiln_model *model, int entry) {
  if (!model || entry < 0 ||
      entry >= static_cast<int>(model->md.entries.size()))
    return nullptr;
  return model->md.entries[entry].get();
}

kiln_status *describe(const kiln_model *model, int entry, int index, bool input,
                      const char **name, kiln_tensor *info) {
  Entry *e = getEntry(model, entry);
  if (!e)
    return error(KILN_INVALID_ARGUMENT, "no entry point %d", entry);
  auto &list = input ? e->inputs : e->outputs;
  if (index < 0 || index >= static_cast<int>(list.size()))
    return error(KILN_INVALID_ARGUMENT, "entry point '%s' has no %s %d",
                 e->name.c_str(), input ? "input" : "output", index);
  const TensorSpec &s = list[index];
  if (name)
    *name = s.name.c_str();
  if (info) {
    memset(info, 0, sizeof(*info));
    info->dtype = s.dtype;
    info->rank = s.shape.size();
    std::copy(s.shape.begin(), s.shape.end(), info->shape);
    info->size_bytes = s.bytes;
  }
  return nullptr;
}
} // namespace

extern "C" int kiln_model_num_entries(const kiln_model *model) {
  return model ? model->md.entries.size() : 0;
}
extern "C" const char *kiln_model_entry_name(const kiln_model *model, int i) {
  Entry *e = getEntry(model, i);
  return e ? e->name.c_str() : nullptr;
}
extern "C" int kiln_model_find_entry(const kiln_model *model,
                                     const char *name) {
  if (!model || !name)
    return -1;
  for (size_t i = 0; i < model->md.entries.size(); ++i)
    if (model->md.entries[i]->name == name)
      return i;
  return -1;
}
extern "C" int kiln_model_num_inputs(const kiln_model *model, int entry) {
  Entry *e = getEntry(model, entry);
  return e ? e->inputs.size() : -1;
}
extern "C" int kiln_model_num_outputs(const kiln_model *model, int entry) {
  Entry *e = getEntry(model, entry);
  return e ? e->outputs.size() : -1;
}
extern "C" int64_t kiln_model_workspace_bytes(const kiln_model *model,
                                              int entry) {
  Entry *e = getEntry(model, entry);
  return e ? e->workspaceBytes : -1;
}
extern "C" kiln_status *kiln_model_input_info(const kiln_model *model,
                                              int entry, int index,
                                              const char **name,
                                              kiln_tensor *info) {
  return describe(model, entry, index, true, name, info);
}
extern "C" kiln_status *kiln_model_output_info(const kiln_model *model,
                                               int entry, int index,
                                               const char **name,
                                               kiln_tensor *info) {
  return describe(model, entry, index, false, name, info);
}

namespace {
std::string shapeStr(int32_t rank, const int64_t *shape) {
  std::string s = "[";
  for (int32_t i = 0; i < rank; ++i)
    s += (i ? "x" : "") + std::to_string(shape[i]);
  return s + "]";
}

kiln_status *check(const Entry &e, const TensorSpec &spec, const kiln_tensor &t,
                   const char *kind, int index, bool allowNullData) {
  if (t.dtype != spec.dtype)
    return error(KILN_INVALID_ARGUMENT, "%s: %s %d ('%s') must be %s, got %s",
                 e.name.c_str(), kind, index, spec.name.c_str(),
                 kiln_dtype_name(spec.dtype), kiln_dtype_name(t.dtype));
  bool sameShape = t.rank == static_cast<int32_t>(spec.shape.size());
  for (int32_t i = 0; sameShape && i < t.rank; ++i)
    sameShape = t.shape[i] == spec.shape[i];
  if (t.rank < 0 || t.rank > KILN_MAX_RANK)
    return error(KILN_INVALID_ARGUMENT, "%s: %s %d ('%s') has rank %d",
                 e.name.c_str(), kind, index, spec.name.c_str(), t.rank);
  if (!sameShape)
    return error(KILN_INVALID_ARGUMENT,
                 "%s: %s %d ('%s') must have shape %s, got %s", e.name.c_str(),
                 kind, index, spec.name.c_str(),
                 shapeStr(spec.shape.size(), spec.shape.data()).c_str(),
                 shapeStr(t.rank, t.shape).c_str());
  if (!t.data && !(allowNullData || spec.bytes == 0))
    return error(KILN_INVALID_ARGUMENT, "%s: %s %d ('%s') has no data",
                 e.name.c_str(), kind, index, spec.name.c_str());
  if (t.data && t.size_bytes < spec.bytes)
    return error(KILN_INVALID_ARGUMENT,
                 "%s: %s %d ('%s') holds %zu bytes, needs %zu", e.name.c_str(),
                 kind, index, spec.name.c_str(), t.size_bytes, spec.bytes);
  return nullptr;
}
} // namespace

extern "C" kiln_status *kiln_model_run(kiln_model *model, kiln_context *context,
                                       int entry, const kiln_tensor *inputs,
                                       int numInputs, kiln_tensor *outputs,
                                       int numOutputs) {
  Entry *e = getEntry(model, entry);
  if (!e)
    return error(KILN_INVALID_ARGUMENT, "kiln_model_run: no entry point %d",
                 entry);
  if (numInputs != static_cast<int>(e->inputs.size()) ||
      numOutputs != static_cast<int>(e->outputs.size()))
    return error(KILN_INVALID_ARGUMENT,
                 "%s takes %zu inputs and %zu outputs, got %d and %d",
                 e->name.c_str(), e->inputs.size(), e->outputs.size(),
                 numInputs, numOutputs);
  if ((numInputs && !inputs) || (numOutputs && !outputs))
    return error(KILN_INVALID_ARGUMENT, "kiln_model_run: NULL tensor array");
  for (int i = 0; i < numInputs; ++i)
    if (kiln_status *s = check(*e, e->inputs[i], inputs[i], "input", i, false))
      return s;
  for (int i = 0; i < numOutputs; ++i)
    if (kiln_status *s =
            check(*e, e->outputs[i], outputs[i], "output", i, true))
      return s;

  std::vector<void *> buffers(numInputs + numOutputs);
  std::vector<int> allocated;
  auto cleanup = [&] {
    for (int i : allocated) {
      kiln_free(outputs[i].data);
      outputs[i].data = nullptr;
      outputs[i].size_bytes = 0;
    }
  };
  for (int i = 0; i < numInputs; ++i)
    buffers[i] = inputs[i].data;
  for (int i = 0; i < numOutputs; ++i) {
    if (!outputs[i].data) {
      outputs[i].data = alignedAlloc(e->outputs[i].bytes);
      if (!outputs[i].data) {
        cleanup();
        return error(KILN_OUT_OF_MEMORY, "%s: cannot allocate output %d",
                     e->name.c_str(), i);
      }
      outputs[i].size_bytes = e->outputs[i].bytes;
      allocated.push_back(i);
    }
    buffers[numInputs + i] = outputs[i].data;
  }

  // The entry's workspace, or a private one when another run holds it.
  std::unique_lock<std::mutex> lock(e->workspaceMutex, std::try_to_lock);
  void *workspace = nullptr;
  bool ownWorkspace = false;
  if (lock.owns_lock()) {
    if (!e->workspace)
      e->workspace = alignedAlloc(e->workspaceBytes);
    workspace = e->workspace;
  } else {
    workspace = alignedAlloc(e->workspaceBytes);
    ownWorkspace = true;
  }
  if (!workspace) {
    cleanup();
    return error(KILN_OUT_OF_MEMORY, "%s: cannot allocate %lld workspace bytes",
                 e->name.c_str(), (long long)e->workspaceBytes);
  }
  kiln_context *saved = currentContext();
  setCurrentContext(context);
  // The first error of the mgpu* calls the entry makes (CUDA models).
  cuda::ErrorScope cudaErrors;
  e->fn(buffers.data(), model->weights.data(), workspace);
  kiln_status *cudaError = cudaErrors.take();
  setCurrentContext(saved);
  if (ownWorkspace)
    kiln_free(workspace);
  if (cudaError) {
    cleanup();
    kiln_status *s = error(kiln_status_get_code(cudaError), "%s: %s",
                           e->name.c_str(), kiln_status_get_message(cudaError));
    kiln_status_free(cudaError);
    return s;
  }
  return nullptr;
}

kiln_status *kiln::rt::checkArtifactParts(const char *metadata,
                                          const char *path) {
  std::unique_ptr<kiln_model> model(new (std::nothrow) kiln_model());
  if (!model)
    return error(KILN_OUT_OF_MEMORY, "out of memory");
  if (kiln_status *s = parseMetadata(metadata, model->md))
    return s;
  return mapWeights(path, *model);
}
