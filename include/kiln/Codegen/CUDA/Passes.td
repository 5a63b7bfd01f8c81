//===- Passes.td - CUDA code generation passes -------------*- tablegen -*-===//

#ifndef KILN_CODEGEN_CUDA_PASSES_TD
#define KILN_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def CUDATransposeWeights : Pass<"kiln-cuda-transpose-weights",
                                 "func::FuncOp"> {
  let summary = "Store transposed constant matmul weights transposed";
  let description = [{
    Runs on kiln ops, before the lowering (where the CPU target runs its
    micro-kernel passes, which pack weights instead). A framework's linear
    layer stores its weight `[N, K]` and multiplies by its transpose: as
    written, the CUDA target would transpose every such weight into a
    buffer on every call (a kernel reading and writing the whole weight),
    then read it again in the product. This pass replaces
    `kiln.matmul %x, (kiln.transpose %W [1, 0])`, `%W` an f32 constant, by
    a product with a new constant holding `W` transposed (`[K, N]`, made
    once at compile time, named after `W`'s blob). The product then reads
    the weight once, with neighbouring threads (columns `n`) reading
    neighbouring addresses. A constant read elsewhere too (tied
    embeddings) stays for its other readers.

    ```mlir
    %w = kiln.constant dense_resource<fc> : tensor<3072x768xf32>
    %t = kiln.transpose %w {permutation = array<i64: 1, 0>} : tensor<3072x768xf32> -> tensor<768x3072xf32>
    %y = kiln.matmul %x, %t : (tensor<8x768xf32>, tensor<768x3072xf32>) -> tensor<8x3072xf32>
    // becomes
    %wt = kiln.constant dense_resource<fc_t> : tensor<768x3072xf32>
    %y = kiln.matmul %x, %wt : (tensor<8x768xf32>, tensor<768x3072xf32>) -> tensor<8x3072xf32>
    ```
  }];
  let dependentDialects = ["::mlir::kiln::KilnDialect"];
}

def CUDADeviceBuffers : Pass<"kiln-cuda-device-buffers", "func::FuncOp"> {
  let summary = "Give an entry point's buffers device memory";
  let description = [{
    Runs on bufferized entry points (public functions with `kiln.inputs`
    and `kiln.outputs`, after `kiln-plan-memory`), whose arguments are
    host memory: the input buffers, the output buffers, the weight table
    and the workspace. Every memref the function reads or writes gets a
    device copy made with `gpu.alloc`:

    - inputs are copied host to device (`gpu.memcpy`) on entry;
    - outputs are copied device to host before each `return`, and so are
      inputs the function may write (through views too: a decoder's KV
      cache, updated in place);
    - an input the function only loads from gets no device buffer for the
      loads at the top level of the entry point (scalars the host computes
      with, like a decoder's position): they keep reading host memory and
      are marked `kiln.host_load`, which `kiln-cuda-map-loops` leaves on
      the host;
    - the workspace becomes a device buffer of the same size, and the
      host workspace the runtime allocates shrinks to nothing
      (`kiln.workspace_bytes` becomes 0);
    - each constant global (`memref.get_global`) and each weight read from
      the host table (`kiln_rt.weight`) is copied host to device on every
      call; weights that `kiln-cuda-resident-weights` keeps on the device
      (read from its device table) are left alone.

    Every device buffer is freed (`gpu.dealloc`) before each return; the
    buffers are made after the weights' upload call, if there is one. The
    host side then only moves data and launches kernels; an op that still
    reads or writes a memref outside a parallel loop is wrapped in a
    kernel by `kiln-cuda-map-loops`.

    ```mlir
    func.func @main(%in: memref<4xf32>, %out: memref<4xf32>, ...)
    // becomes
    %d_in = gpu.alloc () : memref<4xf32>
    gpu.memcpy %d_in, %in : memref<4xf32>, memref<4xf32>
    %d_out = gpu.alloc () : memref<4xf32>
    ... uses of %in and %out now use %d_in and %d_out ...
    gpu.memcpy %out, %d_out : memref<4xf32>, memref<4xf32>
    gpu.dealloc %d_in : memref<4xf32>
    gpu.dealloc %d_out : memref<4xf32>
    ```
  }];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CUDAResidentWeights : Pass<"kiln-cuda-resident-weights", "ModuleOp"> {
  let summary = "Upload the weights to the device once, on the first call";
  let description = [{
    Runs on bufferized entry points before `kiln-cuda-device-buffers`:
    instead of a device copy of every weight on every call, the weights
    live in device memory from the first call on. The module gets a table
    of device pointers (`@kiln_cuda_weights`, one per weight) and a state
    word; each entry point that reads weights first calls
    `@kiln_cuda_resident_weights(%table)`, which returns at once when the
    weights are on the device, and otherwise claims the upload with an
    atomic compare-and-exchange (other threads wait for it in the runtime's
    `kiln_rt_cuda_wait`, which yields), copies every weight
    (`@kiln_cuda_upload_weights`: `gpu.alloc` and `gpu.memcpy`, then a
    synchronization) and publishes the table. The upload succeeded only if
    every allocation returned memory and the runtime recorded no error
    during it (`kiln_rt_cuda_error_count` before, `kiln_rt_cuda_ok_since`
    after), so a failed copy or synchronization counts. A failed upload
    frees every slot of the table and zeroes it
    (`@kiln_cuda_discard_weights`), then leaves the state "not uploaded":
    the run reports the runtime's error and the next call tries again from
    scratch. The entry points then read their weights from
    the device table (`kiln_rt.weight` on `@kiln_cuda_weights`), which
    `kiln-cuda-device-buffers` leaves alone. With `free-at-unload`, a
    global destructor frees the device copies when the artifact is
    unloaded (`mgpuMemFree`).

    Weights stay on the device the first call ran on: a model is used from
    one device.
  }];
  let options = [
    Option<"freeAtUnload", "free-at-unload", "bool", /*default=*/"true",
           "Free the device weights in a global destructor (off for the "
           "host emulation, whose buffers are host memory)">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::cf::ControlFlowDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect"];
}

def CUDASelectiveScan : Pass<"kiln-cuda-selective-scan", "func::FuncOp"> {
  let summary = "Compile selective-scan calls as register-state GPU kernels";
  let description = [{
    Runs on bufferized functions after `kiln-cuda-device-buffers`. On the
    CUDA target, `kiln-use-ukernels{ssm causal-conv1d=false}` turns
    static f32 `kiln.selective_scan` ops into
    `kiln_rt.ukernel "kiln_uk_selective_scan_f32"` calls with the runtime
    kernel's contract (runtime/ukernels/ukernels.h: time-major u, delta,
    z, y `[Bt, L, Di]`, B and C `[Bt, L, N]`, A `[Di, N]`, optional D,
    delta bias, z gate, initial state and softplus by flags, the final
    state `[Bt, Di, N]`). This pass generates that kernel for the GPU:
    every call becomes one `gpu.launch` with

    - a thread per (batch, channel), `block-channels` channels a block
      (grid x over the channels, y over the batch);
    - the channel's state (N values), its row of A, D and delta bias in
      registers for the whole sequence;
    - the steps in chunks of `chunk`: the block copies the chunk's B and C
      rows into shared memory (every channel of the block reads them),
      synchronizes, each thread runs the chunk's steps (dt, softplus,
      h = exp(dt A) h + dt u B, y = h . C + D u, times silu(z)), and a
      second barrier keeps the next copy from overwriting rows still read;
    - u, delta, z read and y written with neighbouring channels at
      neighbouring addresses; the final state stored once.

    kiln-to-linalg's `scan=channels` loops (the CUDA target's lowering of
    the op otherwise) read and write the state in device memory at every
    step.

    ```mlir
    kiln_rt.ukernel "kiln_uk_selective_scan_f32" ins(%u, %dt, %A, %B, %C,
        %D, %z, %bias, %h0, %flags : ...) outs(%y, %hN : ...)
    // becomes (defaults: 128 channels a block, chunks of 32 steps)
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c12, %gy = %c1, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c128, %sy = %c1, %sz = %c1)
               workgroup(%bs : memref<32x16xf32, #gpu.address_space<workgroup>>,
                         %cs : memref<32x16xf32, #gpu.address_space<workgroup>>) {
      ... the channel's A row (16 loads), D, bias, initial state ...
      %h:16 = scf.for %c = %c0 to %chunks step %c1 iter_args(...) {
        ... copy the chunk's B and C rows into %bs and %cs ...
        gpu.barrier
        %s:16 = scf.for %t = %c0 to %steps step %c1 iter_args(...) {
          ... 16 state updates, y stored ...
        }
        gpu.barrier
      }
      ... 16 stores of the final state ...
    }
    ```
  }];
  let options = [
    Option<"blockChannels", "block-channels", "int64_t", /*default=*/"128",
           "Channels (threads) a block runs (a multiple of 32)">,
    Option<"stepsPerChunk", "chunk", "int64_t", /*default=*/"32",
           "Steps whose B and C rows are in shared memory at once">,
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"kiln_kernels\"",
           "Name of the gpu.module the kernels are outlined into">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def CUDATileAttention : Pass<"kiln-cuda-tile-attention", "func::FuncOp"> {
  let summary = "Compile flash-attention calls as shared-memory tiled kernels";
  let description = [{
    Runs on bufferized functions after `kiln-cuda-device-buffers`. On the
    CUDA target, `kiln-use-ukernels{attention-min-queries=16}` turns the
    static f32 `kiln.attention` ops of a prefill (16 or more queries per
    head) into `kiln_rt.ukernel "kiln_uk_attention*_f32"` calls, with the
    runtime kernels' contract (runtime/ukernels/ukernels.h: grouped KV
    heads, causal flag, float or boolean mask broadcast from
    `[mB, mH, Sq, Skv]`, K and V in one or two parts along the sequence, a
    row whose keys are all hidden yields zeros). This pass generates that
    kernel for the GPU: every such call becomes one `gpu.launch`, flash
    attention (FlashAttention-1's structure, in SIMT f32):

    - a block per `block-rows` queries of one (batch, head) (fewer when
      the sequence is shorter, or when 1024 threads would not do),
      `threads-per-row` threads per query (by default 4, more for heads
      wider than 128, so that a thread keeps at most 32 query elements
      and 32 output columns): grid x over the query blocks, y over the
      heads, z over the batch;
    - a thread keeps its query's elements `l, l + t, l + 2t, ...` (`l` its
      lane in the row, `t` the threads per row) and the output columns
      with the same numbering in registers;
    - the keys in tiles of `block-keys` (halved until the K and V tiles fit
      in `shared-memory` bytes): the block copies the tile's keys and
      values into shared memory (rows contiguous in both, zero outside
      the sequence), synchronizes, each thread computes its partial dot
      products with every key of the tile from its query elements, the
      row's threads add them up with `gpu.shuffle xor`, the scores are
      scaled, masked (the mask, the causal limit `j <= i + Skv - Sq`, the
      sequence's end) and folded into the running maximum, sum and output
      columns by the online softmax; a second barrier keeps the next copy
      from overwriting a tile still being read;
    - with `causal`, a block stops at the last key its last query sees;
    - the output is scaled by the inverse sum and stored once.

    Per query, K and V are read from shared memory instead of device
    memory: device traffic falls by the rows a block shares.

    With `tensor-cores` (kiln-compile sets it with `--dtype=bf16`), a head
    whose D is a multiple of 16 and Dv of 8 takes FlashAttention-2's
    structure on tensor cores instead: a warp per 16 queries (`block-rows`
    rounded up to 16: 4 warps by default), the tiles in bf16 (rows padded
    by 8 elements, so that a fragment's lanes read different banks) (`block-keys` rounded down to a
    multiple of 16), the queries held as `mma.sync` A fragments; per tile
    S = Q K^T is `D / 16` m16n8k16 products per 8 keys, each row's maximum
    is reduced over the 4 lanes holding it (`gpu.shuffle xor`), the
    weights P = exp(S - m) are rounded to bf16 and reused in registers as
    the A fragments of O += P V (the PTX layouts of an m16n8 accumulator
    pair and an m16k16 A operand line up), and the output's accumulators
    (`Dv / 8` per warp) stay in registers for the whole loop. The sums
    are kept per lane in f32 and reduced over the quad at the end. Any other
    `kiln_rt.ukernel` left (`kiln-cuda-selective-scan` runs first) is an
    error here: the other micro-kernels are CPU code.
    Upstream MLIR has no flash-attention lowering for GPUs.

    ```mlir
    kiln_rt.ukernel "kiln_uk_attention_f32" ins(%q, %k, %v, %scale, %flags :
        memref<1x8x256x64xf32>, memref<1x8x256x64xf32>,
        memref<1x8x256x64xf32>, f64, i64) outs(%o : memref<1x8x256x64xf32>)
    // becomes (defaults: 64 rows, 4 threads a row, 32 keys a tile)
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c8, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1)
               workgroup(%ks : memref<32x64xf32, #gpu.address_space<workgroup>>,
                         %vs : memref<32x64xf32, #gpu.address_space<workgroup>>) {
      ... 16 loads of the thread's query elements ...
      %r:18 = scf.for %t = %c0 to %tiles step %c1 iter_args(...) {
        ... copy the tile's keys and values into %ks and %vs ...
        gpu.barrier
        ... 32 partial dot products, gpu.shuffle xor 1 and 2, the online
            softmax, 16 output columns updated ...
        gpu.barrier
      }
      ... 16 guarded stores to %o ...
    }
    ```
  }];
  let options = [
    Option<"blockRows", "block-rows", "int64_t", /*default=*/"64",
           "Queries a block computes">,
    Option<"blockKeys", "block-keys", "int64_t", /*default=*/"32",
           "Keys in a shared-memory tile (at most)">,
    Option<"threadsPerRow", "threads-per-row", "int64_t", /*default=*/"0",
           "Threads sharing a query's dot products and output columns (a "
           "power of two, at most 32; 0: the fewest, at least 4, that leave "
           "each at most 32 elements of the query and of the output row)">,
    Option<"sharedMemory", "shared-memory", "int64_t", /*default=*/"49152",
           "Bytes of shared memory the key and value tiles may take (1 to "
           "49152: static shared memory)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"false",
           "Both products on tensor cores (mma.sync m16n8k16): queries, "
           "keys, values and softmax weights rounded to bf16, f32 "
           "accumulation">,
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"kiln_kernels\"",
           "Name of the gpu.module the kernels are outlined into">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def CUDATileContractions : Pass<"kiln-cuda-tile-contractions",
                                  "func::FuncOp"> {
  let summary = "Compile matmuls as shared-memory tiled kernels";
  let description = [{
    Runs on bufferized functions before `kiln-cuda-map-loops`. Every
    contraction, a linalg op on buffers with two inputs, one M, one N and
    one K dimension, any batch dimensions and projected-permutation
    indexing maps (`linalg.matmul`, `linalg.batch_matmul`, the generics
    kiln lowers products to, with bf16 operands extended in the body),
    becomes one `gpu.launch`:

    - a block per `tile-m` x `tile-n` tile of the output (grid x over N,
      y over M, z over the batch), of
      `(tile-m / thread-tile) * (tile-n / thread-tile)` threads;
    - the K dimension in steps of `tile-k`: the block's threads copy the
      two operands' `tile-m` x `tile-k` and `tile-k` x `tile-n` slices into
      shared memory (elements numbered along each operand's contiguous
      dimension, so neighbouring threads read neighbouring addresses; zero
      outside the operands), synchronize (`gpu.barrier`), and each thread
      accumulates a `thread-tile` x `thread-tile` sub-tile (rows
      `row + i * tile-m / thread-tile`, columns likewise, so that a warp
      stores whole rows) with the op's own body, its accumulators in
      registers (`iter_args`) for the whole K loop; a second barrier keeps
      the next copy from overwriting a slice still being read;
    - the sub-tile is initialized from the output (the op's init) and
      stored back once, guarded at the edges. When the output was just
      filled with a constant (a `linalg.fill` right before the op, or a
      `linalg.copy` of a filled buffer, as bufferization leaves a fill
      that several products share), the accumulators start from the
      constant instead and the kernel replaces the fill and the copy (it
      writes every element): two kernels fewer per product.

    With `tensor-cores`, a product of bf16 (or f16) operands accumulated
    in f32 whose body is exactly `acc + extf(a) * extf(b)` (what
    `--dtype=bf16` makes) runs on tensor cores instead: the block's warps
    each take a 32 x 32 part of the tile as 2 x 4 `nvgpu.mma.sync`
    m16n8k16 tiles (a 64 x 64 tile: 4 warps, 128 threads), their operand
    fragments read from the shared slices and their accumulators (8
    `vector<2x2xf32>`) carried through the K loop; the slices are used in
    whole 16-deep steps (zeros past K). The fragments' layouts are the
    PTX ISA's (`include/kiln/Codegen/CUDA/MmaLayout.h`). This needs
    `tile-m` and `tile-n` multiples of 32 and `tile-k` of 16; otherwise,
    and for other bodies, the SIMT kernel above is used.

    A reduction with a few rows takes a split-K kernel instead: any linalg
    op on buffers with one reduction dimension `k` whose output is indexed
    by all its parallel dimensions, the last of them `n` (not statically
    under `min-size`) and the others static with at most `gemv-rows`
    elements together (a decoder step's products, plain, bf16 or
    quantized, whose packed weights and group scales are indexed by affine
    maps such as `k floordiv 2`), and whose body adds a term not reading
    the accumulator to it (it may read `linalg.index`, as int4 products do
    to pick a nibble). A block takes 32 columns and has `gemv-splits`
    warps; each warp sums one range of `k` from zero for every row (its
    lanes read 32 neighbouring columns; operands no row dimension indexes
    are loaded once per `k` for all rows), the partial sums go to shared
    memory and, after a barrier, the first warp adds them to the output in
    split order. Without the split, such a product would have one thread
    per column and too few blocks to occupy a GPU.

    A quantized product with more rows (`kiln-to-linalg{fuse-dequant}`'s
    generic: one input indexed by M and K, the packed weight, its scales
    and zero points indexed by K and N through any affine maps, and a body
    `acc + a * w` where `w` is computed from those and the loop indices)
    takes the SIMT tiled kernel: the copy into shared memory computes `w`
    (the body's dequantization ops), so the slice holds the weight's
    elements in the body's type and the inner loop is the last multiply-add.

    Other products whose M or N is statically smaller than `min-size` are
    left to `kiln-cuda-map-loops`.

    ```mlir
    linalg.matmul ins(%a, %b : memref<128x64xf32>, memref<64x256xf32>)
                  outs(%c : memref<128x256xf32>)
    // becomes (defaults: 64 x 64 tiles, 16 deep, 4 x 4 per thread)
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, %gy = %c2, %gz = %c1)
               threads(%tx, %ty, %tz) in (%sx = %c256, %sy = %c1, %sz = %c1)
               workgroup(%ta : memref<16x65xf32, #gpu.address_space<workgroup>>,
                         %tb : memref<16x65xf32, #gpu.address_space<workgroup>>) {
      %acc = ... 16 loads of %c ...
      %r = scf.for %k0 = %c0 to %c64 step %c16 iter_args(...) {
        ... copy the slices of %a and %b into %ta and %tb ...
        gpu.barrier
        ... 16 multiply-adds per k from %ta and %tb ...
        gpu.barrier
      }
      ... 16 guarded stores to %c ...
    }
    ```
  }];
  let options = [
    Option<"tileM", "tile-m", "int64_t", /*default=*/"64",
           "Rows of the output tile a block computes">,
    Option<"tileN", "tile-n", "int64_t", /*default=*/"64",
           "Columns of the output tile a block computes">,
    Option<"tileK", "tile-k", "int64_t", /*default=*/"16",
           "Depth of the operand slices in shared memory">,
    Option<"threadTile", "thread-tile", "int64_t", /*default=*/"4",
           "Rows and columns of a thread's sub-tile">,
    Option<"minSize", "min-size", "int64_t", /*default=*/"32",
           "Smallest static M and N tiled">,
    Option<"gemvRows", "gemv-rows", "int64_t", /*default=*/"16",
           "Products of at most this many static rows (and M under "
           "min-size) take the split-K kernel">,
    Option<"gemvSplits", "gemv-splits", "int64_t", /*default=*/"8",
           "Warps splitting K in the split-K kernel (1 to 32)">,
    Option<"tensorCores", "tensor-cores", "bool", /*default=*/"true",
           "Products of bf16 or f16 operands into f32 on tensor cores "
           "(nvgpu.mma.sync m16n8k16)">,
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"kiln_kernels\"",
           "Name of the gpu.module the kernels are outlined into">,
  ];
  let dependentDialects = ["::mlir::affine::AffineDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def CUDABF16MmaToNVVM : Pass<"kiln-cuda-bf16-mma-to-nvvm"> {
  let summary = "Lower bf16 nvgpu.mma.sync to nvvm.mma.sync";
  let description = [{
    Runs on the kernels before upstream's `convert-nvgpu-to-nvvm`, which
    (in LLVM 22) rejects `nvgpu.mma.sync` with bf16 operands: it cannot
    tell bf16 registers' PTX type. Each m16n8k16 product of bf16 fragments
    into f32 accumulators becomes an `nvvm.mma.sync` whose operands are the
    fragments' registers as i32 words (two bf16 each, the first in the low
    half), with `multiplicandAPtxType`/`multiplicandBPtxType` bf16 and row
    A, column B layouts; its four f32 results are packed back into the
    `vector<2x2xf32>` the op returned. Other element types are left to
    upstream.

    ```mlir
    %d = nvgpu.mma.sync (%a, %b, %c) {mmaShape = [16, 8, 16]}
        : (vector<4x2xbf16>, vector<2x2xbf16>, vector<2x2xf32>) -> vector<2x2xf32>
    // becomes
    %a0 = vector.extract %a[0] ... vector.bitcast ... : vector<1xi32> ...
    %r = nvvm.mma.sync A[%a0, %a1, %a2, %a3] B[%b0, %b1] C[%c0, %c1, %c2, %c3]
        {multiplicandAPtxType = #nvvm.mma_type<bf16>, ...}
    %d = vector.from_elements ... : vector<2x2xf32>
    ```
  }];
  let dependentDialects = ["::mlir::NVVM::NVVMDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::vector::VectorDialect"];
}

def CUDAMapLoops : Pass<"kiln-cuda-map-loops", "func::FuncOp"> {
  let summary = "Map parallel loops to grids of thread blocks";
  let description = [{
    Turns every outermost `scf.parallel` of a function (as
    `convert-linalg-to-parallel-loops` leaves them: the parallel dimensions
    of a linalg op, with its reductions as sequential `scf.for` loops
    inside) into a `gpu.launch`. The iteration space is flattened: thread
    `t` of block `b` runs iteration `b * threads-per-block + t` (last
    dimension fastest, so neighbouring threads touch neighbouring
    elements), guarded by the trip count; there are
    `ceildiv(trip count, threads-per-block)` blocks. Parallel loops nested
    in a mapped one run sequentially in its thread. A nest with a dimension
    of static trip count 0 is erased (no launch); one that can be empty at
    run time (a dynamic count) launches one block whose threads the guards
    keep from running the body, as a grid of 0 blocks is invalid.

    Memory accesses left outside any parallel loop on the host (a
    `memref.load`, `memref.store`, or a loop or branch containing them)
    run in a kernel of one thread, so that the host never dereferences
    device memory; a value such an op computes that the host needs is an
    error. Loads marked `kiln.host_load` (by `kiln-cuda-device-buffers`:
    they read host memory) stay on the host. A nest of two or more dimensions whose body has a reduction
    loop (a matmul, a norm's statistics) is mapped by 2-D tiles of its last
    two dimensions instead (`tile-reductions`): a block of
    `threads-per-block` threads covers `threads-per-block / tile-width`
    rows by `tile-width` columns, so its threads share the rows of one
    operand and the columns of the other in the caches; the other
    dimensions are flattened over the blocks. A nest whose second-to-last
    dimension has a static count smaller than a tile's rows (a decoder
    step's single row) is flattened instead, as a tile would leave most of
    its threads idle. Every launch names its kernel (`<function>_kernel<i>`) in one
    module, `kiln_kernels`, which `gpu-kernel-outlining` fills.

    ```mlir
    scf.parallel (%i, %j) = (%c0, %c0) to (%c16, %c64) step (%c1, %c1) {
      ...
    }
    // becomes (threads-per-block = 256: 1024 iterations, 4 blocks)
    gpu.launch blocks(%bx, ...) in (%gx = %c4, ...)
               threads(%tx, ...) in (%sx = %c256, ...) {
      %id = %bx * 256 + %tx
      scf.if %id < 1024 { %i = %id / 64, %j = %id mod 64, ... }
      gpu.terminator
    }
    ```
  }];
  let options = [
    Option<"threadsPerBlock", "threads-per-block", "int64_t",
           /*default=*/"256", "Threads in each block of a launch (1 to 1024)">,
    Option<"tileReductions", "tile-reductions", "bool", /*default=*/"true",
           "Give reductions 2-D tiles of their last two parallel "
           "dimensions">,
    Option<"tileWidth", "tile-width", "int64_t", /*default=*/"16",
           "Columns of a reduction's tile (its rows: threads-per-block / "
           "tile-width)">,
    Option<"kernelModule", "kernel-module", "std::string",
           /*default=*/"\"kiln_kernels\"",
           "Name of the gpu.module the kernels are outlined into">,
  ];
  let dependentDialects = ["::mlir::gpu::GPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::scf::SCFDialect"];
}

def CUDAPromoteAccumulators : Pass<"kiln-cuda-promote-accumulators",
                                    "func::FuncOp"> {
  let summary = "Keep reduction accumulators in registers";
  let description = [{
    In the kernels `kiln-cuda-map-loops` makes, a reduction runs as an
    `scf.for` that loads its accumulator from the output, adds to it and
    stores it back on every iteration (as `convert-linalg-to-parallel-loops`
    writes it); LLVM cannot keep it in a register because it cannot prove
    that the kernel's pointers do not alias. This pass rewrites each loop
    inside a `gpu.launch` whose body loads and stores one location
    (same memref, same indices, all defined outside the loop) so that the
    value is loaded once before the loop, carried in `iter_args` and
    stored once after it; nested reductions (a convolution's channel and
    window loops) are promoted level by level. A loop qualifies only when
    that load and store are its only accesses to the memref and its only
    write, and nothing in it has unknown memory effects: as bufferized
    linalg code guarantees, the memrefs it reads do not alias the
    accumulator.

    ```mlir
    scf.for %k = %c0 to %c8 step %c1 {
      %a = memref.load %A[%i, %k]  %b = memref.load %B[%k, %j]
      %c = memref.load %C[%i, %j]
      memref.store (%c + %a * %b), %C[%i, %j]
    }
    // becomes
    %c0v = memref.load %C[%i, %j]
    %r = scf.for %k = ... iter_args(%acc = %c0v) -> (f32) {
      ... scf.yield (%acc + %a * %b)
    }
    memref.store %r, %C[%i, %j]
    ```
  }];
  let dependentDialects = ["::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
}

def CUDAEmulateLaunches : Pass<"kiln-cuda-emulate-launches",
                                "func::FuncOp"> {
  let summary = "Run GPU launches and device memory on the host (testing)";
  let description = [{
    A testing aid for machines without a GPU: on the IR that
    `kiln-cuda-device-buffers` and `kiln-cuda-map-loops` produce (before
    outlining), every `gpu.launch` becomes sequential host loops over its
    blocks and threads running the kernel body (block and thread ids from
    the loop variables, grid and block sizes from the launch), and device
    memory becomes host memory (`gpu.alloc`, `gpu.dealloc`, `gpu.memcpy` to
    `memref.alloc`, `memref.dealloc`, `memref.copy`). Compiled for the CPU,
    the result computes what the CUDA kernels compute with the same index
    arithmetic, guards and copies, so the mapping can be checked against a
    reference (`kiln-compile --target=cuda --cuda-emulate`).

    A kernel whose threads synchronize runs phase by phase, as MCUDA and
    POCL run CUDA and OpenCL kernels on CPUs: the ops between two
    `gpu.barrier`s run for every thread of the block before the next
    phase starts; a value one phase computes and a later one reads is kept
    per thread in a host array, and shared memory (workgroup attributions,
    read and written by `memref.load` and `memref.store`) is a host buffer.
    Barriers may be at the top of the kernel or in `scf.for` loops whose
    bounds are the same for every thread (the loop runs once per block,
    its iteration-carried values per thread); ops whose operands every
    thread shares run once per block. A barrier anywhere else (under an
    `scf.if`, in a loop whose bounds depend on the thread), a value that is
    not a scalar or vector living across a barrier, and private or dynamic
    shared memory are errors. A warp's tensor-core product
    (`nvgpu.mma.sync` m16n8k16, bf16 or f16 operands, f32 accumulators) is
    a phase of its own: each warp's A and B are assembled from its lanes'
    fragments and each lane gets its accumulators' dot products (in f32,
    in K order), by the PTX ISA's fragment layouts. So is a warp shuffle
    (`gpu.shuffle xor` over 32 lanes with an offset every thread shares,
    its validity unused): each thread gets the value of lane
    `lane xor offset`. A loop whose body does
    not end with a barrier runs rotated: one iteration's ops after its last
    synchronization and the next iteration's ops before its first make one
    phase, as nothing orders them between threads on a GPU. As threads of
    a phase run one after another on the host, a missing barrier usually
    shows as a wrong result, though not always (a warp operation is a
    phase of the whole block here).

    ```mlir
    gpu.launch blocks(%bx, %by, %bz) in (%gx = %c4, ...)
               threads(%tx, %ty, %tz) in (%sx = %c256, ...) { body }
    // becomes
    scf.for %bx = %c0 to %c4 step %c1 {
      scf.for %tx = %c0 to %c256 step %c1 { body }
    }
    ```
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def CUDAHostToLLVM : Pass<"kiln-cuda-host-to-llvm", "ModuleOp"> {
  let summary = "Lower the host side to the llvm dialect and runtime calls";
  let description = [{
    The CUDA counterpart of `kiln-lower-to-llvm`: lowers the host functions
    (func, arith, cf, memref, `kiln_rt.weight`) to the llvm dialect with
    bare-pointer entry points, as `kiln-emit-entry-points` expects, and
    the gpu dialect's host ops with upstream's patterns (those of
    `gpu-to-llvm`): `gpu.alloc`, `gpu.memcpy`, `gpu.dealloc` and
    `gpu.wait` become calls of `mgpuMemAlloc`, `mgpuMemcpy`, `mgpuMemFree`,
    `mgpuStreamCreate`, `mgpuStreamSynchronize` and `mgpuStreamDestroy`
    (the signatures of upstream's CudaRuntimeWrappers.cpp, which kiln's
    runtime implements over the CUDA driver). `gpu.launch_func` keeps its
    form with llvm operands and `gpu.binary` stays: their translation to
    LLVM IR embeds the kernels and calls `mgpuModuleLoad` (or
    `mgpuModuleLoadJIT` for PTX), `mgpuModuleGetFunction` and
    `mgpuLaunchKernel`. Device operations must be asynchronous (run
    `gpu-async-region` first). As in `kiln-lower-to-llvm`, an entry-point
    buffer with no elements and a rank of 2 or more, which has no bare
    pointer form, is passed as an opaque pointer and read as an empty stack
    buffer. Anything left unconverted is an error.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::memref::MemRefDialect"];
}

#endif // KILN_CODEGEN_CUDA_PASSES_TD
