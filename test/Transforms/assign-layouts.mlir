// RUN: tile-opt %s -tile-assign-layouts -split-input-file | FileCheck %s

// 1024 f32 over 4 warps: 16-byte runs (4 f32), 8 registers a thread.
// CHECK-LABEL: func.func @f32_1024
// CHECK: tile.load {{.*}} -> tensor<1024xf32, #tile.blocked<size_per_thread = [4], threads_per_warp = [32], warps_per_cta = [4]>>
// CHECK: arith.addf {{.*}} : tensor<1024xf32, #tile.blocked<size_per_thread = [4], threads_per_warp = [32], warps_per_cta = [4]>>
func.func @f32_1024(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<1024xf32>
  %b = arith.addf %a, %a : tensor<1024xf32>
  tile.store %b, %p[%off] : tensor<1024xf32>, !tile.ptr<f32>
  return
}

// -----

// bf16: 8 elements make 16 bytes.
// CHECK-LABEL: func.func @bf16_2048
// CHECK: tensor<2048xbf16, #tile.blocked<size_per_thread = [8], threads_per_warp = [32], warps_per_cta = [4]>>
func.func @bf16_2048(%p: !tile.ptr<bf16>, %off: i32) attributes {tile.kernel} {
  %a = tile.load %p[%off] : !tile.ptr<bf16> -> tensor<2048xbf16>
  tile.store %a, %p[%off] : tensor<2048xbf16>, !tile.ptr<bf16>
  return
}

// -----

// A tile smaller than the CTA: one element a thread, and it wraps.
// CHECK-LABEL: func.func @small
// CHECK: tensor<64xf32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [8]>>
func.func @small(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32>
  tile.store %a, %p[%off] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// Constants take the layout in their value too; functions that are not
// kernels are left alone.
// CHECK-LABEL: func.func @constant
// CHECK: arith.constant dense<1.000000e+00> : tensor<256xf32, #tile.blocked
func.func @constant(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 2 : i32} {
  %c = arith.constant dense<1.0> : tensor<256xf32>
  tile.store %c, %p[%off] : tensor<256xf32>, !tile.ptr<f32>
  return
}
// CHECK-LABEL: func.func @not_a_kernel
// CHECK: tensor<256xf32>)
func.func @not_a_kernel(%a: tensor<256xf32>) {
  return
}

// -----

// Layouts flow: the reduction's result is the slice of its source's layout,
// and the broadcast's operand already is the slice of the broadcast's layout
// (no conversion). A 1-D tile from a pointer broadcast into 2-D needs one.
// CHECK-LABEL: func.func @flow
// CHECK: %[[T:.*]] = tile.load {{.*}} -> tensor<16x256xf32, #[[B:tile.blocked<size_per_thread = \[1, 4\], threads_per_warp = \[1, 32\], warps_per_cta = \[4, 1\]>]]>
// CHECK: tile.reduce max %[[T]], dim = 1 : {{.*}} -> tensor<16xf32, #tile.slice<dim = 1, parent = #[[B]]>>
// CHECK-NOT: tile.convert_layout
// CHECK: tile.broadcast
// CHECK: %[[V:.*]] = tile.load {{.*}} -> tensor<16xf32, #tile.blocked
// CHECK: %[[C:.*]] = tile.convert_layout %[[V]] : {{.*}} -> tensor<16xf32, #tile.slice<dim = 1, parent = #[[B]]>>
// CHECK: tile.broadcast %[[C]], dim = 1
func.func @flow(%p: !tile.ptr<f32>, %m: i32, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %p, [%m, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<16x256xf32>
  %mx = tile.reduce max %t, dim = 1 : tensor<16x256xf32> -> tensor<16xf32>
  %b = tile.broadcast %mx, dim = 1 : tensor<16xf32> -> tensor<16x256xf32>
  %v = tile.load %p[%c0] : !tile.ptr<f32> -> tensor<16xf32>
  %vb = tile.broadcast %v, dim = 1 : tensor<16xf32> -> tensor<16x256xf32>
  %s = arith.addf %b, %vb : tensor<16x256xf32>
  tile.store %s, %X[%c0, %c0] : tensor<16x256xf32>, !tile.view<f32, 2>
  return
}

// -----

// Loop-carried tiles keep their initial value's layout; a yield in another
// layout is converted back.
// CHECK-LABEL: func.func @loop
// CHECK: scf.for {{.*}} -> (tensor<64xf32, #tile.blocked
// CHECK: tile.convert_layout
// CHECK: scf.yield
func.func @loop(%p: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %init = tile.load %p[%c0] : !tile.ptr<f32> -> tensor<64xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (tensor<64xf32>) : i32 {
    %x = tile.load %X[%i, %c0] : !tile.view<f32, 2> -> tensor<64x64xf32>
    %s = tile.reduce sum %x, dim = 1 : tensor<64x64xf32> -> tensor<64xf32>
    %y = arith.addf %s, %acc : tensor<64xf32>
    scf.yield %y : tensor<64xf32>
  }
  tile.store %r, %p[%c0] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// A column mask made from iota and a splat is made directly in the slice
// layout the broadcast wants, not converted through shared memory.
// CHECK-LABEL: func.func @remade_mask
// CHECK: tile.iota : tensor<256xi32, #tile.slice<dim = 0, parent = #[[B:.*]]>>
// CHECK: tile.splat {{.*}} -> tensor<256xi32, #tile.slice<dim = 0
// CHECK: arith.cmpi slt, {{.*}} : tensor<256xi32, #tile.slice<dim = 0
// CHECK-NOT: tile.convert_layout
// CHECK: tile.broadcast {{.*}} -> tensor<16x256xi1, #[[B]]>
// CHECK-NOT: tile.convert_layout
// CHECK: arith.select {{.*}} : tensor<16x256xi1, #[[B]]>, tensor<16x256xf32, #[[B]]>
func.func @remade_mask(%p: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %p, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %x = tile.load %X[%c0, %c0] : !tile.view<f32, 2> -> tensor<16x256xf32>
  %cols = tile.iota : tensor<256xi32>
  %limit = tile.splat %n : i32 -> tensor<256xi32>
  %inside = arith.cmpi slt, %cols, %limit : tensor<256xi32>
  %mask = tile.broadcast %inside, dim = 0 : tensor<256xi1> -> tensor<16x256xi1>
  %zero = arith.constant dense<0.0> : tensor<16x256xf32>
  %y = arith.select %mask, %x, %zero : tensor<16x256xi1>, tensor<16x256xf32>
  tile.store %y, %X[%c0, %c0] : tensor<16x256xf32>, !tile.view<f32, 2>
  return
}

// -----

// Branch results take the `then` branch's layout; while loops carry their
// initial value's layout through both regions.
// CHECK-LABEL: func.func @branches_and_while
// CHECK: scf.if {{.*}} -> (tensor<64xf32, #tile.blocked
// CHECK: scf.while (%{{.*}} = %{{.*}}) : (tensor<64xf32, #tile.blocked{{.*}}) -> tensor<64xf32, #tile.blocked
// CHECK: scf.condition({{.*}}) %{{.*}} : tensor<64xf32, #tile.blocked
// CHECK: ^bb0(%{{.*}}: tensor<64xf32, #tile.blocked
func.func @branches_and_while(%p: !tile.ptr<f32>, %c: i1, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %a = tile.load %p[%c0] : !tile.ptr<f32> -> tensor<64xf32>
  %b = scf.if %c -> (tensor<64xf32>) {
    %d = arith.addf %a, %a : tensor<64xf32>
    scf.yield %d : tensor<64xf32>
  } else {
    scf.yield %a : tensor<64xf32>
  }
  %r = scf.while (%x = %b) : (tensor<64xf32>) -> tensor<64xf32> {
    scf.condition(%c) %x : tensor<64xf32>
  } do {
  ^bb0(%y: tensor<64xf32>):
    %z = arith.mulf %y, %y : tensor<64xf32>
    scf.yield %z : tensor<64xf32>
  }
  tile.store %r, %p[%c0] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----

// A global load read once, by an elementwise op with a WGMMA accumulator
// (stream-K adding another program's partial tile), takes the accumulator's
// layout, even as the first operand: each thread loads its own elements
// rather than the tile going through shared memory to change layout.
// CHECK-LABEL: func.func @partial_into_accumulator
// CHECK: tile.load {{.*}} -> tensor<128x256xf32, #tile.wgmma<warpgroups = 2>>
// CHECK-NOT: tile.convert_layout
// CHECK: arith.addf {{.*}} : tensor<128x256xf32, #tile.wgmma<warpgroups = 2>>
func.func @partial_into_accumulator(%a: !tile.shared<128x64xbf16>, %b: !tile.shared<64x256xbf16>,
                                    %P: !tile.view<f32, 2>, %i: i32) attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %zero = arith.constant dense<0.0> : tensor<128x256xf32>
  %acc = tile.mma %a, %b, %zero : !tile.shared<128x64xbf16>, !tile.shared<64x256xbf16>, tensor<128x256xf32> -> tensor<128x256xf32>
  %p = tile.load %P[%i, %i] : !tile.view<f32, 2> -> tensor<128x256xf32>
  %sum = arith.addf %p, %acc : tensor<128x256xf32>
  tile.store %sum, %P[%i, %i] : tensor<128x256xf32>, !tile.view<f32, 2>
  return
}

// -----

// A scatter takes its offsets' layout (i32: 4 a thread); the bf16 value, a
// load read once, is loaded in it (not 8 a thread, as bf16 alone would be),
// and the mask, made of an iota and a splat, is made in it.
// CHECK-LABEL: func.func @scatter_takes_offsets_layout
// CHECK: tile.load {{.*}} -> tensor<1024xi32, #[[L:tile.blocked<size_per_thread = \[4\], threads_per_warp = \[32\], warps_per_cta = \[4\]>]]>
// CHECK: tile.load {{.*}} -> tensor<1024xbf16, #[[L]]>
// CHECK: arith.cmpi {{.*}} : tensor<1024xi32, #[[L]]>
// CHECK: tile.scatter {{.*}} mask({{.*}} : tensor<1024xi1, #[[L]]>) : tensor<1024xbf16, #[[L]]>, !tile.ptr<bf16>
func.func @scatter_takes_offsets_layout(%p: !tile.ptr<bf16>, %q: !tile.ptr<i32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %off = tile.load %q[%c0] : !tile.ptr<i32> -> tensor<1024xi32>
  %v = tile.load %p[%c0] : !tile.ptr<bf16> -> tensor<1024xbf16>
  %i = tile.iota : tensor<1024xi32>
  %nn = tile.splat %n : i32 -> tensor<1024xi32>
  %m = arith.cmpi slt, %i, %nn : tensor<1024xi32>
  tile.scatter %v, %p[%off : tensor<1024xi32>] mask(%m : tensor<1024xi1>) : tensor<1024xbf16>, !tile.ptr<bf16>
  return
}

// -----

// An atomic's value computed from other data is converted to the offsets'
// layout; the result comes in it.
// CHECK-LABEL: func.func @atomic_converts_its_value
// CHECK: %[[V:.*]] = arith.addf {{.*}} : tensor<1024xbf16, #tile.blocked<size_per_thread = [8]
// CHECK: %[[C:.*]] = tile.convert_layout %[[V]] : tensor<1024xbf16, #tile.blocked<size_per_thread = [8]{{.*}}> -> tensor<1024xbf16, #[[L:tile.blocked<size_per_thread = \[4\], threads_per_warp = \[32\], warps_per_cta = \[4\]>]]>
// CHECK: %[[O:.*]] = tile.atomic_rmw add %{{.*}}[%{{.*}} : tensor<1024xi64, #[[L]]>], %[[C]] : !tile.ptr<bf16>, tensor<1024xbf16, #[[L]]>
// CHECK: tile.store %[[O]]
func.func @atomic_converts_its_value(%p: !tile.ptr<bf16>, %q: !tile.ptr<i32>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %o32 = tile.load %q[%c0] : !tile.ptr<i32> -> tensor<1024xi32>
  %off = arith.extsi %o32 : tensor<1024xi32> to tensor<1024xi64>
  %a = tile.load %p[%c0] : !tile.ptr<bf16> -> tensor<1024xbf16>
  %v = arith.addf %a, %a : tensor<1024xbf16>
  %old = tile.atomic_rmw add %p[%off : tensor<1024xi64>], %v : !tile.ptr<bf16>, tensor<1024xbf16>
  tile.store %old, %p[%c0] : tensor<1024xbf16>, !tile.ptr<bf16>
  return
}

// -----

// A scan runs on a blocked layout: an mma accumulator (WGMMA layout) is
// converted first. A reduction to a scalar has no layout to give.
// CHECK-LABEL: func.func @scan_of_an_accumulator
// CHECK: %[[ACC:.*]] = tile.mma {{.*}} -> tensor<64x64xf32, #tile.wgmma<warpgroups = 1>>
// CHECK: %[[B:.*]] = tile.convert_layout %[[ACC]] : tensor<64x64xf32, #tile.wgmma<warpgroups = 1>> -> tensor<64x64xf32, #tile.blocked<
// CHECK: tile.scan  sum %[[B]], dim = 1 : tensor<64x64xf32, #tile.blocked<
// CHECK: tile.reduce  max %{{.*}}, dim = 0 : tensor<64x64xf32, #tile.blocked<{{.*}}>> -> f32
func.func @scan_of_an_accumulator(%a: !tile.ptr<bf16>, %c: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %A = tile.make_view %a, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %c, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %x = tile.load %A[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = tile.mma %x, %x, %z : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  %s = tile.scan sum %acc, dim = 1 : tensor<64x64xf32>
  %m = tile.reduce max %s, dim = 0 : tensor<64x64xf32> -> f32
  %b = tile.splat %m : f32 -> tensor<64x64xf32>
  %r = arith.addf %s, %b : tensor<64x64xf32>
  tile.store %r, %C[%c0, %c0] : tensor<64x64xf32>, !tile.view<f32, 2>
  return
}

// -----

// A sort's values and indices take its source's blocked layout; a sort of an
// mma accumulator reads a converted copy, as a scan does.
// CHECK-LABEL: func.func @sort_of_an_accumulator
// CHECK: %[[B:.*]] = tile.convert_layout %{{.*}} : tensor<64x64xf32, #tile.wgmma<warpgroups = 1>> -> tensor<64x64xf32, #[[L:tile.blocked<.*>]]>
// CHECK: tile.sort %[[B]], dim = 1 descending : tensor<64x64xf32, #[[L]]> -> tensor<64x64xi32, #[[L]]>
func.func @sort_of_an_accumulator(%a: !tile.ptr<bf16>, %c: !tile.ptr<f32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %A = tile.make_view %a, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %c, [%n, %n], [%n, %c1] : !tile.ptr<f32> -> !tile.view<f32, 2>
  %x = tile.load %A[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  %z = arith.constant dense<0.0> : tensor<64x64xf32>
  %acc = tile.mma %x, %x, %z : tensor<64x64xbf16>, tensor<64x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  %v, %i = tile.sort %acc, dim = 1 descending : tensor<64x64xf32> -> tensor<64x64xi32>
  %f = arith.sitofp %i : tensor<64x64xi32> to tensor<64x64xf32>
  %r = arith.addf %v, %f : tensor<64x64xf32>
  tile.store %r, %C[%c0, %c0] : tensor<64x64xf32>, !tile.view<f32, 2>
  return
}

// -----

// A 2-D tile made of a broadcast index row, broadcast again to 3-D: its source
// in the 3-D layout's slice would put the row in a slice of a slice, which no
// thread layout maps, so the 2-D tile is converted into the slice instead.
// CHECK-LABEL: func.func @index_tile_broadcast_to_3d
// CHECK: tile.iota : tensor<8xi32, #tile.slice<dim = 0, parent = #tile.blocked
// CHECK: %[[T:.*]] = tile.broadcast {{.*}} -> tensor<4x8xi32, #tile.blocked
// CHECK: tile.convert_layout %[[T]] : tensor<4x8xi32, #tile.blocked<{{.*}}>> -> tensor<4x8xi32, #tile.slice<dim = 0, parent = #tile.blocked
func.func @index_tile_broadcast_to_3d(%x: !tile.ptr<i32>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c2 = arith.constant 2 : i32
  %c4 = arith.constant 4 : i32
  %c8 = arith.constant 8 : i32
  %c32 = arith.constant 32 : i32
  %X = tile.make_view %x, [%c2, %c4, %c8], [%c32, %c8, %c1] : !tile.ptr<i32> -> !tile.view<i32, 3>
  %t = tile.load %X[%c0, %c0, %c0] : !tile.view<i32, 3> -> tensor<2x4x8xi32>
  %i = tile.iota : tensor<8xi32>
  %row = tile.broadcast %i, dim = 0 : tensor<8xi32> -> tensor<4x8xi32>
  %b = tile.broadcast %row, dim = 0 : tensor<4x8xi32> -> tensor<2x4x8xi32>
  %s = arith.addi %t, %b : tensor<2x4x8xi32>
  tile.store %s, %X[%c0, %c0, %c0] : tensor<2x4x8xi32>, !tile.view<i32, 3>
  return
}
