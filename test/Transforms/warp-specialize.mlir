// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=4 | FileCheck %s
// RUN: tile-opt %s -split-input-file -tile-warp-specialize="stages=4 tile-stages=1" | FileCheck %s --check-prefix=ONE
// RUN: tile-opt %s -split-input-file -tile-warp-specialize=stages=4 -verify-diagnostics -o /dev/null

// A GEMM main loop over two consumer warpgroups: the allocations come first;
// the producer runs its own copy loop (recomputing the views) (wait until
// the stage is empty, parity flipped so that the first round passes, then
// both copies on the stage's `full` barrier); the consumers wait until the
// stage is full, multiply (left in flight), and release the previous
// iteration's stage, one arrival per warpgroup (2). The tile's row (a
// division here, as a grouped tile order's) does not change with K: the
// producer computes it once, before its loop, not after every empty wait.
// CHECK-LABEL: func.func @gemm
// CHECK: %[[BA:.*]] = tile.alloc_shared : !tile.shared<4x128x64xbf16>
// CHECK: %[[BB:.*]] = tile.alloc_shared : !tile.shared<4x64x128xbf16>
// CHECK: %[[FULL:.*]] = tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<4>
// CHECK: %[[EMPTY:.*]] = tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<4>
// CHECK: tile.warp_specialize producer {
// CHECK: %[[ROW:.*]] = arith.floordivsi %{{.*}}, %{{.*}} : i32
// CHECK: scf.for %[[IV:.*]] = %{{.*}} to %{{.*}} step %{{.*}} : i32 {
// CHECK-NOT: arith.floordivsi
// CHECK: %[[PAR:.*]] = arith.trunci
// CHECK: %[[PHASE:.*]] = arith.xori %[[PAR]], %true
// CHECK: %[[E:.*]] = tile.stage %[[EMPTY]][%[[S:.*]]] : !tile.mbarrier<4> -> !tile.mbarrier
// CHECK: tile.wait %[[E]], %[[PHASE]]
// CHECK: %[[F:.*]] = tile.stage %[[FULL]][%[[S]]]
// CHECK: tile.async_load %{{.*}}[%[[ROW]], %[[IV]]], %{{.*}}, %[[F]]
// CHECK: tile.async_load %{{.*}}[%[[IV]], %{{.*}}], %{{.*}}, %[[F]]
// CHECK-NOT: tile.mma
// CHECK: } consumer {
// CHECK: scf.for
// CHECK: tile.wait
// CHECK: tile.mma {{.*}} {pending = 1 : i32}
// CHECK: scf.if
// CHECK: tile.stage %[[EMPTY]]
// CHECK: tile.arrive
// CHECK-NOT: tile.async_load
// CHECK-NOT: tile.barrier
// CHECK: scf.yield
// CHECK: tile.mma_wait
// CHECK: tile.store
func.func @gemm(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                %C: !tile.view<bf16, 2>, %K: i32, %t: i32, %g: i32, %n0: i32 {tile.divisibility = 16 : i64}, %ld: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c1 = arith.constant 1 : i32
  %m0 = arith.floordivsi %t, %g : i32
  %A = tile.make_view %pa, [%K, %K], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %K], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %A[%m0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %n0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%m0, %n0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// A persistent kernel: the K loop inside a loop over output tiles. Both
// sides count stage iterations across output tiles in a counter the outer
// loop carries (plus the K loop's trip count, max(0, ceil(K / 64)), each
// outer iteration), so the producer fills the next tile's stages while the
// consumers finish the last one; the producer's outer loop mirrors the
// consumers'. The tile's row, which does not change with K, is computed
// before the copy loop.
// CHECK-LABEL: func.func @persistent
// CHECK: tile.warp_specialize producer {
// CHECK: %[[N:.*]] = tile.num_programs 0
// CHECK: %[[PID:.*]] = tile.program_id 0
// CHECK: scf.for %[[T:.*]] = %[[PID]] to %{{.*}} step %[[N]] iter_args(%[[COUNT:.*]] = %{{.*}}) -> (i32) : i32 {
// CHECK: %[[M0:.*]] = arith.muli %[[T]], %c128
// CHECK: scf.for %[[K:.*]] = 
// CHECK: arith.addi %[[COUNT]]
// CHECK: tile.wait
// CHECK-NOT: arith.muli
// CHECK: tile.async_load %{{.*}}[%[[M0]], %[[K]]]
// CHECK: tile.async_load
// CHECK: %[[TRIPS:.*]] = arith.maxsi
// CHECK: %[[NEXT:.*]] = arith.addi %[[COUNT]], %[[TRIPS]]
// CHECK: scf.yield %[[NEXT]] : i32
// CHECK: } consumer {
// CHECK: scf.for %{{.*}} iter_args(%[[CCOUNT:.*]] = %{{.*}}) -> (i32) : i32 {
// CHECK: %[[CTRIPS:.*]] = arith.maxsi
// CHECK: %[[CNEXT:.*]] = arith.addi %[[CCOUNT]], %[[CTRIPS]]
// CHECK: scf.for
// CHECK: arith.addi %[[CCOUNT]]
// CHECK: tile.wait
// CHECK: tile.mma
// CHECK: tile.arrive
// CHECK: tile.mma_wait
// CHECK: tile.store
// CHECK: scf.yield %[[CNEXT]] : i32
func.func @persistent(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                      %C: !tile.view<bf16, 2>, %K: i32 {tile.divisibility = 16 : i64}, %tiles: i32)
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %c128 = arith.constant 128 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %pid = tile.program_id 0
  %n = tile.num_programs 0
  scf.for %t = %pid to %tiles step %n : i32 {
    %m0 = arith.muli %t, %c128 : i32
    %zero = arith.constant dense<0.0> : tensor<128x128xf32>
    %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
      %a = tile.load %A[%m0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
      %b = tile.load %B[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
      %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
      scf.yield %next : tensor<128x128xf32>
    }
    %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
    tile.store %c, %C[%m0, %c0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  }
  return
}

// -----

// Attention-like: the mma reading the stage waits for completion (its
// result is read in the loop), so the stage is released right after it,
// in the same iteration; a loop-invariant operand (Q) is staged once by the
// consumers. One consumer warpgroup: one arrival.
// CHECK-LABEL: func.func @release_now
// CHECK: tile.alloc_mbarrier : !tile.mbarrier<4>
// CHECK: tile.alloc_mbarrier : !tile.mbarrier<4>
// CHECK: tile.warp_specialize producer {
// CHECK: } consumer {
// CHECK: tile.async_load {{.*}} : !tile.view<bf16, 2>, !tile.shared<64x64xbf16>, !tile.mbarrier
// CHECK: tile.wait
// CHECK: scf.for
// CHECK: %[[S:.*]] = arith.remsi
// CHECK: tile.mma
// CHECK-NOT: pending
// CHECK-NEXT: %[[E:.*]] = tile.stage %{{.*}}[%[[S]]] : !tile.mbarrier<4> -> !tile.mbarrier
// CHECK-NEXT: tile.arrive %[[E]]
func.func @release_now(%pq: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %N: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %Q = tile.make_view %pq, [%N, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %q = tile.load %Q[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %r = scf.for %n = %c0 to %N step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %k = tile.load %Q[%n, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %s = tile.mma %q, %k, %zero {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    %sum = arith.addf %acc, %s : tensor<64x64xf32>
    scf.yield %sum : tensor<64x64xf32>
  }
  return
}

// -----

// Kernels that do not qualify are left to tile-pipeline: a K loop inside an
// scf.if; two loops in one outer loop that stage different tiles (they would
// need a ring and a count each); fewer than four warps. Each says why in a
// remark (the user asked for warp_specialize).
// CHECK-LABEL: func.func @under_if
// CHECK-NOT: tile.warp_specialize
// CHECK: tile.load
// CHECK-LABEL: func.func @two_rings_in_outer_loop
// CHECK-NOT: tile.warp_specialize
// CHECK: tile.load
// CHECK-LABEL: func.func @two_warps
// CHECK-NOT: tile.warp_specialize
func.func @under_if(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64}, %flag: i1)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  scf.if %flag {
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    // expected-remark @+1 {{warp_specialize not applied: a loop of staged loads is nested deeper than one outer loop}}
    %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
      %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %b = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      scf.yield %next : tensor<64x64xf32>
    }
  }
  return
}
// expected-remark @+1 {{warp_specialize not applied: the loops in the outer loop do not stage the same tiles}}
func.func @two_rings_in_outer_loop(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  scf.for %t = %c0 to %K step %c64 : i32 {
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
      %a = tile.load %A[%t, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %b = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      scf.yield %next : tensor<64x64xf32>
    }
    %zero2 = arith.constant dense<0.0> : tensor<64x128xf32>
    %acc2 = scf.for %k2 = %c0 to %K step %c64 iter_args(%acc2i = %zero2) -> (tensor<64x128xf32>) : i32 {
      %a2 = tile.load %A[%t, %k2] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %b2 = tile.load %A[%k2, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
      %next2 = tile.mma %a2, %b2, %acc2i : tensor<64x64xbf16>, tensor<64x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
      scf.yield %next2 : tensor<64x128xf32>
    }
  }
  return
}
// expected-remark @+1 {{warp_specialize not applied: num_warps=2 is not whole warpgroups (a multiple of 4)}}
func.func @two_warps(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 2 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %b = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}

// -----

// A persistent attention-like kernel: Q is loaded once per output tile (in the
// outer loop, before the key loop), so the producer copies it into a ring of
// tile-stages stages (two by default: the next tile's Q lands while this one's
// is read) as each outer iteration starts: it waits until the consumers
// released the stage (parity of the outer index over the stages, flipped: the
// first round passes at once), then copies it; the consumers wait for it
// (parity of the outer index), read it from shared memory, and release the
// stage after the key loop.
// CHECK-LABEL: func.func @persistent_tile_load
// CHECK: %[[QBUF:.*]] = tile.alloc_shared : !tile.shared<2x64x64xbf16>
// CHECK: %[[QFULL:.*]] = tile.alloc_mbarrier : !tile.mbarrier<2>
// CHECK: %[[QEMPTY:.*]] = tile.alloc_mbarrier : !tile.mbarrier<2>
// CHECK: tile.warp_specialize producer {
// CHECK: scf.for %[[T:.*]] = %{{.*}} to %{{.*}} step %{{.*}} : i32 {
// CHECK: %[[P2:.*]] = arith.constant 2 : i32
// CHECK-NEXT: %[[TSTAGE:.*]] = arith.remsi %{{.*}}, %[[P2]]
// CHECK: %[[TPAR:.*]] = arith.trunci
// CHECK: %[[TPHASE:.*]] = arith.xori %[[TPAR]], %true
// CHECK: %[[TEMPTY:.*]] = tile.stage %[[QEMPTY]][%[[TSTAGE]]]
// CHECK: tile.wait %[[TEMPTY]], %[[TPHASE]] : !tile.mbarrier
// CHECK: %[[TFULL:.*]] = tile.stage %[[QFULL]][%[[TSTAGE]]]
// CHECK: %[[TBUF:.*]] = tile.stage %[[QBUF]][%[[TSTAGE]]]
// CHECK: tile.async_load %{{.*}}, %[[TBUF]], %[[TFULL]]
// CHECK: scf.for
// CHECK: tile.async_load
// CHECK: } consumer {
// CHECK: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} : i32 {
// CHECK: %[[C2:.*]] = arith.constant 2 : i32
// CHECK-NEXT: %[[CSTAGE:.*]] = arith.remsi %{{.*}}, %[[C2]]
// CHECK: %[[CPAR:.*]] = arith.trunci
// CHECK: %[[CFULL:.*]] = tile.stage %[[QFULL]][%[[CSTAGE]]]
// CHECK: tile.wait %[[CFULL]], %[[CPAR]] : !tile.mbarrier
// CHECK: %[[CBUF:.*]] = tile.stage %[[QBUF]][%[[CSTAGE]]]
// CHECK-NOT: tile.load
// CHECK: scf.for
// CHECK: tile.mma %[[CBUF]]
// CHECK: scf.yield
// CHECK-NEXT: }
// CHECK-NEXT: %[[CEMPTY:.*]] = tile.stage %[[QEMPTY]][%[[CSTAGE]]]
// CHECK-NEXT: tile.arrive %[[CEMPTY]] : !tile.mbarrier
// CHECK: tile.store
// With tile-stages=1, one stage: every tile's Q waits until the last one's
// was released.
// ONE-LABEL: func.func @persistent_tile_load
// ONE: %[[QBUF:.*]] = tile.alloc_shared : !tile.shared<1x64x64xbf16>
// ONE: tile.alloc_mbarrier : !tile.mbarrier
// ONE: } consumer {
// ONE: tile.stage %[[QBUF]][%{{.*}}] : !tile.shared<1x64x64xbf16> -> !tile.shared<64x64xbf16>
func.func @persistent_tile_load(%pq: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %O: !tile.view<bf16, 2>,
                                %N: i32 {tile.divisibility = 16 : i64}, %tiles: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %Q = tile.make_view %pq, [%N, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %pid = tile.program_id 0
  %n = tile.num_programs 0
  scf.for %t = %pid to %tiles step %n : i32 {
    %m0 = arith.muli %t, %c64 : i32
    %q = tile.load %Q[%m0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = scf.for %j = %c0 to %N step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
      %k = tile.load %Q[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %s = tile.mma %q, %k, %acc {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      %e = math.exp2 %s : tensor<64x64xf32>
      scf.yield %e : tensor<64x64xf32>
    }
    %o = arith.truncf %r : tensor<64x64xf32> to tensor<64x64xbf16>
    tile.store %o, %O[%m0, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  }
  return
}

// -----

// Two tiles loaded once an outer iteration (K and V of attention's dK/dV pass):
// both go through the tile ring, and the consumer reads both from their stages
// (it crashed: the first load, where the reads are inserted, was erased first).
// CHECK-LABEL: func.func @two_tile_loads
// CHECK: tile.warp_specialize producer {
// CHECK: } consumer {
// CHECK: tile.wait
// CHECK: %[[A:.*]] = tile.stage %{{.*}}[%{{.*}}] : !tile.shared<2x64x64xbf16> -> !tile.shared<64x64xbf16>
// CHECK: %[[B:.*]] = tile.stage %{{.*}}[%{{.*}}] : !tile.shared<2x64x64xbf16> -> !tile.shared<64x64xbf16>
// CHECK-NOT: tile.load %
// CHECK: scf.for
// CHECK: tile.mma %[[A]]
// CHECK: tile.mma %[[A]], %[[B]]
func.func @two_tile_loads(%pq: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %O: !tile.view<bf16, 2>,
                          %N: i32 {tile.divisibility = 16 : i64}, %tiles: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %Q = tile.make_view %pq, [%N, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %pid = tile.program_id 0
  %n = tile.num_programs 0
  scf.for %t = %pid to %tiles step %n : i32 {
    %m0 = arith.muli %t, %c64 : i32
    %a = tile.load %Q[%m0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %b = tile.load %Q[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = scf.for %j = %c0 to %N step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
      %k = tile.load %Q[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %s = tile.mma %a, %k, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      %t2 = tile.mma %a, %b, %s : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      scf.yield %t2 : tensor<64x64xf32>
    }
    %o = arith.truncf %r : tensor<64x64xf32> to tensor<64x64xbf16>
    tile.store %o, %O[%m0, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  }
  return
}

// -----

// The same with larger tiles: four 32 KiB stages of K (64x256), two 64 KiB
// stages of Q (128x256) and the 16 KiB epilogue tile would take 272 KiB, more
// than the 227 KiB of shared memory; with one stage of Q, 208 KiB. So Q's ring
// keeps one stage (tile-stages is the most it takes).
// CHECK-LABEL: func.func @persistent_tile_load_large
// CHECK: tile.alloc_shared : !tile.shared<4x64x256xbf16>
// CHECK: tile.alloc_shared : !tile.shared<1x128x256xbf16>
// CHECK-NOT: tile.alloc_shared
// CHECK: tile.warp_specialize
func.func @persistent_tile_load_large(%pq: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %O: !tile.view<bf16, 2>,
                                      %N: i32 {tile.divisibility = 16 : i64}, %tiles: i32)
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %c128 = arith.constant 128 : i32
  %c256 = arith.constant 256 : i32
  %Q = tile.make_view %pq, [%N, %c256], [%c256, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %pid = tile.program_id 0
  %n = tile.num_programs 0
  scf.for %t = %pid to %tiles step %n : i32 {
    %m0 = arith.muli %t, %c128 : i32
    %q = tile.load %Q[%m0, %c0] : !tile.view<bf16, 2> -> tensor<128x256xbf16>
    %zero = arith.constant dense<0.0> : tensor<128x64xf32>
    %r = scf.for %j = %c0 to %N step %c64 iter_args(%acc = %zero) -> (tensor<128x64xf32>) : i32 {
      %k = tile.load %Q[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x256xbf16>
      %s = tile.mma %q, %k, %acc {transpose_b} : tensor<128x256xbf16>, tensor<64x256xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
      %e = math.exp2 %s : tensor<128x64xf32>
      scf.yield %e : tensor<128x64xf32>
    }
    %o = arith.truncf %r : tensor<128x64xf32> to tensor<128x64xbf16>
    tile.store %o, %O[%m0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  }
  return
}

// -----

// A persistent causal-attention-like kernel: two key loops in the outer loop
// whose trip counts depend on the outer iteration (keys left of the tile,
// then the diagonal block), staging the same tiles: one ring, one count
// carried by the outer loops; the second loop counts on from the first
// (count + its trips), and each outer iteration adds both.
// CHECK-LABEL: func.func @persistent_two_loops
// CHECK: tile.warp_specialize producer {
// CHECK: scf.for %[[T:.*]] = {{.*}} iter_args(%[[COUNT:.*]] = %{{.*}}) -> (i32) : i32 {
// CHECK: scf.for %{{.*}} = %{{.*}} to %[[T]] step
// CHECK: arith.addi %[[COUNT]]
// CHECK: tile.async_load
// CHECK: %[[TRIPS1:.*]] = arith.maxsi
// CHECK: %[[MID:.*]] = arith.addi %[[COUNT]], %[[TRIPS1]]
// CHECK: scf.for
// CHECK: arith.addi %[[MID]]
// CHECK: tile.async_load
// CHECK: %[[TRIPS2:.*]] = arith.maxsi
// CHECK: %[[NEXT:.*]] = arith.addi %[[MID]], %[[TRIPS2]]
// CHECK: scf.yield %[[NEXT]] : i32
// CHECK: } consumer {
// CHECK-NOT: tile.load
// CHECK: scf.yield %{{.*}} : i32
func.func @persistent_two_loops(%pk: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %O: !tile.view<f32, 2>,
                                %N: i32 {tile.divisibility = 16 : i64}, %tiles: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %K = tile.make_view %pk, [%N, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %q = arith.constant dense<1.0> : tensor<64x64xbf16>
  %pid = tile.program_id 0
  %n = tile.num_programs 0
  scf.for %t = %pid to %tiles step %n : i32 {
    %zero = arith.constant dense<0.0> : tensor<64x64xf32>
    %r = scf.for %j = %c0 to %t step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
      %k = tile.load %K[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %s = tile.mma %q, %k, %acc {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      %e = math.exp2 %s : tensor<64x64xf32>
      scf.yield %e : tensor<64x64xf32>
    }
    %end = arith.addi %t, %c64 : i32
    %r2 = scf.for %j2 = %t to %end step %c64 iter_args(%acc2 = %r) -> (tensor<64x64xf32>) : i32 {
      %k2 = tile.load %K[%j2, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
      %s2 = tile.mma %q, %k2, %acc2 {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
      %e2 = math.exp2 %s2 : tensor<64x64xf32>
      scf.yield %e2 : tensor<64x64xf32>
    }
    tile.store %r2, %O[%t, %c0] : tensor<64x64xf32>, !tile.view<f32, 2>
  }
  return
}

// -----

// Programs in clusters of two (tile.num_ctas = 2) multicast B: the ring that
// holds it is the cluster's. Its copies are multicast; its `empty` barriers
// count the consumers of both programs (2 warpgroups x 2), which arrive on
// the barrier of every program of the cluster. A is not multicast, yet it
// shares B's ring (one mma reads both), so it follows the same release.
// CHECK-LABEL: func.func @multicast
// CHECK: %[[FULL:.*]] = tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<4>
// CHECK: %[[EMPTY:.*]] = tile.alloc_mbarrier {arrivals = 4 : i32} : !tile.mbarrier<4>
// CHECK: tile.warp_specialize producer {
// CHECK: tile.async_load %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}, %{{.*}} :
// CHECK: tile.async_load %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}, %{{.*}} {multicast} :
// CHECK: } consumer {
// CHECK: tile.mma
// CHECK: tile.arrive %{{.*}} {cluster} : !tile.mbarrier
func.func @multicast(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                     %C: !tile.view<bf16, 2>, %K: i32 {tile.divisibility = 16 : i64}, %m0: i32, %n0: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32, tile.num_ctas = 2 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %A[%m0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %n0] {multicast} : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%m0, %n0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// The same kernel launched one program a cluster: `multicast` changes nothing.
// CHECK-LABEL: func.func @multicast_alone
// CHECK: tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<4>
// CHECK: tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<4>
// CHECK-NOT: {multicast}
// CHECK-NOT: {cluster}
// CHECK: return
func.func @multicast_alone(%pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %C: !tile.view<bf16, 2>,
                           %K: i32 {tile.divisibility = 16 : i64}, %n0: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %B[%c0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %n0] {multicast} : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%c0, %n0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// More kernels left to tile-pipeline, each with its remark: a grouped GEMM
// whose loop bound depends on its tile's expert, read from memory (the
// producer warpgroup recomputes only scalar arithmetic of the kernel's
// arguments); a copy whose row depends on such a value; a loop counted in
// index; a view TMA cannot copy (no 16-byte alignment known); no loop at all.
// CHECK-LABEL: func.func @expert_from_memory
// CHECK-NOT: tile.warp_specialize
// CHECK-LABEL: func.func @row_from_memory
// CHECK-NOT: tile.warp_specialize
// CHECK-LABEL: func.func @index_loop
// CHECK-NOT: tile.warp_specialize
// CHECK-LABEL: func.func @not_tma
// CHECK-NOT: tile.warp_specialize
// CHECK-LABEL: func.func @no_loop
// CHECK-NOT: tile.warp_specialize
func.func @expert_from_memory(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pe: !tile.ptr<i32> {tile.divisibility = 16 : i64},
                              %K: i32 {tile.divisibility = 16 : i64}, %i: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %et = tile.load %pe[%i] : !tile.ptr<i32> -> tensor<1xi32>
  %e = tile.reduce max %et, dim = 0 : tensor<1xi32> -> i32
  %some = arith.cmpi sge, %e, %c0 : i32
  %ub = arith.select %some, %K, %c0 : i32
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  // expected-remark @+1 {{warp_specialize not applied: the bounds of a loop of staged loads depend on a value read from memory or a tile, which the producer warpgroup cannot recompute}}
  %acc = scf.for %k = %c0 to %ub step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %row = arith.muli %e, %K : i32
    %r = arith.addi %row, %k : i32
    %b = tile.load %A[%r, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
func.func @row_from_memory(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pe: !tile.ptr<i32> {tile.divisibility = 16 : i64},
                           %K: i32 {tile.divisibility = 16 : i64}, %i: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %et = tile.load %pe[%i] : !tile.ptr<i32> -> tensor<1xi32>
  %e = tile.reduce max %et, dim = 0 : tensor<1xi32> -> i32
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %row = arith.muli %e, %K : i32
    %r = arith.addi %row, %k : i32
    // expected-remark @+1 {{warp_specialize not applied: the coordinates of a staged load depend on a value read from memory or a tile, which the producer warpgroup cannot recompute}}
    %b = tile.load %A[%r, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
func.func @index_loop(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64}, %n: index)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %i0 = arith.constant 0 : index
  %i1 = arith.constant 1 : index
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  // expected-remark @+1 {{warp_specialize not applied: a loop of staged loads is not counted in i32}}
  %acc = scf.for %j = %i0 to %n step %i1 iter_args(%acc = %zero) -> (tensor<64x64xf32>) {
    %k = arith.index_cast %j : index to i32
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %b = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
func.func @not_tma(%pa: !tile.ptr<bf16>, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  // expected-remark @+1 {{warp_specialize not applied: TMA cannot copy every load of a loop (the base address is not known to be 16-byte aligned)}}
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %b = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
// expected-remark @+1 {{warp_specialize not applied: no loop loads tiles for the producer to copy}}
func.func @no_loop(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %a = tile.load %A[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  tile.store %a, %A[%c0, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// A kernel that qualifies, in clusters of two, whose multicast operand is
// loaded once for the kernel: it is staged in place by each program, which
// a remark says (only the producer's copies of a loop's tiles multicast).
// CHECK-LABEL: func.func @multicast_in_place
// CHECK: tile.warp_specialize producer {
// CHECK: } consumer {
// CHECK: tile.async_load %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}, %{{.*}} : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>
// CHECK: scf.for
func.func @multicast_in_place(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64}, %m0: i32)
    attributes {tile.kernel, tile.num_warps = 8 : i32, tile.num_ctas = 2 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  // expected-remark @+1 {{multicast not applied: it is loaded once for the kernel, and each program stages such an operand itself}}
  %q = tile.load %A[%m0, %c0] {multicast} : !tile.view<bf16, 2> -> tensor<128x64xbf16>
  %zero = arith.constant dense<0.0> : tensor<128x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x64xf32>) : i32 {
    %b = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %q, %b, %acc : tensor<128x64xbf16>, tensor<64x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
    scf.yield %next : tensor<128x64xf32>
  }
  %c = arith.truncf %acc : tensor<128x64xf32> to tensor<128x64xbf16>
  tile.store %c, %A[%m0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// A tile read by two mmas (as Kᵀ and as K: attention backward's dQ step) is
// staged once for both by tile-pipeline; the producer warpgroup does not do
// that, so the kernel is left unspecialized, with a remark.
// CHECK-LABEL: func.func @shared_readers
// CHECK-NOT: tile.warp_specialize
func.func @shared_readers(%k: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %n: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %K = tile.make_view %k, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %ds = arith.constant dense<1.0> : tensor<64x64xbf16>
  // expected-remark @+1 {{warp_specialize not applied: a tile of the loop is read by several mmas (staged once for all of them by tile-pipeline, not by the producer warpgroup)}}
  %dq = scf.for %j = %c0 to %n step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %kj = tile.load %K[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %s = tile.mma %ds, %kj, %zero {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    %p = arith.truncf %s : tensor<64x64xf32> to tensor<64x64xbf16>
    %next = tile.mma %p, %kj, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
