// RUN: tile-opt %s -convert-tile-to-gpu -canonicalize | FileCheck %s

// Two consumer warpgroups take turns (tile.turn_wait / tile.turn_pass):
// warpgroup w waits on named barrier 2 + w (its 128 threads and the 128 of
// the warpgroup passing to it: 256); a pass arrives on the next warpgroup's
// barrier, 2 + (w + 1) mod 2. Warpgroup 0 (threads < 128) holds the first
// turn: it arrives on its own barrier before the consumer code, and after it
// takes the last warpgroup's last pass, so that no arrival is left over.
// CHECK-LABEL: gpu.func @turns
// CHECK: setmaxnreg.inc.sync.aligned.u32 232;
// CHECK: %[[WG0:.*]] = arith.cmpi ult, %{{.*}}, %c128_i64
// CHECK: scf.if %[[WG0]] {
// CHECK: "bar.arrive 2, 256;"
// CHECK: scf.for
// CHECK: %[[W:.*]] = arith.divui %{{.*}}, %c128_i64
// CHECK: %[[WR:.*]] = arith.remui %[[W]], %c2_i64
// CHECK: %[[ID:.*]] = arith.addi %[[WR]], %c2_i64
// CHECK: %[[ID32:.*]] = arith.trunci %[[ID]]
// CHECK: "bar.sync $0, 256;", "r" %[[ID32]]
// CHECK: %[[W1:.*]] = arith.divui %{{.*}}, %c128_i64
// CHECK: %[[N:.*]] = arith.addi %[[W1]], %c1_i64
// CHECK: %[[NR:.*]] = arith.remui %[[N]], %c2_i64
// CHECK: %[[NID:.*]] = arith.addi %[[NR]], %c2_i64
// CHECK: %[[NID32:.*]] = arith.trunci %[[NID]]
// CHECK: "bar.arrive $0, 256;", "r" %[[NID32]]
// CHECK: }
// CHECK: %[[LAST:.*]] = arith.cmpi ult, %{{.*}}, %c128_i64
// CHECK: scf.if %[[LAST]] {
// CHECK: "bar.sync 2, 256;"
// CHECK: gpu.return
func.func @turns(%n: i32) attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  tile.warp_specialize producer {
  } consumer {
    scf.for %i = %c0 to %n step %c1 : i32 {
      tile.turn_wait
      tile.turn_pass
    }
  }
  return
}
