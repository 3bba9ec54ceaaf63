// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu -canonicalize -cse | FileCheck %s

// Vector add: aligned pointers and a bound divisible by 16 give 16-byte
// accesses, each guarded by one `index < bound` test.
// CHECK-LABEL: gpu.module @tile_kernels
// CHECK: gpu.func @vector_add(%{{.*}}: !llvm.ptr<1> {{.*}}, %{{.*}}: !llvm.ptr<1> {{.*}}, %{{.*}}: !llvm.ptr<1> {{.*}}, %[[N:.*]]: i32 {{.*}}) kernel
// CHECK-SAME: known_block_size = array<i32: 128, 1, 1>
// CHECK: gpu.block_id x
// CHECK: gpu.thread_id x
// CHECK: arith.cmpi slt
// CHECK: scf.if
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: vector.insert_strided_slice {{.*}} {offsets = [4], strides = [1]} : vector<4xf32> into vector<8xf32>
// CHECK: arith.addf {{.*}} : vector<8xf32>
// CHECK: vector.extract_strided_slice {{.*}} {offsets = [0], sizes = [4], strides = [1]}
// CHECK: llvm.store {{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
// CHECK: gpu.return
// CHECK-NOT: func.func
func.func @vector_add(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64},
                      %y: !tile.ptr<f32> {tile.divisibility = 16 : i64},
                      %out: !tile.ptr<f32> {tile.divisibility = 16 : i64},
                      %n: i32 {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %pid = tile.program_id 0
  %c1024 = arith.constant 1024 : i32
  %off = arith.muli %pid, %c1024 : i32
  %a = tile.load %x[%off] bound %n : !tile.ptr<f32> -> tensor<1024xf32>
  %b = tile.load %y[%off] bound %n : !tile.ptr<f32> -> tensor<1024xf32>
  %s = arith.addf %a, %b : tensor<1024xf32>
  tile.store %s, %out[%off] bound %n : tensor<1024xf32>, !tile.ptr<f32>
  return
}

// -----

// Nothing known about alignment: one element per access.
// CHECK-LABEL: gpu.func @unaligned
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
// CHECK-NOT: vector<4xf32>
// CHECK: llvm.store %{{.*}} {alignment = 4 : i64} : f32, !llvm.ptr<1>
func.func @unaligned(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %pid = tile.program_id 0
  %a = tile.load %x[%pid] bound %n : !tile.ptr<f32> -> tensor<512xf32>
  tile.store %a, %x[%pid] bound %n : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// A bound that is not a multiple of 16 forces single-element accesses even
// with aligned pointers and offsets (the predicate must be exact).
// CHECK-LABEL: gpu.func @ragged_bound
// CHECK: llvm.load %{{.*}} {alignment = 4 : i64} : !llvm.ptr<1> -> f32
func.func @ragged_bound(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %n: i32)
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %a = tile.load %x[%c0] bound %n : !tile.ptr<f32> -> tensor<512xf32>
  tile.store %a, %x[%c0] bound %n : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// No bound: no predicate. A 64-element tile over 128 threads wraps, and only
// the first 64 threads store.
// CHECK-LABEL: gpu.func @wrapped
// CHECK: %[[TID:.*]] = gpu.thread_id x
// CHECK-NOT: scf.if
// CHECK: llvm.load
// CHECK: arith.cmpi slt
// CHECK: scf.if
// CHECK: llvm.store
func.func @wrapped(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %a = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<64xf32>
  tile.store %a, %x[%c0] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// A 2-D tile from a view: 16-byte runs along rows (unit inner stride, row
// stride divisible by 16), bounds checked in both dimensions; a row
// reduction is registers then lane shuffles (warps own rows: no shared
// memory); the broadcast is a register shuffle.
// CHECK-LABEL: gpu.func @rows
// CHECK: llvm.load %{{.*}} {alignment = 16 : i64} : !llvm.ptr<1> -> vector<4xf32>
// CHECK: gpu.shuffle  xor
// CHECK-NOT: gpu.barrier
// CHECK: vector.shuffle
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"
// CHECK: llvm.store %{{.*}} {alignment = 16 : i64} : vector<4xf32>, !llvm.ptr<1>
func.func @rows(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %m: i32, %n: i32 {tile.divisibility = 16 : i64},
                %ld: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %x, [%m, %n], [%ld, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<16x256xf32>
  %mx = tile.reduce max %t, dim = 1 : tensor<16x256xf32> -> tensor<16xf32>
  %b = tile.broadcast %mx, dim = 1 : tensor<16xf32> -> tensor<16x256xf32>
  %d = arith.subf %t, %b : tensor<16x256xf32>
  %e = math.exp2 %d : tensor<16x256xf32>
  tile.store %e, %X[%c0, %c0] : tensor<16x256xf32>, !tile.view<f32, 2>
  return
}

// -----

// Division: `/` (arith.divf) stays the correctly rounded division; tile.fdiv's
// (afn) is the fast one, llvm.nvvm.div.full (div.full.f32), element by element.
// CHECK-LABEL: gpu.func @divisions
// CHECK: arith.divf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-COUNT-4: llvm.call_intrinsic "llvm.nvvm.div.full"
// CHECK-NOT: llvm.call_intrinsic "llvm.nvvm.div.full"
func.func @divisions(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<512xf32>
  %exact = arith.divf %t, %t : tensor<512xf32>
  %fast = arith.divf %exact, %t fastmath<afn> : tensor<512xf32>
  tile.store %fast, %x[%c0] : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// One row over four warps: the reduction crosses warps through the dynamic
// shared-memory scratch (4 warps x 4 bytes), between barriers.
// CHECK: module attributes {gpu.container_module, tile.block_threads = 128 : i64, tile.shared_bytes = 16 : i64}
// CHECK: llvm.mlir.global external @__tile_shared_scratch() {addr_space = 3 : i32, alignment = 1024 : i64}
// CHECK-LABEL: gpu.func @one_row
// CHECK: gpu.shuffle  xor
// CHECK: gpu.barrier
// CHECK: llvm.store {{.*}} : f32, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK: llvm.load {{.*}} : !llvm.ptr<3> -> f32
func.func @one_row(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %x, [%c1, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<1x1024xf32>
  %s = tile.reduce sum %t, dim = 1 : tensor<1x1024xf32> -> tensor<1xf32>
  %b = tile.broadcast %s, dim = 1 : tensor<1xf32> -> tensor<1x1024xf32>
  tile.store %b, %X[%c0, %c0] : tensor<1x1024xf32>, !tile.view<f32, 2>
  return
}

// -----

// A sum along a dimension narrower than its threads: a 2 x 32 tile over four
// warps stacked along its rows lays each row on two warps, so they hold copies. Copies
// count as 0 (a select on the thread's row position) before the shuffles and
// the exchange between warps: the sum is the rows', not twice it.
// CHECK-LABEL: gpu.func @column_sum_of_two_rows
// CHECK: arith.cmpi sge
// CHECK: arith.select
// CHECK: gpu.barrier
func.func @column_sum_of_two_rows(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c2 = arith.constant 2 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %x, [%c2, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<2x32xf32>
  %s = tile.reduce sum %t, dim = 0 : tensor<2x32xf32> -> tensor<32xf32>
  %b = tile.broadcast %s, dim = 0 : tensor<32xf32> -> tensor<2x32xf32>
  tile.store %b, %X[%c0, %c0] : tensor<2x32xf32>, !tile.view<f32, 2>
  return
}

// -----

// Along a dimension of one element, each thread already holds its result:
// no shuffle, no exchange between warps. A one-element tile to a scalar alike.
// CHECK-LABEL: gpu.func @column_sum_of_one_row
// CHECK-NOT: gpu.shuffle
// CHECK-NOT: gpu.barrier
// CHECK: gpu.return
func.func @column_sum_of_one_row(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %x, [%c1, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<1x64xf32>
  %s = tile.reduce sum %t, dim = 0 : tensor<1x64xf32> -> tensor<64xf32>
  %b = tile.broadcast %s, dim = 0 : tensor<64xf32> -> tensor<1x64xf32>
  tile.store %b, %X[%c0, %c0] : tensor<1x64xf32>, !tile.view<f32, 2>
  %one = tile.load %x[%n] : !tile.ptr<f32> -> tensor<1xf32>
  %e = tile.reduce sum %one, dim = 0 : tensor<1xf32> -> f32
  %i = tile.reduce argmax %one, dim = 0 : tensor<1xf32> -> i32
  %f = arith.sitofp %i : i32 to f32
  %g = arith.addf %e, %f : f32
  %r = tile.splat %g : f32 -> tensor<1xf32>
  tile.store %r, %x[%c0] : tensor<1xf32>, !tile.ptr<f32>
  return
}

// -----

// The max of the same copies needs no select (a copy leaves a max as it is).
// CHECK-LABEL: gpu.func @column_max_of_two_rows
// CHECK-NOT: arith.select
// CHECK: gpu.return
func.func @column_max_of_two_rows(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %X = tile.make_view %x, [%c2, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<2x32xf32>
  %s = tile.reduce max %t, dim = 0 : tensor<2x32xf32> -> tensor<32xf32>
  %b = tile.broadcast %s, dim = 0 : tensor<32xf32> -> tensor<2x32xf32>
  tile.store %b, %X[%c0, %c0] : tensor<2x32xf32>, !tile.view<f32, 2>
  return
}

// -----

// fp8 tiles are held as their i8 bits; conversions go through PTX's cvt
// between fp8 pairs and f16 pairs (from f32 to fp8: rounded and saturated).
// CHECK-LABEL: gpu.func @fp8_round_trip
// CHECK: llvm.load {{.*}} -> vector<4xi8>
// CHECK: cvt.rn.f16x2.e5m2x2 $0, $1;
// CHECK: cvt.rn.satfinite.e4m3x2.f32 $0, $1, $1;
// CHECK: llvm.store {{.*}} : vector<4xi8>, !llvm.ptr<1>
func.func @fp8_round_trip(%x: !tile.ptr<f8E5M2> {tile.divisibility = 16 : i32}, %y: !tile.ptr<f8E4M3FN> {tile.divisibility = 16 : i32}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<f8E5M2> -> tensor<512xf8E5M2>
  %w = arith.extf %t : tensor<512xf8E5M2> to tensor<512xf32>
  %d = arith.addf %w, %w : tensor<512xf32>
  %n = arith.truncf %d : tensor<512xf32> to tensor<512xf8E4M3FN>
  tile.store %n, %y[%c0] : tensor<512xf8E4M3FN>, !tile.ptr<f8E4M3FN>
  return
}
