// RUN: tile-opt %s -split-input-file -tile-pipeline=stages=3 -tile-select-swizzle -tile-synthesize-tma | FileCheck %s

// The GEMM main loop as the frontend prints it. Each array copied by TMA gets
// one descriptor parameter (shared by the prologue's and the loop's copies),
// appended after the kernel's own parameters; the module lists what the
// runtime encodes: A's box is the whole 128x64 stage (128-byte rows), B's
// 64x128 stage is two 64x64 boxes (one 128-byte swizzle span each).
// CHECK: module attributes {tile.tma = [{box = array<i64: 128, 64>, dtype = bf16, param = 12 : i64, pointer = 0 : i64, swizzle = 128 : i64}, {box = array<i64: 64, 64>, dtype = bf16, param = 13 : i64, pointer = 4 : i64, swizzle = 128 : i64}]}
// CHECK: func.func @gemm(
// CHECK-SAME: %arg12: !llvm.ptr {tile.tensormap}, %arg13: !llvm.ptr {tile.tensormap})
// CHECK-COUNT-2: tile.async_load {{.*}} {tile.tma_desc = 12 : i64} : !tile.view<bf16, 2>, !tile.shared<128x64xbf16, #tile.swizzle<128>>
// CHECK: scf.for
// CHECK: tile.async_load {{.*}} {tile.tma_desc = 12 : i64}
// CHECK: tile.async_load {{.*}} {tile.tma_desc = 13 : i64} : !tile.view<bf16, 2>, !tile.shared<64x128xbf16, #tile.swizzle<128>>
  func.func @gemm(%arg0: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %arg1: i32 {tile.divisibility = 16 : i64}, %arg2: i32 {tile.divisibility = 16 : i64}, %arg3: i32 {tile.divisibility = 16 : i64}, %arg4: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %arg5: i32 {tile.divisibility = 16 : i64}, %arg6: i32 {tile.divisibility = 16 : i64}, %arg7: i32 {tile.divisibility = 16 : i64}, %arg8: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %arg9: i32 {tile.divisibility = 16 : i64}, %arg10: i32 {tile.divisibility = 16 : i64}, %arg11: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
    %c1_i32 = arith.constant 1 : i32
    %0 = tile.make_view %arg0, [%arg1, %arg2], [%arg3, %c1_i32] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
    %1 = tile.make_view %arg4, [%arg5, %arg6], [%arg7, %c1_i32] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
    %2 = tile.make_view %arg8, [%arg9, %arg10], [%arg11, %c1_i32] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
    %3 = tile.program_id 0
    %c128_i32 = arith.constant 128 : i32
    %4 = arith.muli %3, %c128_i32 : i32
    %5 = tile.program_id 1
    %c128_i32_0 = arith.constant 128 : i32
    %6 = arith.muli %5, %c128_i32_0 : i32
    %cst = arith.constant dense<0.000000e+00> : tensor<128x128xf32>
    %c0_i32 = arith.constant 0 : i32
    %c64_i32 = arith.constant 64 : i32
    %7 = scf.for %arg12 = %c0_i32 to %arg2 step %c64_i32 iter_args(%arg13 = %cst) -> (tensor<128x128xf32>)  : i32 {
      %9 = tile.load %0[%4, %arg12] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
      %10 = tile.load %1[%arg12, %6] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
      %11 = tile.mma %9, %10, %arg13 : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
      scf.yield %11 : tensor<128x128xf32>
    }
    %8 = arith.truncf %7 : tensor<128x128xf32> to tensor<128x128xbf16>
    tile.store %8, %2[%4, %6] : tensor<128x128xbf16>, !tile.view<bf16, 2>
    return
  }

// -----

// TMA stores (tile-tma-store's) get descriptors the same way: box and
// swizzle from the shared tile they read. 128x256 bf16 is four 128x64 boxes
// (128B); 64-byte rows take 64B, 32-byte rows 32B, 16-byte rows none (the
// box is the whole tile); f32 rows of 128 bytes take 128B. A load and a store
// of the same array with the same box share one descriptor (C's, param 3).
// CHECK: module attributes {tile.tma = [
// CHECK-SAME: {box = array<i64: 128, 64>, dtype = bf16, param = 3 : i64, pointer = 0 : i64, swizzle = 128 : i64},
// CHECK-SAME: {box = array<i64: 64, 32>, dtype = bf16, param = 4 : i64, pointer = 0 : i64, swizzle = 64 : i64},
// CHECK-SAME: {box = array<i64: 64, 16>, dtype = bf16, param = 5 : i64, pointer = 0 : i64, swizzle = 32 : i64},
// CHECK-SAME: {box = array<i64: 64, 8>, dtype = bf16, param = 6 : i64, pointer = 0 : i64, swizzle = 0 : i64},
// CHECK-SAME: {box = array<i64: 64, 32>, dtype = f32, param = 7 : i64, pointer = 1 : i64, swizzle = 128 : i64}]}
// CHECK-LABEL: func.func @stores(
// CHECK: tile.async_store {{.*}} {tile.tma_desc = 3 : i64} : !tile.shared<128x256xbf16, #tile.swizzle<128>>, !tile.view<bf16, 2>
// CHECK: tile.async_load {{.*}} {tile.tma_desc = 3 : i64} : !tile.view<bf16, 2>, !tile.shared<128x64xbf16, #tile.swizzle<128>>
// CHECK: tile.async_store {{.*}} {tile.tma_desc = 3 : i64} : !tile.shared<128x64xbf16, #tile.swizzle<128>>
// CHECK: tile.async_store {{.*}} {tile.tma_desc = 4 : i64} : !tile.shared<64x32xbf16, #tile.swizzle<64>>
// CHECK: tile.async_store {{.*}} {tile.tma_desc = 5 : i64} : !tile.shared<64x16xbf16, #tile.swizzle<32>>
// CHECK: tile.async_store {{.*}} {tile.tma_desc = 6 : i64} : !tile.shared<64x8xbf16, #tile.swizzle<0>>
// CHECK: tile.async_store {{.*}} {tile.tma_desc = 7 : i64} : !tile.shared<64x32xf32, #tile.swizzle<128>>
func.func @stores(%pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pf: !tile.ptr<f32> {tile.divisibility = 16 : i64},
                  %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %C = tile.make_view %pc, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %F = tile.make_view %pf, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %wide = tile.alloc_shared : !tile.shared<128x256xbf16>
  tile.async_store %wide, %C[%c0, %c0] : !tile.shared<128x256xbf16>, !tile.view<bf16, 2>
  %bar = tile.alloc_mbarrier : !tile.mbarrier
  %box = tile.alloc_shared : !tile.shared<128x64xbf16>
  tile.async_load %C[%c0, %c0], %box, %bar : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>, !tile.mbarrier
  tile.async_store %box, %C[%c0, %c0] : !tile.shared<128x64xbf16>, !tile.view<bf16, 2>
  %s64 = tile.alloc_shared : !tile.shared<64x32xbf16>
  tile.async_store %s64, %C[%c0, %c0] : !tile.shared<64x32xbf16>, !tile.view<bf16, 2>
  %s32 = tile.alloc_shared : !tile.shared<64x16xbf16>
  tile.async_store %s32, %C[%c0, %c0] : !tile.shared<64x16xbf16>, !tile.view<bf16, 2>
  %s0 = tile.alloc_shared : !tile.shared<64x8xbf16>
  tile.async_store %s0, %C[%c0, %c0] : !tile.shared<64x8xbf16>, !tile.view<bf16, 2>
  %f = tile.alloc_shared : !tile.shared<64x32xf32>
  tile.async_store %f, %F[%c0, %c0] : !tile.shared<64x32xf32>, !tile.view<f32, 2>
  tile.async_store_wait %wide, %box, %s64, %s32, %s0, %f : !tile.shared<128x256xbf16>, !tile.shared<128x64xbf16>, !tile.shared<64x32xbf16>, !tile.shared<64x16xbf16>, !tile.shared<64x8xbf16>, !tile.shared<64x32xf32>
  return
}
