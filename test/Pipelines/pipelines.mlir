// Each named pipeline, replayed by kiln-opt on the output of the stage
// before it, as kiln-compile runs them.
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline | FileCheck %s --check-prefix=GRAPH
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-lower-pipeline | FileCheck %s --check-prefix=LOWER
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-lower-pipeline=lower-fused-ops=false | FileCheck %s --check-prefix=KEEP
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-kernels-pipeline | FileCheck %s --check-prefix=KERNELS
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-codegen-cpu-pipeline | FileCheck %s --check-prefix=CODEGEN
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-codegen-cpu-pipeline="tasks-per-op=8 min-task-elements=1024" \
// RUN:   | FileCheck %s --check-prefix=CODEGEN8
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   -kiln-codegen-cpu-pipeline | kiln-opt -split-input-file -kiln-bufferize-pipeline | FileCheck %s --check-prefix=BUF
// RUN: kiln-opt %s -split-input-file -kiln-graph-pipeline -kiln-lower-pipeline -kiln-kernels-pipeline \
// RUN:   -kiln-codegen-cpu-pipeline -kiln-bufferize-pipeline \
// RUN:   | kiln-opt -split-input-file -kiln-cpu-to-llvm-pipeline | FileCheck %s --check-prefix=LLVM
// RUN: kiln-opt %s -split-input-file -kiln-cpu-pipeline | FileCheck %s --check-prefix=LLVM
// RUN: kiln-opt %s -split-input-file -kiln-cpu-pipeline | FileCheck %s --check-prefix=PURE
// RUN: kiln-opt %s -split-input-file -kiln-cpu-pipeline="min-task-elements=1000000" | FileCheck %s --check-prefix=SERIAL

// graph: the zero add folds and the repeated relu is CSE'd.
// GRAPH-LABEL: func @main
// GRAPH-SAME: (%[[X:.*]]: tensor<64x512xf32> {kiln.name = "x"}, %[[B:.*]]: tensor<512xf32>)
// GRAPH: %[[S:.*]] = kiln.constant dense_resource<scale> : tensor<1xf32>
// GRAPH-NEXT: %[[A:.*]] = kiln.add %[[X]], %[[B]]
// GRAPH-NEXT: %[[R:.*]] = kiln.relu %[[A]]
// GRAPH-NEXT: %[[SQ:.*]] = kiln.mul %[[R]], %[[R]]
// GRAPH-NEXT: %[[Y:.*]] = kiln.mul %[[SQ]], %[[S]]
// GRAPH-NEXT: return %[[Y]]

// lower: signatures recorded, the ops grouped into one kernel region and
// each a linalg.generic on tensors, the weight still a blob.
// LOWER-LABEL: func @main
// LOWER-SAME: kiln.inputs = [{name = "x", type = tensor<64x512xf32>}, {name = "input1", type = tensor<512xf32>}]
// LOWER-SAME: kiln.outputs = [{name = "y", type = tensor<64x512xf32>}]
// LOWER: arith.constant dense_resource<scale> : tensor<1xf32>
// LOWER: kiln.kernel "elementwise"
// LOWER-COUNT-4: linalg.generic
// LOWER-NOT: kiln.{{(add|mul|rsqrt|reduce|constant)}}
// LOWER: kiln.yield
// LOWER: return

// kernels: the four elementwise ops fuse into one.
// KERNELS-LABEL: func @main
// KERNELS-COUNT-1: linalg.generic
// KERNELS-NOT: linalg.generic
// KERNELS: return

// codegen: 32768 output elements make 2 tiles at the default 16384-element
// minimum; 8 with the options.
// CODEGEN-LABEL: func @main
// CODEGEN: scf.forall (%{{.*}}) = (0) to (64) step (32)
// CODEGEN: linalg.generic {{.*}} outs(%{{.*}} : tensor<32x512xf32>)
// CODEGEN8-LABEL: func @main
// CODEGEN8: scf.forall (%{{.*}}) = (0) to (64) step (8)

// bufferize: buffers, output parameter, weight table and workspace.
// BUF: module attributes {kiln.weights = [dense_resource<scale> : tensor<1xf32>]}
// BUF-LABEL: func @main
// BUF-SAME: (%[[X:.*]]: memref<64x512xf32> {kiln.name = "x"}, %{{.*}}: memref<512xf32>, %[[Y:.*]]: memref<64x512xf32> {kiln.name = "y"}, %[[T:.*]]: !llvm.ptr, %{{.*}}: memref<{{[0-9]+}}xi8>)
// BUF-SAME: kiln.workspace_bytes =
// BUF: kiln_rt.weight %[[T]][0] : !llvm.ptr -> memref<1xf32>
// BUF: scf.forall
// BUF-NOT: tensor<
// BUF: return

// llvm (stage by stage or all at once): the C entry wrapper, the outlined
// task and the metadata; nothing but llvm is left.
// LLVM-DAG: llvm.func @kiln_rt_parallel_for(i64, !llvm.ptr, !llvm.ptr)
// LLVM-DAG: llvm.func internal @main__task0(%{{.*}}: !llvm.ptr, %{{.*}}: i64, %{{.*}}: i64)
// LLVM-DAG: llvm.func @kiln_entry_main(%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// LLVM-DAG: @kiln_artifact_metadata("kiln-artifact 1\0Aweights 1\0Aweight 0 4\0Aentry main 0 2 1\0Ainput x f32 2 64 512\0Ainput input1 f32 1 512\0Aoutput y f32 2 64 512\0Aend\0A\00")
// PURE-NOT: {{(memref|scf|linalg|tensor|arith|math|kiln_rt)\.}}
// PURE-NOT: {{(=|^) *kiln\.}}
// SERIAL-NOT: kiln_rt_parallel_for
// SERIAL: llvm.func @kiln_entry_main
func.func @main(%x: tensor<64x512xf32> {kiln.name = "x"}, %b: tensor<512xf32>) -> (tensor<64x512xf32> {kiln.name = "y"}) {
  %z = kiln.constant dense<0.0> : tensor<512xf32>
  %s = kiln.constant dense_resource<scale> : tensor<1xf32>
  %0 = kiln.add %x, %z : (tensor<64x512xf32>, tensor<512xf32>) -> tensor<64x512xf32>
  %1 = kiln.add %0, %b : (tensor<64x512xf32>, tensor<512xf32>) -> tensor<64x512xf32>
  %2 = kiln.relu %1 : tensor<64x512xf32>
  %3 = kiln.relu %1 : tensor<64x512xf32>
  %4 = kiln.mul %2, %3 : (tensor<64x512xf32>, tensor<64x512xf32>) -> tensor<64x512xf32>
  %5 = kiln.mul %4, %s : (tensor<64x512xf32>, tensor<1xf32>) -> tensor<64x512xf32>
  return %5 : tensor<64x512xf32>
}
{-#
  dialect_resources: {
    builtin: {
      scale: "0x040000000000003F"
    }
  }
#-}

// -----

// lower-fused-ops=false keeps attention for the codegen stage; by default
// (and in every later stage) it is decomposed.
// LOWER-LABEL: func @attention
// LOWER-NOT: kiln.attention
// LOWER: math.exp
// KEEP-LABEL: func @attention
// KEEP: kiln.attention
// LLVM-LABEL: llvm.func @kiln_entry_attention
func.func @attention(%q: tensor<1x2x8x16xf32>, %k: tensor<1x2x8x16xf32>, %v: tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32> {
  %0 = kiln.attention %q, %k, %v {scale = 0.25 : f64, causal = true}
      : (tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>, tensor<1x2x8x16xf32>) -> tensor<1x2x8x16xf32>
  return %0 : tensor<1x2x8x16xf32>
}
