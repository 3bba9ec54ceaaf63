// RUN: tile-opt %s -tile-assign-layouts -split-input-file | FileCheck %s

// 1024 f32 over 4 warps: 16-byte runs (4 f32), 8 registers a thread.
// CHECK-LABEL: func.func @f32_1024
// CHECK: tile.load {{.*}} -> tensor<1024xf32, #tile.blocked<size_per_thread = [4], threads_per_warp = [32], warps_per_cta = [4]>>
// CHECK: arith.addf {{.*}} : tensor<1024xf32, #tile.blocked<size_per_thread = [4], threads_per_warp = [32], warps_per_cta = [4]>>
func.func @f32_1024(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<1024xf32>
  %b = arith.addf %a, %a : tensor<1024xf32>
  tile.store %b, %p[%off] : tensor<1024xf32>, !tile.ptr<f32>
  return
}

// -----

// bf16: 8 elements make 16 bytes.
// CHECK-LABEL: func.func @bf16_2048
// CHECK: tensor<2048xbf16, #tile.blocked<size_per_thread = [8], threads_per_warp = [32], warps_per_cta = [4]>>
func.func @bf16_2048(%p: !tile.ptr<bf16>, %off: i32) attributes {tile.kernel} {
  %a = tile.load %p[%off] : !tile.ptr<bf16> -> tensor<2048xbf16>
  tile.store %a, %p[%off] : tensor<2048xbf16>, !tile.ptr<bf16>
  return
}

// -----

// A tile smaller than the CTA: one element a thread, and it wraps.
// CHECK-LABEL: func.func @small
// CHECK: tensor<64xf32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [8]>>
func.func @small(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32>
  tile.store %a, %p[%off] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// Constants take the layout in their value too; functions that are not
// kernels are left alone.
// CHECK-LABEL: func.func @constant
// CHECK: arith.constant dense<1.000000e+00> : tensor<256xf32, #tile.blocked
func.func @constant(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 2 : i32} {
  %c = arith.constant dense<1.0> : tensor<256xf32>
  tile.store %c, %p[%off] : tensor<256xf32>, !tile.ptr<f32>
  return
}
// CHECK-LABEL: func.func @not_a_kernel
// CHECK: tensor<256xf32>)
func.func @not_a_kernel(%a: tensor<256xf32>) {
  return
}
