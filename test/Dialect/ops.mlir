// RUN: tile-opt %s | tile-opt | FileCheck %s
// Round trip of every op and type of the dialect.

// CHECK-LABEL: func.func @grid
func.func @grid() -> (i32, i32) {
  // CHECK: tile.program_id 0
  %pid = tile.program_id 0
  // CHECK: tile.num_programs 2
  %n = tile.num_programs 2
  return %pid, %n : i32, i32
}

// CHECK-LABEL: func.func @promise
func.func @promise(%x: i32, %y: i64) -> (i32, i64) {
  // CHECK: tile.assume_multiple %{{.*}}, 16 : i32
  %a = tile.assume_multiple %x, 16 : i32
  // CHECK: tile.assume_multiple %{{.*}}, 128 : i64
  %b = tile.assume_multiple %y, 128 : i64
  return %a, %b : i32, i64
}

// CHECK-LABEL: func.func @moved_pointer
func.func @moved_pointer(%p: !tile.ptr<bf16>, %o: i64, %q: i32) -> (!tile.ptr<bf16>, !tile.ptr<bf16>) {
  // CHECK: tile.addptr %{{.*}}, %{{.*}} : !tile.ptr<bf16>, i64
  %a = tile.addptr %p, %o : !tile.ptr<bf16>, i64
  // CHECK: tile.addptr %{{.*}}, %{{.*}} : !tile.ptr<bf16>, i32
  %b = tile.addptr %a, %q : !tile.ptr<bf16>, i32
  return %a, %b : !tile.ptr<bf16>, !tile.ptr<bf16>
}

// CHECK-LABEL: func.func @pointer_access
func.func @pointer_access(%p: !tile.ptr<f32>, %q: !tile.ptr<bf16>, %off: i32, %n: i32) {
  // CHECK: tile.load %{{.*}}[%{{.*}}] bound %{{.*}} : !tile.ptr<f32> -> tensor<1024xf32>
  %a = tile.load %p[%off] bound %n : !tile.ptr<f32> -> tensor<1024xf32>
  // CHECK: tile.load %{{.*}}[%{{.*}}] : !tile.ptr<f32> -> tensor<64xf32>
  %b = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32>
  // CHECK: tile.store %{{.*}}, %{{.*}}[%{{.*}}] bound %{{.*}} : tensor<1024xf32>, !tile.ptr<f32>
  tile.store %a, %p[%off] bound %n : tensor<1024xf32>, !tile.ptr<f32>
  // CHECK: tile.store %{{.*}}, %{{.*}}[%{{.*}}] : tensor<64xf32>, !tile.ptr<f32>
  tile.store %b, %p[%off] : tensor<64xf32>, !tile.ptr<f32>
  %c = tile.load %q[%off] bound %n : !tile.ptr<bf16> -> tensor<256xbf16>
  tile.store %c, %q[%off] bound %n : tensor<256xbf16>, !tile.ptr<bf16>
  return
}

// CHECK-LABEL: func.func @indexed_access
func.func @indexed_access(%p: !tile.ptr<f32>, %q: !tile.ptr<i64>, %h: !tile.ptr<bf16>,
                          %off: tensor<128xi32>, %wide: tensor<8x16xi64>, %m: tensor<128xi1>,
                          %v: tensor<128xf32>, %w: tensor<8x16xi64>, %b: tensor<128xbf16>, %x: f32) {
  // CHECK: tile.gather %{{.*}}[%{{.*}} : tensor<128xi32>] : !tile.ptr<f32> -> tensor<128xf32>
  %a = tile.gather %p[%off : tensor<128xi32>] : !tile.ptr<f32> -> tensor<128xf32>
  // CHECK: tile.gather %{{.*}}[%{{.*}} : tensor<128xi32>] mask(%{{.*}} : tensor<128xi1>) other(%{{.*}} : f32) : !tile.ptr<f32> -> tensor<128xf32>
  %c = tile.gather %p[%off : tensor<128xi32>] mask(%m : tensor<128xi1>) other(%x : f32) : !tile.ptr<f32> -> tensor<128xf32>
  // CHECK: tile.gather %{{.*}}[%{{.*}} : tensor<128xi32>] other(%{{.*}} : f32) : !tile.ptr<f32> -> tensor<128xf32>
  %d = tile.gather %p[%off : tensor<128xi32>] other(%x : f32) : !tile.ptr<f32> -> tensor<128xf32>
  // CHECK: tile.gather %{{.*}}[%{{.*}} : tensor<8x16xi64>] : !tile.ptr<i64> -> tensor<8x16xi64>
  %e = tile.gather %q[%wide : tensor<8x16xi64>] : !tile.ptr<i64> -> tensor<8x16xi64>
  // CHECK: tile.scatter %{{.*}}, %{{.*}}[%{{.*}} : tensor<128xi32>] mask(%{{.*}} : tensor<128xi1>) : tensor<128xf32>, !tile.ptr<f32>
  tile.scatter %v, %p[%off : tensor<128xi32>] mask(%m : tensor<128xi1>) : tensor<128xf32>, !tile.ptr<f32>
  // CHECK: tile.scatter %{{.*}}, %{{.*}}[%{{.*}} : tensor<8x16xi64>] : tensor<8x16xi64>, !tile.ptr<i64>
  tile.scatter %w, %q[%wide : tensor<8x16xi64>] : tensor<8x16xi64>, !tile.ptr<i64>
  // Defaults (acq_rel, gpu) are not printed.
  // CHECK: tile.atomic_rmw add %{{.*}}[%{{.*}} : tensor<128xi32>], %{{.*}} : !tile.ptr<f32>, tensor<128xf32>
  %o1 = tile.atomic_rmw add %p[%off : tensor<128xi32>], %v sem = acq_rel scope = gpu : !tile.ptr<f32>, tensor<128xf32>
  // CHECK: tile.atomic_rmw max %{{.*}}[%{{.*}} : tensor<8x16xi64>], %{{.*}} sem = relaxed scope = cta : !tile.ptr<i64>, tensor<8x16xi64>
  %o2 = tile.atomic_rmw max %q[%wide : tensor<8x16xi64>], %w sem = relaxed scope = cta : !tile.ptr<i64>, tensor<8x16xi64>
  // CHECK: tile.atomic_rmw add %{{.*}}[%{{.*}} : tensor<128xi32>], %{{.*}} mask(%{{.*}} : tensor<128xi1>) scope = sys : !tile.ptr<bf16>, tensor<128xbf16>
  %o3 = tile.atomic_rmw add %h[%off : tensor<128xi32>], %b mask(%m : tensor<128xi1>) scope = sys : !tile.ptr<bf16>, tensor<128xbf16>
  // CHECK: tile.atomic_rmw xchg %{{.*}}[%{{.*}} : tensor<128xi32>], %{{.*}} sem = release : !tile.ptr<f32>, tensor<128xf32>
  %o4 = tile.atomic_rmw xchg %p[%off : tensor<128xi32>], %v sem = release : !tile.ptr<f32>, tensor<128xf32>
  // CHECK: tile.atomic_rmw min %{{.*}}[%{{.*}} : tensor<128xi32>], %{{.*}} sem = acquire : !tile.ptr<f32>, tensor<128xf32>
  %o5 = tile.atomic_rmw min %p[%off : tensor<128xi32>], %v sem = acquire : !tile.ptr<f32>, tensor<128xf32>
  // CHECK: tile.atomic_cas %{{.*}}[%{{.*}} : tensor<8x16xi64>], %{{.*}}, %{{.*}} : !tile.ptr<i64>, tensor<8x16xi64>
  %o6 = tile.atomic_cas %q[%wide : tensor<8x16xi64>], %e, %w : !tile.ptr<i64>, tensor<8x16xi64>
  // CHECK: tile.atomic_cas %{{.*}}[%{{.*}} : tensor<128xi32>], %{{.*}}, %{{.*}} mask(%{{.*}} : tensor<128xi1>) sem = relaxed scope = cta : !tile.ptr<f32>, tensor<128xf32>
  %o7 = tile.atomic_cas %p[%off : tensor<128xi32>], %a, %v mask(%m : tensor<128xi1>) sem = relaxed scope = cta : !tile.ptr<f32>, tensor<128xf32>
  return
}

// CHECK-LABEL: func.func @view_access
func.func @view_access(%p: !tile.ptr<bf16>, %m: i32, %k: i32, %ld: i32, %i: i32, %j: i32) {
  %c1 = arith.constant 1 : i32
  // CHECK: tile.make_view %{{.*}}, [%{{.*}}, %{{.*}}], [%{{.*}}, %{{.*}}] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %A = tile.make_view %p, [%m, %k], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  // CHECK: tile.load %{{.*}}[%{{.*}}, %{{.*}}] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
  %a = tile.load %A[%i, %j] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
  // CHECK: tile.store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  tile.store %a, %A[%i, %j] : tensor<128x64xbf16>, !tile.view<bf16, 2>
  return
}

// CHECK-LABEL: func.func @fill_and_index
func.func @fill_and_index(%x: f32) -> (tensor<64x64xf32>, tensor<128xi32>) {
  // CHECK: tile.splat %{{.*}} : f32 -> tensor<64x64xf32>
  %s = tile.splat %x : f32 -> tensor<64x64xf32>
  // CHECK: tile.iota : tensor<128xi32>
  %r = tile.iota : tensor<128xi32>
  return %s, %r : tensor<64x64xf32>, tensor<128xi32>
}

// CHECK-LABEL: func.func @mma
func.func @mma(%a: tensor<64x16xbf16>, %b: tensor<16x128xbf16>, %q: tensor<64x64xf16>,
               %k: tensor<128x64xf16>, %acc: tensor<64x128xf32>,
               %sa: !tile.shared<64x64xf8E4M3FN>, %sb: !tile.shared<128x64xf8E5M2, #tile.swizzle<64>>) {
  // CHECK: tile.mma %{{.*}}, %{{.*}}, %{{.*}} : tensor<64x16xbf16>, tensor<16x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
  %c = tile.mma %a, %b, %acc : tensor<64x16xbf16>, tensor<16x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
  // CHECK: tile.mma %{{.*}}, %{{.*}}, %{{.*}} {transpose_b} : tensor<64x64xf16>, tensor<128x64xf16>
  %s = tile.mma %q, %k, %c {transpose_b} : tensor<64x64xf16>, tensor<128x64xf16>, tensor<64x128xf32> -> tensor<64x128xf32>
  // CHECK: tile.mma %{{.*}}, %{{.*}}, %{{.*}} {transpose_b} : !tile.shared<64x64xf8E4M3FN>, !tile.shared<128x64xf8E5M2, #tile.swizzle<64>>
  %f = tile.mma %sa, %sb, %s {transpose_b} : !tile.shared<64x64xf8E4M3FN>, !tile.shared<128x64xf8E5M2, #tile.swizzle<64>>, tensor<64x128xf32> -> tensor<64x128xf32>
  // CHECK: tile.mma %{{.*}}, %{{.*}}, %{{.*}} {transpose_a} : tensor<16x64xbf16>
  %at = arith.constant dense<1.0> : tensor<16x64xbf16>
  %g = tile.mma %at, %b, %f {transpose_a} : tensor<16x64xbf16>, tensor<16x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
  return
}

// CHECK-LABEL: func.func @reductions_to_scalars_and_scans
func.func @reductions_to_scalars_and_scans(%s: tensor<64x128xf32>, %v: tensor<128xi32>, %i: i32) {
  // CHECK: tile.reduce sum %{{.*}}, dim = 0 : tensor<128xi32> -> i32
  %t = tile.reduce sum %v, dim = 0 : tensor<128xi32> -> i32
  // CHECK: tile.reduce max %{{.*}}, dim = 0 : tensor<64x128xf32> -> f32
  %m = tile.reduce max %s, dim = 0 : tensor<64x128xf32> -> f32
  // CHECK: tile.reduce argmax %{{.*}}, dim = 1 : tensor<64x128xf32> -> tensor<64xi32>
  %a = tile.reduce argmax %s, dim = 1 : tensor<64x128xf32> -> tensor<64xi32>
  // CHECK: tile.reduce argmin %{{.*}}, dim = 0 : tensor<64x128xf32> -> i32
  %b = tile.reduce argmin %s, dim = 0 : tensor<64x128xf32> -> i32
  // CHECK: tile.scan sum %{{.*}}, dim = 1 : tensor<64x128xf32>
  %c = tile.scan sum %s, dim = 1 : tensor<64x128xf32>
  // CHECK: tile.scan prod %{{.*}}, dim = 0 : tensor<128xi32>
  %p = tile.scan prod %v, dim = 0 : tensor<128xi32>
  // CHECK: tile.sort %{{.*}}, dim = 1 descending : tensor<64x128xf32> -> tensor<64x128xi32>
  %sv, %si = tile.sort %s, dim = 1 descending : tensor<64x128xf32> -> tensor<64x128xi32>
  // CHECK: tile.sort %{{.*}}, dim = 0 : tensor<128xi32> -> tensor<128xi32>
  %tv, %ti = tile.sort %v, dim = 0 : tensor<128xi32> -> tensor<128xi32>
  // CHECK: tile.take %{{.*}}[%{{.*}}], dim = 1 : tensor<64x128xf32>, tensor<64x16xi32> -> tensor<64x16xf32>
  %pick = tile.reduce argmax %s, dim = 1 : tensor<64x128xf32> -> tensor<64xi32>
  %idx = tile.broadcast %pick, dim = 1 : tensor<64xi32> -> tensor<64x16xi32>
  %taken = tile.take %s[%idx], dim = 1 : tensor<64x128xf32>, tensor<64x16xi32> -> tensor<64x16xf32>
  // CHECK: tile.print "x", %{{.*}}, %{{.*}} : i32, tensor<64x128xf32>
  tile.print "x", %i, %c : i32, tensor<64x128xf32>
  // CHECK: tile.print "here"
  tile.print "here"
  %pos = arith.cmpi sgt, %p, %v : tensor<128xi32>
  // CHECK: tile.assert %{{.*}}, "grows" : tensor<128xi1>
  tile.assert %pos, "grows" : tensor<128xi1>
  return
}

// CHECK-LABEL: func.func @reduce_broadcast
func.func @reduce_broadcast(%s: tensor<64x128xf32>) -> tensor<64x128xf32> {
  // CHECK: tile.reduce max %{{.*}}, dim = 1 : tensor<64x128xf32> -> tensor<64xf32>
  %m = tile.reduce max %s, dim = 1 : tensor<64x128xf32> -> tensor<64xf32>
  // CHECK: tile.reduce sum %{{.*}}, dim = 0 : tensor<64x128xf32> -> tensor<128xf32>
  %t = tile.reduce sum %s, dim = 0 : tensor<64x128xf32> -> tensor<128xf32>
  // CHECK: tile.reduce min
  %u = tile.reduce min %s, dim = 0 : tensor<64x128xf32> -> tensor<128xf32>
  // CHECK: tile.broadcast %{{.*}}, dim = 1 : tensor<64xf32> -> tensor<64x128xf32>
  %b = tile.broadcast %m, dim = 1 : tensor<64xf32> -> tensor<64x128xf32>
  %p = arith.subf %s, %b : tensor<64x128xf32>
  %e = math.exp2 %p : tensor<64x128xf32>
  return %e : tensor<64x128xf32>
}

// CHECK-LABEL: func.func @layouts
// CHECK-SAME: #tile.slice<dim = 1, parent = #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>
func.func @layouts(%a: tensor<64x128xbf16>,
                   %b: tensor<64x128xf32, #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>)
    -> tensor<64xf32, #tile.slice<dim = 1, parent = #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>> {
  // CHECK: tile.transpose %{{.*}} : tensor<64x128xbf16> -> tensor<128x64xbf16>
  %t = tile.transpose %a : tensor<64x128xbf16> -> tensor<128x64xbf16>
  // CHECK: tile.convert_layout %{{.*}} : tensor<64x128xf32, #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>> -> tensor<64x128xf32, #tile.blocked<size_per_thread = [4, 1], threads_per_warp = [32, 1], warps_per_cta = [1, 4]>>
  %c = tile.convert_layout %b : tensor<64x128xf32, #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>> -> tensor<64x128xf32, #tile.blocked<size_per_thread = [4, 1], threads_per_warp = [32, 1], warps_per_cta = [1, 4]>>
  %m = tile.reduce max %b, dim = 1 : tensor<64x128xf32, #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>> -> tensor<64xf32, #tile.slice<dim = 1, parent = #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>>
  // CHECK: tile.barrier
  tile.barrier
  return %m : tensor<64xf32, #tile.slice<dim = 1, parent = #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>>
}

// CHECK-LABEL: func.func @shared
func.func @shared(%A: !tile.view<bf16, 2>, %i: i32, %k: i32, %phase: i1) -> tensor<128x64xbf16> {
  // CHECK: tile.alloc_shared : !tile.shared<128x64xbf16>
  %sa = tile.alloc_shared : !tile.shared<128x64xbf16>
  // CHECK: tile.alloc_mbarrier : !tile.mbarrier
  %bar = tile.alloc_mbarrier : !tile.mbarrier
  // CHECK: tile.async_load %{{.*}}[%{{.*}}, %{{.*}}], %{{.*}}, %{{.*}} : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>, !tile.mbarrier
  tile.async_load %A[%i, %k], %sa, %bar : !tile.view<bf16, 2>, !tile.shared<128x64xbf16>, !tile.mbarrier
  // CHECK: tile.wait %{{.*}}, %{{.*}} : !tile.mbarrier
  tile.wait %bar, %phase : !tile.mbarrier
  // CHECK: tile.load_shared %{{.*}} : !tile.shared<128x64xbf16> -> tensor<128x64xbf16>
  %a = tile.load_shared %sa : !tile.shared<128x64xbf16> -> tensor<128x64xbf16>
  // CHECK: tile.store_shared %{{.*}}, %{{.*}} : tensor<128x64xbf16>, !tile.shared<128x64xbf16, #tile.swizzle<128>>
  %sw = tile.alloc_shared : !tile.shared<128x64xbf16, #tile.swizzle<128>>
  tile.store_shared %a, %sw : tensor<128x64xbf16>, !tile.shared<128x64xbf16, #tile.swizzle<128>>
  // CHECK: tile.async_store %{{.*}}, %{{.*}}[%{{.*}}, %{{.*}}] : !tile.shared<128x64xbf16, #tile.swizzle<128>>, !tile.view<bf16, 2>
  tile.async_store %sw, %A[%i, %k] : !tile.shared<128x64xbf16, #tile.swizzle<128>>, !tile.view<bf16, 2>
  // CHECK: tile.async_store_wait %{{.*}}, %{{.*}} : !tile.shared<128x64xbf16, #tile.swizzle<128>>, !tile.shared<128x64xbf16>
  tile.async_store_wait %sw, %sa : !tile.shared<128x64xbf16, #tile.swizzle<128>>, !tile.shared<128x64xbf16>
  return %a : tensor<128x64xbf16>
}

// CHECK-LABEL: func.func @stages
func.func @stages(%i: i32, %acc: tensor<128x128xf32, #tile.wgmma<warpgroups = 2>>) -> tensor<128x128xf32, #tile.wgmma<warpgroups = 2>> {
  // CHECK: tile.alloc_shared : !tile.shared<3x128x64xbf16, #tile.swizzle<128>>
  %buf = tile.alloc_shared : !tile.shared<3x128x64xbf16, #tile.swizzle<128>>
  // CHECK: tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<3>
  %bars = tile.alloc_mbarrier {arrivals = 2 : i32} : !tile.mbarrier<3>
  // CHECK: tile.stage %{{.*}}[%{{.*}}] : !tile.shared<3x128x64xbf16, #tile.swizzle<128>> -> !tile.shared<128x64xbf16, #tile.swizzle<128>>
  %s = tile.stage %buf[%i] : !tile.shared<3x128x64xbf16, #tile.swizzle<128>> -> !tile.shared<128x64xbf16, #tile.swizzle<128>>
  // CHECK: tile.stage %{{.*}}[%{{.*}}] : !tile.mbarrier<3> -> !tile.mbarrier
  %b = tile.stage %bars[%i] : !tile.mbarrier<3> -> !tile.mbarrier
  // CHECK: tile.mma {{.*}} {pending = 1 : i32, transpose_b}
  %c = tile.mma %s, %s, %acc {transpose_b, pending = 1 : i32} : !tile.shared<128x64xbf16, #tile.swizzle<128>>, !tile.shared<128x64xbf16, #tile.swizzle<128>>, tensor<128x128xf32, #tile.wgmma<warpgroups = 2>> -> tensor<128x128xf32, #tile.wgmma<warpgroups = 2>>
  // CHECK: tile.mma_wait %{{.*}} : tensor<128x128xf32, #tile.wgmma<warpgroups = 2>>
  %d = tile.mma_wait %c : tensor<128x128xf32, #tile.wgmma<warpgroups = 2>>
  return %d : tensor<128x128xf32, #tile.wgmma<warpgroups = 2>>
}

// CHECK-LABEL: func.func @warp_specialized
// CHECK: tile.warp_specialize producer {
// CHECK: tile.wait
// CHECK: } consumer {
// CHECK: tile.arrive %{{.*}} : !tile.mbarrier
func.func @warp_specialized(%bar: !tile.mbarrier, %phase: i1) attributes {tile.kernel} {
  tile.warp_specialize producer {
    tile.wait %bar, %phase : !tile.mbarrier
  } consumer {
    tile.arrive %bar : !tile.mbarrier
  }
  return
}

// CHECK-LABEL: func.func @signals
func.func @signals(%flags: !tile.ptr<i32>, %i: i32, %v: i32) {
  // CHECK: tile.notify %{{.*}}[%{{.*}}], %{{.*}} : !tile.ptr<i32>
  tile.notify %flags[%i], %v : !tile.ptr<i32>
  // CHECK: tile.wait_flag %{{.*}}[%{{.*}}], %{{.*}} : !tile.ptr<i32>
  tile.wait_flag %flags[%i], %v : !tile.ptr<i32>
  // CHECK: tile.notify %{{.*}}[%{{.*}}], %{{.*}} scope = sys add : !tile.ptr<i32>
  tile.notify %flags[%i], %v scope = sys add : !tile.ptr<i32>
  // CHECK: tile.notify %{{.*}}[%{{.*}}], %{{.*}} : !tile.ptr<i32>
  tile.notify %flags[%i], %v scope = gpu : !tile.ptr<i32>
  // CHECK: tile.wait_flag %{{.*}}[%{{.*}}], %{{.*}} scope = sys : !tile.ptr<i32>
  tile.wait_flag %flags[%i], %v scope = sys : !tile.ptr<i32>
  return
}
