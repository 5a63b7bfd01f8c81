//===- Passes.td - CPU code generation passes --------------*- tablegen -*-===//

#ifndef KILN_CODEGEN_CPU_PASSES_TD
#define KILN_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvToMatmul : Pass<"kiln-conv-to-matmul", "func::FuncOp"> {
  let summary = "Rewrite patch convolutions as a transpose and a matmul";
  let description = [{
    A `kiln.conv` with two spatial dimensions, one group, static shapes,
    f32 input and f32 (or, after `--dtype=bf16`, bf16) weights whose
    windows do not overlap (stride equal to the kernel, no padding, no
    dilation: a ViT patch embedding or a 1x1 conv) becomes, per image,
    `W [F, C*KH*KW] . col [C*KH*KW, OH*OW]` in the kiln dialect, with `col`
    the input reshaped to `[N, C, OH, KH, OW, KW]` and transposed so that K
    runs over `(c, kh, kw)` like the weight's (a 1x1 conv needs no
    transpose). `kiln-use-ukernels` then runs the product on the matmul
    micro-kernel; it is already in NCHW order. The bias becomes a broadcast
    add. With bf16 weights, `col` is cast to bf16.

    Convolutions with overlapping windows are left to `kiln-use-ukernels`,
    whose conv kernel packs the im2col matrix straight from the image rather
    than building it (it would be KH*KW times the input). Grouped or
    depthwise convolutions, 1-D convolutions and other element types stay
    `kiln.conv`.

    ```mlir
    %y = kiln.conv %x, %w {strides = array<i64: 4, 4>}
        : (tensor<1x3x8x8xf32>, tensor<6x3x4x4xf32>) -> tensor<1x6x2x2xf32>
    // becomes: kiln.reshape to [1, 3, 2, 4, 2, 4], kiln.transpose to
    // [1, 3, 4, 4, 2, 2], kiln.reshape to [1, 48, 4], kiln.matmul with the
    // [6, 48] weight, kiln.reshape to [1, 6, 2, 2].
    ```
  }];
}

def UseUkernels : Pass<"kiln-use-ukernels", "func::FuncOp"> {
  let summary = "Call the runtime's micro-kernels for matmuls and attention";
  let description = [{
    Rewrites kiln ops that the runtime has hand-tuned micro-kernels for
    (runtime/ukernels/ukernels.h) into `kiln_rt.ukernel` calls on tensors:

    - `kiln.matmul` on f32 (or bf16 operands with an f32 result) whose batch
      dimensions collapse to one (each operand's batch is the result's or
      all ones), together with its epilogue when `epilogues` is set: a bias
      add of a per-column vector, then a relu, gelu or silu, then a residual
      add (`C = act(A B + bias) + residual`), each intermediate used once;
    - 2-D single-group `kiln.conv` with f32 input and result and f32 or
      bf16 weights (`matmul`), which becomes the conv kernel: the matmul
      kernels on the weight and the im2col of the image, packed from the
      image a block at a time. With `epilogues`, a following add of a
      per-channel vector (`[1, F, 1, 1]`, a time embedding) joins the bias
      and a residual add of the result's type is accumulated onto;
    - f32 `kiln.attention`, with or without a float or boolean mask, which
      becomes the flash-attention kernel. When its key and value are each
      a `kiln.concat` of two parts along the sequence, split at the same
      length (a past KV cache and the new tokens), the kernel reads the
      parts in place and the concatenation is not built; with
      `attention-min-queries`, only when it has at least that many queries
      per head. On the CUDA target these calls are not runtime calls:
      `kiln-cuda-tile-attention` generates their kernels;
    - f32 `kiln.selective_scan` and `kiln.causal_conv1d` (`ssm`), which
      take their sequence operands time-major (`[B, L, D]`): the
      transposes around them are absorbed where there are some.

    Upstream MLIR has no CPU flash-attention lowering and its generated
    matmuls reach a fraction of the FP32 peak here; the micro-kernels are
    written once in the runtime (as IREE's ukernels are) and are measured
    against OpenBLAS and PyTorch in `make bench`. Ops left alone keep their
    linalg lowering.
  }];
  let options = [
    Option<"matmul", "matmul", "bool", /*default=*/"true",
           "Use the matmul micro-kernels">,
    Option<"attention", "attention", "bool", /*default=*/"true",
           "Use the flash-attention micro-kernels">,
    Option<"attentionMinQueries", "attention-min-queries", "int64_t",
           /*default=*/"0",
           "Only attention with at least this many queries per head uses the "
           "flash-attention kernel (the CUDA target: 16; a decoder step's "
           "attention keeps kiln-to-linalg's key-split row loops)">,
    Option<"epilogues", "epilogues", "bool", /*default=*/"true",
           "Fold bias, activation and residual adds into matmul calls">,
    Option<"ssm", "ssm", "bool", /*default=*/"true",
           "Use the selective-scan and causal-conv1d micro-kernels">,
    Option<"causalConv1d", "causal-conv1d", "bool", /*default=*/"true",
           "With ssm, the causal-conv1d kernel too (the CUDA target: off, "
           "a thread per output element is more parallel)">,
  ];
  let dependentDialects = ["::mlir::kiln::rt::KilnRTDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::tensor::TensorDialect"];
}

def PackWeights : Pass<"kiln-pack-weights", "func::FuncOp"> {
  let summary = "Pack the constant weights of matmul micro-kernel calls at compile time";
  let description = [{
    Rewrites `kiln_uk_matmul_f32` and `kiln_uk_matmul_bias_f32` calls (from
    `kiln-use-ukernels`) whose B operand is an f32 constant shared by the
    whole batch (directly or through `kiln.reshape`, stored `[K, N]` or,
    with `KILN_UK_TRANSPOSE_B`, `[N, K]`) into `kiln_uk_matmul_packed_f32`
    and `kiln_uk_matmul_packed_bias_f32` calls on the weight laid out once,
    here, in the panels the micro-kernels stream
    (runtime/ukernels/matmul_pack.h). At run time nothing is repacked: the
    large-M path skips its B packing phase (a pass over every weight per
    call) and decode-sized products read the panels in place. The packed
    weight is the same size (N padded to whole panels of 32 columns); a
    weight read by several calls or functions is packed and stored once.

    ```mlir
    %c = kiln_rt.ukernel "kiln_uk_matmul_f32" ins(%a, %w, %flags : tensor<1x64x128xf32>, tensor<1x128x256xf32>, i64) outs(...)
    // with %w a constant becomes
    %c = kiln_rt.ukernel "kiln_uk_matmul_packed_f32" ins(%a, %packed, %k, %n, %flags : tensor<1x64x128xf32>, tensor<32768xf32>, i64, i64, i64) outs(...)
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let options = [
    Option<"minElements", "min-elements", "int64_t", /*default=*/"0",
           "Smallest weight (K * N) worth packing">,
  ];
}

def ReassociateReductions : Pass<"kiln-reassociate-reductions",
                                  "func::FuncOp"> {
  let summary = "Let LLVM vectorize floating-point reductions";
  let description = [{
    Marks the floating-point arithmetic in the body of every `linalg` op
    with a reduction loop `reassoc` (and `contract`, for fused
    multiply-adds): the sums of softmax, norms, pooling and `kiln.reduce`
    may then be computed as several partial sums, which is what vector
    code does. Without it LLVM keeps the sequential order and leaves
    these loops scalar. Partial sums are no less accurate than one
    running sum (usually more).
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect"];
}

def TileParallel : Pass<"kiln-tile-parallel", "func::FuncOp"> {
  let summary = "Tile linalg ops into scf.forall tasks for the thread pool";
  let description = [{
    Tiles the parallel dimensions of every top-level `linalg` op on tensors
    with `scf.forall`, so the runtime's pool can run the tiles on its
    threads. The tile count aims at `tasks-per-op` tiles but never makes a
    tile of fewer than `min-task-elements` output elements (small ops stay
    untiled). Outer dimensions are tiled first.
  }];
  let options = [
    Option<"tasksPerOp", "tasks-per-op", "int64_t", /*default=*/"32",
           "Number of tiles to aim for">,
    Option<"minTaskElements", "min-task-elements", "int64_t",
           /*default=*/"16384", "Smallest tile worth a task, in output elements">
  ];
  let dependentDialects = ["::mlir::scf::SCFDialect",
                           "::mlir::tensor::TensorDialect",
                           "::mlir::affine::AffineDialect"];
}

def LowerForall : Pass<"kiln-lower-forall", "func::FuncOp"> {
  let summary = "Turn buffer-level scf.forall into kiln_rt.parallel_for";
  let description = [{
    Rewrites each outermost `scf.forall` on buffers (after bufferization,
    with no shared outputs) into a `kiln_rt.parallel_for` over the
    linearized iteration space; the body recovers the induction variables by
    division. Nested `scf.forall` ops run sequentially inside their task
    (as `scf.for`).
  }];
  let dependentDialects = ["::mlir::kiln::rt::KilnRTDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::arith::ArithDialect"];
}

def ExpandMath : Pass<"kiln-expand-math", "func::FuncOp"> {
  let summary = "Expand math functions into vectorizable polynomials";
  let description = [{
    Replaces the `math` ops named by `ops` with upstream's polynomial
    approximations (plain `arith`, which LLVM vectorizes), and expands the
    others LLVM has no intrinsic for. Functions left alone (`sin`, `cos`,
    `pow`) become libm calls.
  }];
  let options = [
    ListOption<"ops", "ops", "std::string",
               "math ops to approximate (default: exp, log, log1p, expm1, "
               "tanh, erf, atan, atan2)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect",
                           "::mlir::x86vector::X86VectorDialect"];
}

def LowerToLLVM : Pass<"kiln-lower-to-llvm", "ModuleOp"> {
  let summary = "Lower buffers, loops and kiln_rt ops to the llvm dialect";
  let description = [{
    One dialect conversion of everything left after bufferization and loop
    lowering (`arith`, `math`, `memref`, `cf`, `func`, `index`, `vector`,
    `kiln_rt`) to the `llvm` dialect. Entry points use the bare-pointer
    convention: each static buffer is passed as one pointer. A buffer with
    no elements and a rank of 2 or more, which has no bare-pointer form, is
    passed as an opaque pointer and read as an empty stack buffer.

    `kiln_rt.weight` loads a pointer from the weight table.
    `kiln_rt.ukernel` becomes a call of the named runtime function with, for
    each buffer operand, its aligned base pointer (offset applied) followed by
    its sizes and its strides as `i64`, and scalars as they are.
    `kiln_rt.parallel_for` stays, with an `i64` induction variable, for
    `kiln-outline-parallel`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def OutlineParallel : Pass<"kiln-outline-parallel", "ModuleOp"> {
  let summary = "Outline kiln_rt.parallel_for bodies into task functions";
  let description = [{
    On the llvm dialect: moves the body of every `kiln_rt.parallel_for` into
    a new function `(ptr captures, i64 begin, i64 end)` that runs the body
    for indices `[begin, end)`, packs the values the body uses into a
    stack struct, and calls the runtime's
    `kiln_rt_parallel_for(count, task, captures)`, which splits the range
    over its threads and returns when all are done.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def EmitEntryPoints : Pass<"kiln-emit-entry-points", "ModuleOp"> {
  let summary = "Emit the artifact's C ABI: entry wrappers and metadata";
  let description = [{
    For every entry point recorded by `kiln-record-entry-points`, emits
    `void kiln_entry_<name>(void **buffers, void *const *weights,
    void *workspace)` (inputs then outputs in `buffers`), and the global
    `kiln_artifact_metadata`: a text description of the entry points
    (names, workspace sizes, input and output names, dtypes and shapes) and
    the weight count, which the runtime parses and checks when it loads the
    artifact. Everything else becomes internal. With `target=cuda` the
    metadata says so (`target cuda`), and the runtime initializes the CUDA
    driver when it loads the artifact.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "What the artifact runs on: cpu or cuda">,
  ];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

#endif // KILN_CODEGEN_CPU_PASSES_TD
