//===- ElementwiseOps.td - elementwise kiln ops ------------*- tablegen -*-===//

#ifndef KILN_DIALECT_KILN_IR_ELEMENTWISEOPS_TD
#define KILN_DIALECT_KILN_IR_ELEMENTWISEOPS_TD

include "kiln/Dialect/Kiln/IR/KilnDialect.td"
include "kiln/Dialect/Kiln/IR/KilnEnums.td"
include "kiln/Dialect/Kiln/IR/KilnTypes.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

class Kiln_UnaryOp<string mnemonic, string formula, Type tensorType = Kiln_FloatTensor,
                   list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, Kiln_Elementwise, SameOperandsAndResultType], traits)> {
  let summary = "elementwise " # formula;
  let description = !strconcat("Computes `", formula, [{` elementwise. The
    result has the type of the operand.

    Example:

    ```mlir
    %y = kiln.}], mnemonic, [{ %x : tensor<2x3xf32>
    ```
  }]);
  let arguments = (ins tensorType:$input);
  let results = (outs tensorType:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_NegOp : Kiln_UnaryOp<"neg", "-x", Kiln_NumericTensor> {
  let hasFolder = 1;
}
def Kiln_AbsOp : Kiln_UnaryOp<"abs", "|x|", Kiln_NumericTensor>;
def Kiln_ExpOp : Kiln_UnaryOp<"exp", "exp(x)">;
def Kiln_LogOp : Kiln_UnaryOp<"log", "log(x)">;
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", "sqrt(x)">;
def Kiln_RsqrtOp : Kiln_UnaryOp<"rsqrt", "1 / sqrt(x)">;
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", "1 / x">;
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", "tanh(x)">;
def Kiln_ErfOp : Kiln_UnaryOp<"erf", "erf(x)">;
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", "1 / (1 + exp(-x))">;
def Kiln_ReluOp : Kiln_UnaryOp<"relu", "max(x, 0)", Kiln_NumericTensor>;
def Kiln_SiluOp : Kiln_UnaryOp<"silu", "x * sigmoid(x)">;
def Kiln_SoftplusOp : Kiln_UnaryOp<"softplus", "log(1 + exp(x))">;
def Kiln_SinOp : Kiln_UnaryOp<"sin", "sin(x)">;
def Kiln_CosOp : Kiln_UnaryOp<"cos", "cos(x)">;
def Kiln_FloorOp : Kiln_UnaryOp<"floor", "floor(x)">;
def Kiln_CeilOp : Kiln_UnaryOp<"ceil", "ceil(x)">;
def Kiln_RoundOp : Kiln_UnaryOp<"round", "round half to even(x)">;
def Kiln_SignOp : Kiln_UnaryOp<"sign", "sign(x)", Kiln_NumericTensor>;
def Kiln_NotOp : Kiln_UnaryOp<"not", "logical not x", Kiln_BoolTensor>;
def Kiln_AtanOp : Kiln_UnaryOp<"atan", "atan(x)">;

def Kiln_GeluOp : Kiln_Op<"gelu", [Pure, Kiln_Elementwise, SameOperandsAndResultType]> {
  let summary = "Gaussian error linear unit";
  let description = [{
    `approximate = none` computes the exact `0.5 * x * (1 + erf(x / sqrt(2)))`;
    `approximate = tanh` computes
    `0.5 * x * (1 + tanh(sqrt(2 / pi) * (x + 0.044715 * x^3)))`.

    Example:

    ```mlir
    %y = kiln.gelu %x approximate tanh : tensor<4x768xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                   DefaultValuedAttr<Kiln_GeluApproximation,
                     "::mlir::kiln::GeluApproximation::none">:$approximate);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat =
      "$input (`approximate` $approximate^)? attr-dict `:` type($result)";
}

def Kiln_ClampOp : Kiln_Op<"clamp", [Pure, Kiln_Elementwise, SameOperandsAndResultType]> {
  let summary = "clamp to [min, max]";
  let description = [{
    Computes `min(max(x, min), max)` elementwise. Either bound may be absent.

    Example:

    ```mlir
    %y = kiln.clamp %x {min = 0.0 : f64, max = 6.0 : f64} : tensor<8xf32>
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$input, OptionalAttr<F64Attr>:$min,
                   OptionalAttr<F64Attr>:$max);
  let results = (outs Kiln_NumericTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
  let hasVerifier = 1;
}

def Kiln_LeakyReluOp : Kiln_Op<"leaky_relu", [Pure, Kiln_Elementwise, SameOperandsAndResultType]> {
  let summary = "leaky rectified linear unit";
  let description = [{
    Computes `x >= 0 ? x : alpha * x` elementwise.

    ```mlir
    %y = kiln.leaky_relu %x {alpha = 0.01 : f64} : tensor<8xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                   DefaultValuedAttr<F64Attr, "0.01">:$alpha);
  let results = (outs Kiln_FloatTensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($result)";
}

def Kiln_CastOp : Kiln_Op<"cast", [Pure, Kiln_Elementwise]> {
  let summary = "element type conversion";
  let description = [{
    Converts every element to the result's element type, keeping the shape.
    Float to integer truncates toward zero; integer to float rounds to
    nearest; anything to `i1` tests for non-zero; `i1` to a number gives 0 or 1.
    Unsigned integers (`ui8`, quantized data) convert by value.

    ```mlir
    %y = kiln.cast %x : tensor<4xf32> to tensor<4xbf16>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$input attr-dict `:` type($input) `to` type($result)";
  let hasVerifier = 1;
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Binary ops with numpy broadcasting
//===----------------------------------------------------------------------===//

class Kiln_BroadcastOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat([Pure, Kiln_Elementwise, Kiln_DiagnoseInference, InferTypeOpAdaptor], traits)>;

class Kiln_BinaryOp<string mnemonic, string formula,
                    Type tensorType = Kiln_NumericTensor, list<Trait> traits = []>
    : Kiln_BroadcastOp<mnemonic, !listconcat(
          [AllElementTypesMatch<["lhs", "rhs", "result"]>], traits)> {
  let summary = "elementwise " # formula # " with broadcasting";
  let description = !strconcat("Computes `", formula, [{` elementwise after
    broadcasting both operands to a common shape with numpy's rules (shapes
    aligned at the trailing dimension; a dimension of size 1 stretches). The
    element types must match.

    Example:

    ```mlir
    %z = kiln.}], mnemonic, [{ %x, %y : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
    ```
  }]);
  let arguments = (ins tensorType:$lhs, tensorType:$rhs);
  let results = (outs tensorType:$result);
  let assemblyFormat =
      "$lhs `,` $rhs attr-dict `:` functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_AddOp : Kiln_BinaryOp<"add", "x + y", Kiln_NumericTensor, [Commutative]>;
def Kiln_SubOp : Kiln_BinaryOp<"sub", "x - y">;
def Kiln_MulOp : Kiln_BinaryOp<"mul", "x * y", Kiln_NumericTensor, [Commutative]>;
def Kiln_DivOp : Kiln_BinaryOp<"div", "x / y (integers: truncating)">;
def Kiln_PowOp : Kiln_BinaryOp<"pow", "x ^ y", Kiln_FloatTensor>;
def Kiln_MaxOp : Kiln_BinaryOp<"max", "max(x, y)", Kiln_NumericTensor, [Commutative]>;
def Kiln_MinOp : Kiln_BinaryOp<"min", "min(x, y)", Kiln_NumericTensor, [Commutative]>;
def Kiln_AndOp : Kiln_BinaryOp<"and", "x and y", Kiln_BoolTensor, [Commutative]>;
def Kiln_OrOp : Kiln_BinaryOp<"or", "x or y", Kiln_BoolTensor, [Commutative]>;
def Kiln_XorOp : Kiln_BinaryOp<"xor", "x xor y", Kiln_BoolTensor, [Commutative]>;

def Kiln_CmpOp : Kiln_BroadcastOp<"cmp", [AllElementTypesMatch<["lhs", "rhs"]>]> {
  let summary = "elementwise comparison with broadcasting";
  let description = [{
    Compares the broadcast operands with `predicate` and yields `i1`.
    Integers compare as signed; floats compare ordered (NaN compares false,
    except for `ne`).

    ```mlir
    %m = kiln.cmp lt, %x, %y : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
    ```
  }];
  let arguments = (ins Kiln_CmpPredicate:$predicate, Kiln_NumericTensor:$lhs,
                   Kiln_NumericTensor:$rhs);
  let results = (outs Kiln_BoolTensor:$result);
  let assemblyFormat = "$predicate `,` $lhs `,` $rhs attr-dict `:` "
                       "functional-type(operands, results)";
  let hasFolder = 1;
}

def Kiln_SelectOp : Kiln_BroadcastOp<"select",
    [AllElementTypesMatch<["true_value", "false_value", "result"]>]> {
  let summary = "elementwise select (ONNX Where) with broadcasting";
  let description = [{
    Yields `true_value` where `condition` holds and `false_value` elsewhere,
    after broadcasting all three operands.

    ```mlir
    %y = kiln.select %c, %a, %b : (tensor<4x4xi1>, tensor<f32>, tensor<4x4xf32>) -> tensor<4x4xf32>
    ```
  }];
  let arguments = (ins Kiln_BoolTensor:$condition, Kiln_Tensor:$true_value,
                   Kiln_Tensor:$false_value);
  let results = (outs Kiln_Tensor:$result);
  let assemblyFormat = "$condition `,` $true_value `,` $false_value attr-dict "
                       "`:` functional-type(operands, results)";
  let hasFolder = 1;
}

#endif // KILN_DIALECT_KILN_IR_ELEMENTWISEOPS_TD
