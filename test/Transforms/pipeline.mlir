// RUN: tile-opt %s -tile-pipeline=stages=3 | FileCheck %s
// RUN: tile-opt %s -tile-pipeline=stages=4 | FileCheck %s --check-prefix=FOUR
// RUN: tile-opt %s -tile-pipeline=stages=3 -verify-diagnostics -o /dev/null
// RUN: not tile-opt %s -tile-pipeline=stages=100000 2>&1 | FileCheck %s --check-prefix=MANY
// RUN: tile-opt %s -tile-pipeline=stages=1 | FileCheck %s --check-prefix=ONE
// One stage: nothing copied ahead, no barriers of stages, the gemm's tiles through
// registers into one shared buffer each.
// ONE-LABEL: func.func @gemm
// ONE-NOT: tile.async_load
// ONE-NOT: tile.alloc_mbarrier
// ONE: tile.alloc_shared : !tile.shared<128x64xbf16>
// ONE: scf.for
// ONE: tile.store_shared
// MANY: tile-pipeline: stages must be 1 to 8, got 100000

// A GEMM main loop from 16-byte aligned arrays with 16-byte multiple row
// strides (TMA can copy): both loads feed the mma, so both are staged: one
// 3-stage buffer each, one barrier a stage expecting 2 arrivals (2 copies),
// a prologue of 2 iterations, then wait / mma from shared / prefetch i+2.
// CHECK-LABEL: func.func @gemm
// CHECK-DAG: %[[BA:.*]] = tile.alloc_shared : !tile.shared<3x128x64xbf16>
// CHECK-DAG: %[[BB:.*]] = tile.alloc_shared : !tile.shared<3x64x128xbf16>
// CHECK: %[[BARS:.*]] = tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<3>
// CHECK: scf.if
// CHECK: tile.async_load {{.*}} : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>, !tile.mbarrier
// CHECK: tile.async_load {{.*}} : !tile.view<bf16, 2>, !tile.shared<64x128xbf16>, !tile.mbarrier
// CHECK: scf.if
// CHECK-COUNT-2: tile.async_load
// CHECK: scf.for
// CHECK: %[[STAGE:.*]] = arith.remsi
// CHECK: tile.wait
// CHECK: %[[A:.*]] = tile.stage %[[BA]][%[[STAGE]]] : !tile.shared<3x128x64xbf16> -> !tile.shared<128x64xbf16>
// CHECK: %[[B:.*]] = tile.stage %[[BB]][%[[STAGE]]]
// CHECK: tile.mma %[[A]], %[[B]], %{{.*}} : !tile.shared<128x64xbf16>, !tile.shared<64x128xbf16>
// CHECK-NOT: tile.barrier
// CHECK: scf.if
// CHECK-COUNT-2: tile.async_load
// CHECK-NOT: tile.load
// CHECK: scf.yield
// FOUR: tile.alloc_shared : !tile.shared<4x128x64xbf16>
// FOUR: tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<4>
// FOUR-COUNT-3: tile.async_load {{.*}}, !tile.shared<128x64xbf16>
func.func @gemm(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                %C: !tile.view<bf16, 2>, %K: i32, %m0: i32, %n0: i32 {tile.divisibility = 16 : i64}, %ld: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c1 = arith.constant 1 : i32
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

// Offsets computed in the loop body are recomputed for the prefetched
// iteration; with two warpgroups a CTA barrier guards the stage's reuse.
// A load whose result is used elsewhere too stays a register load.
// CHECK-LABEL: func.func @two_warpgroups
// CHECK: tile.alloc_mbarrier : !tile.mbarrier<3>
// CHECK: scf.for
// CHECK: tile.load
// CHECK: tile.mma
// CHECK: tile.barrier
// CHECK: arith.muli
// CHECK: tile.async_load
func.func @two_warpgroups(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                          %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %A = tile.make_view %pa, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %c64 = arith.constant 64 : i32
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %t = %c0 to %K step %c1 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %k = arith.muli %t, %c64 : i32
    %a = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    %bf = arith.extf %b : tensor<64x128xbf16> to tensor<64x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  return
}

// Row strides not known to be multiples of 16 bytes: TMA cannot copy, so the
// tiles are stored from registers into one shared buffer per operand between
// two CTA barriers, and the mma reads them there.
// CHECK-LABEL: func.func @no_tma
// CHECK: %[[SA:.*]] = tile.alloc_shared : !tile.shared<128x64xbf16>
// CHECK: %[[SB:.*]] = tile.alloc_shared : !tile.shared<64x128xbf16>
// CHECK: scf.for
// CHECK: %[[A:.*]] = tile.load
// CHECK: %[[B:.*]] = tile.load
// CHECK: tile.barrier
// CHECK: tile.store_shared %[[A]], %[[SA]]
// CHECK: tile.store_shared %[[B]], %[[SB]]
// CHECK: tile.barrier
// CHECK: tile.mma %[[SA]], %[[SB]]
// CHECK-NOT: tile.async_load
func.func @no_tma(%a: !tile.ptr<bf16>, %b: !tile.ptr<bf16>, %M: i32, %N: i32, %K: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %a, [%M, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %b, [%K, %N], [%N, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  // expected-remark @+1 {{num_stages=3 not applied: TMA cannot copy every load of this loop (the base address is not known to be 16-byte aligned), so its tiles go through registers into one shared buffer each}}
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %x = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %y = tile.load %B[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %x, %y, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  return
}

// Two mmas without TMA, the second one's operand loaded after the first mma
// (attention backward's dQ step): each group of loads is stored just before
// its own mma, where the load is defined.
// CHECK-LABEL: func.func @no_tma_two_mmas
// CHECK: %[[SA:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK: %[[SB:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK: %[[SC:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK: scf.for
// CHECK: %[[A:.*]] = tile.load
// CHECK: %[[B:.*]] = tile.load
// CHECK: tile.barrier
// CHECK: tile.store_shared %[[A]], %[[SA]]
// CHECK: tile.store_shared %[[B]], %[[SB]]
// CHECK: tile.barrier
// CHECK: %[[P:.*]] = tile.mma %[[SA]], %[[SB]]
// CHECK: %[[C:.*]] = tile.load
// CHECK: tile.barrier
// CHECK: tile.store_shared %[[C]], %[[SC]]
// CHECK: tile.barrier
// CHECK: tile.mma {{.*}}, %[[SC]]
func.func @no_tma_two_mmas(%a: !tile.ptr<bf16>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %a, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  // expected-remark @+1 {{num_stages=3 not applied: TMA cannot copy every load of this loop (the base address is not known to be 16-byte aligned), so its tiles go through registers into one shared buffer each}}
  %acc = scf.for %k = %c0 to %n step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %x = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %y = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %p = tile.mma %x, %y, %zero : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    %pb = arith.truncf %p : tensor<64x64xf32> to tensor<64x64xbf16>
    %z = tile.load %A[%k, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %pb, %z, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}

// Attention-like: Q, loaded before the loop, is copied into shared memory
// once; K is staged; the first mma's result is read in the loop, so it is not
// left in flight (no pending, no mma_wait).
// CHECK-LABEL: func.func @invariant_operand
// CHECK: %[[Q:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK: %[[BAR:.*]] = tile.alloc_mbarrier : !tile.mbarrier
// CHECK: tile.async_load {{.*}}, %[[Q]], %[[BAR]]
// CHECK: tile.wait %[[BAR]], %false
// CHECK: scf.for
// CHECK: tile.mma %[[Q]], {{.*}} {transpose_b} :
// CHECK-NOT: pending
// CHECK-NOT: tile.mma_wait
func.func @invariant_operand(%q: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %k: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                             %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %Q = tile.make_view %q, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %K = tile.make_view %k, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %qt = tile.load %Q[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %m0 = arith.constant dense<0.0> : tensor<64xf32>
  %m = scf.for %j = %c0 to %n step %c64 iter_args(%m = %m0) -> (tensor<64xf32>) : i32 {
    %kt = tile.load %K[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %s = tile.mma %qt, %kt, %zero {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    %r = tile.reduce max %s, dim = 1 : tensor<64x64xf32> -> tensor<64xf32>
    %mn = arith.maximumf %m, %r : tensor<64xf32>
    scf.yield %mn : tensor<64xf32>
  }
  return
}

// The innermost stride is not the constant 1 (a transposed view, say): TMA
// cannot address it (Analysis/TMA.h, the rule TMA stores share), so the
// tiles go through registers as in @no_tma.
// A box that may start between 16-byte columns (the H100 faults on one): TMA
// copies only where the innermost offset is known to be a multiple of 16 bytes.
// CHECK-LABEL: func.func @unaligned_column
// CHECK-NOT: tile.async_load
func.func @unaligned_column(%a: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                            %K: i32 {tile.divisibility = 16 : i64}, %col: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %a, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  // expected-remark @+1 {{num_stages=3 not applied: TMA cannot copy every load of this loop (the innermost offset is not known to be a multiple of 16 bytes (tile.multiple_of can say so)), so its tiles go through registers into one shared buffer each}}
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %start = arith.addi %col, %k : i32
    %x = tile.load %A[%c0, %start] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %y = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %x, %y, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}

// A loop that may exit early (an scf.while) is not pipelined; the remark says so.
// CHECK-LABEL: func.func @early_exit
// CHECK: scf.while
// CHECK-NOT: tile.async_load
func.func @early_exit(%a: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                      %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %a, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  // expected-remark @+1 {{num_stages=3 not applied: this loop may exit early (break or return), and such a loop is not software-pipelined; its mma operands are loaded and written to shared memory each iteration}}
  %r:2 = scf.while (%k = %c0, %acc = %zero) : (i32, tensor<64x64xf32>) -> (i32, tensor<64x64xf32>) {
    %go = arith.cmpi slt, %k, %K : i32
    scf.condition(%go) %k, %acc : i32, tensor<64x64xf32>
  } do {
  ^bb0(%k: i32, %acc: tensor<64x64xf32>):
    %x = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %y = tile.load %A[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %x, %y, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    %k1 = arith.addi %k, %c64 : i32
    scf.yield %k1, %next : i32, tensor<64x64xf32>
  }
  return
}

// CHECK-LABEL: func.func @strided_inner
// CHECK: tile.alloc_shared : !tile.shared<128x64xbf16>
// CHECK: scf.for
// CHECK: tile.store_shared
// CHECK-NOT: tile.async_load
func.func @strided_inner(%a: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %b: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                         %K: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %a, [%K, %K], [%c1, %K] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %b, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  // expected-remark @+1 {{num_stages=3 not applied: TMA cannot copy every load of this loop (the innermost stride is not the constant 1), so its tiles go through registers into one shared buffer each}}
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %x = tile.load %A[%c0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %y = tile.load %B[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %x, %y, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  return
}

// A load computed into an operand (an int8 weight converted in the loop)
// joins the TMA ring beside X's: a 3-stage buffer of its own, one barrier a
// stage expecting both copies, read back where the load was with
// tile.load_shared from this iteration's stage. One warpgroup, yet a CTA
// barrier before the refill: another warp may still read the stage. A
// computed load TMA cannot copy (no known divisibility) stays a load.
// CHECK-LABEL: func.func @computed_operand
// CHECK-DAG: %[[BX:.*]] = tile.alloc_shared : !tile.shared<3x64x64xbf16>
// CHECK-DAG: %[[BW:.*]] = tile.alloc_shared : !tile.shared<3x128x64xi8>
// CHECK: tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<3>
// CHECK: scf.if
// CHECK: tile.async_load {{.*}} : !tile.view<bf16, 2>, !tile.shared<64x64xbf16>
// CHECK: tile.async_load {{.*}} : !tile.view<i8, 2>, !tile.shared<128x64xi8>
// CHECK: scf.for
// CHECK: %[[STAGE:.*]] = arith.remsi
// CHECK: tile.wait
// CHECK: %[[WS:.*]] = tile.stage %[[BW]][%[[STAGE]]] : !tile.shared<3x128x64xi8> -> !tile.shared<128x64xi8>
// CHECK-NEXT: %[[W:.*]] = tile.load_shared %[[WS]] : !tile.shared<128x64xi8> -> tensor<128x64xi8>
// CHECK-NEXT: %[[Z:.*]] = tile.load %{{.*}} : !tile.view<i8, 2> -> tensor<128x64xi8>
// CHECK-NEXT: arith.addi %[[W]], %[[Z]]
// CHECK: tile.mma
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: arith.constant 2
// CHECK: scf.if
// CHECK-COUNT-2: tile.async_load
// CHECK-NOT: tile.async_load
// CHECK: scf.yield
func.func @computed_operand(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %w: !tile.ptr<i8> {tile.divisibility = 16 : i64},
                            %z: !tile.ptr<i8>, %K: i32 {tile.divisibility = 16 : i64}, %n: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %X = tile.make_view %x, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %W = tile.make_view %w, [%K, %K], [%K, %c1] : !tile.ptr<i8> -> !tile.view<i8, 2>
  %Z = tile.make_view %z, [%K, %K], [%n, %c1] : !tile.ptr<i8> -> !tile.view<i8, 2>
  %zero = arith.constant dense<0.0> : tensor<64x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x128xf32>) : i32 {
    %a = tile.load %X[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %q = tile.load %W[%c0, %k] : !tile.view<i8, 2> -> tensor<128x64xi8>
    %zq = tile.load %Z[%c0, %k] : !tile.view<i8, 2> -> tensor<128x64xi8>
    %s = arith.addi %q, %zq : tensor<128x64xi8>
    %b = arith.sitofp %s : tensor<128x64xi8> to tensor<128x64xbf16>
    %next = tile.mma %a, %b, %acc {transpose_b} : tensor<64x64xbf16>, tensor<128x64xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    scf.yield %next : tensor<64x128xf32>
  }
  return
}

// Both operands computed from their loads (scaled in the loop): both are read
// back from their stages into registers, and the copies ahead follow the mma
// (no mma reads a stage itself to say where the refill goes).
// CHECK-LABEL: func.func @computed_operands_only
// CHECK: scf.for
// CHECK: tile.wait
// CHECK: tile.load_shared
// CHECK: tile.load_shared
// CHECK: tile.mma
// CHECK-NEXT: tile.barrier
// CHECK: scf.if
// CHECK-COUNT-2: tile.async_load
// CHECK: scf.yield
func.func @computed_operands_only(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %X = tile.make_view %x, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %two = arith.constant dense<2.0> : tensor<64x64xbf16>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %X[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %b = tile.load %X[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %a2 = arith.mulf %a, %two : tensor<64x64xbf16>
    %b2 = arith.mulf %b, %two : tensor<64x64xbf16>
    %next = tile.mma %a2, %b2, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}

// A multicast load in clusters of two is left to each program when the
// kernel is not warp-specialized, or when its producer does not copy that
// load: a remark says so (the user asked for multicast). One program a
// cluster: nothing to share, no remark.
// CHECK-LABEL: func.func @multicast_unspecialized
// CHECK: tile.async_load
// CHECK-NOT: {multicast}
// CHECK-LABEL: func.func @multicast_outside_the_producer
// CHECK-LABEL: func.func @multicast_alone
func.func @multicast_unspecialized(%pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32, tile.num_ctas = 2 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %a = tile.load %B[%c0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    // expected-remark @+1 {{multicast not applied: the kernel is not warp-specialized (multicast needs warp_specialize=True)}}
    %b = tile.load %B[%k, %c0] {multicast} : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
func.func @multicast_outside_the_producer(%pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32, tile.num_ctas = 2 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  tile.warp_specialize producer {
  } consumer {
    // expected-remark @+1 {{multicast not applied: only the tiles that the producer warpgroup copies for a loop are multicast, and this load is not one of them}}
    %b = tile.load %B[%c0, %c0] {multicast} : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    tile.store %b, %B[%K, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  }
  return
}
func.func @multicast_alone(%pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %B = tile.make_view %pb, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %b = tile.load %B[%c0, %c0] {multicast} : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  tile.store %b, %B[%K, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  return
}

// One load read by two mmas, as Kᵀ and as K (attention backward's dQ step):
// one stage serves both. Its tile is made before the first mma, and the copies
// ahead follow the second, the stage's last reader.
// CHECK-LABEL: func.func @shared_readers
// CHECK: %[[BUF:.*]] = tile.alloc_shared : !tile.shared<3x64x64xbf16>
// CHECK-NOT: tile.alloc_shared
// CHECK: scf.for
// CHECK: %[[K:.*]] = tile.stage %[[BUF]]
// CHECK: tile.mma {{.*}}, %[[K]], {{.*}} {transpose_b}
// CHECK: tile.mma {{.*}}, %[[K]], {{.*}} :
// CHECK: scf.if
// CHECK: tile.async_load
// FOUR-LABEL: func.func @shared_readers
// FOUR: tile.alloc_shared : !tile.shared<4x64x64xbf16>
// FOUR-NOT: tile.alloc_shared
// ONE-LABEL: func.func @shared_readers
// ONE: %[[S:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// ONE-NOT: tile.alloc_shared
// ONE: tile.store_shared %{{.*}}, %[[S]]
// ONE: tile.mma {{.*}}, %[[S]], {{.*}} {transpose_b}
// ONE-NOT: tile.store_shared
// ONE: tile.mma {{.*}}, %[[S]], {{.*}} :
func.func @shared_readers(%q: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %k: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                          %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %K = tile.make_view %k, [%n, %c64], [%c64, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %ds = arith.constant dense<1.0> : tensor<64x64xbf16>
  %dq = scf.for %j = %c0 to %n step %c64 iter_args(%acc = %zero) -> (tensor<64x64xf32>) : i32 {
    %kj = tile.load %K[%j, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %s = tile.mma %ds, %kj, %zero {transpose_b} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    %p = arith.truncf %s : tensor<64x64xf32> to tensor<64x64xbf16>
    %next = tile.mma %p, %kj, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return
}
