// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=3 -tile-select-swizzle -tile-synthesize-tma -tile-assign-layouts -convert-tile-to-gpu -canonicalize | FileCheck %s

// Two programs a cluster (tile.num_ctas = 2), B multicast. The kernel asks
// for clusters of two (nvvm.cluster_dim: .reqnctapercluster in PTX). After
// the barriers' initialization, a cluster barrier (the arrival relaxed: the
// init fence released them) instead of the CTA barrier, so that no program
// reaches another's barriers before they exist. The producer copies A
// alone; B's two 64-column boxes it splits by cluster rank: program r issues
// box r, multicast to both programs (mask 0b11). The consumers release a
// stage at the barrier of each program (mapa to rank 0, then rank 1; the
// arrival stays release.cta: a cluster-scope release costs a MEMBAR.ALL.GPU
// a k-step). Programs leave together: a released cluster barrier before the
// return.
// CHECK: gpu.func @gemm{{.*}} kernel attributes {{{.*}}nvvm.cluster_dim = array<i32: 2, 1, 1>
// CHECK: mbarrier.init.shared::cta.b64
// CHECK-NOT: gpu.barrier
// CHECK: barrier.cluster.arrive.relaxed;
// CHECK-SAME: barrier.cluster.wait.acquire;
// CHECK: setmaxnreg.dec
// CHECK: mbarrier.try_wait.parity
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], $1;", "r,r" %{{.*}}, %c16384_i32
// CHECK: complete_tx::bytes [$0], [$1, {$2, $3}], [$4];", "r,l,r,r,r"
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64 _, [$0], $1;", "r,r" %{{.*}}, %c16384_i32
// CHECK: %[[RANK:.*]] = llvm.inline_asm has_side_effects "mov.u32 $0, %cluster_ctarank;"
// CHECK: %[[MINE0:.*]] = arith.cmpi eq, %[[RANK]], %c0_i32
// CHECK: scf.if %[[MINE0]] {
// CHECK: complete_tx::bytes.multicast::cluster [$0], [$1, {$2, $3}], [$4], $5;", "r,l,r,r,r,h" {{.*}}, %c3_i16
// CHECK: %[[MINE1:.*]] = arith.cmpi eq, %[[RANK]], %c1_i32
// CHECK: scf.if %[[MINE1]] {
// CHECK: complete_tx::bytes.multicast::cluster
// CHECK: setmaxnreg.inc
// CHECK: wgmma.mma_async
// CHECK: mapa.shared::cluster.u32 remote, $0, $1; mbarrier.arrive.shared::cluster.b64 _, [remote]; }", "r,r" %{{.*}}, %c0_i32
// CHECK: mapa.shared::cluster.u32 remote, $0, $1; mbarrier.arrive.shared::cluster.b64 _, [remote]; }", "r,r" %{{.*}}, %c1_i32
// CHECK-NOT: mbarrier.arrive.shared::cta.b64
// CHECK: barrier.cluster.arrive.release;
// CHECK-SAME: barrier.cluster.wait.acquire;
// CHECK-NEXT: gpu.return
func.func @gemm(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                %pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64},
                %m0: i32, %n0: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32, tile.num_ctas = 2 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %pc, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %A[%m0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %n0] {multicast} : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  tile.barrier
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%m0, %n0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// Four programs a cluster but two boxes: the boxes cannot be shared four
// ways, so every program copies its whole tile itself (the barriers stay
// the cluster's: the result is the same).
// CHECK-LABEL: gpu.func @four
// CHECK-NOT: multicast::cluster
// CHECK: mapa.shared::cluster.u32
// CHECK-NOT: multicast::cluster
// CHECK: gpu.return
func.func @four(%pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                %K: i32 {tile.divisibility = 16 : i64}, %n0: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32, tile.num_ctas = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %pc, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %B[%c0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %n0] {multicast} : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  tile.barrier
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%c0, %n0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}
