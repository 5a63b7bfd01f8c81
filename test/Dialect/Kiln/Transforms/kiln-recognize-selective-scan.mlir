// RUN: kiln-opt %s -split-input-file -kiln-recognize-selective-scan | FileCheck %s
// RUN: kiln-opt %s -split-input-file -kiln-recognize-selective-scan="fold-epilogue=false" | FileCheck %s --check-prefix=NOEPI
// RUN: kiln-opt %s -split-input-file -kiln-recognize-selective-scan="scan=false conv1d=false" | FileCheck %s --check-prefix=OFF

// The functions below are written the way the ONNX importer gives torch.onnx's
// export of Mamba's reference scan (a Python loop over time): per step t, a
// Gather of index t (reshaped to [1, Di, 1] or [1, 1, N]), exp(dt_t * A),
// h_t = exp(dt_t * A) * h_{t-1} + dt_t * B_t * u_t, y_t = sum(h_t * C_t, 2),
// and the y_t stacked by reshapes and one concat. Bt = 1, Di = 4, N = 2.

// Three steps from a zero state, time-major operands ([1, L, Di]): one scan
// over the transposed ([1, Di, L]) tensors, its y transposed back; nothing of
// the unrolled steps is left.
// CHECK-LABEL: func @scan_3_steps
// CHECK-DAG: %[[U:.*]] = kiln.transpose %arg0 {permutation = array<i64: 0, 2, 1>} : tensor<1x3x4xf32> -> tensor<1x4x3xf32>
// CHECK-DAG: %[[DT:.*]] = kiln.transpose %arg1 {permutation = array<i64: 0, 2, 1>} : tensor<1x3x4xf32> -> tensor<1x4x3xf32>
// CHECK-DAG: %[[B:.*]] = kiln.transpose %arg3 {permutation = array<i64: 0, 2, 1>} : tensor<1x3x2xf32> -> tensor<1x2x3xf32>
// CHECK-DAG: %[[C:.*]] = kiln.transpose %arg4 {permutation = array<i64: 0, 2, 1>} : tensor<1x3x2xf32> -> tensor<1x2x3xf32>
// CHECK: %[[Y:.*]], %{{.*}} = kiln.selective_scan %[[U]], %[[DT]], %arg2, %[[B]], %[[C]] : (tensor<1x4x3xf32>, tensor<1x4x3xf32>, tensor<4x2xf32>, tensor<1x2x3xf32>, tensor<1x2x3xf32>) -> (tensor<1x4x3xf32>, tensor<1x4x2xf32>)
// CHECK-NEXT: %[[R:.*]] = kiln.transpose %[[Y]] {permutation = array<i64: 0, 2, 1>} : tensor<1x4x3xf32> -> tensor<1x3x4xf32>
// CHECK-NEXT: return %[[R]]
// OFF-LABEL: func @scan_3_steps
// OFF-NOT: kiln.selective_scan
// OFF-COUNT-3: kiln.exp
// OFF: kiln.concat
func.func @scan_3_steps(%u: tensor<1x3x4xf32>, %dt: tensor<1x3x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x3x2xf32>, %C: tensor<1x3x2xf32>) -> (tensor<1x3x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %c2 = kiln.constant dense<2> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s2_dt0 = kiln.gather %dt, %c2 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s2_dt = kiln.reshape %s2_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s2_dta = kiln.mul %s2_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s2_da = kiln.exp %s2_dta : tensor<1x4x2xf32>
  %s2_b0 = kiln.gather %B, %c2 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s2_b = kiln.reshape %s2_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s2_db = kiln.mul %s2_dt, %s2_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s2_u0 = kiln.gather %u, %c2 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s2_u = kiln.reshape %s2_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s2_dbu = kiln.mul %s2_db, %s2_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s2_decay = kiln.mul %s2_da, %s1_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s2_h = kiln.add %s2_decay, %s2_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s2_c0 = kiln.gather %C, %c2 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s2_c = kiln.reshape %s2_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s2_hc = kiln.mul %s2_h, %s2_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s2_y = kiln.reduce sum %s2_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s2_yr = kiln.reshape %s2_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr, %s2_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x3x4xf32>
  return %y : tensor<1x3x4xf32>
}

// -----

// Channel-major operands ([1, Di, L], B and C [1, N, L]: the layout of
// mamba_ssm's selective_scan_ref) read through size-1 slices: the scan takes
// them as they are, no transposes.
// CHECK-LABEL: func @channel_major_slices
// CHECK-NEXT: %[[Y:.*]], %{{.*}} = kiln.selective_scan %arg0, %arg1, %arg2, %arg3, %arg4 :
// CHECK-NEXT: return %[[Y]] : tensor<1x4x3xf32>
func.func @channel_major_slices(%u: tensor<1x4x3xf32>, %dt: tensor<1x4x3xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x3xf32>, %C: tensor<1x2x3xf32>) -> (tensor<1x4x3xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %s0_dt = kiln.slice %dt {sizes = array<i64: 1, 4, 1>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.slice %B {sizes = array<i64: 1, 2, 1>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x2x3xf32> -> tensor<1x2x1xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2x1xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u = kiln.slice %u {sizes = array<i64: 1, 4, 1>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.slice %C {sizes = array<i64: 1, 2, 1>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x2x3xf32> -> tensor<1x2x1xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2x1xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dt = kiln.slice %dt {sizes = array<i64: 1, 4, 1>, starts = array<i64: 0, 0, 1>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.slice %B {sizes = array<i64: 1, 2, 1>, starts = array<i64: 0, 0, 1>, steps = array<i64: 1, 1, 1>} : tensor<1x2x3xf32> -> tensor<1x2x1xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2x1xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u = kiln.slice %u {sizes = array<i64: 1, 4, 1>, starts = array<i64: 0, 0, 1>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.slice %C {sizes = array<i64: 1, 2, 1>, starts = array<i64: 0, 0, 1>, steps = array<i64: 1, 1, 1>} : tensor<1x2x3xf32> -> tensor<1x2x1xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2x1xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s2_dt = kiln.slice %dt {sizes = array<i64: 1, 4, 1>, starts = array<i64: 0, 0, 2>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x1xf32>
  %s2_dta = kiln.mul %s2_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s2_da = kiln.exp %s2_dta : tensor<1x4x2xf32>
  %s2_b0 = kiln.slice %B {sizes = array<i64: 1, 2, 1>, starts = array<i64: 0, 0, 2>, steps = array<i64: 1, 1, 1>} : tensor<1x2x3xf32> -> tensor<1x2x1xf32>
  %s2_b = kiln.reshape %s2_b0 : tensor<1x2x1xf32> to tensor<1x1x2xf32>
  %s2_db = kiln.mul %s2_dt, %s2_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s2_u = kiln.slice %u {sizes = array<i64: 1, 4, 1>, starts = array<i64: 0, 0, 2>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x1xf32>
  %s2_dbu = kiln.mul %s2_db, %s2_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s2_decay = kiln.mul %s2_da, %s1_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s2_h = kiln.add %s2_decay, %s2_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s2_c0 = kiln.slice %C {sizes = array<i64: 1, 2, 1>, starts = array<i64: 0, 0, 2>, steps = array<i64: 1, 1, 1>} : tensor<1x2x3xf32> -> tensor<1x2x1xf32>
  %s2_c = kiln.reshape %s2_c0 : tensor<1x2x1xf32> to tensor<1x1x2xf32>
  %s2_hc = kiln.mul %s2_h, %s2_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s2_y = kiln.reduce sum %s2_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s2_yr = kiln.reshape %s2_y : tensor<1x4xf32> to tensor<1x4x1xf32>
  %y = kiln.concat %s0_yr, %s1_yr, %s2_yr {axis = 2 : i64} : (tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<1x4x1xf32>) -> tensor<1x4x3xf32>
  return %y : tensor<1x4x3xf32>
}

// -----

// The skip `+ u * D` and the gate `* silu(z)` after the stack become the
// scan's D and z; with fold-epilogue=false they stay.
// CHECK-LABEL: func @epilogue
// CHECK-DAG: %[[U:.*]] = kiln.transpose %arg0
// CHECK-DAG: %[[Z:.*]] = kiln.transpose %arg6 {permutation = array<i64: 0, 2, 1>} : tensor<1x2x4xf32> -> tensor<1x4x2xf32>
// CHECK: %[[Y:.*]], %{{.*}} = kiln.selective_scan %[[U]], %{{.*}}, %arg2, %{{.*}}, %{{.*}} D(%arg5) z(%[[Z]]) :
// CHECK-NEXT: %[[R:.*]] = kiln.transpose %[[Y]]
// CHECK-NEXT: return %[[R]]
// NOEPI-LABEL: func @epilogue
// NOEPI: %[[Y:.*]], %{{.*}} = kiln.selective_scan %{{[^ ]*}}, %{{[^ ]*}}, %arg2, %{{[^ ]*}}, %{{[^ ]*}} :
// NOEPI-NEXT: %[[R:.*]] = kiln.transpose %[[Y]]
// NOEPI-NEXT: %[[DU:.*]] = kiln.mul %arg0, %arg5
// NOEPI-NEXT: %[[S:.*]] = kiln.add %[[R]], %[[DU]]
// NOEPI-NEXT: %[[G:.*]] = kiln.silu %arg6
// NOEPI-NEXT: kiln.mul %[[S]], %[[G]]
func.func @epilogue(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>, %D: tensor<4xf32>, %z: tensor<1x2x4xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  %du = kiln.mul %u, %D : (tensor<1x2x4xf32>, tensor<4xf32>) -> tensor<1x2x4xf32>
  %skip = kiln.add %y, %du : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  %sz = kiln.silu %z : tensor<1x2x4xf32>
  %g = kiln.mul %skip, %sz : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %g : tensor<1x2x4xf32>
}

// -----

// One step (L = 1, a decode step) from a state given as an argument: the
// state becomes initial_state and the returned h reads final_state; the skip
// `+ u` is D = 1, the gate may be the product's left operand.
// CHECK-LABEL: func @decode_step
// CHECK-DAG: %[[ONE:.*]] = kiln.constant dense<1.000000e+00> : tensor<4xf32>
// CHECK-DAG: %[[Z:.*]] = kiln.transpose %arg6 {permutation = array<i64: 0, 2, 1>} : tensor<1x1x4xf32> -> tensor<1x4x1xf32>
// CHECK: %[[Y:.*]], %[[H:.*]] = kiln.selective_scan %{{.*}}, %{{.*}}, %arg2, %{{.*}}, %{{.*}} D(%[[ONE]]) z(%[[Z]]) state(%arg5) : (tensor<1x4x1xf32>, tensor<1x4x1xf32>, tensor<4x2xf32>, tensor<1x2x1xf32>, tensor<1x2x1xf32>, tensor<4xf32>, tensor<1x4x1xf32>, tensor<1x4x2xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x2xf32>)
// CHECK-NEXT: %[[R:.*]] = kiln.transpose %[[Y]] {permutation = array<i64: 0, 2, 1>} : tensor<1x4x1xf32> -> tensor<1x1x4xf32>
// CHECK-NEXT: return %[[R]], %[[H]]
func.func @decode_step(%u: tensor<1x1x4xf32>, %dt: tensor<1x1x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x1x2xf32>, %C: tensor<1x1x2xf32>, %h0: tensor<1x4x2xf32>, %z: tensor<1x1x4xf32>) -> (tensor<1x1x4xf32>, tensor<1x4x2xf32>) {
  %c0 = kiln.constant dense<0> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x1x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x1x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %skip = kiln.add %y, %u : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
  %sz = kiln.silu %z : tensor<1x1x4xf32>
  %g = kiln.mul %sz, %skip : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x1x4xf32>
  return %g, %s0_h : tensor<1x1x4xf32>, tensor<1x4x2xf32>
}

// -----

// A prefill from a given state that also returns the last state.
// CHECK-LABEL: func @prefill_state_out
// CHECK: %[[Y:.*]], %[[H:.*]] = kiln.selective_scan {{.*}} state(%arg5) :
// CHECK-NEXT: %[[R:.*]] = kiln.transpose %[[Y]]
// CHECK-NEXT: return %[[R]], %[[H]]
func.func @prefill_state_out(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>, %h0: tensor<1x4x2xf32>) -> (tensor<1x2x4xf32>, tensor<1x4x2xf32>) {
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y, %s1_h : tensor<1x2x4xf32>, tensor<1x4x2xf32>
}

// -----

// A skip that is not `u * D` (another tensor, D not per channel) is not
// folded: the scan is, the add stays after it.
// CHECK-LABEL: func @no_skip_fold_mismatch
// CHECK: %[[Y:.*]], %{{.*}} = kiln.selective_scan %{{[^ ]*}}, %{{[^ ]*}}, %arg2, %{{[^ ]*}}, %{{[^ ]*}} :
// CHECK-NEXT: %[[R:.*]] = kiln.transpose %[[Y]]
// CHECK-NEXT: %[[M:.*]] = kiln.mul %arg6, %arg5
// CHECK-NEXT: kiln.add %[[R]], %[[M]]
func.func @no_skip_fold_mismatch(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>, %D: tensor<2x1xf32>, %v: tensor<1x2x4xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  %du = kiln.mul %v, %D : (tensor<1x2x4xf32>, tensor<2x1xf32>) -> tensor<1x2x4xf32>
  %skip = kiln.add %y, %du : (tensor<1x2x4xf32>, tensor<1x2x4xf32>) -> tensor<1x2x4xf32>
  return %skip : tensor<1x2x4xf32>
}

// -----

// Near-miss: A differs between the steps: nothing is rewritten.
// CHECK-LABEL: func @a_differs
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @a_differs(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>, %A2: tensor<4x2xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A2 : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// Near-miss: step 0 reads time step 1 and step 1 reads time step 0: nothing is rewritten.
// CHECK-LABEL: func @out_of_order
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @out_of_order(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// Near-miss: an intermediate state is also returned: nothing is rewritten.
// CHECK-LABEL: func @state_used
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @state_used(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>) -> (tensor<1x2x4xf32>, tensor<1x4x2xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y, %s0_h : tensor<1x2x4xf32>, tensor<1x4x2xf32>
}

// -----

// Near-miss: two steps over a sequence of three: nothing is rewritten.
// CHECK-LABEL: func @partial_sequence
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @partial_sequence(%u: tensor<1x3x4xf32>, %dt: tensor<1x3x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x3x2xf32>, %C: tensor<1x3x2xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %c2 = kiln.constant dense<2> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x3x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x3x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// Near-miss: the outputs are stacked in reverse order: nothing is rewritten.
// CHECK-LABEL: func @stacked_backwards
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @stacked_backwards(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s1_yr, %s0_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// Near-miss: step 1 reads u from another tensor: nothing is rewritten.
// CHECK-LABEL: func @mixed_tensors
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @mixed_tensors(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>, %u2: tensor<1x2x4xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u2, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce sum %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// Near-miss: a step's output is a max over the state, not a sum: nothing is rewritten.
// CHECK-LABEL: func @not_a_sum
// CHECK-NOT: kiln.selective_scan
// CHECK: kiln.concat
func.func @not_a_sum(%u: tensor<1x2x4xf32>, %dt: tensor<1x2x4xf32>, %A: tensor<4x2xf32>, %B: tensor<1x2x2xf32>, %C: tensor<1x2x2xf32>) -> (tensor<1x2x4xf32>) {
  %h0 = kiln.constant dense<0.0> : tensor<1x4x2xf32>
  %c0 = kiln.constant dense<0> : tensor<i64>
  %c1 = kiln.constant dense<1> : tensor<i64>
  %s0_dt0 = kiln.gather %dt, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_dt = kiln.reshape %s0_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dta = kiln.mul %s0_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s0_da = kiln.exp %s0_dta : tensor<1x4x2xf32>
  %s0_b0 = kiln.gather %B, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_b = kiln.reshape %s0_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_db = kiln.mul %s0_dt, %s0_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_u0 = kiln.gather %u, %c0 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s0_u = kiln.reshape %s0_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s0_dbu = kiln.mul %s0_db, %s0_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s0_decay = kiln.mul %s0_da, %h0 : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_h = kiln.add %s0_decay, %s0_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s0_c0 = kiln.gather %C, %c0 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s0_c = kiln.reshape %s0_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s0_hc = kiln.mul %s0_h, %s0_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s0_y = kiln.reduce sum %s0_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s0_yr = kiln.reshape %s0_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %s1_dt0 = kiln.gather %dt, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_dt = kiln.reshape %s1_dt0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dta = kiln.mul %s1_dt, %A : (tensor<1x4x1xf32>, tensor<4x2xf32>) -> tensor<1x4x2xf32>
  %s1_da = kiln.exp %s1_dta : tensor<1x4x2xf32>
  %s1_b0 = kiln.gather %B, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_b = kiln.reshape %s1_b0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_db = kiln.mul %s1_dt, %s1_b : (tensor<1x4x1xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_u0 = kiln.gather %u, %c1 {axis = 1 : i64} : (tensor<1x2x4xf32>, tensor<i64>) -> tensor<1x4xf32>
  %s1_u = kiln.reshape %s1_u0 : tensor<1x4xf32> to tensor<1x4x1xf32>
  %s1_dbu = kiln.mul %s1_db, %s1_u : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x2xf32>
  %s1_decay = kiln.mul %s1_da, %s0_h : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_h = kiln.add %s1_decay, %s1_dbu : (tensor<1x4x2xf32>, tensor<1x4x2xf32>) -> tensor<1x4x2xf32>
  %s1_c0 = kiln.gather %C, %c1 {axis = 1 : i64} : (tensor<1x2x2xf32>, tensor<i64>) -> tensor<1x2xf32>
  %s1_c = kiln.reshape %s1_c0 : tensor<1x2xf32> to tensor<1x1x2xf32>
  %s1_hc = kiln.mul %s1_h, %s1_c : (tensor<1x4x2xf32>, tensor<1x1x2xf32>) -> tensor<1x4x2xf32>
  %s1_y = kiln.reduce max %s1_hc {axes = array<i64: 2>} : tensor<1x4x2xf32> -> tensor<1x4xf32>
  %s1_yr = kiln.reshape %s1_y : tensor<1x4xf32> to tensor<1x1x4xf32>
  %y = kiln.concat %s0_yr, %s1_yr {axis = 1 : i64} : (tensor<1x1x4xf32>, tensor<1x1x4xf32>) -> tensor<1x2x4xf32>
  return %y : tensor<1x2x4xf32>
}

// -----

// torch's Conv1d(groups = Di, padding = K-1) and the slice of the first L
// outputs, then SiLU: one causal_conv1d computing L outputs, the weight
// reshaped to [Di, K].
// CHECK-LABEL: func @conv_prefill
// CHECK-NEXT: %[[W:.*]] = kiln.reshape %arg1 : tensor<4x1x3xf32> to tensor<4x3xf32>
// CHECK-NEXT: %[[Y:.*]], %{{.*}} = kiln.causal_conv1d %arg0, %[[W]] bias(%arg2) activation silu : (tensor<1x4x5xf32>, tensor<4x3xf32>, tensor<4xf32>) -> (tensor<1x4x5xf32>, tensor<1x4x2xf32>)
// CHECK-NEXT: return %[[Y]]
// OFF-LABEL: func @conv_prefill
// OFF-NOT: kiln.causal_conv1d
// OFF: kiln.conv
func.func @conv_prefill(%x: tensor<1x4x5xf32>, %w: tensor<4x1x3xf32>, %b: tensor<4xf32>) -> tensor<1x4x5xf32> {
  %0 = kiln.conv %x, %w, %b {dilations = array<i64: 1>, groups = 4 : i64, padding = array<i64: 2, 2>, strides = array<i64: 1>} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>, tensor<4xf32>) -> tensor<1x4x7xf32>
  %1 = kiln.slice %0 {sizes = array<i64: 1, 4, 5>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x4x7xf32> -> tensor<1x4x5xf32>
  %2 = kiln.silu %1 : tensor<1x4x5xf32>
  return %2 : tensor<1x4x5xf32>
}

// -----

// Padded in front only (no slice), no bias, no activation, batch 2.
// CHECK-LABEL: func @conv_front_pad
// CHECK: %[[Y:.*]], %{{.*}} = kiln.causal_conv1d %arg0, %{{.*}} : (tensor<2x4x5xf32>, tensor<4x3xf32>) -> (tensor<2x4x5xf32>, tensor<2x4x2xf32>)
// CHECK-NEXT: return %[[Y]]
func.func @conv_front_pad(%x: tensor<2x4x5xf32>, %w: tensor<4x1x3xf32>) -> tensor<2x4x5xf32> {
  %0 = kiln.conv %x, %w {groups = 4 : i64, padding = array<i64: 2, 0>} : (tensor<2x4x5xf32>, tensor<4x1x3xf32>) -> tensor<2x4x5xf32>
  return %0 : tensor<2x4x5xf32>
}

// -----

// The decode form: an unpadded conv over concat(state, x_t); the slice of
// the concat's last K-1 steps is the new state, read from final_state.
// CHECK-LABEL: func @conv_decode
// CHECK-NOT: kiln.concat
// CHECK: %[[Y:.*]], %[[S:.*]] = kiln.causal_conv1d %arg1, %{{.*}} bias(%arg3) state(%arg0) activation silu : (tensor<1x4x1xf32>, tensor<4x3xf32>, tensor<4xf32>, tensor<1x4x2xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x2xf32>)
// CHECK-NEXT: return %[[Y]], %[[S]]
func.func @conv_decode(%state: tensor<1x4x2xf32>, %x: tensor<1x4x1xf32>, %w: tensor<4x1x3xf32>, %b: tensor<4xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x2xf32>) {
  %xs = kiln.concat %state, %x {axis = 2 : i64} : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x3xf32>
  %new = kiln.slice %xs {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 1>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x2xf32>
  %0 = kiln.conv %xs, %w, %b {groups = 4 : i64, padding = array<i64: 0, 0>} : (tensor<1x4x3xf32>, tensor<4x1x3xf32>, tensor<4xf32>) -> tensor<1x4x1xf32>
  %1 = kiln.silu %0 : tensor<1x4x1xf32>
  return %1, %new : tensor<1x4x1xf32>, tensor<1x4x2xf32>
}

// -----

// The same with a chunk of 3 steps after the state (chunked prefill).
// CHECK-LABEL: func @conv_chunk_with_state
// CHECK: %[[Y:.*]], %[[S:.*]] = kiln.causal_conv1d %arg1, %{{.*}} state(%arg0) : (tensor<1x4x3xf32>, tensor<4x3xf32>, tensor<1x4x2xf32>) -> (tensor<1x4x3xf32>, tensor<1x4x2xf32>)
// CHECK-NEXT: return %[[Y]], %[[S]]
func.func @conv_chunk_with_state(%state: tensor<1x4x2xf32>, %x: tensor<1x4x3xf32>, %w: tensor<4x1x3xf32>) -> (tensor<1x4x3xf32>, tensor<1x4x2xf32>) {
  %xs = kiln.concat %state, %x {axis = 2 : i64} : (tensor<1x4x2xf32>, tensor<1x4x3xf32>) -> tensor<1x4x5xf32>
  %0 = kiln.conv %xs, %w {groups = 4 : i64} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>) -> tensor<1x4x3xf32>
  %new = kiln.slice %xs {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 3>, steps = array<i64: 1, 1, 1>} : tensor<1x4x5xf32> -> tensor<1x4x2xf32>
  return %0, %new : tensor<1x4x3xf32>, tensor<1x4x2xf32>
}

// -----

// A prefill that also returns the conv state (the last K-1 inputs, for a
// decode step to continue from): the slice becomes final_state.
// CHECK-LABEL: func @conv_prefill_state_out
// CHECK-NOT: kiln.slice
// CHECK: %[[Y:.*]], %[[S:.*]] = kiln.causal_conv1d %arg0, %{{.*}} activation silu :
// CHECK-NEXT: return %[[Y]], %[[S]]
func.func @conv_prefill_state_out(%x: tensor<1x4x5xf32>, %w: tensor<4x1x3xf32>) -> (tensor<1x4x5xf32>, tensor<1x4x2xf32>) {
  %s = kiln.slice %x {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 3>, steps = array<i64: 1, 1, 1>} : tensor<1x4x5xf32> -> tensor<1x4x2xf32>
  %0 = kiln.conv %x, %w {groups = 4 : i64, padding = array<i64: 2, 2>} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>) -> tensor<1x4x7xf32>
  %1 = kiln.slice %0 {sizes = array<i64: 1, 4, 5>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x4x7xf32> -> tensor<1x4x5xf32>
  %2 = kiln.silu %1 : tensor<1x4x5xf32>
  return %2, %s : tensor<1x4x5xf32>, tensor<1x4x2xf32>
}

// -----

// The new state's slice is used before the conv: it stays a slice (the
// conv is still recognized); a slice of other steps is not the state.
// CHECK-LABEL: func @conv_state_used_early
// CHECK: %[[S:.*]] = kiln.slice %[[XS:.*]] {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 1>
// CHECK: %[[N:.*]] = kiln.neg %[[S]]
// CHECK: %[[T:.*]] = kiln.slice %[[XS]] {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 0>
// CHECK: %[[Y:.*]], %{{.*}} = kiln.causal_conv1d %arg1, %{{.*}} state(%arg0) :
// CHECK-NEXT: return %[[Y]], %[[N]], %[[T]]
func.func @conv_state_used_early(%state: tensor<1x4x2xf32>, %x: tensor<1x4x1xf32>, %w: tensor<4x1x3xf32>) -> (tensor<1x4x1xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>) {
  %xs = kiln.concat %state, %x {axis = 2 : i64} : (tensor<1x4x2xf32>, tensor<1x4x1xf32>) -> tensor<1x4x3xf32>
  %new = kiln.slice %xs {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 1>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x2xf32>
  %neg = kiln.neg %new : tensor<1x4x2xf32>
  %old = kiln.slice %xs {sizes = array<i64: 1, 4, 2>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x4x3xf32> -> tensor<1x4x2xf32>
  %0 = kiln.conv %xs, %w {groups = 4 : i64} : (tensor<1x4x3xf32>, tensor<4x1x3xf32>) -> tensor<1x4x1xf32>
  return %0, %neg, %old : tensor<1x4x1xf32>, tensor<1x4x2xf32>, tensor<1x4x2xf32>
}

// -----

// Near-miss: padded on both sides by (K-1)/2, not causal: the conv stays.
// CHECK-LABEL: func @conv_symmetric
// CHECK-NOT: kiln.causal_conv1d
// CHECK: kiln.conv
func.func @conv_symmetric(%x: tensor<1x4x5xf32>, %w: tensor<4x1x3xf32>) -> tensor<1x4x5xf32> {
  %0 = kiln.conv %x, %w {groups = 4 : i64, padding = array<i64: 1, 1>} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>) -> tensor<1x4x5xf32>
  return %0 : tensor<1x4x5xf32>
}

// -----

// Near-miss: groups of 2 channels, not depthwise: the conv stays.
// CHECK-LABEL: func @conv_not_depthwise
// CHECK-NOT: kiln.causal_conv1d
// CHECK: kiln.conv
func.func @conv_not_depthwise(%x: tensor<1x4x5xf32>, %w: tensor<4x2x3xf32>) -> tensor<1x4x5xf32> {
  %0 = kiln.conv %x, %w {groups = 2 : i64, padding = array<i64: 2, 0>} : (tensor<1x4x5xf32>, tensor<4x2x3xf32>) -> tensor<1x4x5xf32>
  return %0 : tensor<1x4x5xf32>
}

// -----

// Near-miss: dilated: the conv stays.
// CHECK-LABEL: func @conv_dilated
// CHECK-NOT: kiln.causal_conv1d
// CHECK: kiln.conv
func.func @conv_dilated(%x: tensor<1x4x5xf32>, %w: tensor<4x1x3xf32>) -> tensor<1x4x3xf32> {
  %0 = kiln.conv %x, %w {groups = 4 : i64, dilations = array<i64: 2>, padding = array<i64: 2, 0>} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>) -> tensor<1x4x3xf32>
  return %0 : tensor<1x4x3xf32>
}

// -----

// Near-miss: the slice keeps outputs [2, L+2), not the first L: the conv stays.
// CHECK-LABEL: func @conv_tail_used
// CHECK-NOT: kiln.causal_conv1d
// CHECK: kiln.conv
func.func @conv_tail_used(%x: tensor<1x4x5xf32>, %w: tensor<4x1x3xf32>) -> tensor<1x4x5xf32> {
  %0 = kiln.conv %x, %w {groups = 4 : i64, padding = array<i64: 2, 2>} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>) -> tensor<1x4x7xf32>
  %1 = kiln.slice %0 {sizes = array<i64: 1, 4, 5>, starts = array<i64: 0, 0, 2>, steps = array<i64: 1, 1, 1>} : tensor<1x4x7xf32> -> tensor<1x4x5xf32>
  return %1 : tensor<1x4x5xf32>
}

// -----

// Near-miss: the full, padded output is used too: the conv stays.
// CHECK-LABEL: func @conv_full_output_used
// CHECK-NOT: kiln.causal_conv1d
// CHECK: kiln.conv
func.func @conv_full_output_used(%x: tensor<1x4x5xf32>, %w: tensor<4x1x3xf32>) -> (tensor<1x4x5xf32>, tensor<1x4x7xf32>) {
  %0 = kiln.conv %x, %w {groups = 4 : i64, padding = array<i64: 2, 2>} : (tensor<1x4x5xf32>, tensor<4x1x3xf32>) -> tensor<1x4x7xf32>
  %1 = kiln.slice %0 {sizes = array<i64: 1, 4, 5>, starts = array<i64: 0, 0, 0>, steps = array<i64: 1, 1, 1>} : tensor<1x4x7xf32> -> tensor<1x4x5xf32>
  return %1, %0 : tensor<1x4x5xf32>, tensor<1x4x7xf32>
}

// -----

// Near-miss: the state in front has K-2 steps, not K-1: the conv stays.
// CHECK-LABEL: func @conv_short_state
// CHECK-NOT: kiln.causal_conv1d
// CHECK: kiln.conv
func.func @conv_short_state(%state: tensor<1x4x1xf32>, %x: tensor<1x4x2xf32>, %w: tensor<4x1x3xf32>) -> tensor<1x4x1xf32> {
  %xs = kiln.concat %state, %x {axis = 2 : i64} : (tensor<1x4x1xf32>, tensor<1x4x2xf32>) -> tensor<1x4x3xf32>
  %0 = kiln.conv %xs, %w {groups = 4 : i64} : (tensor<1x4x3xf32>, tensor<4x1x3xf32>) -> tensor<1x4x1xf32>
  return %0 : tensor<1x4x1xf32>
}
