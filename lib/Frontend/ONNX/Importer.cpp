//===- Importer.cpp - ONNX models to the kiln dialect ---------------------===//
//
// Walks the graph in its (topological) order, building kiln ops. Values whose
// contents are known at import time (initializers, Constant nodes, and
// everything computed only from them: the shape subgraphs of exported models)
// fold through the kiln dialect's folders as they are built, so Shape ->
// Gather -> Concat -> Reshape chains leave only the final static reshape.
//
//===----------------------------------------------------------------------===//

#include "ImporterImpl.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>

#include <cmath>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace mlir::kiln::onnx {

/// Limits checked before anything is allocated from a model's numbers.
constexpr int64_t kMaxRank = 16;
constexpr int64_t kMaxElements = int64_t(1) << 40;

class Importer {
public:
  Importer(MLIRContext &ctx, StringRef path, const ImportOptions &options)
      : ctx(ctx), builder(&ctx), path(path.str()), options(options) {}

  OwningOpRef<ModuleOp> run(StringRef bytes);

  MLIRContext &ctx;
  OpBuilder builder;
  std::string path;
  const ImportOptions &options;
  llvm::StringMap<Value> values;
  ConverterMap converters;
  OwningOpRef<ModuleOp> module;

  Location fileLoc() { return FileLineColLoc::get(&ctx, path, 0, 0); }
  InFlightDiagnostic error() { return emitError(fileLoc()); }

  FailureOr<Attribute> tensorAttr(const ::onnx::TensorProto &t, StringRef what);

private:
  FailureOr<RankedTensorType> typeOf(const ::onnx::ValueInfoProto &info);
  /// A tensor's bytes in an external-data file, mapped; the mapping lives as
  /// long as the returned owner (and its copies).
  struct Mapped {
    ArrayRef<char> data;
    std::shared_ptr<void> owner;
  };
  FailureOr<Mapped> externalData(const ::onnx::TensorProto &t, int64_t bytes,
                                 StringRef what);
  LogicalResult importGraph(const ::onnx::ModelProto &model, func::FuncOp &fn);
};

} // namespace mlir::kiln::onnx

//===----------------------------------------------------------------------===//
// Types and tensors
//===----------------------------------------------------------------------===//

Type mlir::kiln::onnx::elementTypeOf(MLIRContext *ctx, int32_t t) {
  using TP = ::onnx::TensorProto;
  Builder b(ctx);
  switch (t) {
  case TP::FLOAT:
    return b.getF32Type();
  case TP::FLOAT16:
    return b.getF16Type();
  case TP::BFLOAT16:
    return b.getBF16Type();
  case TP::DOUBLE:
    return b.getF64Type();
  case TP::INT64:
    return b.getI64Type();
  case TP::INT32:
    return b.getI32Type();
  case TP::INT16:
    return b.getI16Type();
  case TP::INT8:
    return b.getI8Type();
  case TP::UINT8:
    return IntegerType::get(ctx, 8, IntegerType::Unsigned);
  case TP::BOOL:
    return b.getI1Type();
  default:
    return {};
  }
}

static std::string onnxTypeName(int32_t t) {
  return ::onnx::TensorProto::DataType_IsValid(t)
             ? ::onnx::TensorProto::DataType_Name(
                   static_cast<::onnx::TensorProto::DataType>(t))
             : "type " + std::to_string(t);
}

/// Bytes per element of `t` in an ONNX raw_data buffer (bool: 1).
static int64_t byteWidth(Type t) {
  if (t.isInteger(1))
    return 1;
  return (t.getIntOrFloatBitWidth() + 7) / 8;
}

FailureOr<RankedTensorType>
Importer::typeOf(const ::onnx::ValueInfoProto &info) {
  const std::string &name = info.name();
  if (!info.type().has_tensor_type())
    return error() << "graph value '" << name
                   << "' is not a tensor (sequences, maps and optionals are "
                      "not supported)";
  const auto &tt = info.type().tensor_type();
  Type et = elementTypeOf(&ctx, tt.elem_type());
  if (!et)
    return error() << "graph value '" << name << "' has element type "
                   << onnxTypeName(tt.elem_type())
                   << ", which kiln does not support";
  for (const auto &[n, dims] : options.inputShapes)
    if (n == name)
      return RankedTensorType::get(dims, et);
  if (!tt.has_shape())
    return error() << "graph value '" << name
                   << "' has no shape; give one with --input-shape " << name
                   << "=DIMS";
  if (tt.shape().dim_size() > kMaxRank)
    return error() << "graph value '" << name << "' has rank "
                   << tt.shape().dim_size() << " (at most " << kMaxRank << ")";
  SmallVector<int64_t> shape;
  for (auto [i, d] : llvm::enumerate(tt.shape().dim())) {
    if (!d.has_dim_value() || d.dim_value() < 0) {
      auto diag = error() << "input '" << name << "' has a dynamic dimension "
                          << i;
      if (d.has_dim_param())
        diag << " ('" << d.dim_param() << "')";
      diag << "; fix it with --input-shape " << name << "=DIMS";
      return diag;
    }
    shape.push_back(d.dim_value());
  }
  return RankedTensorType::get(shape, et);
}

/// A resource name for a weight: printable and unique enough (the blob
/// manager makes it unique).
static std::string resourceName(StringRef name) {
  std::string r;
  for (char c : name)
    r.push_back(isalnum(static_cast<unsigned char>(c)) || c == '_' ? c : '_');
  if (r.empty() || isdigit(static_cast<unsigned char>(r[0])))
    r = "w_" + r;
  return r;
}

FailureOr<Importer::Mapped> Importer::externalData(const ::onnx::TensorProto &t,
                                                   int64_t bytes,
                                                   StringRef what) {
  std::string location;
  int64_t offset = 0, length = -1;
  for (const auto &kv : t.external_data()) {
    if (kv.key() == "location")
      location = kv.value();
    else if (kv.key() == "offset" || kv.key() == "length") {
      int64_t v;
      if (StringRef(kv.value()).getAsInteger(10, v) || v < 0)
        return error() << what << ": bad external-data " << kv.key() << " '"
                       << kv.value() << "'";
      (kv.key() == "offset" ? offset : length) = v;
    }
  }
  if (location.empty() || llvm::sys::path::is_absolute(location) ||
      StringRef(location).contains(".."))
    return error() << what << ": external data location '" << location
                   << "' must be a relative path inside the model's folder";
  if (length >= 0 && length != bytes)
    return error() << what << ": external data holds " << length
                   << " bytes, the tensor needs " << bytes;
  SmallString<256> file(llvm::sys::path::parent_path(path));
  llvm::sys::path::append(file, location);
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return error() << what << ": cannot open external data '" << file
                   << "': " << strerror(errno);
  struct stat st;
  if (fstat(fd, &st) != 0 || offset > st.st_size ||
      bytes > st.st_size - offset) {
    ::close(fd);
    return error() << what << ": external data '" << file
                   << "' is shorter than offset " << offset << " + " << bytes
                   << " bytes";
  }
  // Map the pages holding the tensor; the blob keeps the mapping alive.
  int64_t page = sysconf(_SC_PAGESIZE);
  int64_t start = offset / page * page;
  size_t mapLen = offset - start + bytes;
  void *base = mapLen ? mmap(nullptr, mapLen, PROT_READ, MAP_PRIVATE, fd, start)
                      : nullptr;
  ::close(fd);
  if (base == MAP_FAILED)
    return error() << what << ": cannot map '" << file
                   << "': " << strerror(errno);
  std::shared_ptr<void> owner(base, [mapLen](void *p) {
    if (p)
      munmap(p, mapLen);
  });
  return Mapped{
      ArrayRef<char>(static_cast<char *>(base) + (offset - start), bytes),
      owner};
}

FailureOr<Attribute> Importer::tensorAttr(const ::onnx::TensorProto &t,
                                          StringRef what) {
  Type et = elementTypeOf(&ctx, t.data_type());
  if (!et)
    return error() << what << " has element type "
                   << onnxTypeName(t.data_type())
                   << ", which kiln does not support";
  if (t.dims_size() > kMaxRank)
    return error() << what << " has rank " << t.dims_size();
  SmallVector<int64_t> shape;
  int64_t n = 1;
  for (int64_t d : t.dims()) {
    if (d < 0 || __builtin_mul_overflow(n, d, &n) || n > kMaxElements)
      return error() << what << " has an invalid shape";
    shape.push_back(d);
  }
  auto type = RankedTensorType::get(shape, et);
  int64_t width = byteWidth(et), bytes = n * width;

  // The raw bytes, from wherever the proto keeps them.
  std::string packed;
  ArrayRef<char> raw;
  std::shared_ptr<void> mapping;
  using TP = ::onnx::TensorProto;
  if (t.data_location() == TP::EXTERNAL) {
    FailureOr<Mapped> ext = externalData(t, bytes, what);
    if (failed(ext))
      return failure();
    raw = ext->data;
    mapping = ext->owner;
  } else if (t.has_raw_data()) {
    raw = ArrayRef<char>(t.raw_data().data(), t.raw_data().size());
  } else {
    // Typed fields: floats, doubles and 64-bit ints as such; everything
    // narrower (int8/16/32, uint8, bool, float16, bfloat16) in int32_data.
    auto put = [&](auto v, int w) {
      packed.append(reinterpret_cast<const char *>(&v), w);
    };
    if (t.data_type() == TP::FLOAT)
      for (float v : t.float_data())
        put(v, 4);
    else if (t.data_type() == TP::DOUBLE)
      for (double v : t.double_data())
        put(v, 8);
    else if (t.data_type() == TP::INT64)
      for (int64_t v : t.int64_data())
        put(v, 8);
    else
      for (int32_t v : t.int32_data())
        put(v, width);
    raw = ArrayRef<char>(packed.data(), packed.size());
  }
  if ((int64_t)raw.size() != bytes)
    return error() << what << " holds " << raw.size() << " bytes of data; its "
                   << type << " needs " << bytes;

  if (n <= options.maxInlineElements) {
    if (et.isInteger(1)) {
      SmallVector<bool> bits;
      for (char c : raw)
        bits.push_back(c != 0);
      return Attribute(DenseElementsAttr::get(type, bits));
    }
    bool splat = false;
    if (!DenseElementsAttr::isValidRawBuffer(type, raw, splat))
      return error() << what << ": malformed data";
    return Attribute(DenseElementsAttr::getFromRawBuffer(type, raw));
  }
  // Weights: a resource blob. Mapped external data is used in place;
  // in-proto data is copied once (the proto goes away after the import).
  AsmResourceBlob blob;
  if (mapping && reinterpret_cast<uintptr_t>(raw.data()) % width == 0)
    blob = UnmanagedAsmResourceBlob::allocateWithAlign(
        raw, width, [mapping](void *, size_t, size_t) {});
  else
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, 64);
  return Attribute(DenseResourceElementsAttr::get(type, resourceName(t.name()),
                                                  std::move(blob)));
}

//===----------------------------------------------------------------------===//
// The graph
//===----------------------------------------------------------------------===//

static int64_t defaultOpset(const ::onnx::ModelProto &model) {
  for (const auto &o : model.opset_import())
    if (o.domain().empty() || o.domain() == "ai.onnx")
      return o.version();
  return -1;
}

LogicalResult Importer::importGraph(const ::onnx::ModelProto &model,
                                    func::FuncOp &fn) {
  const ::onnx::GraphProto &graph = model.graph();
  int64_t opset = defaultOpset(model);
  if (opset < 0)
    return error() << "the model imports no ai.onnx opset";
  llvm::StringMap<int64_t> domains;
  for (const auto &o : model.opset_import())
    domains[o.domain()] = o.version();

  // Inputs: graph inputs that are not initializers.
  llvm::StringSet<llvm::MallocAllocator> initNames;
  for (const auto &init : graph.initializer())
    initNames.insert(init.name());
  SmallVector<Type> argTypes;
  SmallVector<std::string> argNames;
  SmallVector<std::pair<std::string, Attribute>> bound;
  llvm::StringSet<llvm::MallocAllocator> inputNames;
  for (const auto &in : graph.input()) {
    if (initNames.contains(in.name()))
      continue;
    inputNames.insert(in.name());
    auto b = llvm::find_if(options.boundInputs,
                           [&](auto &p) { return p.first == in.name(); });
    if (b != options.boundInputs.end()) {
      // Specialized: the value must have the input's element type.
      Type et = elementTypeOf(&ctx, in.type().tensor_type().elem_type());
      auto value = cast<ElementsAttr>(b->second);
      if (!et || value.getElementType() != et)
        return error() << "--bind: input '" << in.name() << "' has element "
                       << "type "
                       << onnxTypeName(in.type().tensor_type().elem_type())
                       << ", the bound value " << value.getElementType();
      bound.push_back(*b);
      continue;
    }
    FailureOr<RankedTensorType> t = typeOf(in);
    if (failed(t))
      return failure();
    argTypes.push_back(*t);
    argNames.push_back(in.name());
  }
  for (const auto &[name, dims] : options.inputShapes)
    if (!inputNames.contains(name))
      return error() << "--input-shape names '" << name
                     << "', which is not an input of the model";
  for (const auto &[name, value] : options.boundInputs)
    if (!inputNames.contains(name))
      return error() << "--bind names '" << name
                     << "', which is not an input of the model";

  builder.setInsertionPointToEnd(module->getBody());
  fn = func::FuncOp::create(builder, fileLoc(), "main",
                            builder.getFunctionType(argTypes, {}));
  Block *entry = fn.addEntryBlock();
  for (auto [i, name] : llvm::enumerate(argNames)) {
    fn.setArgAttr(i, "kiln.name", builder.getStringAttr(name));
    values[name] = entry->getArgument(i);
  }
  builder.setInsertionPointToStart(entry);
  for (const auto &[name, value] : bound)
    values[name] = ConstantOp::create(
        builder, NameLoc::get(builder.getStringAttr(name), fileLoc()),
        cast<TypedAttr>(value).getType(), cast<ElementsAttr>(value));

  for (const auto &init : graph.initializer()) {
    FailureOr<Attribute> attr =
        tensorAttr(init, "initializer '" + init.name() + "'");
    if (failed(attr))
      return failure();
    values[init.name()] = ConstantOp::create(
        builder, NameLoc::get(builder.getStringAttr(init.name()), fileLoc()),
        cast<TypedAttr>(*attr).getType(), cast<ElementsAttr>(*attr));
  }

  for (const auto &[index, node] : llvm::enumerate(graph.node())) {
    std::string name =
        node.name().empty() ? "#" + std::to_string(index) : node.name();
    Location loc = NameLoc::get(
        builder.getStringAttr(name + " (" + node.op_type() + ")"), fileLoc());
    const std::string &domain = node.domain();
    int64_t nodeOpset = opset;
    std::string key = node.op_type();
    if (!domain.empty() && domain != "ai.onnx")
      nodeOpset = domains.lookup(domain);
    if (domain == "kiln")
      key = "kiln." + key;
    NodeContext nc(*this, node, index, nodeOpset, loc);
    if (!domain.empty() && domain != "ai.onnx" && domain != "kiln")
      return nc.error("is in domain '" + domain +
                      "', which kiln does not support");
    auto it = converters.find(key);
    if (it == converters.end())
      return nc.error("unsupported op");
    SmallVector<Value> results;
    if (failed(it->second(nc, results)) || nc.failedBuild)
      return failure();
    if ((int)results.size() < node.output_size())
      return nc.error("produces fewer outputs than the model uses");
    for (auto [i, out] : llvm::enumerate(node.output())) {
      if (out.empty())
        continue;
      if (!results[i])
        return nc.error("output " + std::to_string(i) +
                        " is not supported by kiln's conversion");
      if (values.count(out))
        return nc.error("redefines value '" + out +
                        "' (the graph is not in SSA form)");
      values[out] = results[i];
    }
  }

  SmallVector<Value> outs;
  SmallVector<Type> outTypes;
  for (const auto &o : graph.output()) {
    auto it = values.find(o.name());
    if (it == values.end())
      return error() << "graph output '" << o.name() << "' is never computed";
    outs.push_back(it->second);
    outTypes.push_back(it->second.getType());
  }
  func::ReturnOp::create(builder, fileLoc(), outs);
  fn.setFunctionType(builder.getFunctionType(argTypes, outTypes));
  for (auto [i, o] : llvm::enumerate(graph.output()))
    fn.setResultAttr(i, "kiln.name", builder.getStringAttr(o.name()));
  return success();
}

OwningOpRef<ModuleOp> Importer::run(StringRef bytes) {
  ::onnx::ModelProto model;
  {
    google::protobuf::io::CodedInputStream in(
        reinterpret_cast<const uint8_t *>(bytes.data()),
        std::min<size_t>(bytes.size(), INT_MAX));
    in.SetTotalBytesLimit(INT_MAX);
    if (bytes.size() > INT_MAX || !model.ParseFromCodedStream(&in) ||
        !in.ConsumedEntireMessage()) {
      error() << "not a valid ONNX model (the protobuf does not parse; is the "
                 "file truncated?)";
      return nullptr;
    }
  }
  if (!model.has_graph()) {
    error() << "the ONNX model has no graph";
    return nullptr;
  }
  registerElementwiseOps(converters);
  registerNNOps(converters);
  registerReductionOps(converters);
  registerShapeOps(converters);
  registerKilnDomainOps(converters);
  registerEinsumOp(converters);
  registerConvTransposeOp(converters);
  registerResizeOp(converters);
  registerIndexOps(converters);

  module = ModuleOp::create(fileLoc());
  func::FuncOp fn;
  if (failed(importGraph(model, fn)))
    return nullptr;
  if (failed(verify(*module)))
    return nullptr;
  return std::move(module);
}

OwningOpRef<ModuleOp>
mlir::kiln::onnx::importModel(MLIRContext &ctx, StringRef bytes, StringRef path,
                              const ImportOptions &options) {
  ctx.loadDialect<KilnDialect, func::FuncDialect>();
  Importer importer(ctx, path, options);
  return importer.run(bytes);
}

std::vector<std::string> mlir::kiln::onnx::supportedOps() {
  ConverterMap map;
  registerElementwiseOps(map);
  registerNNOps(map);
  registerReductionOps(map);
  registerShapeOps(map);
  registerKilnDomainOps(map);
  registerEinsumOp(map);
  registerConvTransposeOp(map);
  registerResizeOp(map);
  registerIndexOps(map);
  std::vector<std::string> names;
  for (auto &e : map)
    names.push_back(e.first().str());
  llvm::sort(names);
  return names;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

OpBuilder &NodeContext::builder() { return importer.builder; }
MLIRContext *NodeContext::context() { return &importer.ctx; }

InFlightDiagnostic NodeContext::error() {
  std::string name = node.name().empty() ? "#" + std::to_string(index)
                                         : "'" + node.name() + "'";
  return emitError(loc) << "node " << name << " (" << node.op_type()
                        << ", opset " << opset << "): ";
}

LogicalResult NodeContext::error(const llvm::Twine &msg) {
  return error() << msg;
}

FailureOr<Value> NodeContext::input(int i) {
  if (!hasInput(i))
    return error("missing input " + std::to_string(i));
  auto it = importer.values.find(node.input(i));
  if (it == importer.values.end())
    return error("input '" + node.input(i) +
                 "' is not defined before this node (the graph is not "
                 "topologically sorted, or has a cycle)");
  return it->second;
}

FailureOr<Value> NodeContext::optionalInput(int i) {
  if (!hasInput(i))
    return Value();
  return input(i);
}

std::optional<SmallVector<int64_t>> mlir::kiln::onnx::constantInts(Value v) {
  DenseIntElementsAttr attr;
  if (!v || !matchPattern(v, m_Constant(&attr)))
    return std::nullopt;
  SmallVector<int64_t> r;
  for (const APInt &x : attr.getValues<APInt>())
    r.push_back(x.getSExtValue());
  return r;
}

FailureOr<SmallVector<int64_t>> NodeContext::constInts(int i,
                                                       llvm::StringRef what) {
  FailureOr<Value> v = input(i);
  if (failed(v))
    return failure();
  if (auto ints = constantInts(*v))
    return *ints;
  return error(what.str() +
               " must be known at compile time (a constant, or computed from "
               "static shapes)");
}

FailureOr<double> NodeContext::constFloat(int i, llvm::StringRef what) {
  FailureOr<Value> v = input(i);
  if (failed(v))
    return failure();
  DenseElementsAttr attr;
  if (!matchPattern(*v, m_Constant(&attr)) || attr.getNumElements() != 1)
    return error(what.str() + " must be a constant scalar");
  if (isa<FloatType>(attr.getElementType()))
    return (*attr.getValues<APFloat>().begin()).convertToDouble();
  return (double)(*attr.getValues<APInt>().begin()).getSExtValue();
}

const ::onnx::AttributeProto *NodeContext::attr(llvm::StringRef name) const {
  for (const auto &a : node.attribute())
    if (a.name() == name)
      return &a;
  return nullptr;
}
bool NodeContext::hasAttr(llvm::StringRef name) const { return attr(name); }
int64_t NodeContext::attrInt(llvm::StringRef name, int64_t dflt) const {
  const auto *a = attr(name);
  return a ? a->i() : dflt;
}
double NodeContext::attrFloat(llvm::StringRef name, double dflt) const {
  const auto *a = attr(name);
  return a ? a->f() : dflt;
}
std::string NodeContext::attrString(llvm::StringRef name,
                                    llvm::StringRef dflt) const {
  const auto *a = attr(name);
  return a ? a->s() : dflt.str();
}
std::optional<SmallVector<int64_t>>
NodeContext::attrInts(llvm::StringRef name) const {
  const auto *a = attr(name);
  if (!a)
    return std::nullopt;
  return SmallVector<int64_t>(a->ints().begin(), a->ints().end());
}

LogicalResult NodeContext::checkAttrs(ArrayRef<llvm::StringRef> known) {
  for (const auto &a : node.attribute())
    // consumed_inputs (opsets 1-5) was a memory hint with no effect.
    if (!llvm::is_contained(known, a.name()) && a.name() != "consumed_inputs")
      return error("unsupported attribute '" + a.name() + "'");
  return success();
}

FailureOr<int64_t> NodeContext::checkedInt(double v, llvm::StringRef what,
                                           int64_t lo, int64_t hi) {
  if (!std::isfinite(v) || v < (double)lo || v > (double)hi)
    return error(what.str() + " must be in [" + std::to_string(lo) + ", " +
                 std::to_string(hi) + "]");
  return static_cast<int64_t>(v);
}

FailureOr<int64_t> NodeContext::axis(int64_t a, int64_t rank,
                                     llvm::StringRef what) {
  if (a < -rank || a >= std::max<int64_t>(rank, 1))
    return error(what.str() + " " + std::to_string(a) +
                 " is out of range for rank " + std::to_string(rank));
  return a < 0 ? a + rank : a;
}

LogicalResult
NodeContext::reportAtNode(llvm::function_ref<LogicalResult()> fn) {
  std::string captured;
  LogicalResult result = success();
  {
    ScopedDiagnosticHandler handler(context(), [&](Diagnostic &d) {
      if (d.getSeverity() != DiagnosticSeverity::Error)
        return failure(); // let notes and warnings through
      if (captured.empty())
        captured = d.str();
      return success();
    });
    result = fn();
  }
  if (failed(result))
    return error(captured.empty() ? "is invalid" : captured);
  return success();
}

FailureOr<SmallVector<Value>> NodeContext::finish(Operation *op) {
  if (failed(reportAtNode([&] { return mlir::verify(op); }))) {
    op->erase();
    failedBuild = true;
    return failure();
  }
  // tryFold leaves `results` empty when it folded in place (commutative ops
  // move constants to the right): the op stays.
  SmallVector<Value> results;
  if (succeeded(builder().tryFold(op, results)) && !results.empty()) {
    op->erase();
    return results;
  }
  return SmallVector<Value>(op->getResults());
}

NodeValue NodeContext::reshape(Value v, ArrayRef<int64_t> shape) {
  if (failedBuild)
    return failure();
  auto t = typeOf(v);
  if (t.getShape() == shape)
    return v;
  return createTyped<ReshapeOp>(
      RankedTensorType::get(shape, t.getElementType()), v);
}

NodeValue NodeContext::castTo(Value v, Type elementType) {
  if (failedBuild)
    return failure();
  auto t = typeOf(v);
  if (t.getElementType() == elementType)
    return v;
  return createTyped<CastOp>(RankedTensorType::get(t.getShape(), elementType),
                             v);
}

FailureOr<Value> NodeContext::floatInput(int i) {
  FailureOr<Value> v = input(i);
  if (failed(v))
    return failure();
  Type et = typeOf(*v).getElementType();
  if (isa<FloatType>(et))
    return v;
  std::string s;
  llvm::raw_string_ostream os(s);
  os << et;
  return error("input " + std::to_string(i) +
               " must have float elements, not " + s);
}

Value NodeContext::constant(Attribute value) {
  auto e = cast<ElementsAttr>(value);
  return ConstantOp::create(builder(), loc, e.getType(), e);
}

FailureOr<Value>
NodeContext::tensorConstant(const ::onnx::TensorProto &tensor) {
  FailureOr<Attribute> attr = failure();
  if (failed(reportAtNode([&] {
        attr = importer.tensorAttr(tensor, "its value");
        return LogicalResult(attr);
      })))
    return failure();
  return constant(*attr);
}

/// `v` as an int64, saturating (NaN is 0): model attributes may hold any
/// double, and a C++ cast of an out-of-range one is undefined.
static int64_t saturatingInt(double v) {
  if (std::isnan(v))
    return 0;
  if (v >= 9.2233720368547758e18)
    return INT64_MAX;
  if (v <= -9.2233720368547758e18)
    return INT64_MIN;
  return static_cast<int64_t>(v);
}

Value NodeContext::constantOf(RankedTensorType type, ArrayRef<double> values) {
  Type et = type.getElementType();
  if ((int64_t)values.size() <= ConstantOp::kMaxInlineElements) {
    SmallVector<Attribute> attrs;
    for (double v : values)
      attrs.push_back(isa<FloatType>(et)
                          ? Attribute(FloatAttr::get(et, v))
                          : Attribute(IntegerAttr::get(et, saturatingInt(v))));
    return constant(DenseElementsAttr::get(type, attrs));
  }
  // Large: a resource blob with the raw bytes.
  int64_t width = et.isInteger(1) ? 1 : (et.getIntOrFloatBitWidth() + 7) / 8;
  std::vector<char> raw(values.size() * width);
  for (size_t i = 0; i < values.size(); ++i) {
    char *p = raw.data() + i * width;
    if (et.isF32()) {
      float f = values[i];
      memcpy(p, &f, 4);
    } else if (et.isF64()) {
      memcpy(p, &values[i], 8);
    } else if (auto it = dyn_cast<IntegerType>(et)) {
      int64_t v =
          it.getWidth() == 1 ? values[i] != 0 : saturatingInt(values[i]);
      memcpy(p, &v, width); // little-endian: the low bytes
    } else {
      APFloat f(values[i]);
      bool loses;
      f.convert(cast<FloatType>(et).getFloatSemantics(),
                APFloat::rmNearestTiesToEven, &loses);
      uint16_t bits = f.bitcastToAPInt().getZExtValue();
      memcpy(p, &bits, 2);
    }
  }
  AsmResourceBlob blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(raw, 64);
  return constant(
      DenseResourceElementsAttr::get(type, "const", std::move(blob)));
}

Value NodeContext::constantI64(ArrayRef<int64_t> values,
                               ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, builder().getI64Type());
  return constant(DenseElementsAttr::get(type, values));
}

Value NodeContext::scalar(Type et, double value) {
  auto type = RankedTensorType::get({}, et);
  Attribute v =
      isa<FloatType>(et)
          ? Attribute(builder().getFloatAttr(et, value))
          : Attribute(builder().getIntegerAttr(et, saturatingInt(value)));
  return constant(DenseElementsAttr::get(type, v));
}
