// RUN: kiln-opt %s -kiln-record-entry-points -split-input-file -verify-diagnostics | FileCheck %s

// Names come from kiln.name and default to input<i> / output<i>; types are
// recorded as they are, unsigned included.
// CHECK-LABEL: func @main
// CHECK-SAME: kiln.inputs = [{name = "pixel_values", type = tensor<2x3xf32>}, {name = "input1", type = tensor<4xui8>}]
// CHECK-SAME: kiln.outputs = [{name = "logits", type = tensor<2x3xf32>}, {name = "output1", type = tensor<i64>}]
func.func @main(%x: tensor<2x3xf32> {kiln.name = "pixel_values"}, %y: tensor<4xui8>)
    -> (tensor<2x3xf32> {kiln.name = "logits"}, tensor<i64>) {
  %c = arith.constant dense<1> : tensor<i64>
  return %x, %c : tensor<2x3xf32>, tensor<i64>
}

// Private functions are not entry points.
// CHECK-LABEL: func private @helper
// CHECK-SAME: -> tensor<2xf32> {
func.func private @helper(%x: tensor<2xf32>) -> tensor<2xf32> {
  return %x : tensor<2xf32>
}

// -----

// Every public function is an entry point, even one without inputs.
// CHECK-LABEL: func @first
// CHECK-SAME: kiln.inputs = [{name = "input0", type = tensor<4xf32>}]
// CHECK-LABEL: func @no_inputs
// CHECK-SAME: kiln.inputs = []
// CHECK-SAME: kiln.outputs = [{name = "output0", type = tensor<f32>}]
func.func @first(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}
func.func @no_inputs() -> tensor<f32> {
  %c = arith.constant dense<1.0> : tensor<f32>
  return %c : tensor<f32>
}

// -----

// A dynamic dimension cannot be recorded.
// expected-error @+1 {{entry point 'dynamic' must take and return statically shaped tensors, got 'tensor<?x3xf32>'}}
func.func @dynamic(%x: tensor<?x3xf32>) -> tensor<?x3xf32> {
  return %x : tensor<?x3xf32>
}

// -----

// Nor can a buffer: the records are taken before bufferization.
// expected-error @+1 {{entry point 'buffers' must take and return statically shaped tensors, got 'memref<4xf32>'}}
func.func @buffers(%x: memref<4xf32>) {
  return
}
