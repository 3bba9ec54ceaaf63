// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu -canonicalize -cse | FileCheck %s

// A masked gather loads under the mask and yields `other` elsewhere; the
// scatter stores under the mask. Addresses: ptr + sign-extended offset.
// CHECK-LABEL: gpu.func @gather_scatter
// CHECK: %[[OTHER:.*]] = arith.constant -1.000000e+00 : f32
// CHECK: %[[OFF:.*]] = llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> i32
// CHECK: %[[WIDE:.*]] = arith.extsi %[[OFF]] : i32 to i64
// CHECK: %[[ADDR:.*]] = llvm.getelementptr %{{.*}}[%[[WIDE]]] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: %[[M:.*]] = vector.extract %{{.*}}[0] : i1 from vector<1xi1>
// CHECK: %[[V:.*]] = scf.if %[[M]] -> (f32) {
// CHECK:   %[[L:.*]] = llvm.load %[[ADDR]] : !llvm.ptr<1> -> f32
// CHECK:   scf.yield %[[L]] : f32
// CHECK: } else {
// CHECK:   scf.yield %[[OTHER]] : f32
// CHECK: }
// CHECK: %[[DST:.*]] = llvm.getelementptr
// CHECK: scf.if %[[M]] {
// CHECK:   llvm.store %[[V]], %[[DST]] : f32, !llvm.ptr<1>
// CHECK: }
// CHECK: gpu.return
func.func @gather_scatter(%x: !tile.ptr<f32>, %idx: !tile.ptr<i32>, %out: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %off = tile.load %idx[%c0] : !tile.ptr<i32> -> tensor<128xi32>
  %i = tile.iota : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %i, %nn : tensor<128xi32>
  %other = arith.constant -1.0 : f32
  %v = tile.gather %x[%off : tensor<128xi32>] mask(%m : tensor<128xi1>) other(%other : f32) : !tile.ptr<f32> -> tensor<128xf32>
  tile.scatter %v, %out[%i : tensor<128xi32>] mask(%m : tensor<128xi1>) : tensor<128xf32>, !tile.ptr<f32>
  return
}

// -----

// i64 offsets index directly; no mask: no branch. Each thread's two
// registers are two accesses.
// CHECK-LABEL: gpu.func @gather_i64
// CHECK-NOT: arith.extsi %{{.*}} : i32 to i64
// CHECK: llvm.getelementptr %{{.*}}[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, bf16
// CHECK-NOT: scf.if
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> bf16
// CHECK: llvm.load %{{.*}} : !llvm.ptr<1> -> bf16
// CHECK-NOT: llvm.load {{.*}} -> bf16
// CHECK: gpu.return
func.func @gather_i64(%x: !tile.ptr<bf16>, %idx: !tile.ptr<i64>, %out: !tile.ptr<bf16>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %off = tile.load %idx[%c0] : !tile.ptr<i64> -> tensor<256xi64>
  %v = tile.gather %x[%off : tensor<256xi64>] : !tile.ptr<bf16> -> tensor<256xbf16>
  tile.store %v, %out[%c0] : tensor<256xbf16>, !tile.ptr<bf16>
  return
}

// -----

// Atomics are inline PTX with the op's ordering and scope, predicated by
// the mask; the old value is 0 where it is off.
// CHECK-LABEL: gpu.func @atomics
// CHECK: llvm.inline_asm has_side_effects "{ .reg .pred p, pos, neg; setp.ne.b32 p, $3, 0; mov.b32 $0, 0; @p atom.relaxed.cta.global.add.u32 $0, [$1], $2; }", "=r,l,r,r"
// CHECK: llvm.inline_asm has_side_effects "{ .reg .pred p, pos, neg; mov.b16 $0, 0; atom.acq_rel.sys.global.add.noftz.bf16 $0, [$1], $2; }", "=h,l,h"
// CHECK: llvm.inline_asm has_side_effects "{ .reg .pred p, pos, neg; mov.b32 $0, 0; setp.ge.s32 pos, $2, 0; setp.lt.s32 neg, $2, 0; @pos atom.acquire.gpu.global.min.s32 $0, [$1], $2; @neg atom.acquire.gpu.global.max.u32 $0, [$1], $2; }", "=r,l,r"
// CHECK: llvm.inline_asm has_side_effects "{ .reg .pred p, pos, neg; mov.b64 $0, 0; atom.release.gpu.global.exch.b64 $0, [$1], $2; }", "=l,l,l"
// CHECK: llvm.inline_asm has_side_effects "{ .reg .pred p, pos, neg; mov.b32 $0, 0; atom.acq_rel.gpu.global.cas.b32 $0, [$1], $2, $3; }", "=r,l,r,r"
func.func @atomics(%pi: !tile.ptr<i32>, %ph: !tile.ptr<bf16>, %pf: !tile.ptr<f32>, %pl: !tile.ptr<i64>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %i = tile.iota : tensor<128xi32>
  %nn = tile.splat %n : i32 -> tensor<128xi32>
  %m = arith.cmpi slt, %i, %nn : tensor<128xi32>
  %vi = tile.load %pi[%c0] : !tile.ptr<i32> -> tensor<128xi32>
  %a = tile.atomic_rmw add %pi[%i : tensor<128xi32>], %vi mask(%m : tensor<128xi1>) sem = relaxed scope = cta : !tile.ptr<i32>, tensor<128xi32>
  tile.store %a, %pi[%c0] : tensor<128xi32>, !tile.ptr<i32>
  %vh = tile.load %ph[%c0] : !tile.ptr<bf16> -> tensor<128xbf16>
  %b = tile.atomic_rmw add %ph[%i : tensor<128xi32>], %vh scope = sys : !tile.ptr<bf16>, tensor<128xbf16>
  tile.store %b, %ph[%c0] : tensor<128xbf16>, !tile.ptr<bf16>
  %vf = tile.load %pf[%c0] : !tile.ptr<f32> -> tensor<128xf32>
  %c = tile.atomic_rmw min %pf[%i : tensor<128xi32>], %vf sem = acquire : !tile.ptr<f32>, tensor<128xf32>
  tile.store %c, %pf[%c0] : tensor<128xf32>, !tile.ptr<f32>
  %vl = tile.load %pl[%c0] : !tile.ptr<i64> -> tensor<128xi64>
  %d = tile.atomic_rmw xchg %pl[%i : tensor<128xi32>], %vl sem = release : !tile.ptr<i64>, tensor<128xi64>
  tile.store %d, %pl[%c0] : tensor<128xi64>, !tile.ptr<i64>
  %e = tile.atomic_cas %pi[%i : tensor<128xi32>], %vi, %a : !tile.ptr<i32>, tensor<128xi32>
  tile.store %e, %pi[%c0] : tensor<128xi32>, !tile.ptr<i32>
  return
}

// -----

// 32 elements over 128 threads: four threads hold each one. Only the first
// holder applies the atomic (predicated on the thread's position); the old
// values reach the copies through the shared scratch, between two barriers.
// CHECK-LABEL: gpu.func @replicated
// CHECK: arith.cmpi slt, %{{.*}}, %c32_i64 : i64
// CHECK: %[[P:.*]] = arith.extui %[[ACTS:[0-9]+]] : i1 to i32
// CHECK: llvm.inline_asm has_side_effects "{{.*}}@p atom.acq_rel.gpu.global.add.u32 {{.*}}" %{{.*}}, %{{.*}}, %[[P]]
// CHECK: gpu.barrier
// CHECK: scf.if %[[ACTS]] {
// CHECK:   llvm.store %{{.*}}, %{{.*}} : i32, !llvm.ptr<3>
// CHECK: }
// CHECK: gpu.barrier
// CHECK: llvm.load %{{.*}} : !llvm.ptr<3> -> i32
func.func @replicated(%hist: !tile.ptr<i32>, %out: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %i = tile.iota : tensor<32xi32>
  %one = arith.constant dense<1> : tensor<32xi32>
  %old = tile.atomic_rmw add %hist[%i : tensor<32xi32>], %one : !tile.ptr<i32>, tensor<32xi32>
  tile.store %old, %out[%c0] : tensor<32xi32>, !tile.ptr<i32>
  return
}

// -----

// An unused result needs no exchange: a `red`. It orders as relaxed or
// release only, so acq_rel is a release `red` and a fence after the op's reds.
// CHECK-LABEL: gpu.func @replicated_unused
// CHECK: llvm.inline_asm has_side_effects "{ .reg .pred p, pos, neg; setp.ne.b32 p, $2, 0; @p red.release.gpu.global.add.u32 [$0], $1; }", "l,r,r"
// CHECK-NOT: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects "fence.acq_rel.gpu;"
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @replicated_unused(%hist: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %i = tile.iota : tensor<32xi32>
  %one = arith.constant dense<1> : tensor<32xi32>
  %old = tile.atomic_rmw add %hist[%i : tensor<32xi32>], %one : !tile.ptr<i32>, tensor<32xi32>
  return
}

// -----

// Offsets base + iota with base and the pointer multiples of 16 (elements,
// bytes), under a mask cols < n with n a multiple of 16: each thread's run
// of 4 registers is one 16-byte access under one mask bit.
// CHECK-LABEL: gpu.func @vectorized
// CHECK: scf.if %{{.*}} -> (vector<4xf32>) {
// CHECK:   llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: } else {
// CHECK:   scf.yield %{{.*}} : vector<4xf32>
// CHECK: scf.if %{{.*}} {
// CHECK:   llvm.store %{{.*}}, %{{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
// CHECK-NOT: llvm.load {{.*}}!llvm.ptr<1> -> f32
// CHECK: gpu.return
func.func @vectorized(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %out: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %pid = tile.program_id 0
  %c512 = arith.constant 512 : i32
  %base = arith.muli %pid, %c512 : i32
  %i = tile.iota : tensor<512xi32>
  %b = tile.splat %base : i32 -> tensor<512xi32>
  %cols = arith.addi %b, %i : tensor<512xi32>
  %nn = tile.splat %n : i32 -> tensor<512xi32>
  %m = arith.cmpi slt, %cols, %nn : tensor<512xi32>
  %other = arith.constant 1.0 : f32
  %v = tile.gather %x[%cols : tensor<512xi32>] mask(%m : tensor<512xi1>) other(%other : f32) : !tile.ptr<f32> -> tensor<512xf32>
  tile.scatter %v, %out[%cols : tensor<512xi32>] mask(%m : tensor<512xi1>) : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// What keeps accesses scalar: a pointer of unknown alignment, a bound of
// unknown divisibility (the mask may switch inside a run), an odd offset.
// CHECK-LABEL: gpu.func @not_vectorized
// CHECK-NOT: !llvm.ptr<1> -> vector
// CHECK-NOT: xf32>, !llvm.ptr<1>
// CHECK: llvm.store %{{.*}} : f32, !llvm.ptr<1>
// CHECK-NOT: !llvm.ptr<1> -> vector
// CHECK-NOT: xf32>, !llvm.ptr<1>
// CHECK: gpu.return
func.func @not_vectorized(%x: !tile.ptr<f32>, %y: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %out: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %i = tile.iota : tensor<512xi32>
  %a = tile.gather %x[%i : tensor<512xi32>] : !tile.ptr<f32> -> tensor<512xf32>
  %nn = tile.splat %n : i32 -> tensor<512xi32>
  %m = arith.cmpi slt, %i, %nn : tensor<512xi32>
  %b = tile.gather %y[%i : tensor<512xi32>] mask(%m : tensor<512xi1>) : !tile.ptr<f32> -> tensor<512xf32>
  %one = arith.constant dense<1> : tensor<512xi32>
  %odd = arith.addi %i, %one : tensor<512xi32>
  %c = tile.gather %y[%odd : tensor<512xi32>] : !tile.ptr<f32> -> tensor<512xf32>
  %ab = arith.addf %a, %b : tensor<512xf32>
  %abc = arith.addf %ab, %c : tensor<512xf32>
  tile.scatter %abc, %out[%i : tensor<512xi32>] mask(%m : tensor<512xi1>) : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// A pointer moved in 64 bits (row r of an array of 2^31+ elements): one
// getelementptr by the i64 offset, then the tile's i32 offsets. A row start
// that is a multiple of 4 elements keeps the 16-byte alignment: one vector
// access a run of 4; an odd start leaves scalar accesses.
// CHECK-LABEL: gpu.func @moved_pointer
// CHECK: %[[ROW:.*]] = llvm.getelementptr %{{.*}}[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: llvm.getelementptr %[[ROW]][%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, f32
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: llvm.store %{{.*}} : f32, !llvm.ptr<1>
// CHECK-NOT: vector<4xf32>, !llvm.ptr<1>
// CHECK: gpu.return
func.func @moved_pointer(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %out: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %r: i32, %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %wide = arith.extsi %r : i32 to i64
  %n64 = arith.extsi %n : i32 to i64
  %start = arith.muli %wide, %n64 : i64
  %row = tile.addptr %x, %start : !tile.ptr<f32>, i64
  %i = tile.iota : tensor<512xi32>
  %v = tile.gather %row[%i : tensor<512xi32>] : !tile.ptr<f32> -> tensor<512xf32>
  %one = arith.constant 1 : i64
  %odd = arith.addi %start, %one : i64
  %shifted = tile.addptr %out, %odd : !tile.ptr<f32>, i64
  tile.scatter %v, %shifted[%i : tensor<512xi32>] : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// Rows of two columns (offsets 2 * row + col): 2 * row is even, so each
// row's pair is one 8-byte access.
// CHECK-LABEL: gpu.func @pairs
// CHECK: llvm.load %{{.*}} {alignment = 8 : i64} : !llvm.ptr<1> -> vector<2xf32>
// CHECK: llvm.store %{{.*}} {alignment = 8 : i64} : vector<2xf32>, !llvm.ptr<1>
// CHECK-NOT: !llvm.ptr<1> -> f32
// CHECK: gpu.return
func.func @pairs(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %out: !tile.ptr<f32> {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %r = tile.iota : tensor<128xi32>
  %two = arith.constant dense<2> : tensor<128xi32>
  %r2 = arith.muli %r, %two : tensor<128xi32>
  %rows = tile.broadcast %r2, dim = 1 : tensor<128xi32> -> tensor<128x2xi32>
  %c = tile.iota : tensor<2xi32>
  %cols = tile.broadcast %c, dim = 0 : tensor<2xi32> -> tensor<128x2xi32>
  %off = arith.addi %rows, %cols : tensor<128x2xi32>
  %v = tile.gather %x[%off : tensor<128x2xi32>] : !tile.ptr<f32> -> tensor<128x2xf32>
  tile.scatter %v, %out[%off : tensor<128x2xi32>] : tensor<128x2xf32>, !tile.ptr<f32>
  return
}

// -----

// Atomic adds of consecutive, aligned float runs: a `red` (old values unused)
// takes up to 16 bytes (`.v4.f32`, `.v4/.v8` of bf16/f16, PTX 8.1; a pair
// on a 4-byte aligned pointer the packed `.bf16x2`); an `atom` a packed
// f16x2/bf16x2 pair, returning both old halves.
// CHECK-LABEL: gpu.func @packed_atomics
// CHECK: red.relaxed.gpu.global.add.noftz.v4.bf16 [$0], {$1, $2, $3, $4}; }", "l,h,h,h,h"
// CHECK: red.relaxed.gpu.global.add.noftz.bf16x2 [$0], $1; }", "l,r"
// CHECK: atom.acq_rel.gpu.global.add.noftz.f16x2 $0, [$1], $2; }", "=r,l,r"
// CHECK: llvm.bitcast %{{.*}} : i32 to vector<2xf16>
// CHECK: red.relaxed.gpu.global.add.v4.f32 [$0], {$1, $2, $3, $4}; }", "l,r,r,r,r"
// CHECK-NOT: red.relaxed.gpu.global.add.f32
// CHECK: gpu.return
func.func @packed_atomics(%pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb4: !tile.ptr<bf16> {tile.divisibility = 4 : i64}, %ph: !tile.ptr<f16> {tile.divisibility = 16 : i64}, %pf: !tile.ptr<f32> {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %i = tile.iota : tensor<1024xi32>
  %vb = tile.load %pb[%c0] : !tile.ptr<bf16> -> tensor<1024xbf16>
  %a = tile.atomic_rmw add %pb[%i : tensor<1024xi32>], %vb sem = relaxed : !tile.ptr<bf16>, tensor<1024xbf16>
  %a4 = tile.atomic_rmw add %pb4[%i : tensor<1024xi32>], %vb sem = relaxed : !tile.ptr<bf16>, tensor<1024xbf16>
  %vh = tile.load %ph[%c0] : !tile.ptr<f16> -> tensor<1024xf16>
  %b = tile.atomic_rmw add %ph[%i : tensor<1024xi32>], %vh : !tile.ptr<f16>, tensor<1024xf16>
  tile.store %b, %ph[%c0] : tensor<1024xf16>, !tile.ptr<f16>
  %vf = tile.load %pf[%c0] : !tile.ptr<f32> -> tensor<1024xf32>
  %c = tile.atomic_rmw add %pf[%i : tensor<1024xi32>], %vf sem = relaxed : !tile.ptr<f32>, tensor<1024xf32>
  return
}
