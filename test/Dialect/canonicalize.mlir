// RUN: tile-opt %s -canonicalize | FileCheck %s
// The dialect's folds.

// CHECK-LABEL: func.func @splat_constant
// CHECK: %[[C:.*]] = arith.constant dense<2.500000e+00> : tensor<16x16xf32>
// CHECK-NOT: tile.splat
// CHECK: return %[[C]]
func.func @splat_constant() -> tensor<16x16xf32> {
  %x = arith.constant 2.5 : f32
  %s = tile.splat %x : f32 -> tensor<16x16xf32>
  return %s : tensor<16x16xf32>
}

// CHECK-LABEL: func.func @transpose_twice
// CHECK-SAME: (%[[A:.*]]: tensor<64x128xbf16>)
// CHECK-NEXT: return %[[A]]
func.func @transpose_twice(%a: tensor<64x128xbf16>) -> tensor<64x128xbf16> {
  %t = tile.transpose %a : tensor<64x128xbf16> -> tensor<128x64xbf16>
  %u = tile.transpose %t : tensor<128x64xbf16> -> tensor<64x128xbf16>
  return %u : tensor<64x128xbf16>
}

// CHECK-LABEL: func.func @same_layout
// CHECK-SAME: (%[[A:.*]]: tensor<64x64xf32>)
// CHECK-NEXT: return %[[A]]
func.func @same_layout(%a: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %c = tile.convert_layout %a : tensor<64x64xf32> -> tensor<64x64xf32>
  return %c : tensor<64x64xf32>
}
