//===- EinsumOp.cpp - ONNX Einsum as transposes and a batched matmul ------===//
//
// A two-operand einsum splits its indices into batch (in both operands and
// the output), contracted (in both, not the output) and free ones (in one
// operand and the output); indices in one operand only are summed first.
// Both operands are then transposed to [batch, free, contracted] and
// [batch, contracted, free], flattened to 3-D, multiplied, and the product is
// unflattened and transposed to the output's order. One operand: sums and a
// transpose. Repeated indices within an operand (diagonals) are not
// supported.
//
//===----------------------------------------------------------------------===//

#include "ImporterImpl.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::onnx;

namespace {

RankedTensorType T(Value v) { return NodeContext::typeOf(v); }

int64_t product(ArrayRef<int64_t> v) {
  int64_t p = 1;
  for (int64_t d : v)
    p *= d;
  return p;
}

/// Expands "..." into letters the equation does not use (ellipsis dims are
/// batch-like and lead the output when it is implicit).
FailureOr<std::string> expandEllipsis(NodeContext &n, std::string term,
                                      int64_t rank, const std::string &fill) {
  size_t at = term.find("...");
  if (at == std::string::npos)
    return term;
  int64_t explicitCount = term.size() - 3;
  int64_t count = rank - explicitCount;
  if (count < 0 || count > (int64_t)fill.size())
    return n.error("einsum ellipsis does not match the operand's rank");
  return term.substr(0, at) + fill.substr(fill.size() - count) +
         term.substr(at + 3);
}

/// Transposes `v` (labelled `from`) to the order `to`.
FailureOr<Value> permute(NodeContext &n, Value v, StringRef from,
                         StringRef to) {
  if (from == to)
    return v;
  SmallVector<int64_t> perm;
  for (char c : to)
    perm.push_back(from.find(c));
  return n.create<TransposeOp>(v, perm);
}

/// Sums the indices of `term` that `keep` lacks.
FailureOr<Value> sumUnused(NodeContext &n, Value v, std::string &term,
                           StringRef keep) {
  SmallVector<int64_t> axes;
  std::string rest;
  for (auto [i, c] : llvm::enumerate(term)) {
    if (keep.contains(c))
      rest.push_back(c);
    else
      axes.push_back(i);
  }
  if (axes.empty())
    return v;
  term = rest;
  return n.create<ReduceOp>(ReduceKind::sum, v, axes, false);
}

LogicalResult einsum(NodeContext &n, SmallVectorImpl<Value> &r) {
  if (failed(n.checkAttrs({"equation"})))
    return failure();
  std::string eq;
  for (char c : n.attrString("equation", ""))
    if (c != ' ')
      eq.push_back(c);
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  SmallVector<std::string> terms;
  SmallVector<StringRef> parts;
  StringRef(lhs).split(parts, ',');
  for (StringRef t : parts)
    terms.push_back(t.str());
  if ((int)terms.size() != n.numInputs() || terms.size() > 2 || terms.empty())
    return n.error("only einsums of one or two operands are supported");
  SmallVector<Value> ops;
  for (int i = 0; i < n.numInputs(); ++i) {
    FailureOr<Value> v = n.input(i);
    if (failed(v))
      return failure();
    ops.push_back(*v);
  }
  // Letters not in the equation stand for ellipsis dimensions.
  std::string fill;
  for (char c = 'A'; c <= 'Z'; ++c)
    if (eq.find(c) == std::string::npos)
      fill.push_back(c);
  int64_t ellipsisRank = 0;
  for (auto [i, t] : llvm::enumerate(terms)) {
    if (t.find("...") != std::string::npos)
      ellipsisRank = std::max<int64_t>(
          ellipsisRank, T(ops[i]).getRank() - ((int64_t)t.size() - 3));
    FailureOr<std::string> e = expandEllipsis(n, t, T(ops[i]).getRank(), fill);
    if (failed(e))
      return failure();
    t = *e;
    if ((int64_t)t.size() != T(ops[i]).getRank())
      return n.error("einsum term '" + t +
                     "' does not match its operand's rank");
    for (size_t a = 0; a < t.size(); ++a)
      if (t.find(t[a], a + 1) != std::string::npos)
        return n.error("repeated indices in one operand are not supported");
  }
  std::string out;
  if (arrow != std::string::npos) {
    FailureOr<std::string> e =
        expandEllipsis(n, eq.substr(arrow + 2),
                       ellipsisRank + (int64_t)eq.substr(arrow + 2).size() -
                           (eq.find("...", arrow) != std::string::npos ? 3 : 0),
                       fill);
    if (failed(e))
      return failure();
    out = *e;
  } else {
    // Implicit output: ellipsis dims, then the letters used once, sorted.
    out = fill.substr(fill.size() - ellipsisRank);
    std::string once;
    for (char c = 'a'; c <= 'z'; ++c) {
      int count = 0;
      for (auto &t : terms)
        count += std::count(t.begin(), t.end(), c);
      if (count == 1)
        once.push_back(c);
    }
    out += once;
  }
  // Sizes of every index, checked for agreement.
  llvm::DenseMap<char, int64_t> size;
  for (auto [i, t] : llvm::enumerate(terms))
    for (auto [a, c] : llvm::enumerate(t)) {
      int64_t d = T(ops[i]).getDimSize(a);
      auto [it, inserted] = size.insert({c, d});
      if (!inserted && it->second != d && it->second != 1 && d != 1)
        return n.error(std::string("einsum index '") + c +
                       "' has different sizes");
      it->second = std::max(it->second, d);
    }
  for (char c : out)
    if (!size.count(c))
      return n.error(std::string("einsum output index '") + c +
                     "' is not in any operand");

  if (terms.size() == 1) {
    FailureOr<Value> v = sumUnused(n, ops[0], terms[0], out);
    if (failed(v))
      return failure();
    FailureOr<Value> y = permute(n, *v, terms[0], out);
    if (failed(y))
      return failure();
    r.push_back(*y);
    return success();
  }

  std::string &a = terms[0], &b = terms[1];
  // Sum indices that only one operand has and the output drops.
  FailureOr<Value> va = sumUnused(n, ops[0], a, out + b);
  FailureOr<Value> vb = sumUnused(n, ops[1], b, out + a);
  if (failed(va) || failed(vb))
    return failure();
  std::string batch, contract, freeA, freeB;
  for (char c : a) {
    bool inB = b.find(c) != std::string::npos,
         inOut = out.find(c) != std::string::npos;
    (inB ? (inOut ? batch : contract) : freeA).push_back(c);
  }
  for (char c : b)
    if (a.find(c) == std::string::npos)
      freeB.push_back(c);
  auto dims = [&](const std::string &s) {
    SmallVector<int64_t> d;
    for (char c : s)
      d.push_back(size[c]);
    return d;
  };
  FailureOr<Value> pa = permute(n, *va, a, batch + freeA + contract);
  FailureOr<Value> pb = permute(n, *vb, b, batch + contract + freeB);
  if (failed(pa) || failed(pb))
    return failure();
  int64_t nb = product(dims(batch)), m = product(dims(freeA)),
          k = product(dims(contract)), nn = product(dims(freeB));
  // Broadcast size-1 batch dims first (expand), then flatten.
  auto flatten = [&](Value v, const std::string &order,
                     ArrayRef<int64_t> shape3) -> FailureOr<Value> {
    SmallVector<int64_t> full = dims(order);
    if (T(v).getShape() != ArrayRef<int64_t>(full)) {
      FailureOr<Value> e = n.createTyped<ExpandOp>(
          RankedTensorType::get(full, T(v).getElementType()), v);
      if (failed(e))
        return failure();
      v = *e;
    }
    return n.reshape(v, shape3);
  };
  FailureOr<Value> a3 = flatten(*pa, batch + freeA + contract, {nb, m, k});
  FailureOr<Value> b3 = flatten(*pb, batch + contract + freeB, {nb, k, nn});
  if (failed(a3) || failed(b3))
    return failure();
  FailureOr<Value> y = n.create<MatmulOp>(*a3, *b3);
  if (failed(y))
    return failure();
  std::string got = batch + freeA + freeB;
  y = n.reshape(*y, dims(got));
  if (failed(y))
    return failure();
  y = permute(n, *y, got, out);
  if (failed(y))
    return failure();
  r.push_back(*y);
  return success();
}

} // namespace

void mlir::kiln::onnx::registerEinsumOp(ConverterMap &map) {
  map["Einsum"] = einsum;
}
