// RUN: kiln-opt %s -kiln-externalize-weights -split-input-file -verify-diagnostics | FileCheck %s

// Blob-backed globals become entries of the weight table, in module order;
// an inline dense global is not a weight and stays.
// CHECK: module attributes {kiln.weights = [dense_resource<w0> : tensor<2x2xf32>, dense_resource<w1> : tensor<4xf32>]}
// CHECK-NOT: memref.global {{.*}} @w0
// CHECK: memref.global "private" constant @small : memref<2xf32> = dense<[1.000000e+00, 2.000000e+00]>
// CHECK-NOT: memref.global
// CHECK-LABEL: func @main
// CHECK-SAME: (%{{.*}}: memref<2x2xf32>, %{{.*}}: memref<4xf32>, %[[TABLE:.*]]: !llvm.ptr)
// CHECK: kiln_rt.weight %[[TABLE]][0] : !llvm.ptr -> memref<2x2xf32>
// CHECK: memref.get_global @small
// CHECK: kiln_rt.weight %[[TABLE]][1] : !llvm.ptr -> memref<4xf32>
// CHECK: kiln_rt.weight %[[TABLE]][0] : !llvm.ptr -> memref<2x2xf32>
memref.global "private" constant @w0 : memref<2x2xf32> = dense_resource<w0> {alignment = 64 : i64}
memref.global "private" constant @small : memref<2xf32> = dense<[1.0, 2.0]>
memref.global "private" constant @w1 : memref<4xf32> = dense_resource<w1>
func.func @main(%out: memref<2x2xf32>, %out2: memref<4xf32>) {
  %0 = memref.get_global @w0 : memref<2x2xf32>
  %1 = memref.get_global @small : memref<2xf32>
  %2 = memref.get_global @w1 : memref<4xf32>
  %3 = memref.get_global @w0 : memref<2x2xf32>
  linalg.add ins(%0, %3 : memref<2x2xf32>, memref<2x2xf32>) outs(%out : memref<2x2xf32>)
  linalg.copy ins(%2 : memref<4xf32>) outs(%out2 : memref<4xf32>)
  return
}

// An entry point takes the table even when it reads no weight, so the ABI
// does not depend on it.
// CHECK-LABEL: func @no_weights
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: !llvm.ptr)
func.func @no_weights(%x: memref<4xf32>) {
  return
}

// A private function that reads no weight is left alone.
// CHECK-LABEL: func private @helper
// CHECK-SAME: (%{{.*}}: memref<4xf32>)
// CHECK-NOT: !llvm.ptr
func.func private @helper(%x: memref<4xf32>) {
  return
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000400000404000008040",
      w1: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// Without weights the table is empty.
// CHECK: module attributes {kiln.weights = []}
// CHECK-LABEL: func @empty_table
func.func @empty_table(%x: memref<4xf32>) {
  return
}

// -----

// Only entry points receive the table.
memref.global "private" constant @w0 : memref<4xf32> = dense_resource<w0>
// expected-error @+1 {{reads weights but is not an entry point; only entry points receive the weight table}}
func.func private @reads_weight(%out: memref<4xf32>) {
  %0 = memref.get_global @w0 : memref<4xf32>
  linalg.copy ins(%0 : memref<4xf32>) outs(%out : memref<4xf32>)
  return
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000400000404000008040"
    }
  }
#-}
