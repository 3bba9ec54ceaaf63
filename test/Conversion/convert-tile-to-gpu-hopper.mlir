// RUN: tile-opt %s -tile-pipeline=stages=3 -tile-select-swizzle -tile-synthesize-tma -tile-assign-layouts -convert-tile-to-gpu -canonicalize | FileCheck %s

// The Hopper lowering of a GEMM main loop (128x128x64 bf16 tiles, one
// warpgroup). Shared memory: 3 stages of A (16 KiB) and B (16 KiB) at
// 1024-byte boundaries, then the 3 barriers: 98304 + 24 bytes, plus 8 of
// alignment padding for the scratch that follows.
// CHECK: module attributes {gpu.container_module, tile.block_threads = 128 : i64, tile.shared_bytes = 98336 : i64
// CHECK: llvm.mlir.global external @__tile_shared_scratch() {addr_space = 3 : i32, alignment = 1024 : i64}
// Matrix descriptors, 128B swizzle: the low word ((address & 0x3FFFF) >> 4 |
// LBO >> 4 << 16) is made once per operand and offset per k-step; the high
// word is (1 << 62) | (SBO 1024 >> 4) << 32 (8 rows of 128 bytes).
// CHECK-DAG: arith.constant 4611686293305294848 : i64
// CHECK-DAG: arith.constant 262143 : i32
// A: K-major, LBO 16 (unused):
// CHECK-DAG: arith.constant 65536 : i32
// B: N-major (K x N), LBO 8192 (one 64-column box of 64 rows):
// CHECK-DAG: arith.constant 33554432 : i32
// Thread 0 makes three barriers, each expecting two arrivals (A's and B's copies):
// CHECK: mbarrier.init.shared::cta.b64 [$0], $1;", "r,r" %{{.*}}, %c2_i32
// CHECK: fence.mbarrier_init.release.cluster;
// CHECK: fence.proxy.async.shared::cta;
// CHECK: gpu.barrier
// Prologue copies: each announces its own bytes (A 16384, B 16384); B goes in two boxes.
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], $1;", "r,r" %{{.*}}, %c16384_i32
// CHECK: cp.async.bulk.tensor.2d
// The accumulator's zeros: one opaque mov a register, once before the loop
// (a constant would be rematerialized on the edge that skips the loop, into
// the registers of the in-flight wgmmas: ptxas C7515).
// CHECK-COUNT-128: "mov.b32 $0, $1;", "=f,f"
// CHECK-NOT: wgmma
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity.shared::cta.b64
// CHECK: wgmma.fence.sync.aligned;
// CHECK-COUNT-8: wgmma.mma_async.sync.aligned.m64n128k16.f32.bf16.bf16
// CHECK: wgmma.commit_group.sync.aligned;
// CHECK: wgmma.wait_group.sync.aligned 1;
// CHECK: cp.async.bulk.tensor.2d
// CHECK: scf.yield
// After the loop the accumulator passes through a full wait before the epilogue.
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK: arith.truncf {{.*}} : vector<128xf32> to vector<128xbf16>
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
