//===- Passes.td - target-independent kiln passes ----------*- tablegen -*-===//

#ifndef KILN_TRANSFORMS_PASSES_TD
#define KILN_TRANSFORMS_PASSES_TD

include "mlir/Pass/PassBase.td"

def RecordEntryPoints : Pass<"kiln-record-entry-points", "ModuleOp"> {
  let summary = "Record the tensor signature of every entry point";
  let description = [{
    For each public function, stores its inputs and outputs (names, element
    types, shapes) as the `kiln.inputs` and `kiln.outputs` attributes, before
    bufferization rewrites the signature. Names come from `kiln.name`
    argument and result attributes (the importers set them) and default to
    `input<i>` and `output<i>`. The artifact's metadata and the runtime's
    input validation are built from these records.
  }];
}

def Bufferize : Pass<"kiln-bufferize", "ModuleOp"> {
  let summary = "One-shot bufferization of a whole module, as kiln needs it";
  let description = [{
    Runs upstream's One-Shot Module Bufferize with identity-layout function
    boundaries, then turns returned buffers into output parameters (writing
    results in place where the buffer is allocated in the function). Every
    copy either step needs is a `linalg.copy`, which later stages tile and
    lower to loops; upstream's default, `memref.copy`, would become a call
    into MLIR's C runner library, which an artifact must not depend on.
  }];
  let dependentDialects = ["::mlir::bufferization::BufferizationDialect",
                           "::mlir::linalg::LinalgDialect",
                           "::mlir::memref::MemRefDialect"];
}

def ExternalizeWeights : Pass<"kiln-externalize-weights", "ModuleOp"> {
  let summary = "Read weights through the runtime's weight table";
  let description = [{
    Replaces every `memref.global` whose initial value is a `dense_resource`
    blob (the weights, after bufferization) by an entry of the weight table:
    its uses become `kiln_rt.weight %table[i]`, where `%table` is a new last
    argument (`!llvm.ptr`) of every function that reads a weight. The blobs
    are listed, in table order, in the module attribute `kiln.weights`; the
    artifact writer stores them aligned for mmap, and the JIT passes their
    addresses directly, so no weight is copied into the generated code.
  }];
  let dependentDialects = ["::mlir::kiln::rt::KilnRTDialect",
                           "::mlir::LLVM::LLVMDialect"];
}

def PlanMemory : Pass<"kiln-plan-memory", "func::FuncOp"> {
  let summary = "Place an entry point's buffers in one arena by liveness";
  let description = [{
    Gives every statically sized `memref.alloc` at the top level of a public
    function an offset in a single workspace, sharing space between buffers
    whose live ranges (through all their views) do not overlap. The
    workspace becomes a new argument (`memref<Nxi8>`) after the others and
    each allocation a `memref.view` of it; the function records the
    workspace size as `kiln.workspace_bytes`, which the runtime allocates
    once per model. Allocations inside parallel loops become stack
    allocations when at most `max-stack-bytes`; larger ones stay heap
    allocations, one per iteration, freed at the end of their block.
    Placement is greedy best-fit, largest buffers first.
  }];
  let options = [
    Option<"alignment", "alignment", "int64_t", /*default=*/"64",
           "Alignment of every buffer in the workspace, in bytes">,
    Option<"maxStackBytes", "max-stack-bytes", "int64_t", /*default=*/"262144",
           "Largest allocation inside a parallel loop placed on the stack">
  ];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::arith::ArithDialect"];
}

def FormKernels : Pass<"kiln-form-kernels", "func::FuncOp"> {
  let summary = "Group kiln ops into kernel regions";
  let description = [{
    The kernels stage's decision of what becomes one kernel, made on kiln
    ops, where it is easy to read and to report: every op that computes
    (not the views: reshapes, constants) ends up in exactly one
    `kiln.kernel` region. A compute op (matmul, conv, norm, softmax,
    reduction, attention, data movement, micro-kernel call) starts a
    kernel; an elementwise op joins the kernel of an operand when that
    operand is the kernel's last result and has no other use, so chains of
    elementwise ops, a conv's bias and activation, and a norm's consumers
    (DiT's modulation, a residual add) fuse into their producer. Everything
    else starts an elementwise kernel of its own.

    `kiln-fuse-kernels` then fuses each region's ops after lowering, and
    `kiln-compile --report` prints the kernels with their FLOPs and bytes.
  }];
  let options = [
    Option<"fuseElementwise", "fuse-elementwise", "bool", /*default=*/"true",
           "Let elementwise ops join their producer's kernel (off: one "
           "kernel per op)">,
  ];
}

def FuseKernels : Pass<"kiln-fuse-kernels", "func::FuncOp"> {
  let summary = "Fuse the elementwise linalg ops of each kernel region";
  let description = [{
    After lowering, fuses the elementwise `linalg.generic` ops of every
    `kiln.kernel` region into their producers inside the same region
    (upstream's elementwise fusion, restricted to the region, also through
    reshapes), then drops unit dimensions (upstream's unit-extent folding):
    the keep-dims statistics of softmax and norms then reach their
    consumers without reshapes, so a reduction and its consumers tile and
    fuse as one loop nest. Functions
    without kernel regions (linalg input) get upstream's elementwise fusion
    over the whole function. The regions stay for code generation, which
    tiles each as one loop nest (`kiln-tile-parallel`), until
    `kiln-inline-kernels`.
  }];
  let dependentDialects = ["::mlir::linalg::LinalgDialect",
                           "::mlir::tensor::TensorDialect"];
}

def InlineKernels : Pass<"kiln-inline-kernels", "func::FuncOp"> {
  let summary = "Replace kernel regions by their ops";
  let description = [{
    Once code generation has shaped each `kiln.kernel` region (tiled and
    fused it), the regions have done their job: each is replaced by the ops
    of its body, its results by the values it yields.
  }];
}

#endif // KILN_TRANSFORMS_PASSES_TD
