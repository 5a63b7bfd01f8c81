// A TMA descriptor: convert-nvgpu-to-nvvm calls
// mgpuTensorMapEncodeTiledMemref (see ../mgpu-abi.test).
!desc = !nvgpu.tensormap.descriptor<tensor = memref<64x64xf16, 3>, swizzle = swizzle_128b, l2promo = none, oob = zero, interleave = none>
func.func @descriptor(%m: memref<*xf16>) -> !desc {
  %c64 = arith.constant 64 : index
  %d = nvgpu.tma.create.descriptor %m box[%c64, %c64] : memref<*xf16> -> !desc
  return %d : !desc
}
