// RUN: tile-opt %s -split-input-file -tile-pipeline=stages=4 -tile-tma-store=explain -verify-diagnostics -o /dev/null
// RUN: tile-opt %s -split-input-file -tile-pipeline=stages=4 -tile-tma-store | FileCheck %s

// The GEMM of examples/gemm.py at 128x256x64 on 8 warps, 4 stages: the
// epilogue's store goes through a shared tile and TMA. The main loop's
// stages (4 x (16 + 32) KiB) are dead after the loop, so the 64 KiB tile
// reuses their bytes: 196608 + 4 barriers, not 262144 (over 227 KiB). The
// first barrier comes right after the last op touching shared memory (the
// mma wait), so that the epilogue's arithmetic runs after it and goes into
// the tile element by element.
// CHECK-LABEL: func.func @gemm_epilogue
// CHECK: scf.for
// CHECK: tile.mma_wait
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: %[[C:.*]] = arith.truncf
// CHECK-NEXT: %[[S:.*]] = tile.alloc_shared : !tile.shared<128x256xbf16>
// CHECK-NEXT: tile.store_shared %[[C]], %[[S]] : tensor<128x256xbf16>, !tile.shared<128x256xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.async_store %[[S]], %{{.*}}[%{{.*}}, %{{.*}}] : !tile.shared<128x256xbf16>, !tile.view<bf16, 2>
// CHECK-NEXT: tile.async_store_wait %[[S]] : !tile.shared<128x256xbf16>
// CHECK-NEXT: return
// CHECK-NOT: tile.store %
func.func @gemm_epilogue(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                         %pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                         %M: i32, %N: i32, %K: i32, %ld: i32 {tile.divisibility = 16 : i64}, %i: i32, %j: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %A = tile.make_view %pa, [%M, %K], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %N], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %pc, [%M, %N], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %zero = arith.constant dense<0.0> : tensor<128x256xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x256xf32>) : i32 {
    %a = tile.load %A[%i, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %j] : !tile.view<bf16, 2> -> tensor<64x256xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x256xbf16>, tensor<128x256xf32> -> tensor<128x256xf32>
    scf.yield %next : tensor<128x256xf32>
  }
  %c = arith.truncf %acc : tensor<128x256xf32> to tensor<128x256xbf16>
  // expected-remark @+1 {{tile-tma-store: through a shared tile and TMA; the kernel's shared tiles and barriers take 196640 bytes}}
  tile.store %c, %C[%i, %j] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// A tile whose lifetime overlaps the store's (it is written after it) keeps
// its bytes: 192 KiB + 64 KiB is over 227 KiB. So the 128x256 tile goes in
// four windows of 64 columns (one 128-byte TMA box row each) through two
// 128x64 tiles in turn (32 KiB): before a tile takes its third window, thread
// 0 waits until the store of the first has read it (one store may still be
// reading), then a barrier.
// CHECK-LABEL: func.func @over_budget
// CHECK-DAG: %[[S0:.*]] = tile.alloc_shared : !tile.shared<128x64xbf16>
// CHECK-DAG: %[[S1:.*]] = tile.alloc_shared : !tile.shared<128x64xbf16>
// CHECK: tile.store_shared %{{.*}}, %[[S0]] : tensor<128x256xbf16>, !tile.shared<128x64xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.async_store %[[S0]], %{{.*}}[%[[I:.*]], %[[J:.*]]]
// CHECK-NEXT: tile.store_shared %{{.*}}, %[[S1]] {column = 64 : i64}
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: %[[C64:.*]] = arith.constant 64 : i32
// CHECK-NEXT: %[[J64:.*]] = arith.addi %[[J]], %[[C64]]
// CHECK-NEXT: tile.async_store %[[S1]], %{{.*}}[%[[I]], %[[J64]]]
// CHECK-NEXT: tile.async_store_wait %[[S0]], %[[S1]] {pending = 1 : i32}
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %{{.*}}, %[[S0]] {column = 128 : i64}
// CHECK: tile.async_store %[[S0]]
// CHECK-NEXT: tile.async_store_wait %[[S0]], %[[S1]] {pending = 1 : i32}
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %{{.*}}, %[[S1]] {column = 192 : i64}
// CHECK: tile.async_store %[[S1]]
// CHECK: tile.store_shared %{{.*}}, %{{.*}} : tensor<128x768xbf16>
// CHECK-NEXT: tile.async_store_wait %[[S0]], %[[S1]] :
// CHECK-NEXT: return
func.func @over_budget(%p: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %n: i32 {tile.divisibility = 16 : i64},
                       %t: tensor<128x256xbf16>, %big: tensor<128x768xbf16>)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c1 = arith.constant 1 : i32
  %C = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %keep = tile.alloc_shared : !tile.shared<128x768xbf16>
  // expected-remark @+1 {{tile-tma-store: through two shared tiles in turn, 4 windows of its columns, and TMA; the kernel's shared tiles and barriers take 229376 bytes}}
  tile.store %t, %C[%n, %n] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  tile.store_shared %big, %keep : tensor<128x768xbf16>, !tile.shared<128x768xbf16>
  return
}

// -----

// With 208 KiB kept, only one 128x64 window tile fits (16 KiB): each window
// waits until the store of the one before has read it.
// CHECK-LABEL: func.func @one_window_tile
// CHECK: %[[S:.*]] = tile.alloc_shared : !tile.shared<128x64xbf16>
// CHECK-NOT: tile.alloc_shared
// CHECK: tile.async_store %[[S]]
// CHECK-NEXT: tile.async_store_wait %[[S]] : !tile.shared<128x64xbf16>
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared %{{.*}}, %[[S]] {column = 64 : i64}
func.func @one_window_tile(%p: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %n: i32 {tile.divisibility = 16 : i64},
                           %t: tensor<128x256xbf16>, %big: tensor<128x832xbf16>)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c1 = arith.constant 1 : i32
  %C = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %keep = tile.alloc_shared : !tile.shared<128x832xbf16>
  // expected-remark @+1 {{tile-tma-store: through one shared tile, 4 windows of its columns, and TMA; the kernel's shared tiles and barriers take 229376 bytes}}
  tile.store %t, %C[%n, %n] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  tile.store_shared %big, %keep : tensor<128x832xbf16>, !tile.shared<128x832xbf16>
  return
}

// -----

// Not even one window tile fits: the store stays plain.
// CHECK-LABEL: func.func @no_room
// CHECK-NOT: tile.async_store
// CHECK: tile.store %
func.func @no_room(%p: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %n: i32 {tile.divisibility = 16 : i64},
                   %t: tensor<128x256xbf16>, %big: tensor<128x896xbf16>)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c1 = arith.constant 1 : i32
  %C = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %keep = tile.alloc_shared : !tile.shared<128x896xbf16>
  // expected-remark @+1 {{tile-tma-store: stays a plain store: its shared tiles would take the kernel's shared memory to 245760 bytes, more than 232448}}
  tile.store %t, %C[%n, %n] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  tile.store_shared %big, %keep : tensor<128x896xbf16>, !tile.shared<128x896xbf16>
  return
}

// -----

// In a loop the shared tile is written again each iteration: thread 0 first
// waits until the last iteration's TMA store has read it. A 64x32 bf16 tile
// (64-byte rows) qualifies too: tile-select-swizzle gives it 64B.
// CHECK-LABEL: func.func @in_loop
// CHECK: %[[S:.*]] = tile.alloc_shared : !tile.shared<64x32xbf16>
// CHECK-NEXT: scf.for
// CHECK: tile.async_store_wait %[[S]]
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.store_shared
// CHECK-NEXT: tile.barrier
// CHECK-NEXT: tile.async_store %[[S]]
// CHECK: }
// CHECK-NEXT: tile.async_store_wait %[[S]]
// CHECK-NEXT: return
func.func @in_loop(%p: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %n: i32 {tile.divisibility = 16 : i64},
                   %t: tensor<64x32xbf16>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %C = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  scf.for %r = %c0 to %n step %c64 : i32 {
    // expected-remark @+1 {{tile-tma-store: through a shared tile and TMA; the kernel's shared tiles and barriers take 4096 bytes}}
    tile.store %t, %C[%r, %c0] : tensor<64x32xbf16>, !tile.view<bf16, 2>
  }
  return
}

// -----

// Why stores stay plain stores: what TMA cannot address (Analysis/TMA.h, the
// rule of tile-pipeline's copies too) and tiles it cannot take.
// CHECK-LABEL: func.func @not_taken
// CHECK-NOT: tile.async_store
// CHECK-NOT: tile.alloc_shared
func.func @not_taken(%p: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %q: !tile.ptr<bf16>,
                     %pi: !tile.ptr<i1> {tile.divisibility = 16 : i64},
                     %n: i32 {tile.divisibility = 16 : i64}, %odd: i32, %V: !tile.view<bf16, 2>,
                     %t: tensor<128x64xbf16>, %v: tensor<256xbf16>)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c1 = arith.constant 1 : i32
  %c0 = arith.constant 0 : i32
  %ragged = tile.make_view %p, [%n, %odd], [%odd, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  // expected-remark @+1 {{stays a plain store: an outer stride is not known to be a multiple of 16 bytes}}
  tile.store %t, %ragged[%c0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  %unaligned = tile.make_view %q, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  // expected-remark @+1 {{stays a plain store: the base address is not known to be 16-byte aligned}}
  tile.store %t, %unaligned[%c0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  %strided = tile.make_view %p, [%n, %n], [%n, %n] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  // expected-remark @+1 {{stays a plain store: the innermost stride is not the constant 1}}
  tile.store %t, %strided[%c0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  %view = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  // expected-remark @+1 {{stays a plain store: the innermost offset is not known to be a multiple of 16 bytes (tile.multiple_of can say so)}}
  tile.store %t, %view[%c0, %odd] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  // expected-remark @+1 {{stays a plain store: the view is not made by tile.make_view}}
  tile.store %t, %V[%c0, %c0] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  %C = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %narrow = arith.constant dense<0.0> : tensor<64x4xbf16>
  // expected-remark @+1 {{stays a plain store: rows of 8 bytes; a TMA box row is at least 16}}
  tile.store %narrow, %C[%c0, %c0] : tensor<64x4xbf16>, !tile.view<bf16, 2>
  %short = arith.constant dense<0.0> : tensor<4x64xbf16>
  // expected-remark @+1 {{stays a plain store: fewer than 8 rows}}
  tile.store %short, %C[%c0, %c0] : tensor<4x64xbf16>, !tile.view<bf16, 2>
  %tall = arith.constant dense<0.0> : tensor<512x64xbf16>
  // expected-remark @+1 {{stays a plain store: a dimension over 256 elements (the most a TMA copy's shared tile takes)}}
  tile.store %tall, %C[%c0, %c0] : tensor<512x64xbf16>, !tile.view<bf16, 2>
  %wide = arith.constant dense<0.0> : tensor<64x512xbf16>
  // expected-remark @+1 {{stays a plain store: a dimension over 256 elements}}
  tile.store %wide, %C[%c0, %c0] : tensor<64x512xbf16>, !tile.view<bf16, 2>
  %C1 = tile.make_view %p, [%n], [%c1] : !tile.ptr<bf16> -> !tile.view<bf16, 1>
  // expected-remark @+1 {{stays a plain store: the tile is not 2-D}}
  tile.store %v, %C1[%c0] : tensor<256xbf16>, !tile.view<bf16, 1>
  %M = tile.make_view %pi, [%n, %n], [%n, %c1] : !tile.ptr<i1> -> !tile.view<i1, 2>
  %mask = arith.constant dense<true> : tensor<64x128xi1>
  // expected-remark @+1 {{stays a plain store: TMA moves whole bytes; the elements are narrower}}
  tile.store %mask, %M[%c0, %c0] : tensor<64x128xi1>, !tile.view<i1, 2>
  %sliced = arith.constant dense<0.0> : tensor<64x64xbf16, #tile.slice<dim = 2, parent = #tile.blocked<size_per_thread = [1, 1, 8], threads_per_warp = [1, 4, 8], warps_per_cta = [4, 1, 1]>>>
  // expected-remark @+1 {{stays a plain store: its layout is not one tile.store_shared lowers}}
  tile.store %sliced, %C[%c0, %c0] : tensor<64x64xbf16, #tile.slice<dim = 2, parent = #tile.blocked<size_per_thread = [1, 1, 8], threads_per_warp = [1, 4, 8], warps_per_cta = [4, 1, 1]>>>, !tile.view<bf16, 2>
  // A pointer store is 1-D: not a candidate, no remark.
  tile.store %v, %p[%c0] bound %n : tensor<256xbf16>, !tile.ptr<bf16>
  return
}

// -----

// Stores in the two branches of an scf.if (a stream-K epilogue: a partial f32
// tile handed to another program, or the finished bf16 tile) get their tiles
// made in their own branch, so the two branches' tiles may share bytes
// (Analysis/SharedMemory); each store waits first for every earlier TMA
// store (whichever tiles it read), and the kernel's last wait names no tile.
// CHECK-LABEL: func.func @branches
// CHECK: scf.if
// CHECK-NEXT: %[[P:.*]] = tile.alloc_shared : !tile.shared<128x256xf32>
// CHECK-NEXT: tile.async_store_wait %[[P]] : !tile.shared<128x256xf32>
// CHECK-NEXT: tile.barrier
// CHECK: tile.async_store %[[P]]
// CHECK: } else {
// CHECK-NEXT: %[[C:.*]] = tile.alloc_shared : !tile.shared<128x256xbf16>
// CHECK-NEXT: tile.async_store_wait %[[C]] : !tile.shared<128x256xbf16>
// CHECK-NEXT: tile.barrier
// CHECK: tile.async_store %[[C]]
// CHECK: tile.async_store_wait :
// CHECK-NEXT: tile.async_store_wait :
// CHECK-NEXT: return
func.func @branches(%pp: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                    %M: i32, %N: i32, %ld: i32 {tile.divisibility = 16 : i64}, %i: i32, %j: i32 {tile.divisibility = 16 : i64},
                    %acc: tensor<128x256xf32>, %partial: i1)
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c1 = arith.constant 1 : i32
  %P = tile.make_view %pp, [%M, %N], [%ld, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %C = tile.make_view %pc, [%M, %N], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  scf.if %partial {
    // expected-remark @+1 {{tile-tma-store: through a shared tile and TMA; the kernel's shared tiles and barriers take 131072 bytes}}
    tile.store %acc, %P[%i, %j] : tensor<128x256xf32>, !tile.view<f32, 2>
  } else {
    %c = arith.truncf %acc : tensor<128x256xf32> to tensor<128x256xbf16>
    // expected-remark @+1 {{tile-tma-store: through a shared tile and TMA; the kernel's shared tiles and barriers take 131072 bytes}}
    tile.store %c, %C[%i, %j] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  }
  return
}
