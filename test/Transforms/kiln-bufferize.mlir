// RUN: kiln-opt %s -kiln-bufferize -split-input-file | FileCheck %s

#map = affine_map<(d0) -> (d0)>

// A result computed in the function is written in place into its output
// parameter: no allocation, no copy.
// CHECK-LABEL: func @in_place
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK-NOT: memref.alloc
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<4xf32>) outs(%[[OUT]] : memref<4xf32>)
// CHECK-NOT: copy
// CHECK: return
func.func @in_place(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %z = arith.constant 0.0 : f32
    %m = arith.maximumf %in, %z : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}

// -----

// Returning an input needs a copy, and the copy is a linalg.copy (never a
// memref.copy, which would need MLIR's runner library).
// CHECK-LABEL: func @passthrough
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK-NEXT: linalg.copy ins(%[[X]] : memref<4xf32>) outs(%[[OUT]] : memref<4xf32>)
// CHECK-NEXT: return
// CHECK-NOT: memref.copy
func.func @passthrough(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

// -----

// A weight becomes a memref.global that keeps its dense_resource blob.
// CHECK: memref.global "private" constant @[[G:.*]] : memref<2x2xf32> = dense_resource<w0>
// CHECK-LABEL: func @weight
// CHECK-SAME: (%[[OUT:.*]]: memref<2x2xf32>)
// CHECK: %[[W:.*]] = memref.get_global @[[G]] : memref<2x2xf32>
// CHECK: linalg.copy ins(%[[W]] : memref<2x2xf32>) outs(%[[OUT]] : memref<2x2xf32>)
func.func @weight() -> tensor<2x2xf32> {
  %w = arith.constant dense_resource<w0> : tensor<2x2xf32>
  return %w : tensor<2x2xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w0: "0x040000000000803F000000400000404000008040"
    }
  }
#-}

// -----

// Concatenation writes each piece into a view of the output parameter.
// CHECK-LABEL: func @concat
// CHECK-SAME: (%[[X:.*]]: memref<2xf32>, %[[Y:.*]]: memref<3xf32>, %[[OUT:.*]]: memref<5xf32>)
// CHECK: %[[V0:.*]] = memref.subview %[[OUT]][0] [2] [1]
// CHECK: linalg.copy ins(%[[X]] : memref<2xf32>) outs(%[[V0]]
// CHECK: %[[V1:.*]] = memref.subview %[[OUT]][2] [3] [1]
// CHECK: linalg.copy ins(%[[Y]] : memref<3xf32>) outs(%[[V1]]
// CHECK-NOT: memref.alloc
func.func @concat(%x: tensor<2xf32>, %y: tensor<3xf32>) -> tensor<5xf32> {
  %e = tensor.empty() : tensor<5xf32>
  %0 = tensor.insert_slice %x into %e[0] [2] [1] : tensor<2xf32> into tensor<5xf32>
  %1 = tensor.insert_slice %y into %0[2] [3] [1] : tensor<3xf32> into tensor<5xf32>
  return %1 : tensor<5xf32>
}

// -----

#map = affine_map<(d0) -> (d0)>

// Private functions get output parameters too; the caller allocates the
// intermediate buffers (kiln-plan-memory places them later).
// CHECK-LABEL: func private @double
// CHECK-SAME: (%{{.*}}: memref<4xf32>, %{{.*}}: memref<4xf32>)
// CHECK-LABEL: func @calls
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[OUT:.*]]: memref<4xf32>)
// CHECK: %[[T0:.*]] = memref.alloc() : memref<4xf32>
// CHECK: call @double(%[[X]], %[[T0]])
// CHECK: %[[T1:.*]] = memref.alloc() : memref<4xf32>
// CHECK: call @double(%[[T0]], %[[T1]])
// CHECK: linalg.copy ins(%[[T1]] : memref<4xf32>) outs(%[[OUT]] : memref<4xf32>)
func.func private @double(%x: tensor<4xf32>) -> tensor<4xf32> {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel"]}
      ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.addf %in, %in : f32
    linalg.yield %m : f32
  } -> tensor<4xf32>
  return %0 : tensor<4xf32>
}
func.func @calls(%x: tensor<4xf32>) -> tensor<4xf32> {
  %0 = func.call @double(%x) : (tensor<4xf32>) -> tensor<4xf32>
  %1 = func.call @double(%0) : (tensor<4xf32>) -> tensor<4xf32>
  return %1 : tensor<4xf32>
}

// -----

// The same computed value returned twice: the first output is written in
// place and copied into the second (this used to crash).
// CHECK-LABEL: func @returned_twice
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[OUT0:.*]]: memref<4xf32>, %[[OUT1:.*]]: memref<4xf32>)
// CHECK-NEXT: linalg.copy ins(%[[X]] : memref<4xf32>) outs(%[[OUT0]] : memref<4xf32>)
// CHECK-NEXT: linalg.copy ins(%[[OUT0]] : memref<4xf32>) outs(%[[OUT1]] : memref<4xf32>)
// CHECK-NEXT: return
func.func @returned_twice(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %0 = linalg.copy ins(%x : tensor<4xf32>) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %0, %0 : tensor<4xf32>, tensor<4xf32>
}

// -----

// An input returned twice is copied into both outputs.
// CHECK-LABEL: func @input_returned_twice
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[OUT0:.*]]: memref<4xf32>, %[[OUT1:.*]]: memref<4xf32>)
// CHECK-DAG: linalg.copy ins(%[[X]] : memref<4xf32>) outs(%[[OUT0]] : memref<4xf32>)
// CHECK-DAG: linalg.copy ins(%[[X]] : memref<4xf32>) outs(%[[OUT1]] : memref<4xf32>)
func.func @input_returned_twice(%x: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  return %x, %x : tensor<4xf32>, tensor<4xf32>
}
