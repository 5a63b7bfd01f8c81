func.func @main(%x: tensor<16x64xf32>, %w: tensor<64x32xf32>, %b: tensor<32xf32>, %g: tensor<32xf32>) -> tensor<16x32xf32> {
  %0 = kiln.matmul %x, %w : (tensor<16x64xf32>, tensor<64x32xf32>) -> tensor<16x32xf32>
  %1 = kiln.add %0, %b : (tensor<16x32xf32>, tensor<32xf32>) -> tensor<16x32xf32>
  %2 = kiln.gelu %1 approximate tanh : tensor<16x32xf32>
  %3 = kiln.layer_norm %2 scale(%g) {axis = 1 : i64} : (tensor<16x32xf32>, tensor<32xf32>) -> tensor<16x32xf32>
  %4 = kiln.relu %3 : tensor<16x32xf32>
  return %4 : tensor<16x32xf32>
}
