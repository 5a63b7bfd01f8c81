//===- RecognizeSelectiveScan.cpp - re-roll Mamba's unrolled scan --------===//
//
// torch.onnx runs a Python loop over time once per step, so a Mamba layer
// exported from its reference scan is L copies of
//
//   dA_t = exp(dt_t * A)                         dt_t, u_t: [Bt, Di, 1]
//   h_t  = dA_t * h_{t-1} + dt_t * B_t * u_t     B_t, C_t:  [Bt, 1, N]
//   y_t  = reduce_sum(h_t * C_t, axis 2)         h_t:       [Bt, Di, N]
//
// where each per-step operand is one time step (a gather of a constant
// index, or a size-1 slice) of a whole-sequence tensor, followed by a stack
// (reshapes + concat) of the y_t. The pattern starts from the last state
// update, walks the chain of states back to the first, checks that every
// step reads step t of the same tensors, and replaces the stack (and the
// final state's other uses) with one kiln.selective_scan. The skip term
// `+ u * D` and the gate `* silu(z)` that follow are folded into it.
//
// The causal depthwise convolution in front of the scan is exported as a
// grouped Conv padded by K-1 on both sides and a slice of the first L
// outputs (prefill), or as a Conv without padding over concat(state, x)
// (decode); both become kiln.causal_conv1d, which computes only the L
// outputs it needs.
//
//===----------------------------------------------------------------------===//

#include "kiln/Dialect/Kiln/Transforms/Passes.h"

#include "Matchers.h"

#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/Support/Debug.h"

#define DEBUG_TYPE "kiln-recognize-selective-scan"

namespace mlir::kiln {
#define GEN_PASS_DEF_RECOGNIZESELECTIVESCAN
#include "kiln/Dialect/Kiln/Transforms/Passes.h.inc"
} // namespace mlir::kiln

using namespace mlir;
using namespace mlir::kiln;
using namespace mlir::kiln::match;

namespace {

RankedTensorType typeOf(Value v) {
  return dyn_cast<RankedTensorType>(v.getType());
}

bool hasShape(Value v, ArrayRef<int64_t> shape) {
  RankedTensorType t = typeOf(v);
  return t && t.hasStaticShape() && t.getShape() == shape;
}

//===----------------------------------------------------------------------===//
// Time steps
//===----------------------------------------------------------------------===//

/// Step `index` of `source` along `axis`: what a per-step operand reads.
struct TimeStep {
  Value source;
  int64_t axis = -1;
  int64_t index = -1;
  bool sameTensor(const TimeStep &o) const {
    return source == o.source && axis == o.axis;
  }
  bool operator==(const TimeStep &o) const {
    return sameTensor(o) && index == o.index;
  }
};

/// `v`, looking through reshapes, as one time step of a tensor: a gather of
/// one constant index along an axis, or a slice that keeps every element of
/// every dimension but one, where it takes one element. Reshapes keep the
/// row-major order, so the step's elements are `v`'s in order.
std::optional<TimeStep> timeStep(Value v) {
  while (auto r = v.getDefiningOp<ReshapeOp>())
    v = r.getInput();
  if (auto g = v.getDefiningOp<GatherOp>()) {
    RankedTensorType in = typeOf(g.getInput());
    if (!in || !in.hasStaticShape() || numElements(g.getIndices()) != 1)
      return std::nullopt;
    int64_t axis = g.getAxis();
    if (axis < 0)
      axis += in.getRank();
    if (axis < 0 || axis >= in.getRank())
      return std::nullopt;
    std::optional<SmallVector<double>> idx = constantValues(g.getIndices(), 1);
    if (!idx)
      return std::nullopt;
    int64_t dim = in.getDimSize(axis), t = static_cast<int64_t>((*idx)[0]);
    if (t < 0)
      t += dim;
    if (t < 0 || t >= dim)
      return std::nullopt;
    return TimeStep{g.getInput(), axis, t};
  }
  if (auto s = v.getDefiningOp<SliceOp>()) {
    RankedTensorType in = typeOf(s.getInput());
    if (!in || !in.hasStaticShape())
      return std::nullopt;
    std::optional<TimeStep> step;
    for (int64_t i = 0; i < in.getRank(); ++i) {
      int64_t start = s.getStarts()[i], size = s.getSizes()[i],
              stride = s.getSteps()[i];
      if (start == 0 && size == in.getDimSize(i) && stride == 1)
        continue;
      if (step || size != 1 || start < 0 || start >= in.getDimSize(i))
        return std::nullopt;
      step = TimeStep{s.getInput(), i, start};
    }
    return step;
  }
  return std::nullopt;
}

/// `v` as a time step if it has the broadcast shape `shape`.
std::optional<TimeStep> timeStepShaped(Value v, ArrayRef<int64_t> shape) {
  if (!hasShape(v, shape))
    return std::nullopt;
  return timeStep(v);
}

/// The whole-sequence tensor a time step reads, as the [d0, d1, L] operand
/// of the scan: the time axis moved last, the other dimensions flattened
/// (in order) into d0 x d1.
Value asSequence(PatternRewriter &rewriter, Location loc, const TimeStep &s,
                 int64_t d0, int64_t d1) {
  Value v = s.source;
  RankedTensorType t = typeOf(v);
  int64_t rank = t.getRank();
  if (s.axis != rank - 1) {
    SmallVector<int64_t> perm, shape;
    for (int64_t i = 0; i < rank; ++i)
      if (i != s.axis)
        perm.push_back(i);
    perm.push_back(s.axis);
    for (int64_t p : perm)
      shape.push_back(t.getDimSize(p));
    v = TransposeOp::create(rewriter, loc,
                            RankedTensorType::get(shape, t.getElementType()), v,
                            rewriter.getDenseI64ArrayAttr(perm));
  }
  SmallVector<int64_t> shape{d0, d1, t.getDimSize(s.axis)};
  if (typeOf(v).getShape() != ArrayRef<int64_t>(shape))
    v = ReshapeOp::create(rewriter, loc,
                          RankedTensorType::get(shape, t.getElementType()), v);
  return v;
}

//===----------------------------------------------------------------------===//
// One step of the recurrence
//===----------------------------------------------------------------------===//

/// h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t, and its output
/// y_t = reduce_sum(h_t * C_t, 2) when there is one.
struct ScanStep {
  AddOp update;
  Value prev, a;
  TimeStep dt, u, b;
  /// The output: the product with C_t and its sum (null when absent).
  MulOp outMul;
  ReduceOp out;
  TimeStep c;
};

/// A zero-filled constant (any shape): the implicit initial state.
bool isZero(Value v) { return isSplatNear(v, 0.0, 0.0); }

/// Matches `add` as a state update; fills everything but the output.
std::optional<ScanStep> matchUpdate(AddOp add) {
  RankedTensorType h = typeOf(add.getResult());
  if (!h || h.getRank() != 3 || !h.hasStaticShape() ||
      !isa<FloatType>(h.getElementType()))
    return std::nullopt;
  int64_t bt = h.getDimSize(0), di = h.getDimSize(1), n = h.getDimSize(2);
  ScanStep step;
  step.update = add;
  bool ok = eitherOrder(add, [&](Value decay, Value input) {
    auto mul = decay.getDefiningOp<MulOp>();
    if (!mul || typeOf(mul.getResult()) != h)
      return false;
    // exp(dt * A) * h_{t-1}
    return eitherOrder(mul, [&](Value e, Value prev) {
      auto exp = e.getDefiningOp<ExpOp>();
      if (!exp || (typeOf(prev) != h && !isZero(prev)))
        return false;
      auto dtA = exp.getInput().getDefiningOp<MulOp>();
      if (!dtA || typeOf(dtA.getResult()) != h)
        return false;
      bool found = eitherOrder(dtA, [&](Value dt, Value a) {
        std::optional<TimeStep> s = timeStepShaped(dt, {bt, di, 1});
        if (!s || !(hasShape(a, {di, n}) || hasShape(a, {1, di, n})))
          return false;
        step.dt = *s;
        step.a = a;
        return true;
      });
      if (!found)
        return false;
      // dt * B * u, in any association.
      SmallVector<Value> factors = productFactors(input);
      if (factors.size() != 3)
        return false;
      std::optional<TimeStep> b, dt, u;
      for (Value f : factors) {
        if (std::optional<TimeStep> s = timeStepShaped(f, {bt, 1, n})) {
          if (b)
            return false;
          b = s;
        } else if (std::optional<TimeStep> s = timeStepShaped(f, {bt, di, 1})) {
          if (!dt && *s == step.dt)
            dt = s;
          else if (!u)
            u = s;
          else
            return false;
        } else {
          return false;
        }
      }
      if (!b || !dt || !u)
        return false;
      step.b = *b;
      step.u = *u;
      step.prev = prev;
      return true;
    });
  });
  if (!ok)
    return std::nullopt;
  return step;
}

/// Finds the output of a step: a product of h_t with C_t summed over the
/// state dimension.
bool matchOutput(ScanStep &step) {
  Value h = step.update.getResult();
  RankedTensorType ht = typeOf(h);
  int64_t bt = ht.getDimSize(0), n = ht.getDimSize(2);
  for (Operation *user : h.getUsers()) {
    auto mul = dyn_cast<MulOp>(user);
    if (!mul || typeOf(mul.getResult()) != ht || !mul.getResult().hasOneUse())
      continue;
    Value c = mul.getLhs() == h ? mul.getRhs() : mul.getLhs();
    std::optional<TimeStep> s = timeStepShaped(c, {bt, 1, n});
    auto sum = dyn_cast<ReduceOp>(*mul.getResult().getUsers().begin());
    if (!s || !sum || sum.getKind() != ReduceKind::sum ||
        sum.getAxes().size() != 1 ||
        (sum.getAxes()[0] != 2 && sum.getAxes()[0] != -1))
      continue;
    step.outMul = mul;
    step.out = sum;
    step.c = *s;
    return true;
  }
  return false;
}

/// True when `h` feeds the decay of a further state update.
bool feedsAnotherStep(Value h) {
  for (Operation *user : h.getUsers()) {
    auto mul = dyn_cast<MulOp>(user);
    if (!mul || !mul.getResult().hasOneUse())
      continue;
    auto add = dyn_cast<AddOp>(*mul.getResult().getUsers().begin());
    if (!add)
      continue;
    std::optional<ScanStep> next = matchUpdate(add);
    if (next && next->prev == h)
      return true;
  }
  return false;
}

//===----------------------------------------------------------------------===//
// The pattern
//===----------------------------------------------------------------------===//

struct Options {
  bool foldEpilogue;
};

struct SelectiveScanPattern : OpRewritePattern<AddOp> {
  SelectiveScanPattern(MLIRContext *ctx, Options options)
      : OpRewritePattern(ctx), options(options) {}
  Options options;

  LogicalResult matchAndRewrite(AddOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<ScanStep> last = matchUpdate(op);
    if (!last)
      return rewriter.notifyMatchFailure(op, "not a state update");
    if (feedsAnotherStep(op.getResult()))
      return rewriter.notifyMatchFailure(op, "not the last step");

    // Walk the chain of states back to the first step.
    SmallVector<ScanStep> steps{*last};
    while (true) {
      auto prevAdd = steps.back().prev.getDefiningOp<AddOp>();
      if (!prevAdd || prevAdd->getBlock() != op->getBlock())
        break;
      std::optional<ScanStep> s = matchUpdate(prevAdd);
      if (!s)
        break;
      steps.push_back(*s);
    }
    std::reverse(steps.begin(), steps.end());
    int64_t len = steps.size();
    const ScanStep &first = steps.front();
    RankedTensorType ht = typeOf(op.getResult());
    int64_t bt = ht.getDimSize(0), di = ht.getDimSize(1), n = ht.getDimSize(2);

    // Every step reads step t of the same tensors, with the same A, and
    // produces an output; the steps cover the whole time axis.
    for (auto [t, s] : llvm::enumerate(steps)) {
      if (!matchOutput(s))
        return rewriter.notifyMatchFailure(op, "a step without an output");
      if (s.a != first.a)
        return rewriter.notifyMatchFailure(op, "A differs between steps");
      int64_t ti = t;
      for (auto [mine, firsts] :
           {std::pair(&s.dt, &first.dt), std::pair(&s.u, &first.u),
            std::pair(&s.b, &first.b), std::pair(&s.c, &first.c)})
        if (!mine->sameTensor(*firsts) || mine->index != ti)
          return rewriter.notifyMatchFailure(
              op, "a step does not read time step t of the same tensors");
      // Intermediate states feed only their output and the next step.
      if (t + 1 < steps.size() && !llvm::hasNItems(s.update->getUses(), 2))
        return rewriter.notifyMatchFailure(op, "an intermediate state is used "
                                               "outside the recurrence");
    }
    for (const TimeStep *s : {&first.dt, &first.u, &first.b, &first.c})
      if (typeOf(s->source).getDimSize(s->axis) != len)
        return rewriter.notifyMatchFailure(
            op, "the steps do not cover the whole sequence");

    // The outputs: stacked along a time axis (L > 1), or the one output.
    Operation *stack = nullptr;
    int64_t stackAxis = -1;
    if (len > 1) {
      auto concatOf = [](Value y, Value &piece) -> ConcatOp {
        if (!y.hasOneUse())
          return nullptr;
        piece = y;
        Operation *user = *y.getUsers().begin();
        if (auto r = dyn_cast<ReshapeOp>(user)) {
          if (!r.getResult().hasOneUse())
            return nullptr;
          piece = r.getResult();
          user = *r.getResult().getUsers().begin();
        }
        return dyn_cast<ConcatOp>(user);
      };
      Value piece;
      ConcatOp concat = concatOf(steps.front().out.getResult(), piece);
      if (!concat || concat.getInputs().size() != static_cast<size_t>(len))
        return rewriter.notifyMatchFailure(op, "outputs are not stacked");
      RankedTensorType ct = typeOf(concat.getResult());
      stackAxis = concat.getAxis() < 0 ? concat.getAxis() + ct.getRank()
                                       : concat.getAxis();
      for (auto [t, s] : llvm::enumerate(steps)) {
        if (concatOf(s.out.getResult(), piece) != concat ||
            concat.getInputs()[t] != piece ||
            typeOf(piece).getDimSize(stackAxis) != 1)
          return rewriter.notifyMatchFailure(
              op, "outputs are not stacked in time order");
      }
      stack = concat;
    }

    // The value the stack (or the single output) stands for, and the skip
    // and gate that follow it.
    Value outValue =
        stack ? stack->getResult(0) : Value(steps.front().out.getResult());
    if (!stack && outValue.hasOneUse())
      if (auto r = dyn_cast<ReshapeOp>(*outValue.getUsers().begin()))
        if (typeOf(r.getResult()) == typeOf(first.u.source))
          outValue = r.getResult();
    Epilogue ep;
    if (options.foldEpilogue)
      ep = matchEpilogue(outValue, stack ? stackAxis : -1, first.u, bt, di);

    // Everything is built after the last value it needs; the final state's
    // other users must come after that (else the epilogue is left alone).
    Value init = isZero(first.prev) ? Value() : first.prev;
    Block *block = op->getBlock();
    auto latestDef = [&](bool withEpilogue) {
      SmallVector<Value> needed{first.dt.source, first.u.source, first.b.source,
                                first.c.source, first.a};
      if (init)
        needed.push_back(init);
      if (withEpilogue) {
        if (ep.dValue)
          needed.push_back(ep.dValue);
        if (ep.z)
          needed.push_back(ep.z);
      }
      Operation *after = nullptr;
      for (Value v : needed) {
        Operation *def = v.getDefiningOp();
        if (def && def->getBlock() == block &&
            (!after || after->isBeforeInBlock(def)))
          after = def;
      }
      return after;
    };
    Value lastState = op.getResult();
    Operation *lastOutMul = steps.back().outMul;
    auto stateUsersFollow = [&](Operation *after) {
      for (Operation *user : lastState.getUsers()) {
        if (user == lastOutMul)
          continue;
        Operation *anc = block->findAncestorOpInBlock(*user);
        if (!anc || (after && (anc == after || anc->isBeforeInBlock(after))))
          return false;
      }
      return true;
    };
    Operation *after = latestDef(true);
    if (ep.last && !stateUsersFollow(after)) {
      ep = Epilogue();
      after = latestDef(false);
    }
    if (!stateUsersFollow(after))
      return rewriter.notifyMatchFailure(op, "the final state is used before "
                                             "its operands are defined");
    if (after)
      rewriter.setInsertionPointAfter(after);
    else
      rewriter.setInsertionPointToStart(block);

    Location loc = rewriter.getFusedLoc(
        {steps.front().update.getLoc(), op.getLoc(), outValue.getLoc()});
    Type et = ht.getElementType();
    Value u = asSequence(rewriter, loc, first.u, bt, di);
    Value dt = asSequence(rewriter, loc, first.dt, bt, di);
    Value bm = asSequence(rewriter, loc, first.b, bt, n);
    Value cm = asSequence(rewriter, loc, first.c, bt, n);
    Value a = first.a;
    if (typeOf(a).getRank() == 3)
      a = ReshapeOp::create(rewriter, loc, RankedTensorType::get({di, n}, et),
                            a);
    Value dSkip, zGate;
    auto vecType = RankedTensorType::get({di}, et);
    if (ep.dIsOne)
      dSkip = ConstantOp::create(
          rewriter, loc, vecType,
          DenseElementsAttr::get(vecType, rewriter.getFloatAttr(et, 1.0)));
    else if (ep.dValue)
      dSkip = typeOf(ep.dValue) == vecType
                  ? ep.dValue
                  : ReshapeOp::create(rewriter, loc, vecType, ep.dValue)
                        .getResult();
    if (ep.z) {
      TimeStep zs = first.u;
      zs.source = ep.z;
      zGate = asSequence(rewriter, loc, zs, bt, di);
    }
    auto scan = SelectiveScanOp::create(rewriter, loc, u, dt, a, bm, cm, dSkip,
                                        zGate, /*delta_bias=*/Value(), init,
                                        /*delta_softplus=*/false);
    LLVM_DEBUG(llvm::dbgs()
               << "re-rolled " << len << " steps into " << scan << "\n");

    // y is [Bt, Di, L]: laid out as the stack, u's tensor (after an
    // epilogue) or the single output.
    Value result = scan.getY();
    Value replaced = ep.last ? ep.last->getResult(0) : outValue;
    RankedTensorType rt = typeOf(replaced);
    if (ep.last) {
      result = fromSequence(rewriter, loc, result, first.u);
    } else if (stack) {
      // [Bt, Di, L] -> [others..., L] -> the time axis moved to stackAxis.
      SmallVector<int64_t> others;
      for (int64_t i = 0; i < rt.getRank(); ++i)
        if (i != stackAxis)
          others.push_back(rt.getDimSize(i));
      others.push_back(len);
      result = ReshapeOp::create(rewriter, loc,
                                 RankedTensorType::get(others, et), result);
      if (stackAxis != rt.getRank() - 1) {
        SmallVector<int64_t> perm;
        for (int64_t i = 0; i < rt.getRank() - 1; ++i)
          perm.push_back(i);
        perm.insert(perm.begin() + stackAxis, rt.getRank() - 1);
        result = TransposeOp::create(rewriter, loc, rt, result,
                                     rewriter.getDenseI64ArrayAttr(perm));
      }
    }
    if (typeOf(result) != rt)
      result = ReshapeOp::create(rewriter, loc, rt, result);
    rewriter.replaceUsesWithIf(
        lastState, scan.getFinalState(),
        [&](OpOperand &use) { return use.getOwner() != lastOutMul; });
    rewriter.replaceAllUsesWith(replaced, result);
    return success();
  }

  /// `+ u * D` and `* silu(z)` after the stacked output, when u's tensor,
  /// the output and z share a layout in which the channel dimension is the
  /// one after the batch.
  struct Epilogue {
    Operation *last = nullptr;
    Value dValue;
    bool dIsOne = false;
    Value z;
  };

  static Epilogue matchEpilogue(Value out, int64_t axis, const TimeStep &u,
                                int64_t bt, int64_t di) {
    Epilogue ep;
    RankedTensorType xt = typeOf(u.source);
    if (typeOf(out) != xt || xt.getRank() != 3)
      return ep;
    // L > 1: the stack's time axis must be u's; L = 1: a single output of
    // the source's type lays out the same elements in the same order.
    if (axis >= 0 && axis != u.axis)
      return ep;
    SmallVector<int64_t> others;
    for (int64_t i = 0; i < 3; ++i)
      if (i != u.axis)
        others.push_back(i);
    if (xt.getDimSize(others[0]) != bt || xt.getDimSize(others[1]) != di)
      return ep;
    int64_t channel = others[1];
    Value cur = out;
    auto soleUser = [](Value v) -> Operation * {
      return v.hasOneUse() ? *v.getUsers().begin() : nullptr;
    };
    if (auto add = dyn_cast_or_null<AddOp>(soleUser(cur))) {
      Value other = add.getLhs() == cur ? add.getRhs() : add.getLhs();
      if (typeOf(add.getResult()) == xt) {
        if (other == u.source) {
          ep.dIsOne = true;
        } else {
          eitherOrder(other.getDefiningOp<MulOp>(), [&](Value x, Value d) {
            RankedTensorType dt = typeOf(d);
            if (x != u.source || !dt || dt.getRank() > 3 ||
                dt.getNumElements() != di)
              return false;
            // d broadcasts along every dimension but the channel one.
            int64_t pad = 3 - dt.getRank();
            for (int64_t i = 0; i < dt.getRank(); ++i)
              if (dt.getDimSize(i) != (i + pad == channel ? di : 1))
                return false;
            ep.dValue = d;
            return true;
          });
        }
        if (ep.dIsOne || ep.dValue) {
          ep.last = add;
          cur = add.getResult();
        }
      }
    }
    if (auto mul = dyn_cast_or_null<MulOp>(soleUser(cur))) {
      Value other = mul.getLhs() == cur ? mul.getRhs() : mul.getLhs();
      auto silu = other.getDefiningOp<SiluOp>();
      if (silu && typeOf(silu.getInput()) == xt &&
          typeOf(mul.getResult()) == xt) {
        ep.z = silu.getInput();
        ep.last = mul;
      }
    }
    return ep;
  }

  /// The scan's [Bt, Di, L] output laid out as the tensor `layout` steps
  /// through (the inverse of asSequence).
  static Value fromSequence(PatternRewriter &rewriter, Location loc, Value y,
                            const TimeStep &layout) {
    RankedTensorType t = typeOf(layout.source);
    int64_t rank = t.getRank();
    SmallVector<int64_t> perm, shape;
    for (int64_t i = 0; i < rank; ++i)
      if (i != layout.axis)
        perm.push_back(i);
    perm.push_back(layout.axis);
    for (int64_t p : perm)
      shape.push_back(t.getDimSize(p));
    Type et = typeOf(y).getElementType();
    if (typeOf(y).getShape() != ArrayRef<int64_t>(shape))
      y = ReshapeOp::create(rewriter, loc, RankedTensorType::get(shape, et), y);
    if (layout.axis == rank - 1)
      return y;
    SmallVector<int64_t> inverse(rank);
    for (int64_t i = 0; i < rank; ++i)
      inverse[perm[i]] = i;
    return TransposeOp::create(rewriter, loc,
                               RankedTensorType::get(t.getShape(), et), y,
                               rewriter.getDenseI64ArrayAttr(inverse));
  }
};

//===----------------------------------------------------------------------===//
// Causal depthwise conv1d
//===----------------------------------------------------------------------===//

struct CausalConvPattern : OpRewritePattern<ConvOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    RankedTensorType in = typeOf(op.getInput()), w = typeOf(op.getWeight()),
                     out = typeOf(op.getResult());
    if (!in || !w || !out || in.getRank() != 3 || !in.hasStaticShape() ||
        !w.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "not a static 1-D convolution");
    int64_t bt = in.getDimSize(0), di = in.getDimSize(1),
            lin = in.getDimSize(2), k = w.getDimSize(2);
    if (op.getGroups() != di || w.getDimSize(0) != di || w.getDimSize(1) != 1)
      return rewriter.notifyMatchFailure(op, "not depthwise");
    if (llvm::any_of(op.getStridesOrDefault(),
                     [](int64_t s) { return s != 1; }) ||
        llvm::any_of(op.getDilationsOrDefault(),
                     [](int64_t d) { return d != 1; }))
      return rewriter.notifyMatchFailure(op, "strided or dilated");
    if (!op.getResult().hasOneUse())
      return rewriter.notifyMatchFailure(op, "the full convolution is used");
    SmallVector<int64_t> pads = op.getPaddingOrDefault();
    Location loc = op.getLoc();
    Value x, state;
    Operation *replaced = op;
    ConcatOp concat;
    if (pads[0] == k - 1 && pads[1] >= 0) {
      // Prefill: padded by K-1 in front, the first L outputs kept.
      x = op.getInput();
      if (pads[1] > 0) {
        auto slice = dyn_cast<SliceOp>(*op.getResult().getUsers().begin());
        if (!slice || !isPrefix(slice, out, lin))
          return rewriter.notifyMatchFailure(op, "outputs past the end are "
                                                 "used");
        replaced = slice;
      }
    } else if (pads[0] == 0 && pads[1] == 0 && k > 1) {
      // Decode: concat(state, x) along time, no padding.
      concat = op.getInput().getDefiningOp<ConcatOp>();
      if (!concat || concat.getInputs().size() != 2 ||
          (concat.getAxis() != 2 && concat.getAxis() != -1) ||
          typeOf(concat.getInputs()[0]).getDimSize(2) != k - 1)
        return rewriter.notifyMatchFailure(op, "no state in front");
      state = concat.getInputs()[0];
      x = concat.getInputs()[1];
    } else {
      return rewriter.notifyMatchFailure(op, "not causal padding");
    }
    Activation act = Activation::none;
    Value result = replaced->getResult(0);
    if (result.hasOneUse())
      if (auto silu = dyn_cast<SiluOp>(*result.getUsers().begin())) {
        act = Activation::silu;
        replaced = silu;
      }
    rewriter.setInsertionPoint(replaced);
    Type et = w.getElementType();
    Value weight = ReshapeOp::create(
        rewriter, loc, RankedTensorType::get({di, k}, et), op.getWeight());
    auto conv = CausalConv1dOp::create(rewriter, loc, x, weight, op.getBias(),
                                       state, act);
    // Slices of the last K-1 steps of the sequence the conv reads
    // (concat(state, x), or x itself when it has K-1 steps or more) are the
    // new state, where every use of them comes after the conv.
    Value seq = concat ? concat.getResult() : x;
    int64_t total = typeOf(seq).getDimSize(2);
    if (total >= k - 1) {
      DominanceInfo dom;
      for (Operation *user : llvm::make_early_inc_range(seq.getUsers())) {
        auto slice = dyn_cast<SliceOp>(user);
        if (slice &&
            slice.getStarts() == ArrayRef<int64_t>{0, 0, total - (k - 1)} &&
            slice.getSizes() == ArrayRef<int64_t>{bt, di, k - 1} &&
            llvm::all_of(slice.getSteps(), [](int64_t s) { return s == 1; }) &&
            llvm::all_of(slice->getUsers(), [&](Operation *u) {
              return dom.properlyDominates(conv, u);
            }))
          rewriter.replaceOp(slice, conv.getFinalState());
      }
    }
    rewriter.replaceOp(replaced, conv.getResult());
    return success();
  }

  /// True when `slice` keeps outputs [0, len) of the time axis of `full`.
  static bool isPrefix(SliceOp slice, RankedTensorType full, int64_t len) {
    for (int64_t i = 0; i < 3; ++i) {
      int64_t size = i == 2 ? len : full.getDimSize(i);
      if (slice.getStarts()[i] != 0 || slice.getSizes()[i] != size ||
          slice.getSteps()[i] != 1)
        return false;
    }
    return true;
  }
};

struct RecognizeSelectiveScanPass
    : kiln::impl::RecognizeSelectiveScanBase<RecognizeSelectiveScanPass> {
  using RecognizeSelectiveScanBase::RecognizeSelectiveScanBase;
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    if (scan)
      patterns.add<SelectiveScanPattern>(&getContext(), Options{foldEpilogue});
    if (conv1d)
      patterns.add<CausalConvPattern>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
