// RUN: kiln-opt %s -kiln-inline-kernels | FileCheck %s

// Each region is replaced by its ops and its results by what it yields.
// CHECK-LABEL: func @inline
// CHECK-NOT: kiln.kernel
// CHECK: %[[E:.*]] = kiln.exp %arg0
// CHECK-NEXT: %[[N:.*]] = kiln.neg %[[E]]
// CHECK-NEXT: %[[A:.*]] = kiln.abs %[[N]]
// CHECK-NEXT: return %[[A]], %[[N]]
func.func @inline(%x: tensor<8xf32>) -> (tensor<8xf32>, tensor<8xf32>) {
  %0 = kiln.kernel "elementwise" -> tensor<8xf32> {
    %1 = kiln.exp %x : tensor<8xf32>
    %2 = kiln.neg %1 : tensor<8xf32>
    kiln.yield %2 : tensor<8xf32>
  }
  %3 = kiln.kernel "elementwise" -> tensor<8xf32> {
    %4 = kiln.abs %0 : tensor<8xf32>
    kiln.yield %4 : tensor<8xf32>
  }
  return %3, %0 : tensor<8xf32>, tensor<8xf32>
}
