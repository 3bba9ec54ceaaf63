// RUN: tile-opt %s -tile-select-swizzle | FileCheck %s
// Swizzle from the bytes of a shared tile's rows: 128 bytes or a multiple ->
// 128B, 64 -> 64B, 32 -> 32B, narrower -> none. Chosen swizzles stay.

// CHECK-LABEL: func.func @decisions
func.func @decisions() {
  // 64 bf16 = 128 bytes
  // CHECK: tile.alloc_shared : !tile.shared<128x64xbf16, #tile.swizzle<128>>
  %a = tile.alloc_shared : !tile.shared<128x64xbf16>
  // 32 bf16 = 64 bytes
  // CHECK: tile.alloc_shared : !tile.shared<128x32xbf16, #tile.swizzle<64>>
  %b = tile.alloc_shared : !tile.shared<128x32xbf16>
  // 16 bf16 = 32 bytes
  // CHECK: tile.alloc_shared : !tile.shared<64x16xbf16, #tile.swizzle<32>>
  %c = tile.alloc_shared : !tile.shared<64x16xbf16>
  // 8 bf16 = 16 bytes
  // CHECK: tile.alloc_shared : !tile.shared<64x8xbf16, #tile.swizzle<0>>
  %d = tile.alloc_shared : !tile.shared<64x8xbf16>
  // 128 bf16 = 256 bytes: two 128-byte boxes
  // CHECK: tile.alloc_shared : !tile.shared<64x128xbf16, #tile.swizzle<128>>
  %e = tile.alloc_shared : !tile.shared<64x128xbf16>
  // 128 fp8 = 128 bytes; 32 f32 = 128 bytes
  // CHECK: tile.alloc_shared : !tile.shared<64x128xf8E4M3FN, #tile.swizzle<128>>
  %f = tile.alloc_shared : !tile.shared<64x128xf8E4M3FN>
  // CHECK: tile.alloc_shared : !tile.shared<64x32xf32, #tile.swizzle<128>>
  %g = tile.alloc_shared : !tile.shared<64x32xf32>
  // Multi-stage buffers: the row is still the innermost dimension.
  // CHECK: tile.alloc_shared : !tile.shared<3x128x64xbf16, #tile.swizzle<128>>
  %h = tile.alloc_shared : !tile.shared<3x128x64xbf16>
  // An explicit choice is kept.
  // CHECK: tile.alloc_shared : !tile.shared<128x64xbf16, #tile.swizzle<32>>
  %i = tile.alloc_shared : !tile.shared<128x64xbf16, #tile.swizzle<32>>
  return
}

// Users see the chosen type.
// CHECK-LABEL: func.func @users
// CHECK: tile.async_load {{.*}} : !tile.view<bf16, 2>, !tile.shared<128x64xbf16, #tile.swizzle<128>>, !tile.mbarrier
// CHECK: tile.load_shared {{.*}} : !tile.shared<128x64xbf16, #tile.swizzle<128>> -> tensor<128x64xbf16>
func.func @users(%A: !tile.view<bf16, 2>, %i: i32, %p: i1) -> tensor<128x64xbf16> {
  %s = tile.alloc_shared : !tile.shared<128x64xbf16>
  %bar = tile.alloc_mbarrier : !tile.mbarrier
  tile.async_load %A[%i, %i], %s, %bar : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>, !tile.mbarrier
  tile.wait %bar, %p : !tile.mbarrier
  %t = tile.load_shared %s : !tile.shared<128x64xbf16> -> tensor<128x64xbf16>
  return %t : tensor<128x64xbf16>
}
