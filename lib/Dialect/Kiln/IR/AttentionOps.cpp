//===- AttentionOps.cpp - attention and rotary embedding ------------------===//

#include "OpUtils.h"

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::detail;

//===----------------------------------------------------------------------===//
// AttentionOp
//===----------------------------------------------------------------------===//

LogicalResult AttentionOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &types) {
  RankedTensorType q = rankedType(adaptor.getQuery());
  RankedTensorType k = rankedType(adaptor.getKey());
  RankedTensorType v = rankedType(adaptor.getValue());
  if (!q || !k || !v)
    return emitOptionalError(loc, "expected ranked tensor operands");
  if (q.getRank() != 4 || k.getRank() != 4 || v.getRank() != 4)
    return emitOptionalError(loc, "query, key and value must be rank 4 "
                                  "[batch, heads, seq, head_dim]");
  types.push_back(RankedTensorType::get(
      {q.getDimSize(0), q.getDimSize(1), q.getDimSize(2), v.getDimSize(3)},
      q.getElementType()));
  return success();
}

LogicalResult AttentionOp::verify() {
  auto q = cast<RankedTensorType>(getQuery().getType());
  auto k = cast<RankedTensorType>(getKey().getType());
  auto v = cast<RankedTensorType>(getValue().getType());
  if (!dimsCompatible(q.getDimSize(0), k.getDimSize(0)) ||
      !dimsCompatible(k.getDimSize(0), v.getDimSize(0)))
    return emitOpError("batch sizes of query, key and value differ");
  if (!dimsCompatible(k.getDimSize(1), v.getDimSize(1)))
    return emitOpError("key and value have different head counts (")
           << k.getDimSize(1) << " and " << v.getDimSize(1) << ")";
  if (!dimsCompatible(k.getDimSize(2), v.getDimSize(2)))
    return emitOpError("key and value have different sequence lengths (")
           << k.getDimSize(2) << " and " << v.getDimSize(2) << ")";
  if (!dimsCompatible(q.getDimSize(3), k.getDimSize(3)))
    return emitOpError("query head_dim ")
           << q.getDimSize(3) << " differs from key head_dim "
           << k.getDimSize(3);
  int64_t hq = q.getDimSize(1), hkv = k.getDimSize(1);
  if (!ShapedType::isDynamic(hq) && !ShapedType::isDynamic(hkv) &&
      (hkv == 0 || hq % hkv != 0))
    return emitOpError("query heads (")
           << hq << ") must be a multiple of key/value heads (" << hkv << ")";
  double scale = getScale().convertToDouble();
  if (!std::isfinite(scale) || scale == 0)
    return emitOpError("scale must be finite and non-zero, got ") << scale;
  if (Value mask = getMask()) {
    auto m = cast<RankedTensorType>(mask.getType());
    Type et = m.getElementType();
    if (!et.isInteger(1) && et != q.getElementType())
      return emitOpError("mask must be i1 or ")
             << q.getElementType() << ", got " << et;
    SmallVector<int64_t> scores{q.getDimSize(0), hq, q.getDimSize(2),
                                k.getDimSize(2)};
    if (!isBroadcastableTo(m.getShape(), scores))
      return emitOpError("mask of shape ")
             << shapeStr(m.getShape()) << " does not broadcast to the scores' "
             << shapeStr(scores);
  }
  return success();
}

//===----------------------------------------------------------------------===//
// RotaryOp
//===----------------------------------------------------------------------===//

LogicalResult RotaryOp::verify() {
  auto x = cast<RankedTensorType>(getInput().getType());
  auto c = cast<RankedTensorType>(getCos().getType());
  auto s = cast<RankedTensorType>(getSin().getType());
  if (x.getRank() < 2)
    return emitOpError("input must be [..., seq, dim], got rank ")
           << x.getRank();
  int64_t d = x.getShape().back();
  if (!ShapedType::isDynamic(d) && d % 2 != 0)
    return emitOpError("feature dimension ") << d << " must be even";
  if (c != s)
    return emitOpError("cos and sin types differ: ") << c << " and " << s;
  if (c.getElementType() != x.getElementType())
    return emitOpError("cos/sin element type ")
           << c.getElementType() << " differs from the input's "
           << x.getElementType();
  SmallVector<int64_t> half(x.getShape());
  if (!ShapedType::isDynamic(d))
    half.back() = d / 2;
  if (!isBroadcastableTo(c.getShape(), half))
    return emitOpError("cos/sin of shape ")
           << shapeStr(c.getShape()) << " do not broadcast to "
           << shapeStr(half);
  return success();
}
