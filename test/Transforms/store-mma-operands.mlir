// RUN: tile-opt %s -tile-pipeline=stages=3 -tile-store-mma-operands | FileCheck %s
// RUN: tile-opt %s -tile-store-mma-operands | FileCheck %s --check-prefix=ALONE

// w8a16: X's tile is staged by tile-pipeline (TMA); W's int8 tile, dequantized
// in the loop, is B in registers: two shared stages written in turn (stage
// i % 2) between two barriers, and the mma stays in flight (pending = 1, a
// wait after the loop), as tile-pipeline leaves its own GEMM's.
// CHECK-LABEL: func.func @w8a16
// CHECK: %[[W2:.*]] = tile.alloc_shared : !tile.shared<2x128x64xbf16>
// CHECK: scf.for
// CHECK: tile.wait
// CHECK: %[[W:.*]] = arith.truncf {{.*}} : tensor<128x64xf32> to tensor<128x64xbf16>
// CHECK: %[[X:.*]] = tile.stage {{.*}} -> !tile.shared<64x64xbf16>
// CHECK: %[[I:.*]] = arith.divsi
// CHECK: %[[S:.*]] = arith.remsi %[[I]], %c2{{.*}}
// CHECK: %[[WS:.*]] = tile.stage %[[W2]][%[[S]]] : !tile.shared<2x128x64xbf16> -> !tile.shared<128x64xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %[[W]], %[[WS]] : tensor<128x64xbf16>, !tile.shared<128x64xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.mma %[[X]], %[[WS]], %{{.*}} {pending = 1 : i32, transpose_b} : !tile.shared<64x64xbf16>, !tile.shared<128x64xbf16>
// CHECK: scf.yield
// CHECK: tile.mma_wait
// CHECK-NOT: tile.mma_wait
// Alone, X stays a register A (WGMMA reads it from registers, no store) and
// the mma waits: a register A is never left in flight.
// ALONE-LABEL: func.func @w8a16
// ALONE: tile.alloc_shared : !tile.shared<2x128x64xbf16>
// ALONE: scf.for
// ALONE: %[[X:.*]] = tile.load {{.*}} -> tensor<64x64xbf16>
// ALONE-NOT: tile.store_shared %[[X]]
// ALONE: tile.mma %[[X]], {{.*}} {transpose_b} : tensor<64x64xbf16>, !tile.shared<128x64xbf16>
// ALONE-NOT: tile.mma_wait
// ALONE-LABEL: func.func @invariant_b
func.func @w8a16(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %w: !tile.ptr<i8> {tile.divisibility = 16 : i64},
                 %K: i32 {tile.divisibility = 16 : i64}, %m0: i32, %n0: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %X = tile.make_view %x, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %W = tile.make_view %w, [%K, %K], [%K, %c1] : !tile.ptr<i8> -> !tile.view<i8, 2>
  %zero = arith.constant dense<0.0> : tensor<64x128xf32>
  %scale = arith.constant dense<0.5> : tensor<128x64xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x128xf32>) : i32 {
    %a = tile.load %X[%m0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %q = tile.load %W[%n0, %k] : !tile.view<i8, 2> -> tensor<128x64xi8>
    %f = arith.sitofp %q : tensor<128x64xi8> to tensor<128x64xf32>
    %s = arith.mulf %f, %scale : tensor<128x64xf32>
    %b = arith.truncf %s : tensor<128x64xf32> to tensor<128x64xbf16>
    %next = tile.mma %a, %b, %acc {transpose_b} : tensor<64x64xbf16>, tensor<128x64xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    scf.yield %next : tensor<64x128xf32>
  }
  %y = arith.truncf %acc : tensor<64x128xf32> to tensor<64x128xbf16>
  tile.store %y, %X[%m0, %n0] : tensor<64x128xbf16>, !tile.view<bf16, 2>
  return
}

// B computed before the loop is written once, before it, in one tile; the
// mma (A staged by TMA) is left in flight.
// CHECK-LABEL: func.func @invariant_b
// CHECK: %[[B:.*]] = arith.truncf
// CHECK: %[[SB:.*]] = tile.alloc_shared : !tile.shared<64x128xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %[[B]], %[[SB]] : tensor<64x128xbf16>, !tile.shared<64x128xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: scf.for
// CHECK-NOT: tile.store_shared
// CHECK: tile.mma %{{.*}}, %[[SB]], %{{.*}} {pending = 1 : i32} :
// CHECK: tile.mma_wait
func.func @invariant_b(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %K: i32 {tile.divisibility = 16 : i64},
                       %m0: i32, %b32: tensor<64x128xf32>)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %X = tile.make_view %x, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %b = arith.truncf %b32 : tensor<64x128xf32> to tensor<64x128xbf16>
  %zero = arith.constant dense<0.0> : tensor<64x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x128xf32>) : i32 {
    %a = tile.load %X[%m0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    scf.yield %next : tensor<64x128xf32>
  }
  %y = arith.truncf %acc : tensor<64x128xf32> to tensor<64x128xbf16>
  tile.store %y, %X[%m0, %c0] : tensor<64x128xbf16>, !tile.view<bf16, 2>
  return
}

// Where tile-pipeline stages A through registers (no TMA: the row stride has
// no known divisibility), A's one shared tile is rewritten every iteration,
// so the mma waits; the dequantized B still gets its two stages.
// CHECK-LABEL: func.func @a_through_registers
// CHECK: tile.alloc_shared : !tile.shared<2x64x128xbf16>
// CHECK: scf.for
// CHECK: tile.store_shared {{.*}} : tensor<64x64xbf16>, !tile.shared<64x64xbf16>
// CHECK: tile.store_shared {{.*}} : tensor<64x128xbf16>, !tile.shared<64x128xbf16>
// CHECK: tile.mma
// CHECK-NOT: pending
// CHECK-NOT: tile.mma_wait
// CHECK-LABEL: func.func @no_loop
func.func @a_through_registers(%x: !tile.ptr<bf16>, %w: !tile.ptr<i8>, %K: i32, %m0: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %X = tile.make_view %x, [%K, %K], [%K, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %W = tile.make_view %w, [%K, %K], [%K, %c1] : !tile.ptr<i8> -> !tile.view<i8, 2>
  %zero = arith.constant dense<0.0> : tensor<64x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<64x128xf32>) : i32 {
    %a = tile.load %X[%m0, %k] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
    %q = tile.load %W[%k, %c0] : !tile.view<i8, 2> -> tensor<64x128xi8>
    %b = arith.sitofp %q : tensor<64x128xi8> to tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<64x64xbf16>, tensor<64x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    scf.yield %next : tensor<64x128xf32>
  }
  %y = arith.truncf %acc : tensor<64x128xf32> to tensor<64x128xbf16>
  tile.store %y, %X[%m0, %c0] : tensor<64x128xbf16>, !tile.view<bf16, 2>
  return
}

// No loop: B is written right before the mma; a register A given K x M
// (transpose_a) is written too (WGMMA reads only a K-major A from registers).
// CHECK: %[[SA:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %arg0, %[[SA]]
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: %[[SB:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %arg1, %[[SB]]
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.mma %[[SA]], %[[SB]], %arg2 {transpose_a} : !tile.shared<64x64xbf16>, !tile.shared<64x64xbf16>
// CHECK-NOT: tile.mma_wait
func.func @no_loop(%a: tensor<64x64xbf16>, %b: tensor<64x64xbf16>, %acc: tensor<64x64xf32>) -> tensor<64x64xf32>
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.mma %a, %b, %acc {transpose_a} : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// A loop counted in index (hand-written IR): one tile, written before the mma.
// CHECK-LABEL: func.func @index_loop
// CHECK: %[[SB:.*]] = tile.alloc_shared : !tile.shared<64x64xbf16>
// CHECK: scf.for
// CHECK: tile.barrier
// CHECK-NEXT: tile.store_shared %{{.*}}, %[[SB]]
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.mma %arg0, %[[SB]], %{{.*}} : tensor<64x64xbf16>, !tile.shared<64x64xbf16>
func.func @index_loop(%a: tensor<64x64xbf16>, %b: tensor<64x64xf32>, %n: index) -> tensor<64x64xf32>
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (tensor<64x64xf32>) {
    %bb = arith.truncf %b : tensor<64x64xf32> to tensor<64x64xbf16>
    %next = tile.mma %a, %bb, %acc : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
    scf.yield %next : tensor<64x64xf32>
  }
  return %acc : tensor<64x64xf32>
}
