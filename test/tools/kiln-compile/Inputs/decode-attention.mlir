func.func @main(%q: tensor<1x4x1x16xf32>, %pk: tensor<1x4x31x16xf32>, %pv: tensor<1x4x31x16xf32>, %k: tensor<1x4x1x16xf32>, %v: tensor<1x4x1x16xf32>) -> tensor<1x4x1x16xf32> {
  %kc = kiln.concat %pk, %k {axis = 2 : i64} : (tensor<1x4x31x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x32x16xf32>
  %vc = kiln.concat %pv, %v {axis = 2 : i64} : (tensor<1x4x31x16xf32>, tensor<1x4x1x16xf32>) -> tensor<1x4x32x16xf32>
  %o = kiln.attention %q, %kc, %vc {scale = 0.25 : f64} : (tensor<1x4x1x16xf32>, tensor<1x4x32x16xf32>, tensor<1x4x32x16xf32>) -> tensor<1x4x1x16xf32>
  return %o : tensor<1x4x1x16xf32>
}
