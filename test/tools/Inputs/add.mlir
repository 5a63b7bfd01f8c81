// y = x * w + b, with a weight so the artifact carries a weights section.
func.func @main(%x: tensor<2x3xf32> {kiln.name = "x"}, %b: tensor<3xf32> {kiln.name = "b"})
    -> (tensor<2x3xf32> {kiln.name = "y"}) {
  %w = kiln.constant dense_resource<w> : tensor<2x3xf32>
  %0 = kiln.mul %x, %w : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kiln.add %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}
{-#
  dialect_resources: {
    builtin: {
      w: "0x040000000000803F0000004000004040000080400000A0400000C040"
    }
  }
#-}
