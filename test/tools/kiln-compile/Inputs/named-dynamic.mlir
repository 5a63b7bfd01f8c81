// A static entry point with a dynamic intermediate, on an op named like an
// ONNX node: the lowering's error names the node.

func.func @main(%x: tensor<8xf32>, %n: tensor<index>) -> tensor<8xf32> {
  %c = tensor.extract %n[] : tensor<index>
  %s = tensor.extract_slice %x[0] [%c] [1] : tensor<8xf32> to tensor<?xf32>
  %e = kiln.exp %s : tensor<?xf32> loc("/layer.3/Exp (Exp)"("model.onnx":0:0))
  %p = tensor.insert_slice %e into %x[0] [%c] [1] : tensor<?xf32> into tensor<8xf32>
  return %p : tensor<8xf32>
}
