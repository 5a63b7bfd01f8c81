//===- Weights.h - the constant weights of matmuls --------------*- C++ -*-===//
//
// Helpers shared by the passes that change how weights are stored
// (kiln-quantize-weights, kiln-bf16-weights, kiln-fuse-sibling-matmuls,
// kiln-upsample-conv, kiln-pack-weights, ...): finding a matmul's constant
// weight, reading it, naming it, and storing new weights as resource blobs.
//
//===----------------------------------------------------------------------===//

#ifndef KILN_DIALECT_KILN_TRANSFORMS_WEIGHTS_H
#define KILN_DIALECT_KILN_TRANSFORMS_WEIGHTS_H

#include "kiln/Dialect/Kiln/IR/KilnOps.h"

#include "llvm/Support/Regex.h"

#include <optional>
#include <string>
#include <vector>

namespace mlir::kiln::weights {

/// The f32 constant weight W ([K, N]) of a matmul: the rhs itself, or a
/// [N, K] constant through kiln.transpose [1, 0].
struct MatmulWeight {
  ConstantOp constant;
  bool transposed = false;
  int64_t k = 0, n = 0;
  /// The matmul's location and the constant's, for --exclude and reports.
  std::string name;
};

/// The value a matmul with f32 lhs and result reads as its weight: its rhs,
/// or the input of a kiln.transpose [1, 0] rhs (`transposed` is set); null
/// for other matmuls.
Value f32MatmulWeightSource(MatmulOp op, bool &transposed);

/// The constant weight of `op` when its lhs and result are f32 and its rhs
/// is a 2-D f32 constant (or the transpose of one); nullopt otherwise.
std::optional<MatmulWeight> matchConstantWeight(MatmulOp op);

/// The `count` values of an f32 constant, row-major; false if it has
/// another element type or count, or its data is not available (a resource
/// blob that was never loaded).
bool readConstant(ConstantOp c, int64_t count, std::vector<float> &out);

/// W as row-major [K, N] floats; false if the constant's data is not
/// available (a resource blob that was never loaded).
bool readWeight(const MatmulWeight &w, std::vector<float> &out);

/// A short name for a location: the names of NameLocs (the ONNX node or
/// initializer), else the printed location.
std::string locationName(Location loc);

/// The resource key of a constant's blob (or "w"), to name derived blobs.
std::string blobKey(ConstantOp c);

/// `x` rounded to the nearest f16 (ties to even), as f16 bits; false when
/// it is not a normal f16 number (nor zero), whose precision would be less
/// than 11 bits or which would overflow.
bool toHalf(float x, uint16_t &h);

/// The float value of normal f16 bits (or zero).
float fromHalf(uint16_t h);

/// A resource-blob constant of `type` holding `bytes`, named after `key`.
Value blobConstant(OpBuilder &b, Location loc, RankedTensorType type,
                   llvm::StringRef key, llvm::ArrayRef<char> bytes);

/// As blobConstant, but reuses the blob already stored under `key` when it
/// holds exactly `bytes`: a weight that several functions (an LLM's prefill
/// and decode entries) read is converted in each, and stored once.
Value sharedBlobConstant(OpBuilder &b, Location loc, RankedTensorType type,
                         llvm::StringRef key, llvm::ArrayRef<char> bytes);

/// The f32 values of a constant's resource blob, in place (no copy), or
/// null when the constant is not a loaded f32 resource blob of `count`
/// values. Pair with doneReading.
const float *blobFloats(ConstantOp c, int64_t count);

/// Drops the resident pages of a file-backed blob read through blobFloats.
void doneReading(ConstantOp c);

/// A resource-blob constant of `type` and `bytes` bytes that `fill` writes
/// in place, named `key`. A blob already stored under `key` with that size
/// is reused without calling `fill`: `key` must identify the contents, i.e.
/// be derived from resource blobs' own (unique) keys by a fixed
/// transformation, so that a weight converted in several functions is
/// built and stored once. Large weights then need no staging copy.
Value derivedBlobConstant(OpBuilder &b, Location loc, RankedTensorType type,
                          llvm::StringRef key, size_t bytes,
                          llvm::function_ref<void(char *)> fill);

/// Compiles `pattern` (empty: matches nothing). Emits an error at `loc` and
/// returns false if it is malformed.
bool compileExclude(llvm::StringRef pattern, Location loc,
                    std::optional<llvm::Regex> &out);

} // namespace mlir::kiln::weights

#endif // KILN_DIALECT_KILN_TRANSFORMS_WEIGHTS_H
