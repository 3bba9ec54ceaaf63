// RUN: tile-opt %s | tile-opt | FileCheck %s
// Round trip of every op in the dialect's first slice.

// CHECK-LABEL: func.func @grid
func.func @grid() -> (i32, i32) {
  // CHECK: tile.program_id 0
  %pid = tile.program_id 0
  // CHECK: tile.num_programs 2
  %n = tile.num_programs 2
  return %pid, %n : i32, i32
}

// CHECK-LABEL: func.func @load_store
func.func @load_store(%p: !tile.ptr<f32>, %q: !tile.ptr<bf16>, %off: i32, %n: i32) {
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

// CHECK-LABEL: func.func @laid_out
// CHECK-SAME: tensor<512xf16, #tile.blocked<size_per_thread = [8], threads_per_warp = [32], warps_per_cta = [2]>>
func.func @laid_out(%p: !tile.ptr<f16>, %off: i32)
    -> tensor<512xf16, #tile.blocked<size_per_thread = [8], threads_per_warp = [32], warps_per_cta = [2]>> {
  %a = tile.load %p[%off] : !tile.ptr<f16> -> tensor<512xf16, #tile.blocked<size_per_thread = [8], threads_per_warp = [32], warps_per_cta = [2]>>
  return %a : tensor<512xf16, #tile.blocked<size_per_thread = [8], threads_per_warp = [32], warps_per_cta = [2]>>
}
