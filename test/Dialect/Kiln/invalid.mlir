// RUN: kiln-opt %s -split-input-file -verify-diagnostics
// Every verifier error of the kiln dialect, one case each.

func.func @case0(%a: tensor<2x3xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{operand shapes do not broadcast: 2x3, 4}}
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return
}

// -----

func.func @case1(%a: tensor<2x3xf32>, %b: tensor<3xf16>) {
  // expected-error @+1 {{all of {lhs, rhs, result} have same element type}}
  %0 = kiln.mul %a, %b : (tensor<2x3xf32>, tensor<3xf16>) -> tensor<2x3xf32>
  return
}

// -----

func.func @case2(%a: tensor<2x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{result type 'tensor<3x3xf32>' should be 'tensor<2x3xf32>'}}
  %0 = kiln.sub %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<3x3xf32>
  return
}

// -----

func.func @case3(%a: tensor<4xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.exp %a : tensor<4xi32>
  return
}

// -----

func.func @case4(%a: tensor<*xf32>) {
  // expected-error @+1 {{invalid kind of type specified: expected builtin.tensor, but found 'tensor<*xf32>'}}
  %0 = kiln.tanh %a : tensor<*xf32>
  return
}

// -----

func.func @case5(%a: tensor<4xi32>, %b: tensor<4xi32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of floating-point values}}
  %0 = kiln.pow %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return
}

// -----

func.func @case6(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 1-bit signless integer values}}
  %0 = kiln.and %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case7(%a: tensor<4xf32>) {
  // expected-error @+1 {{min (2.000000e+00) exceeds max (1.000000e+00)}}
  %0 = kiln.clamp %a {min = 2.0 : f64, max = 1.0 : f64} : tensor<4xf32>
  return
}

// -----

func.func @case8(%a: tensor<4xf32>) {
  // expected-error @+1 {{changes the shape from 4 to 2x2; a cast only converts the element type}}
  %0 = kiln.cast %a : tensor<4xf32> to tensor<2x2xf16>
  return
}

// -----

func.func @case9(%a: tensor<4xf32>, %b: tensor<4xi32>) {
  // expected-error @+1 {{all of {lhs, rhs} have same element type}}
  %0 = kiln.cmp eq, %a, %b : (tensor<4xf32>, tensor<4xi32>) -> tensor<4xi1>
  return
}

// -----

func.func @case10(%a: tensor<4xf32>, %b: tensor<4xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 1-bit signless integer values}}
  %0 = kiln.cmp eq, %a, %b : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case11(%c: tensor<3xi1>, %a: tensor<4xf32>) {
  // expected-error @+1 {{operand shapes do not broadcast: 3, 4, 4}}
  %0 = kiln.select %c, %a, %a : (tensor<3xi1>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case12(%c: tensor<4xf32>, %a: tensor<4xf32>) {
  // expected-error @+1 {{operand #0 must be ranked tensor of 1-bit signless integer values}}
  %0 = kiln.select %c, %a, %a : (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case13(%a: tensor<4xf32>) {
  // expected-error @+1 {{expected string or keyword containing one of the following enum values for attribute 'approximate' [none, tanh]}}
  %0 = kiln.gelu %a approximate sigmoid : tensor<4xf32>
  return
}

// -----

func.func @case14(%a: tensor<8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{operands must have rank 2 or more, got 1 and 2}}
  %0 = kiln.matmul %a, %b : (tensor<8xf32>, tensor<8x4xf32>) -> tensor<4xf32>
  return
}

// -----

func.func @case15(%a: tensor<2x8xf32>, %b: tensor<7x4xf32>) {
  // expected-error @+1 {{contraction dimensions differ: lhs is 2x8 and rhs is 7x4}}
  %0 = kiln.matmul %a, %b : (tensor<2x8xf32>, tensor<7x4xf32>) -> tensor<2x4xf32>
  return
}

// -----

func.func @case16(%a: tensor<3x2x8xf32>, %b: tensor<4x8x4xf32>) {
  // expected-error @+1 {{batch dimensions do not broadcast: 3x2x8 and 4x8x4}}
  %0 = kiln.matmul %a, %b : (tensor<3x2x8xf32>, tensor<4x8x4xf32>) -> tensor<3x2x4xf32>
  return
}

// -----

func.func @case17(%a: tensor<2x8xf32>, %b: tensor<8x4xf32>) {
  // expected-error @+1 {{result type 'tensor<2x4xf16>' should be 'tensor<2x4xf32>'}}
  %0 = kiln.matmul %a, %b : (tensor<2x8xf32>, tensor<8x4xf32>) -> tensor<2x4xf16>
  return
}

// -----

func.func @case18(%x: tensor<1x3x8x8x8xf32>, %w: tensor<4x3x3x3x3xf32>) {
  // expected-error @+1 {{input must be [N, C, W] or [N, C, H, W], got rank 5}}
  %0 = kiln.conv %x, %w : (tensor<1x3x8x8x8xf32>, tensor<4x3x3x3x3xf32>) -> tensor<1x4x6x6x6xf32>
  return
}

// -----

func.func @conv_weight_type(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf16>) {
  // expected-error @+1 {{weight element type 'f16' differs from the input's 'f32' (only bf16 weights may go with f32 input)}}
  %0 = kiln.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf16>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case19(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error @+1 {{weight rank 3 differs from input rank 4}}
  %0 = kiln.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case20(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{groups must be positive, got 0}}
  %0 = kiln.conv %x, %w {groups = 0 : i64} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case21(%x: tensor<1x3x8x8xf32>, %w: tensor<4x1x3x3xf32>) {
  // expected-error @+1 {{input channels (3) are not divisible by groups (2)}}
  %0 = kiln.conv %x, %w {groups = 2 : i64} : (tensor<1x3x8x8xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case22(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error @+1 {{output channels (3) are not divisible by groups (2)}}
  %0 = kiln.conv %x, %w {groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x6x6xf32>
  return
}

// -----

func.func @case23(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error @+1 {{weight expects 4 input channels per group, input has 2}}
  %0 = kiln.conv %x, %w {groups = 2 : i64} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case24(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error @+1 {{bias must be [4]}}
  %0 = kiln.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case25(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{expected 4 padding values (begin and end per spatial dimension), got 2}}
  %0 = kiln.conv %x, %w {padding = array<i64: 1, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  return
}

// -----

func.func @case26(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{strides and dilations must be positive}}
  %0 = kiln.conv %x, %w {strides = array<i64: 0, 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case27(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{expected 2 kernel sizes, strides and dilations (one per spatial dimension)}}
  %0 = kiln.conv %x, %w {strides = array<i64: 1>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case28(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{padding must be non-negative}}
  %0 = kiln.conv %x, %w {padding = array<i64: -1, 0, 0, 0>} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  return
}

// -----

func.func @case29(%x: tensor<1x3x2x2xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error @+1 {{window of 3 does not fit spatial dimension 0 of size 2 (padded)}}
  %0 = kiln.conv %x, %w : (tensor<1x3x2x2xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1x1xf32>
  return
}

// -----

func.func @case30(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{padding must be smaller than the kernel, or a window sees no input}}
  %0 = kiln.pool max %x {kernel = array<i64: 2, 2>, padding = array<i64: 2, 0, 0, 0>} : tensor<1x3x8x8xf32> -> tensor<1x3x8x7xf32>
  return
}

// -----

func.func @case31(%x: tensor<8x8xf32>) {
  // expected-error @+1 {{input must be [N, C, W] or [N, C, H, W], got rank 2}}
  %0 = kiln.pool avg %x {kernel = array<i64: 2>} : tensor<8x8xf32> -> tensor<8x7xf32>
  return
}

// -----

func.func @case32(%x: tensor<1x3x8x8xf32>) {
  // expected-error @+1 {{result type 'tensor<1x3x4x4xf32>' should be 'tensor<1x3x7x7xf32>'}}
  %0 = kiln.pool max %x {kernel = array<i64: 2, 2>} : tensor<1x3x8x8xf32> -> tensor<1x3x4x4xf32>
  return
}

// -----

func.func @case33(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.reduce sum %x {axes = array<i64: 2>} : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @case34(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axes must be sorted and distinct}}
  %0 = kiln.reduce sum %x {axes = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<f32>
  return
}

// -----

func.func @case35(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result type 'tensor<2xf32>' should be 'tensor<2x1xf32>'}}
  %0 = kiln.reduce max %x {axes = array<i64: 1>, keepdims = true} : tensor<2x3xf32> -> tensor<2xf32>
  return
}

// -----

func.func @case36(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis -1 is out of range for rank 2}}
  %0 = kiln.arg_reduce argmax %x {axis = -1 : i64} : tensor<2x3xf32> -> tensor<2xi64>
  return
}

// -----

func.func @case37(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 64-bit signless integer values}}
  %0 = kiln.arg_reduce argmax %x {axis = 1 : i64} : tensor<2x3xf32> -> tensor<2xi32>
  return
}

// -----

func.func @case38(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.softmax %x {axis = 2 : i64} : tensor<2x3xf32>
  return
}

// -----

func.func @case39(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis -1 is out of range for rank 2}}
  %0 = kiln.log_softmax %x {axis = -1 : i64} : tensor<2x3xf32>
  return
}

// -----

func.func @case40(%x: tensor<2x3x4xf32>, %g: tensor<3x4xf32>) {
  // expected-error @+1 {{scale must have shape 4, got 3x4}}
  %0 = kiln.layer_norm %x scale(%g) {axis = 2 : i64} : (tensor<2x3x4xf32>, tensor<3x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @case41(%x: tensor<2x3x4xf32>, %g: tensor<4xf16>) {
  // expected-error @+1 {{bias element type 'f16' differs from the input's 'f32'}}
  %0 = kiln.layer_norm %x bias(%g) {axis = 2 : i64} : (tensor<2x3x4xf32>, tensor<4xf16>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @case42(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{axis 3 is out of range for rank 3}}
  %0 = kiln.layer_norm %x {axis = 3 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @case43(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{epsilon must be non-negative, got -1.000000e+00}}
  %0 = kiln.layer_norm %x {axis = 2 : i64, epsilon = -1.0 : f64} : (tensor<2x3x4xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @case44(%x: tensor<2x3x4xf32>) {
  // expected-error @+1 {{all of {input, result} have same type}}
  %0 = kiln.layer_norm %x {axis = 2 : i64} : (tensor<2x3x4xf32>) -> tensor<2x3x5xf32>
  return
}

// -----

func.func @case45(%x: tensor<2x3x4xf32>, %g: tensor<3xf32>) {
  // expected-error @+1 {{scale must have shape 4, got 3}}
  %0 = kiln.rms_norm %x scale(%g) {axis = 2 : i64} : (tensor<2x3x4xf32>, tensor<3xf32>) -> tensor<2x3x4xf32>
  return
}

// -----

func.func @case46(%x: tensor<6xf32>) {
  // expected-error @+1 {{input must be [N, C, ...], got rank 1}}
  %0 = kiln.group_norm %x {num_groups = 2 : i64} : (tensor<6xf32>) -> tensor<6xf32>
  return
}

// -----

func.func @case47(%x: tensor<1x6x4xf32>) {
  // expected-error @+1 {{channels (6) are not divisible by num_groups (4)}}
  %0 = kiln.group_norm %x {num_groups = 4 : i64} : (tensor<1x6x4xf32>) -> tensor<1x6x4xf32>
  return
}

// -----

func.func @case48(%x: tensor<1x6x4xf32>) {
  // expected-error @+1 {{num_groups must be positive, got 0}}
  %0 = kiln.group_norm %x {num_groups = 0 : i64} : (tensor<1x6x4xf32>) -> tensor<1x6x4xf32>
  return
}

// -----

func.func @case49(%x: tensor<1x6x4xf32>, %g: tensor<4xf32>) {
  // expected-error @+1 {{scale must have shape 6, got 4}}
  %0 = kiln.group_norm %x scale(%g) {num_groups = 2 : i64} : (tensor<1x6x4xf32>, tensor<4xf32>) -> tensor<1x6x4xf32>
  return
}

// -----

func.func @case50(%x: tensor<1x6x4xf32>) {
  // expected-error @+1 {{epsilon must be non-negative}}
  %0 = kiln.group_norm %x {num_groups = 2 : i64, epsilon = -1.0 : f64} : (tensor<1x6x4xf32>) -> tensor<1x6x4xf32>
  return
}

// -----

func.func @case51() {
  // expected-error @+1 {{inline dense value has 300 elements (limit 256); store weights as dense_resource blobs}}
  %0 = kiln.constant dense<[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95, 96, 97, 98, 99, 100, 101, 102, 103, 104, 105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, 117, 118, 119, 120, 121, 122, 123, 124, 125, 126, 127, 128, 129, 130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 140, 141, 142, 143, 144, 145, 146, 147, 148, 149, 150, 151, 152, 153, 154, 155, 156, 157, 158, 159, 160, 161, 162, 163, 164, 165, 166, 167, 168, 169, 170, 171, 172, 173, 174, 175, 176, 177, 178, 179, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 190, 191, 192, 193, 194, 195, 196, 197, 198, 199, 200, 201, 202, 203, 204, 205, 206, 207, 208, 209, 210, 211, 212, 213, 214, 215, 216, 217, 218, 219, 220, 221, 222, 223, 224, 225, 226, 227, 228, 229, 230, 231, 232, 233, 234, 235, 236, 237, 238, 239, 240, 241, 242, 243, 244, 245, 246, 247, 248, 249, 250, 251, 252, 253, 254, 255, 256, 257, 258, 259, 260, 261, 262, 263, 264, 265, 266, 267, 268, 269, 270, 271, 272, 273, 274, 275, 276, 277, 278, 279, 280, 281, 282, 283, 284, 285, 286, 287, 288, 289, 290, 291, 292, 293, 294, 295, 296, 297, 298, 299]> : tensor<300xi32>
  return
}

// -----

func.func @case52(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot reshape 2x3 (6 elements) to 4 (4 elements)}}
  %0 = kiln.reshape %x : tensor<2x3xf32> to tensor<4xf32>
  return
}

// -----

func.func @case53(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{all of {input, result} have same element type}}
  %0 = kiln.reshape %x : tensor<2x3xf32> to tensor<6xi32>
  return
}

// -----

func.func @case54(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{permutation must be a permutation of [0, 2)}}
  %0 = kiln.transpose %x {permutation = array<i64: 0, 0>} : tensor<2x3xf32> -> tensor<2x2xf32>
  return
}

// -----

func.func @case55(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{permutation must be a permutation of [0, 2)}}
  %0 = kiln.transpose %x {permutation = array<i64: 1, 0, 2>} : tensor<2x3xf32> -> tensor<3x2xf32>
  return
}

// -----

func.func @case56(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{result type 'tensor<2x3xf32>' should be 'tensor<3x2xf32>'}}
  %0 = kiln.transpose %x {permutation = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @case57(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{starts, sizes and steps need 2 entries each (the input rank)}}
  %0 = kiln.slice %x {starts = array<i64: 0>, sizes = array<i64: 1>, steps = array<i64: 1>} : tensor<2x3xf32> -> tensor<1xf32>
  return
}

// -----

func.func @case58(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{step of dimension 1 is zero}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 1, 1>, steps = array<i64: 1, 0>} : tensor<2x3xf32> -> tensor<1x1xf32>
  return
}

// -----

func.func @case59(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{size of dimension 1 is negative}}
  %0 = kiln.slice %x {starts = array<i64: 0, 0>, sizes = array<i64: 1, -1>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<1x?xf32>
  return
}

// -----

func.func @case60(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{slice of dimension 1 reads [1, 3] outside [0, 3)}}
  %0 = kiln.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 2, 3>, steps = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @case61(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{slice of dimension 1 reads [1, -1] outside [0, 3)}}
  %0 = kiln.slice %x {starts = array<i64: 0, 1>, sizes = array<i64: 2, 3>, steps = array<i64: 1, -1>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @case62(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{slice of dimension 1 reads [2, -2] outside [0, 3)}}
  %0 = kiln.slice %x {starts = array<i64: 0, 2>, sizes = array<i64: 2, 3>, steps = array<i64: 1, -2>} : tensor<2x3xf32> -> tensor<2x3xf32>
  return
}

// -----

func.func @case63(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.concat %x, %x {axis = 2 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  return
}

// -----

func.func @case64(%x: tensor<2x3xf32>, %y: tensor<6xf32>) {
  // expected-error @+1 {{operands must all have rank 2}}
  %0 = kiln.concat %x, %y {axis = 0 : i64} : (tensor<2x3xf32>, tensor<6xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @case65(%x: tensor<2x3xf32>, %y: tensor<2x4xf32>) {
  // expected-error @+1 {{operand shapes 2x4 and 2x3 differ outside the concatenation axis}}
  %0 = kiln.concat %x, %y {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @case66(%x: tensor<2x3xf32>, %y: tensor<2x3xf16>) {
  // expected-error @+1 {{requires the same element type for all operands}}
  %0 = kiln.concat %x, %y {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf16>) -> tensor<4x3xf32>
  return
}

// -----

func.func @case67() {
  // expected-error @+1 {{needs at least one operand}}
  %0 = kiln.concat {axis = 0 : i64} : () -> tensor<4x3xf32>
  return
}

// -----

func.func @case68(%x: tensor<2x3xf32>, %i: tensor<4xi64>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.gather %x, %i {axis = 2 : i64} : (tensor<2x3xf32>, tensor<4xi64>) -> tensor<2x4xf32>
  return
}

// -----

func.func @case69(%x: tensor<2x3xf32>, %i: tensor<4xf32>) {
  // expected-error @+1 {{operand #1 must be ranked tensor of 32-bit signless integer or 64-bit signless integer values}}
  %0 = kiln.gather %x, %i {axis = 0 : i64} : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<4x3xf32>
  return
}

// -----

func.func @case70(%x: tensor<0x3xf32>, %i: tensor<4xi64>) {
  // expected-error @+1 {{cannot gather from an empty dimension}}
  %0 = kiln.gather %x, %i {axis = 0 : i64} : (tensor<0x3xf32>, tensor<4xi64>) -> tensor<4x3xf32>
  return
}

// -----

func.func @case71(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot broadcast 2x3 to 4x3}}
  %0 = kiln.expand %x : tensor<2x3xf32> to tensor<4x3xf32>
  return
}

// -----

func.func @case72(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{cannot broadcast 2x3 to 3}}
  %0 = kiln.expand %x : tensor<2x3xf32> to tensor<3xf32>
  return
}

// -----

func.func @case73(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{pads needs 4 entries (begin and end per dimension), got 2}}
  %0 = kiln.pad %x {pads = array<i64: 1, 1>} : tensor<2x3xf32> -> tensor<3x4xf32>
  return
}

// -----

func.func @case74(%x: tensor<2x3xf32>) {
  // expected-error @+1 {{pads must be non-negative}}
  %0 = kiln.pad %x {pads = array<i64: -1, 0, 0, 0>} : tensor<2x3xf32> -> tensor<1x3xf32>
  return
}

// -----

func.func @case75(%q: tensor<8x16x32xf32>) {
  // expected-error @+1 {{query, key and value must be rank 4 [batch, heads, seq, head_dim]}}
  %0 = kiln.attention %q, %q, %q {scale = 1.0 : f64} : (tensor<8x16x32xf32>, tensor<8x16x32xf32>, tensor<8x16x32xf32>) -> tensor<8x16x32xf32>
  return
}

// -----

func.func @case76(%q: tensor<1x8x16x32xf32>, %k: tensor<2x8x16x32xf32>) {
  // expected-error @+1 {{batch sizes of query, key and value differ}}
  %0 = kiln.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<2x8x16x32xf32>, tensor<2x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case77(%q: tensor<1x8x16x32xf32>, %k: tensor<1x8x16x32xf32>, %v: tensor<1x4x16x32xf32>) {
  // expected-error @+1 {{key and value have different head counts (8 and 4)}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<1x4x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case78(%q: tensor<1x8x16x32xf32>, %k: tensor<1x8x16x32xf32>, %v: tensor<1x8x12x32xf32>) {
  // expected-error @+1 {{key and value have different sequence lengths (16 and 12)}}
  %0 = kiln.attention %q, %k, %v {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<1x8x12x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case79(%q: tensor<1x8x16x32xf32>, %k: tensor<1x8x16x64xf32>) {
  // expected-error @+1 {{query head_dim 32 differs from key head_dim 64}}
  %0 = kiln.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x8x16x64xf32>, tensor<1x8x16x64xf32>) -> tensor<1x8x16x64xf32>
  return
}

// -----

func.func @case80(%q: tensor<1x8x16x32xf32>, %k: tensor<1x3x16x32xf32>) {
  // expected-error @+1 {{query heads (8) must be a multiple of key/value heads (3)}}
  %0 = kiln.attention %q, %k, %k {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x3x16x32xf32>, tensor<1x3x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case81(%q: tensor<1x8x16x32xf32>) {
  // expected-error @+1 {{scale must be finite and non-zero, got 0.000000e+00}}
  %0 = kiln.attention %q, %q, %q {scale = 0.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case82(%q: tensor<1x8x16x32xf32>, %m: tensor<16x16xi32>) {
  // expected-error @+1 {{mask must be i1 or 'f32', got 'i32'}}
  %0 = kiln.attention %q, %q, %q mask(%m) {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<16x16xi32>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case83(%q: tensor<1x8x16x32xf32>, %m: tensor<16x15xi1>) {
  // expected-error @+1 {{mask of shape 16x15 does not broadcast to the scores' 1x8x16x16}}
  %0 = kiln.attention %q, %q, %q mask(%m) {scale = 1.0 : f64} : (tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<1x8x16x32xf32>, tensor<16x15xi1>) -> tensor<1x8x16x32xf32>
  return
}

// -----

func.func @case84(%x: tensor<8xf32>, %c: tensor<4xf32>) {
  // expected-error @+1 {{input must be [..., seq, dim], got rank 1}}
  %0 = kiln.rotary %x, %c, %c : (tensor<8xf32>, tensor<4xf32>, tensor<4xf32>) -> tensor<8xf32>
  return
}

// -----

func.func @case85(%x: tensor<4x7xf32>, %c: tensor<4x3xf32>) {
  // expected-error @+1 {{feature dimension 7 must be even}}
  %0 = kiln.rotary %x, %c, %c : (tensor<4x7xf32>, tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<4x7xf32>
  return
}

// -----

func.func @case86(%x: tensor<4x8xf32>, %c: tensor<4x4xf32>, %s: tensor<1x4xf32>) {
  // expected-error @+1 {{cos and sin types differ: 'tensor<4x4xf32>' and 'tensor<1x4xf32>'}}
  %0 = kiln.rotary %x, %c, %s : (tensor<4x8xf32>, tensor<4x4xf32>, tensor<1x4xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case87(%x: tensor<4x8xf32>, %c: tensor<4x4xf16>) {
  // expected-error @+1 {{cos/sin element type 'f16' differs from the input's 'f32'}}
  %0 = kiln.rotary %x, %c, %c : (tensor<4x8xf32>, tensor<4x4xf16>, tensor<4x4xf16>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case88(%x: tensor<4x8xf32>, %c: tensor<4x8xf32>) {
  // expected-error @+1 {{cos/sin of shape 4x8 do not broadcast to 4x4}}
  %0 = kiln.rotary %x, %c, %c : (tensor<4x8xf32>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case89(%u: tensor<6x10xf32>, %a: tensor<6x4xf32>) {
  // expected-error @+1 {{u must be [batch, d_inner, seq] and A [d_inner, d_state]}}
  %0:2 = kiln.selective_scan %u, %u, %a, %a, %a : (tensor<6x10xf32>, tensor<6x10xf32>, tensor<6x4xf32>, tensor<6x4xf32>, tensor<6x4xf32>) -> (tensor<6x10xf32>, tensor<6x4xf32>)
  return
}

// -----

func.func @case90(%u: tensor<2x6x10xf32>, %d: tensor<2x6x9xf32>, %a: tensor<6x4xf32>, %b: tensor<2x4x10xf32>) {
  // expected-error @+1 {{delta must have shape 2x6x10, got 2x6x9}}
  %0:2 = kiln.selective_scan %u, %d, %a, %b, %b : (tensor<2x6x10xf32>, tensor<2x6x9xf32>, tensor<6x4xf32>, tensor<2x4x10xf32>, tensor<2x4x10xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  return
}

// -----

func.func @case91(%u: tensor<2x6x10xf32>, %a: tensor<6x4xf32>, %b: tensor<2x5x10xf32>) {
  // expected-error @+1 {{B must have shape 2x4x10, got 2x5x10}}
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b : (tensor<2x6x10xf32>, tensor<2x6x10xf32>, tensor<6x4xf32>, tensor<2x5x10xf32>, tensor<2x5x10xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  return
}

// -----

func.func @case92(%u: tensor<2x6x10xf32>, %a: tensor<6x4xf32>, %b: tensor<2x4x10xf32>, %h: tensor<2x6x5xf32>) {
  // expected-error @+1 {{initial state must have shape 2x6x4, got 2x6x5}}
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b state(%h) : (tensor<2x6x10xf32>, tensor<2x6x10xf32>, tensor<6x4xf32>, tensor<2x4x10xf32>, tensor<2x4x10xf32>, tensor<2x6x5xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  return
}

// -----

func.func @case93(%u: tensor<2x6x10xf32>, %a: tensor<6x4xf32>, %b: tensor<2x4x10xf32>, %d: tensor<6xf16>) {
  // expected-error @+1 {{D element type 'f16' differs from 'f32'}}
  %0:2 = kiln.selective_scan %u, %u, %a, %b, %b D(%d) : (tensor<2x6x10xf32>, tensor<2x6x10xf32>, tensor<6x4xf32>, tensor<2x4x10xf32>, tensor<2x4x10xf32>, tensor<6xf16>) -> (tensor<2x6x10xf32>, tensor<2x6x4xf32>)
  return
}

// -----

func.func @case94(%x: tensor<6x10xf32>, %w: tensor<6x3xf32>) {
  // expected-error @+1 {{input must be [batch, channels, seq] and weight [channels, kernel]}}
  %0:2 = kiln.causal_conv1d %x, %w : (tensor<6x10xf32>, tensor<6x3xf32>) -> (tensor<6x10xf32>, tensor<6x2xf32>)
  return
}

// -----

func.func @case95(%x: tensor<2x6x10xf32>, %w: tensor<5x3xf32>) {
  // expected-error @+1 {{weight must have shape 6x3, got 5x3}}
  %0:2 = kiln.causal_conv1d %x, %w : (tensor<2x6x10xf32>, tensor<5x3xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x2xf32>)
  return
}

// -----

func.func @case96(%x: tensor<2x6x10xf32>, %w: tensor<6x0xf32>) {
  // expected-error @+1 {{kernel width must be positive}}
  %0:2 = kiln.causal_conv1d %x, %w : (tensor<2x6x10xf32>, tensor<6x0xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x0xf32>)
  return
}

// -----

func.func @case97(%x: tensor<2x6x10xf32>, %w: tensor<6x3xf32>, %s: tensor<2x6x3xf32>) {
  // expected-error @+1 {{state must have shape 2x6x2, got 2x6x3}}
  %0:2 = kiln.causal_conv1d %x, %w state(%s) : (tensor<2x6x10xf32>, tensor<6x3xf32>, tensor<2x6x3xf32>) -> (tensor<2x6x10xf32>, tensor<2x6x2xf32>)
  return
}

// -----

func.func @case98(%x: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result shape 8x4 differs from the input's 4x8}}
  %0 = kiln.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<8x4xi8>
  return
}

// -----

func.func @case99(%x: tensor<4x8xf32>, %s: tensor<f16>) {
  // expected-error @+1 {{scale element type 'f16' differs from 'f32'}}
  %0 = kiln.quantize %x, %s : (tensor<4x8xf32>, tensor<f16>) -> tensor<4x8xi8>
  return
}

// -----

func.func @case99_dequantize_f16_to_bf16(%q: tensor<4x8xi8>, %s: tensor<f16>) {
  // expected-error @+1 {{scale element type 'f16' differs from 'bf16'}}
  %0 = kiln.dequantize %q, %s : (tensor<4x8xi8>, tensor<f16>) -> tensor<4x8xbf16>
  return
}

// -----

func.func @case99_dequantize_bf16_to_f32(%q: tensor<4x8xi8>, %s: tensor<bf16>) {
  // expected-error @+1 {{scale element type 'bf16' differs from 'f32' (f16 is accepted too)}}
  %0 = kiln.dequantize %q, %s : (tensor<4x8xi8>, tensor<bf16>) -> tensor<4x8xf32>
  return
}

// -----

func.func @case100(%x: tensor<4x8xf32>, %s: tensor<f32>, %z: tensor<i8>) {
  // expected-error @+1 {{zero_point element type must be 'ui8'}}
  %0 = kiln.quantize %x, %s zero_point(%z) : (tensor<4x8xf32>, tensor<f32>, tensor<i8>) -> tensor<4x8xui8>
  return
}

// -----

func.func @case101(%x: tensor<4x8xf32>, %s: tensor<4xf32>) {
  // expected-error @+1 {{scale must be a scalar or have shape 8, got 4}}
  %0 = kiln.quantize %x, %s {axis = 1 : i64} : (tensor<4x8xf32>, tensor<4xf32>) -> tensor<4x8xi8>
  return
}

// -----

func.func @case102(%x: tensor<4x8xf32>, %s: tensor<8xf32>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.quantize %x, %s {axis = 2 : i64} : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xi8>
  return
}

// -----

func.func @case103(%x: tensor<4x8xf32>, %s: tensor<f32>) {
  // expected-error @+1 {{result #0 must be ranked tensor of 8-bit signless integer or 8-bit unsigned integer or 4-bit signless integer or 4-bit unsigned integer values}}
  %0 = kiln.quantize %x, %s : (tensor<4x8xf32>, tensor<f32>) -> tensor<4x8xi32>
  return
}

// -----

func.func @case104(%q: tensor<48x8xi4>, %s: tensor<2x8xf32>) {
  // expected-error @+1 {{dimension 0 (48) is not a multiple of block_size 32}}
  %0 = kiln.dequantize %q, %s {axis = 0 : i64, block_size = 32 : i64} : (tensor<48x8xi4>, tensor<2x8xf32>) -> tensor<48x8xf32>
  return
}

// -----

func.func @case105(%q: tensor<64x8xi4>, %s: tensor<2x4xf32>) {
  // expected-error @+1 {{scale must be a scalar or have shape 2x8, got 2x4}}
  %0 = kiln.dequantize %q, %s {axis = 0 : i64, block_size = 32 : i64} : (tensor<64x8xi4>, tensor<2x4xf32>) -> tensor<64x8xf32>
  return
}

// -----

func.func @case106(%q: tensor<64x8xi4>, %s: tensor<f32>) {
  // expected-error @+1 {{block_size must be non-negative}}
  %0 = kiln.dequantize %q, %s {block_size = -1 : i64} : (tensor<64x8xi4>, tensor<f32>) -> tensor<64x8xf32>
  return
}

// -----

func.func @case107(%q: tensor<64x8xi8>, %s: tensor<8xf32>, %z: tensor<i8>) {
  // expected-error @+1 {{zero_point and scale shapes differ}}
  %0 = kiln.dequantize %q, %s zero_point(%z) {axis = 1 : i64} : (tensor<64x8xi8>, tensor<8xf32>, tensor<i8>) -> tensor<64x8xf32>
  return
}

// -----

func.func @case108(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>) {
  // expected-error @+1 {{axis 2 is out of range for rank 2}}
  %0 = kiln.gather_elements %x, %i {axis = 2 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  return
}

// -----

func.func @case109(%x: tensor<3x4xf32>, %i: tensor<3xi64>) {
  // expected-error @+1 {{indices must have the input's rank 2, got 1}}
  %0 = kiln.gather_elements %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3xi64>) -> tensor<3xf32>
  return
}

// -----

func.func @case110(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>) {
  // expected-error @+1 {{result shape 2x3 must be the indices' 3x2}}
  %0 = kiln.gather_elements %x, %i {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<2x3xf32>
  return
}

// -----

func.func @case111(%x: tensor<3x4xf32>, %i: tensor<5x3xi64>) {
  // expected-error @+1 {{batch_dims 0 plus index depth 3 exceed the input's rank 2}}
  %0 = kiln.gather_nd %x, %i : (tensor<3x4xf32>, tensor<5x3xi64>) -> tensor<5xf32>
  return
}

// -----

func.func @case112(%x: tensor<3x4xf32>, %i: tensor<5x1xi64>) {
  // expected-error @+1 {{result type 'tensor<5x3xf32>' should be 'tensor<5x4xf32>'}}
  %0 = kiln.gather_nd %x, %i : (tensor<3x4xf32>, tensor<5x1xi64>) -> tensor<5x3xf32>
  return
}

// -----

func.func @case113(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x3xf32>) {
  // expected-error @+1 {{updates must have shape 3x2, got 3x3}}
  %0 = kiln.scatter_elements %x, %i, %u {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @case114(%x: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf16>) {
  // expected-error @+1 {{updates element type 'f16' differs from the input's 'f32'}}
  %0 = kiln.scatter_elements %x, %i, %u {axis = 0 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf16>) -> tensor<3x4xf32>
  return
}

// -----

func.func @case115(%x: tensor<3x4xf32>, %i: tensor<2x3xi64>, %u: tensor<2xf32>) {
  // expected-error @+1 {{index depth 3 exceeds the input's rank 2}}
  %0 = kiln.scatter_nd %x, %i, %u : (tensor<3x4xf32>, tensor<2x3xi64>, tensor<2xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @case116(%x: tensor<3x4xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) {
  // expected-error @+1 {{updates must have shape 2x4, got 2x3}}
  %0 = kiln.scatter_nd %x, %i, %u : (tensor<3x4xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<3x4xf32>
  return
}

// -----

func.func @qmatmul0(%x: tensor<3x128xf32>, %w: tensor<2x128x64xi8>, %s: tensor<1x100xf32>) {
  // expected-error @+1 {{bits must be 8 or 4, got 2}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 2 : i64, group_size = 128 : i64} : (tensor<3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf32>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul1(%x: tensor<3x128xf32>, %w: tensor<2x128x64xi8>, %s: tensor<1x100xf32>) {
  // expected-error @+1 {{weight must be 2x128x32 (2 panels of 64 columns, K rows, 32 bytes per row) for 4-bit values, got 2x128x64}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 128 : i64} : (tensor<3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf32>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul2(%x: tensor<3x128xf32>, %w: tensor<1x128x64xi8>, %s: tensor<1x100xf32>) {
  // expected-error @+1 {{weight must be 2x128x64}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 128 : i64} : (tensor<3x128xf32>, tensor<1x128x64xi8>, tensor<1x100xf32>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul3(%x: tensor<3x128xf32>, %w: tensor<2x128x32xi8>, %s: tensor<4x100xf32>) {
  // expected-error @+1 {{group_size 48 must be positive and divide K (128)}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 48 : i64} : (tensor<3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf32>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul4(%x: tensor<3x128xf32>, %w: tensor<2x128x32xi8>, %s: tensor<2x100xf32>) {
  // expected-error @+1 {{scales must be 4x100 (K / group_size groups x N), got 2x100}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 32 : i64} : (tensor<3x128xf32>, tensor<2x128x32xi8>, tensor<2x100xf32>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul5(%x: tensor<3x128xf32>, %w: tensor<2x128x64xi8>, %s: tensor<1x100xf32>, %z: tensor<1x100xi8>) {
  // expected-error @+1 {{zero_points are only supported with bits = 4}}
  %0 = kiln.qmatmul %x, %w, %s zero_points(%z) {bits = 8 : i64, group_size = 128 : i64} : (tensor<3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf32>, tensor<1x100xi8>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul6(%x: tensor<3x128xf32>, %w: tensor<2x128x32xi8>, %s: tensor<4x100xf32>, %z: tensor<4x99xi8>) {
  // expected-error @+1 {{zero_points must be 4x100, got 4x99}}
  %0 = kiln.qmatmul %x, %w, %s zero_points(%z) {bits = 4 : i64, group_size = 32 : i64} : (tensor<3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xf32>, tensor<4x99xi8>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul7(%x: tensor<3x128xf16>, %w: tensor<2x128x64xi8>, %s: tensor<1x100xf32>) {
  // expected-error @+1 {{lhs and result must be f32}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 128 : i64} : (tensor<3x128xf16>, tensor<2x128x64xi8>, tensor<1x100xf32>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul7b(%x: tensor<3x128xf32>, %w: tensor<2x128x32xi8>, %s: tensor<4x100xbf16>) {
  // expected-error @+1 {{scales must be f32 or f16}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 4 : i64, group_size = 32 : i64} : (tensor<3x128xf32>, tensor<2x128x32xi8>, tensor<4x100xbf16>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul7c(%x: tensor<3x128xf32>, %w: tensor<2x128x64xi8>, %s: tensor<1x100xf16>) {
  // expected-error @+1 {{f16 scales are only supported with bits = 4}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 128 : i64} : (tensor<3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf16>) -> tensor<3x100xf32>
  return
}

// -----

func.func @qmatmul8(%x: tensor<3x128xf32>, %w: tensor<2x128x64xi8>, %s: tensor<1x100xf32>) {
  // expected-error @+1 {{result shape 4x100 does not match lhs 3x128 with N = 100}}
  %0 = kiln.qmatmul %x, %w, %s {bits = 8 : i64, group_size = 128 : i64} : (tensor<3x128xf32>, tensor<2x128x64xi8>, tensor<1x100xf32>) -> tensor<4x100xf32>
  return
}
