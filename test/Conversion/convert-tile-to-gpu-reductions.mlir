// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu -canonicalize -cse | FileCheck %s
// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu=debug=true -canonicalize -cse | FileCheck %s --check-prefix=DEBUG
// RUN: tile-opt %s -split-input-file -tile-assign-layouts -tile-to-llvm -gpu-module-to-binary=format=isa | FileCheck %s --check-prefix=PTX

// A 1-D tile to a scalar: 64 elements over 128 threads, so every element has
// two holders; a sum counts only the owner's (a select before the shuffles),
// then a butterfly over all 32 lanes and one slot a warp in shared memory.
// CHECK-LABEL: gpu.func @sum_to_scalar
// CHECK: arith.select
// CHECK-COUNT-5: gpu.shuffle xor
// CHECK: gpu.barrier
// CHECK: scf.if
// CHECK: llvm.store
// CHECK: gpu.barrier
// CHECK-COUNT-4: llvm.load
// PTX-LABEL: .entry sum_to_scalar
// PTX-COUNT-5: shfl.sync.bfly.b32
func.func @sum_to_scalar(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<64xf32>
  %s = tile.reduce sum %t, dim = 0 : tensor<64xf32> -> f32
  %b = tile.splat %s : f32 -> tensor<64xf32>
  tile.store %b, %x[%c0] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// argmax along the rows: (value, index) pairs, NaN beating numbers (cmpf
// uno) and the smaller index winning ties; each shuffle moves both.
// CHECK-LABEL: gpu.func @argmax_rows
// CHECK: arith.cmpf uno
// CHECK: arith.cmpf ogt
// CHECK: arith.cmpf oeq
// CHECK: arith.cmpi slt
// CHECK: gpu.shuffle xor %{{.*}} : f32
// CHECK: gpu.shuffle xor %{{.*}} : i32
// PTX-LABEL: .entry argmax_rows
// PTX: setp.nan.f32
func.func @argmax_rows(%x: !tile.ptr<f32>, %y: !tile.ptr<i32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %x, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<16x256xf32>
  %i = tile.reduce argmax %t, dim = 1 : tensor<16x256xf32> -> tensor<16xi32>
  tile.store %i, %y[%c0] : tensor<16xi32>, !tile.ptr<i32>
  return
}

// -----

// argmin of a whole 2-D tile: the row-major index of the first minimum.
// CHECK-LABEL: gpu.func @argmin_all
// CHECK: arith.cmpf olt
// CHECK: gpu.barrier
func.func @argmin_all(%x: !tile.ptr<f32>, %y: !tile.ptr<i32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %x, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<32x64xf32>
  %i = tile.reduce argmin %t, dim = 0 : tensor<32x64xf32> -> i32
  %b = tile.splat %i : i32 -> tensor<128xi32>
  tile.store %b, %y[%c0] : tensor<128xi32>, !tile.ptr<i32>
  return
}

// -----

// An inclusive scan: the thread's own registers, shfl.up across the lanes
// (guarded by the lane's position), then the warps' totals in shared memory.
// CHECK-LABEL: gpu.func @cumsum
// CHECK: arith.addf
// CHECK: gpu.shuffle up
// CHECK: gpu.barrier
// CHECK: gpu.barrier
// PTX-LABEL: .entry cumsum
// PTX: shfl.sync.up.b32
func.func @cumsum(%x: !tile.ptr<f32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<1024xf32>
  %s = tile.scan sum %t, dim = 0 : tensor<1024xf32>
  tile.store %s, %x[%c0] : tensor<1024xf32>, !tile.ptr<f32>
  return
}

// -----

// A sort: each thread writes its elements (value, then i32 index) to the
// scratch, then the bitonic network's 6 * 7 / 2 = 21 steps for rows of 64,
// each a loop over pairs strided by the 128 threads and a barrier, then each
// thread reads its registers back. NaN last ascending: the comparison swaps
// the NaN tests of argmin's order.
// CHECK-LABEL: gpu.func @sort_rows
// CHECK: gpu.barrier
// CHECK: llvm.store
// CHECK: gpu.barrier
// CHECK-COUNT-21: scf.for %{{.*}} = %{{.*}} to %c512{{.*}} step %c128
// CHECK-NOT: scf.for
// CHECK: llvm.load
// PTX-LABEL: .entry sort_rows
// PTX-COUNT-23: bar.sync
func.func @sort_rows(%x: !tile.ptr<f32>, %i: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %r = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<64xf32>
  %t = tile.broadcast %r, dim = 0 : tensor<64xf32> -> tensor<16x64xf32>
  %v, %j = tile.sort %t, dim = 1 : tensor<16x64xf32> -> tensor<16x64xi32>
  %vs = tile.reduce sum %v, dim = 0 : tensor<16x64xf32> -> tensor<64xf32>
  %js = tile.reduce sum %j, dim = 0 : tensor<16x64xi32> -> tensor<64xi32>
  tile.store %vs, %x[%c0] : tensor<64xf32>, !tile.ptr<f32>
  tile.store %js, %i[%c0] : tensor<64xi32>, !tile.ptr<i32>
  return
}

// -----

// A take: the source's first holders write it to the scratch (row-major),
// between barriers, then each thread reads its registers at the index.
// CHECK-LABEL: gpu.func @take_rows
// CHECK: gpu.barrier
// CHECK: llvm.store
// CHECK: gpu.barrier
// CHECK: arith.extsi
// CHECK: llvm.load
// PTX-LABEL: .entry take_rows
// PTX: st.shared
// PTX: bar.sync
// PTX: ld.shared
func.func @take_rows(%x: !tile.ptr<f32>, %i: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %r = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<256xf32>
  %j = tile.load %i[%c0] : !tile.ptr<i32> -> tensor<64xi32>
  %t = tile.take %r[%j], dim = 0 : tensor<256xf32>, tensor<64xi32> -> tensor<64xf32>
  tile.store %t, %x[%c0] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// Debugging ops are nothing without debug; with it, prints are printf calls
// (each element by its owner, with its index) and a failed assert calls
// __assertfail with the message and the op's file:line.
// CHECK-LABEL: gpu.func @print_and_assert
// CHECK-NOT: gpu.printf
// CHECK-NOT: __assertfail
// CHECK: gpu.return
// DEBUG-LABEL: gpu.func @print_and_assert
// DEBUG: gpu.printf "pid (%d, %d, %d) n: %d\0A"
// DEBUG: gpu.printf "pid (%d, %d, %d) idx (%lld) 100%% x: %f\0A"
// DEBUG: llvm.call @__assertfail
// PTX-LABEL: .entry print_and_assert
// PTX-NOT: vprintf
func.func @print_and_assert(%x: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<64xf32>
  tile.print "n", %n : i32
  tile.print "100% x", %t : tensor<64xf32>
  %z = arith.constant dense<0.0> : tensor<64xf32>
  %pos = arith.cmpf oge, %t, %z : tensor<64xf32>
  tile.assert %pos, "x >= 0" : tensor<64xi1> loc("kernel.py":7:4)
  return
}

// -----

// An i64 sum to a scalar: each shuffle moves the value's two 32-bit halves
// (the hardware shuffles 32 bits) and joins them again.
// CHECK-LABEL: gpu.func @sum_i64_to_scalar
// CHECK: arith.trunci %{{.*}} : i64 to i32
// CHECK: arith.shrui
// CHECK: gpu.shuffle xor %{{.*}} : i32
// CHECK: gpu.shuffle xor %{{.*}} : i32
// CHECK: arith.shli
// CHECK: arith.addi %{{.*}} : i64
// PTX-LABEL: .entry sum_i64_to_scalar
// PTX-COUNT-10: shfl.sync.bfly.b32
func.func @sum_i64_to_scalar(%x: !tile.ptr<i64>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<i64> -> tensor<64xi64>
  %s = tile.reduce sum %t, dim = 0 : tensor<64xi64> -> i64
  %b = tile.splat %s : i64 -> tensor<64xi64>
  tile.store %b, %x[%c0] : tensor<64xi64>, !tile.ptr<i64>
  return
}
