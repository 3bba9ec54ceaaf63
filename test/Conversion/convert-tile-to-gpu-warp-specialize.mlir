// RUN: tile-opt %s -tile-warp-specialize=stages=4 -tile-select-swizzle -tile-synthesize-tma -tile-assign-layouts -convert-tile-to-gpu -canonicalize | FileCheck %s

// A warp-specialized GEMM over two consumer warpgroups: the block has a
// third (producer) warpgroup, 384 threads. Every thread initializes the
// barriers together (bar.sync 0); then threads 256.. give registers back
// and thread 256 alone issues the copies (no thread-0 guard); the consumers
// take 232 registers each ((65536 / 128 - 40) / 2, rounded down to 8), and
// a CTA barrier among them is named barrier 1 over their 256 threads. The
// launch allocation is fixed (nvvm.maxnreg: 65536 / 384, rounded down to 8)
// so that ptxas honours setmaxnreg.
// CHECK: module attributes {gpu.container_module, tile.block_threads = 384 : i64
// CHECK: gpu.func @gemm{{.*}} kernel attributes {known_block_size = array<i32: 384, 1, 1>{{.*}}nvvm.maxnreg = 168 : i32
// CHECK: mbarrier.init.shared::cta.b64
// CHECK: gpu.barrier
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK: %[[PRODUCER:.*]] = arith.cmpi uge, %{{.*}}, %c256
// CHECK: scf.if %[[PRODUCER]] {
// CHECK: setmaxnreg.dec.sync.aligned.u32 40;
// CHECK: %[[FIRST:.*]] = arith.cmpi eq, %{{.*}}, %c256
// CHECK: scf.if %[[FIRST]] {
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity
// CHECK-NOT: scf.if
// CHECK: mbarrier.arrive.expect_tx.shared::cta.b64
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// CHECK: cp.async.bulk.tensor.2d.shared::cluster.global.mbarrier::complete_tx::bytes
// CHECK: } else {
// CHECK: setmaxnreg.inc.sync.aligned.u32 232;
// CHECK: scf.for
// CHECK: mbarrier.try_wait.parity
// CHECK: wgmma.mma_async
// CHECK: mbarrier.arrive.shared::cta.b64
// CHECK: bar.sync 1, 256;
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @gemm(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                %pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %pc, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  tile.barrier
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%c0, %c0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}
