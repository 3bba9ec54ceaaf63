// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=2 -tile-overlap-mma | FileCheck %s
// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=2 -tile-overlap-mma=ping-pong=false | FileCheck %s --check-prefix=NOPP
// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=3 '-tile-overlap-mma=ping-pong=false lookahead=false' | FileCheck %s --check-prefix=NOPP
// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=3 -tile-overlap-mma=ping-pong=false | FileCheck %s --check-prefix=LOOK

// Attention's key loop (S = Q Kᵀ; softmax; O = O·alpha + P V) on two consumer
// warpgroups. K and V are read by different mmas, so each has its own ring.
// Iteration 0 runs before the loop without P·V (the prologue, under
// `scf.if` lb < ub); the loop issues Q·Kᵀ(j), then the rescale and P·V(j-1)
// with what iteration j-1 carried (P, alpha, V's stage), waits for Q·Kᵀ only,
// runs the softmax while P·V runs, then waits for P·V and releases V's
// stage; the last P·V runs after the loop. With ping-pong the warpgroups
// take turns at issuing the two mmas.
// CHECK-LABEL: func.func @attention
// CHECK: tile.warp_specialize producer {
// CHECK: } consumer {
// CHECK: scf.if
// CHECK: tile.turn_wait
// CHECK-NEXT: tile.mma {{.*}} {transpose_b}
// CHECK-NEXT: tile.turn_pass
// CHECK: scf.yield
// CHECK: %[[LOOP:.*]]:{{[0-9]+}} = scf.for
// CHECK: tile.turn_wait
// CHECK-NEXT: %[[S:.*]] = tile.mma {{.*}} {pending = 1 : i32, transpose_b}
// CHECK: arith.mulf %{{.*}}, %{{.*}} : tensor<128x64xf32>
// CHECK: tile.wait
// CHECK-NEXT: %[[PV:.*]] = tile.mma {{.*}} {pending = 2 : i32}
// CHECK-NEXT: tile.turn_pass
// CHECK-NEXT: tile.mma_wait %[[S]] {pending = 1 : i32}
// CHECK: tile.reduce max
// CHECK: math.exp2
// CHECK: %[[O:.*]] = tile.mma_wait %[[PV]] :
// CHECK: tile.arrive
// CHECK: scf.yield {{.*}}%[[O]]
// CHECK: scf.if
// CHECK-NOT: tile.turn_wait
// CHECK: tile.mma
// CHECK: tile.arrive
// CHECK: tile.store
// NOPP-LABEL: func.func @attention
// NOPP-NOT: tile.turn_
// NOPP: tile.mma {{.*}} {pending = 1 : i32, transpose_b}
// NOPP: tile.mma {{.*}} {pending = 2 : i32}
// NOPP-NOT: tile.turn_
// Without ping-pong, with K's ring of three stages (with two, or without the
// look-ahead option: NOPP above), and with S (32 registers a thread), the
// next S beside it, O (32) and P (16) within 192: the look-ahead. Under
// `scf.if` two or more iterations: Q·Kᵀ(1) issued before the loop; each
// iteration j waits for Q·Kᵀ(j) (and all before it), issues P·V(j-1), then
// (once K(j+1) landed) Q·Kᵀ(j+1), releases K(j), runs the softmax while both
// run, and waits for P·V(j-1) leaving Q·Kᵀ(j+1) in flight. Two iterations a
// loop trip (the S in flight alternates between two values, none copied);
// an odd one left, then the last (no next Q·Kᵀ), after the loop.
// LOOK-LABEL: func.func @attention
// LOOK-NOT: tile.turn_
// LOOK: } consumer {
// LOOK: scf.if
// LOOK: tile.mma {{.*}} {transpose_b}
// LOOK: } else {
// LOOK: scf.if
// LOOK: tile.wait
// LOOK-NEXT: %[[S1:.*]] = tile.mma {{.*}} {pending = 2 : i32, transpose_b}
// LOOK: scf.for {{.*}} iter_args({{.*}}, %[[SARG:.*]] = %[[S1]])
// LOOK-NEXT: tile.mma_wait %[[SARG]] :
// LOOK: tile.wait
// LOOK-NEXT: %[[PV:.*]] = tile.mma {{.*}} {pending = 2 : i32} : tensor<128x64xbf16>
// LOOK: tile.wait
// LOOK-NEXT: %[[NEXT:.*]] = tile.mma {{.*}} {pending = 2 : i32, transpose_b}
// LOOK-NOT: tile.wait
// LOOK: tile.arrive
// LOOK: tile.reduce max
// LOOK: math.exp2
// LOOK: tile.mma_wait %[[PV]] {pending = 1 : i32}
// LOOK: tile.arrive
// LOOK: tile.mma_wait %[[NEXT]] :
// LOOK: tile.mma {{.*}} {pending = 2 : i32} : tensor<128x64xbf16>
// LOOK: %[[NEXT2:.*]] = tile.mma {{.*}} {pending = 2 : i32, transpose_b}
// LOOK: tile.mma_wait {{.*}} {pending = 1 : i32}
// LOOK: scf.yield {{.*}}, %[[NEXT2]] :
// LOOK: scf.if
// LOOK: tile.mma {{.*}} {pending = 2 : i32, transpose_b}
// LOOK: } else {
// LOOK-NOT: transpose_b
// LOOK: tile.mma {{.*}} {pending = 2 : i32} : tensor<128x64xbf16>
// LOOK-NOT: transpose_b
// LOOK: tile.mma_wait
// LOOK-NOT: transpose_b
// LOOK: } else {
// LOOK: scf.if
// LOOK: tile.mma
// LOOK: tile.arrive
// LOOK-NOT: tile.turn_
// LOOK: tile.store
func.func @attention(%pq: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pk: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                     %pv: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %O: !tile.view<bf16, 2>,
                     %n: i32 {tile.divisibility = 16 : i64}, %m0: i32)
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %Q = tile.make_view %pq, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %K = tile.make_view %pk, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %V = tile.make_view %pv, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %q = tile.load %Q[%m0, %c0] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
  %ninf = arith.constant dense<0xFF800000> : tensor<128xf32>
  %zero = arith.constant dense<0.0> : tensor<128x64xf32>
  %r:2 = scf.for %j = %c0 to %n step %c64 iter_args(%m = %ninf, %acc = %zero) -> (tensor<128xf32>, tensor<128x64xf32>) : i32 {
    %k = tile.load %K[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %v = tile.load %V[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %z = arith.constant dense<0.0> : tensor<128x64xf32>
    %s = tile.mma %q, %k, %z {transpose_b} : tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
    %smax = tile.reduce max %s, dim = 1 : tensor<128x64xf32> -> tensor<128xf32>
    %mnew = arith.maximumf %m, %smax : tensor<128xf32>
    %mb = tile.broadcast %mnew, dim = 1 : tensor<128xf32> -> tensor<128x64xf32>
    %d = arith.subf %s, %mb : tensor<128x64xf32>
    %p = math.exp2 %d : tensor<128x64xf32>
    %pb = arith.truncf %p : tensor<128x64xf32> to tensor<128x64xbf16>
    %dm = arith.subf %m, %mnew : tensor<128xf32>
    %alpha = math.exp2 %dm : tensor<128xf32>
    %ab = tile.broadcast %alpha, dim = 1 : tensor<128xf32> -> tensor<128x64xf32>
    %scaled = arith.mulf %acc, %ab : tensor<128x64xf32>
    %o = tile.mma %pb, %v, %scaled : tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
    scf.yield %mnew, %o : tensor<128xf32>, tensor<128x64xf32>
  }
  %out = arith.truncf %r#1 : tensor<128x64xf32> to tensor<128x64xbf16>
  tile.store %out, %O[%m0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  return
}
