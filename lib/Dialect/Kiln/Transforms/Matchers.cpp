//===- Matchers.cpp - matching exported spellings of layers ---------------===//

#include "Matchers.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::kiln;

namespace {
ElementsAttr constantAttr(Value v) {
  auto c = v ? v.getDefiningOp<ConstantOp>() : ConstantOp();
  return c ? c.getValue() : ElementsAttr();
}

double toDouble(Attribute a) {
  if (auto f = dyn_cast<FloatAttr>(a))
    return f.getValueAsDouble();
  if (auto i = dyn_cast<IntegerAttr>(a))
    return static_cast<double>(i.getValue().getSExtValue());
  return std::nan("");
}

/// Reads element `i` of a row-major blob of `et` elements.
std::optional<double> blobElement(ArrayRef<char> data, Type et, int64_t i) {
  auto read = [&](auto tag) {
    decltype(tag) x;
    std::memcpy(&x, data.data() + i * sizeof(x), sizeof(x));
    return x;
  };
  if (et.isF32())
    return read(float());
  if (et.isF64())
    return read(double());
  if (et.isF16() || et.isBF16()) {
    uint16_t bits = read(uint16_t());
    const llvm::fltSemantics &sem = cast<FloatType>(et).getFloatSemantics();
    bool lost;
    llvm::APFloat f(sem, llvm::APInt(16, bits));
    f.convert(llvm::APFloat::IEEEdouble(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    return f.convertToDouble();
  }
  if (et.isInteger(64))
    return static_cast<double>(read(int64_t()));
  if (et.isInteger(32))
    return static_cast<double>(read(int32_t()));
  if (et.isInteger(8))
    return static_cast<double>(read(int8_t()));
  if (et.isInteger(1))
    return static_cast<double>(read(uint8_t()) != 0);
  return std::nullopt;
}
} // namespace

std::optional<SmallVector<double>> match::constantValues(Value v,
                                                         int64_t limit) {
  ElementsAttr attr = constantAttr(v);
  if (!attr || attr.getNumElements() > limit)
    return std::nullopt;
  SmallVector<double> out;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr)) {
    if (dense.isSplat()) {
      out.assign(dense.getNumElements(),
                 toDouble(dense.getSplatValue<Attribute>()));
      return out;
    }
    for (Attribute a : dense.getValues<Attribute>())
      out.push_back(toDouble(a));
    return out;
  }
  if (auto res = dyn_cast<DenseResourceElementsAttr>(attr)) {
    AsmResourceBlob *blob = res.getRawHandle().getBlob();
    if (!blob)
      return std::nullopt;
    Type et = res.getElementType();
    ArrayRef<char> data = blob->getData();
    int64_t n = res.getNumElements();
    unsigned bits = et.isInteger(1) ? 8 : et.getIntOrFloatBitWidth();
    if ((int64_t)data.size() < n * (int64_t)(bits / 8))
      return std::nullopt;
    for (int64_t i = 0; i < n; ++i) {
      std::optional<double> x = blobElement(data, et, i);
      if (!x)
        return std::nullopt;
      out.push_back(*x);
    }
    return out;
  }
  return std::nullopt;
}

std::optional<double> match::splatValue(Value v) {
  ElementsAttr attr = constantAttr(v);
  if (!attr)
    return std::nullopt;
  if (auto dense = dyn_cast<DenseElementsAttr>(attr))
    if (dense.isSplat())
      return toDouble(dense.getSplatValue<Attribute>());
  std::optional<SmallVector<double>> values = constantValues(v, 4096);
  if (!values || values->empty())
    return std::nullopt;
  for (double x : *values)
    if (x != values->front() && !(std::isnan(x) && std::isnan(values->front())))
      return std::nullopt;
  return values->front();
}

bool match::isSplatNear(Value v, double expected, double rtol) {
  std::optional<double> x = splatValue(v);
  return x && std::abs(*x - expected) <= rtol * std::abs(expected);
}

int64_t match::numElements(Value v) {
  auto t = dyn_cast<RankedTensorType>(v.getType());
  return t && t.hasStaticShape() ? t.getNumElements() : -1;
}

bool match::eitherOrder(Operation *op, function_ref<bool(Value, Value)> fn) {
  if (!op || op->getNumOperands() != 2)
    return false;
  return fn(op->getOperand(0), op->getOperand(1)) ||
         fn(op->getOperand(1), op->getOperand(0));
}

SmallVector<Value> match::productFactors(Value v) {
  SmallVector<Value> leaves;
  auto walk = [&](auto &self, Value x, bool root) -> void {
    auto mul = x.getDefiningOp<MulOp>();
    if (mul && (root || x.hasOneUse())) {
      self(self, mul.getLhs(), false);
      self(self, mul.getRhs(), false);
      return;
    }
    leaves.push_back(x);
  };
  walk(walk, v, true);
  return leaves;
}

bool match::matchSquare(Value v, Value &x) {
  if (auto pow = v.getDefiningOp<PowOp>()) {
    if (isSplatNear(pow.getRhs(), 2.0, 0)) {
      x = pow.getLhs();
      return true;
    }
    return false;
  }
  if (auto mul = v.getDefiningOp<MulOp>()) {
    if (mul.getLhs() == mul.getRhs()) {
      x = mul.getLhs();
      return true;
    }
  }
  return false;
}

bool match::matchRsqrt(Value v, Value &s) {
  if (auto r = v.getDefiningOp<RsqrtOp>()) {
    s = r.getInput();
    return true;
  }
  Value sq;
  if (auto r = v.getDefiningOp<ReciprocalOp>())
    sq = r.getInput();
  else if (auto d = v.getDefiningOp<DivOp>();
           d && isSplatNear(d.getLhs(), 1.0, 0))
    sq = d.getRhs();
  if (auto sqrt = sq ? sq.getDefiningOp<SqrtOp>() : SqrtOp()) {
    s = sqrt.getInput();
    return true;
  }
  return false;
}

bool match::matchTrailingMean(Value v, Value &input, int64_t &axis) {
  auto r = v.getDefiningOp<ReduceOp>();
  if (!r || r.getKind() != ReduceKind::mean || !r.getKeepdims())
    return false;
  auto t = cast<RankedTensorType>(r.getInput().getType());
  ArrayRef<int64_t> axes = r.getAxes();
  if (axes.empty())
    return false;
  int64_t rank = t.getRank();
  for (auto [i, a] : llvm::enumerate(axes))
    if (a != rank - (int64_t)axes.size() + (int64_t)i)
      return false;
  input = r.getInput();
  axis = axes.front();
  return true;
}

Value match::asNormWeight(OpBuilder &b, Location loc, Value w,
                          ArrayRef<int64_t> normShape) {
  auto t = cast<RankedTensorType>(w.getType());
  ArrayRef<int64_t> shape = t.getShape();
  while (shape.size() > normShape.size() && shape.front() == 1)
    shape = shape.drop_front();
  if (shape != normShape)
    return {};
  if (t.getShape() == normShape)
    return w;
  return ReshapeOp::create(
      b, loc, RankedTensorType::get(normShape, t.getElementType()), w);
}
