// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu -canonicalize | FileCheck %s
// RUN: tile-opt %s -split-input-file -tile-to-llvm -gpu-module-to-binary=format=isa | FileCheck %s --check-prefix=PTX

// Flags across GPUs: tile.notify at sys scope releases with st.release.sys
// (red.release.sys...add with `add`), tile.wait_flag at sys scope acquires with
// ld.acquire.sys; the barrier, the bulk-store wait and the async-proxy fence
// are as at gpu scope (convert-tile-to-gpu-signals.mlir).
// CHECK-LABEL: gpu.func @across_gpus
// CHECK: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects {{.*}}fence.proxy.async.global; @first st.release.sys.global.b32 [$0], $1;
// CHECK: gpu.barrier
// CHECK: llvm.inline_asm has_side_effects {{.*}}fence.proxy.async.global; @first red.release.sys.global.add.u32 [$0], $1;
// CHECK: "ld.acquire.sys.global.b32 $0, [$1];", "=r,l"
// PTX-LABEL: .entry across_gpus
// PTX-SAME: @first st.release.sys.global.b32
// PTX-SAME: @first red.release.sys.global.add.u32
// PTX-SAME: ld.acquire.sys.global.b32
func.func @across_gpus(%flags: !tile.ptr<i32>, %peer_flags: !tile.ptr<i32>, %i: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %one = arith.constant 1 : i32
  tile.notify %peer_flags[%i], %one scope = sys : !tile.ptr<i32>
  tile.notify %peer_flags[%i], %one scope = sys add : !tile.ptr<i32>
  tile.wait_flag %flags[%i], %one scope = sys : !tile.ptr<i32>
  return
}

// -----
// A remote view of a symmetric array (tile.remote(X, peer) with a runtime
// peer) is a select among the ranks' base pointers, a selp in PTX; the gather,
// scatter and atomic through it are plain global accesses of that address
// (the atomic, its result unused, a `red`).
// PTX-LABEL: .entry remote_access
// PTX: selp.b64
// PTX: ld.global
// PTX: st.global
// PTX: red.release.sys.global.add.f32
func.func @remote_access(%x0: !tile.ptr<f32>, %x1: !tile.ptr<f32>, %peer: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %one = arith.constant 1 : i32
  %is1 = arith.cmpi eq, %peer, %one : i32
  %x = arith.select %is1, %x1, %x0 : !tile.ptr<f32>
  %off = tile.iota : tensor<128xi32>
  %v = tile.gather %x[%off : tensor<128xi32>] : !tile.ptr<f32> -> tensor<128xf32>
  %w = arith.addf %v, %v : tensor<128xf32>
  tile.scatter %w, %x[%off : tensor<128xi32>] : tensor<128xf32>, !tile.ptr<f32>
  %o = tile.atomic_rmw add %x[%off : tensor<128xi32>], %v sem = release scope = sys : !tile.ptr<f32>, tensor<128xf32>
  return
}
