// An entry point with a dynamic dimension: the CPU path needs static shapes.

func.func @main(%x: tensor<?x4xf32>) -> tensor<?x4xf32> {
  %0 = kiln.exp %x : tensor<?x4xf32>
  return %0 : tensor<?x4xf32>
}
