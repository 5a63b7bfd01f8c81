// RUN: kiln-opt %s -kiln-expand-math -split-input-file | FileCheck %s
// RUN: kiln-opt %s -kiln-expand-math=ops=tanh -split-input-file | FileCheck %s --check-prefix=TANH
// RUN: kiln-opt %s -kiln-expand-math="ops=math.exp,erf" -split-input-file | FileCheck %s --check-prefix=EXPERF

// By default exp, tanh and erf become polynomials (fma and arith); only
// the listed ops are expanded with ops=..., with or without the "math."
// prefix.
// CHECK-LABEL: func @default_set
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK: math.fma
// CHECK: return
// TANH-LABEL: func @default_set
// TANH-NOT: math.tanh
// TANH: math.exp %{{.*}} : f32
// TANH: math.erf %{{.*}} : f32
// EXPERF-LABEL: func @default_set
// EXPERF-NOT: math.exp
// EXPERF-NOT: math.erf
// EXPERF: math.tanh %{{.*}} : f32
// EXPERF-NOT: math.exp
// EXPERF-NOT: math.erf
func.func @default_set(%x: f32) -> (f32, f32, f32) {
  %0 = math.exp %x : f32
  %1 = math.tanh %x : f32
  %2 = math.erf %x : f32
  return %0, %1, %2 : f32, f32, f32
}

// -----

// Vectors are expanded elementwise, keeping the vector type.
// CHECK-LABEL: func @vector_exp
// CHECK-NOT: math.exp
// CHECK: math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK: return %{{.*}} : vector<8xf32>
func.func @vector_exp(%v: vector<8xf32>) -> vector<8xf32> {
  %0 = math.exp %v : vector<8xf32>
  return %0 : vector<8xf32>
}

// -----

// A narrow float computes in f32 and rounds back.
// CHECK-LABEL: func @f16_exp
// CHECK: %[[W:.*]] = arith.extf %{{.*}} : f16 to f32
// CHECK-NOT: math.exp
// CHECK: %[[R:.*]] = arith.truncf %{{.*}} : f32 to f16
// CHECK: return %[[R]] : f16
func.func @f16_exp(%h: f16) -> f16 {
  %0 = math.exp %h : f16
  return %0 : f16
}

// -----

// sin, cos and pow are left for libm.
// CHECK-LABEL: func @left_for_libm
// CHECK-NEXT: %[[S:.*]] = math.sin %{{.*}} : f32
// CHECK-NEXT: %[[C:.*]] = math.cos %{{.*}} : f32
// CHECK-NEXT: %[[P:.*]] = math.powf %{{.*}}, %{{.*}} : f32
// CHECK-NEXT: return %[[S]], %[[C]], %[[P]]
func.func @left_for_libm(%x: f32) -> (f32, f32, f32) {
  %0 = math.sin %x : f32
  %1 = math.cos %x : f32
  %2 = math.powf %x, %x : f32
  return %0, %1, %2 : f32, f32, f32
}
