// RUN: tile-opt %s -tile-pipeline=stages=3 -tile-store-mma-operands -tile-select-swizzle -tile-synthesize-tma -tile-assign-layouts -convert-tile-to-gpu -canonicalize | FileCheck %s
// RUN: tile-opt %s -tile-to-llvm=stages=3 -gpu-module-to-binary=format=isa | FileCheck %s --check-prefix=PTX

// A w8a16 main loop (64x64x64, one warpgroup): X's bf16 tile and W's int8
// tile both come by TMA into 3-stage rings (W's 64-byte rows 64B-swizzled);
// each thread reads its 32 int8 of W's stage back with two 16-byte shared
// loads at the swizzled offset (16-byte chunk XOR (row / 2) % 4), converts
// them to bf16 and writes them to one of two stages of the 128B-swizzled B
// tile, which the wgmma reads after the async-proxy fence and a barrier; the
// wgmma stays in flight (wait_group 1).
// CHECK-LABEL: gpu.func @w8a16
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity
// CHECK: %[[ROWHALF:.*]] = arith.divui %{{.*}}, %c2_i64
// CHECK: arith.remui %[[ROWHALF]], %c4_i64
// CHECK: arith.xori
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<16xi8>
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<3> -> vector<16xi8>
// CHECK: arith.sitofp %{{.*}} : vector<32xi8> to vector<32xbf16>
// CHECK: llvm.store %{{.*}} {alignment = 16 : i64} : vector<8xbf16>, !llvm.ptr<3>
// CHECK: fence.proxy.async.shared::cta;
// CHECK: gpu.barrier
// CHECK: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// CHECK: wgmma.wait_group.sync.aligned 1;
// PTX: .visible .entry w8a16(
// PTX: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// PTX: ld.shared.v4.b32
// PTX: st.shared.v4
// PTX: fence.proxy.async.shared::cta;
// PTX: bar.sync
// PTX: wgmma.mma_async.sync.aligned.m64n64k16.f32.bf16.bf16
// PTX: wgmma.wait_group.sync.aligned 1;
func.func @w8a16(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %w: !tile.ptr<i8> {tile.divisibility = 16 : i64},
                 %y: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %M: i32, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %X = tile.make_view %x, [%M, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %W = tile.make_view %w, [%K, %K], [%K, %c1] : !tile.ptr<i8> -> !tile.view<i8, 2>
  %Y = tile.make_view %y, [%M, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %X[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %q = tile.load %W[%c0, %k] : !tile.view<i8, 2> -> tensor<64x64xi8>
    %b = arith.sitofp %q : tensor<64x64xi8> to tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  %out = arith.truncf %acc : tensor<64x64xf32> to tensor<64x64xbf16>
  tile.store %out, %Y[%c0, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  return
}
