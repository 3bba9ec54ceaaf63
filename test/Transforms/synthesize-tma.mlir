// RUN: tile-opt %s -tile-pipeline=stages=3 -tile-select-swizzle -tile-synthesize-tma | FileCheck %s

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
