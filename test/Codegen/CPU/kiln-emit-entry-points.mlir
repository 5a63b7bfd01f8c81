// RUN: kiln-opt %s -kiln-emit-entry-points -split-input-file -verify-diagnostics | FileCheck %s
// RUN: kiln-opt %s -kiln-emit-entry-points=target=cuda -split-input-file -verify-diagnostics \
// RUN:   | FileCheck %s --check-prefix=CUDA

// Each entry point gets a C wrapper: buffers[i] (inputs, then outputs),
// then the weight table and the workspace, passed through. The metadata
// lists the weights with their sizes and each entry's workspace, inputs and
// outputs (name, dtype, rank, dims). Everything else becomes internal,
// declarations excepted, and the records are dropped.
// CHECK-LABEL: llvm.func internal @helper
// CHECK: llvm.func @kiln_uk(!llvm.ptr)
// CHECK-LABEL: llvm.func internal @main
// CHECK-SAME: : !llvm.ptr) {
// CHECK-LABEL: llvm.func @kiln_entry_main
// CHECK-SAME: (%[[BUFS:.*]]: !llvm.ptr, %[[WEIGHTS:.*]]: !llvm.ptr, %[[WS:.*]]: !llvm.ptr)
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[BUFS]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[B0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[BUFS]][1]
// CHECK: %[[B1:.*]] = llvm.load %[[S1]]
// CHECK: %[[S2:.*]] = llvm.getelementptr %[[BUFS]][2]
// CHECK: %[[B2:.*]] = llvm.load %[[S2]]
// CHECK: llvm.call @main(%[[B0]], %[[B1]], %[[B2]], %[[WEIGHTS]], %[[WS]])
// A CUDA artifact says so before the weights; a CPU one leaves it out.
// CUDA: @kiln_artifact_metadata("kiln-artifact 1\0Atarget cuda\0Aweights 1\0Aweight 0 16\0Aentry main 256 2 1
// CHECK-NOT: target cuda
// CHECK: llvm.mlir.global external constant @kiln_artifact_metadata("kiln-artifact 1\0Aweights 1\0Aweight 0 16\0Aentry main 256 2 1\0Ainput pixels f32 2 1 3\0Ainput input1 u8 1 4\0Aoutput logits bf16 1 2\0Aend\0A\00")
module attributes {kiln.weights = [dense_resource<w0> : tensor<2x2xf32>]} {
  llvm.func @helper() {
    llvm.return
  }
  llvm.func @kiln_uk(!llvm.ptr)
  llvm.func @main(%x: !llvm.ptr, %q: !llvm.ptr, %y: !llvm.ptr, %table: !llvm.ptr, %ws: !llvm.ptr)
      attributes {kiln.inputs = [{name = "pixels", type = tensor<1x3xf32>}, {name = "input1", type = tensor<4xui8>}],
                  kiln.outputs = [{name = "logits", type = tensor<2xbf16>}], kiln.workspace_bytes = 256 : i64} {
    llvm.call @helper() : () -> ()
    llvm.return
  }
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// Without a weight list (kiln-externalize-weights not run) there are no
// weights, and an entry without a workspace record needs 0 bytes.
// CHECK-LABEL: llvm.func @kiln_entry_f
// CHECK: @kiln_artifact_metadata("kiln-artifact 1\0Aweights 0\0Aentry f 0 1 0\0Ainput x bool 0\0Aend\0A\00")
llvm.func @f(%x: !llvm.ptr, %table: !llvm.ptr, %ws: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<i1>}], kiln.outputs = []} {
  llvm.return
}

// -----

// expected-error @+1 {{no entry points: the module has no public function}}
module {
  llvm.func @not_recorded(%x: !llvm.ptr) {
    llvm.return
  }
}

// -----

// expected-error @+1 {{entry point 'short' should take 2 buffers, the weight table and the workspace; it takes 3 arguments}}
llvm.func @short(%x: !llvm.ptr, %y: !llvm.ptr, %table: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf32>}], kiln.outputs = [{name = "y", type = tensor<4xf32>}]} {
  llvm.return
}

// -----

// expected-error @+1 {{entry point input 'x' has element type 'f8E4M3FN', which the runtime does not support}}
llvm.func @fp8(%x: !llvm.ptr, %table: !llvm.ptr, %ws: !llvm.ptr)
    attributes {kiln.inputs = [{name = "x", type = tensor<4xf8E4M3FN>}], kiln.outputs = []} {
  llvm.return
}

// -----

// expected-error @+1 {{entry point output name 'my output' is empty or contains white space}}
llvm.func @spaces(%y: !llvm.ptr, %table: !llvm.ptr, %ws: !llvm.ptr)
    attributes {kiln.inputs = [], kiln.outputs = [{name = "my output", type = tensor<4xf32>}]} {
  llvm.return
}

// -----

// expected-error @+1 {{weight 0 has no data}}
module attributes {kiln.weights = [dense<1.0> : tensor<2xf32>]} {
  llvm.func @inline_weight(%table: !llvm.ptr, %ws: !llvm.ptr)
      attributes {kiln.inputs = [], kiln.outputs = []} {
    llvm.return
  }
}
