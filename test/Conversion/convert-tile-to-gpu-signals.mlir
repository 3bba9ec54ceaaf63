// RUN: tile-opt %s -split-input-file -convert-tile-to-gpu -canonicalize | FileCheck %s
// RUN: tile-opt %s -split-input-file -tile-to-llvm -gpu-module-to-binary=format=isa | FileCheck %s --check-prefix=PTX
// RUN: tile-opt %s -split-input-file -convert-tile-to-gpu=debug=true -canonicalize | FileCheck %s --check-prefix=DEBUG

// tile.notify: a CTA barrier (every thread's earlier writes done, thread 0's
// TMA stores issued), then the first warp waits for the bulk stores to land,
// fences the async proxy, and its lane 0 stores the flag with release
// semantics. tile.wait_flag: the first warp spins on an acquire load (one word,
// so the warp leaves the loop together), fences the async proxy, and a
// barrier holds the other warps until then. A wait that lasts 10 s (of the
// global timer) stops the kernel: with a trap, or with debug through
// __assertfail, which names the wait's line.
// DEBUG: llvm.func @__assertfail(!llvm.ptr, !llvm.ptr, i32, !llvm.ptr, i64)
// DEBUG: llvm.mlir.global internal constant @__tile_fail_str0("tile.wait: no program set the flag in 10 s
// DEBUG: llvm.mlir.global internal constant @__tile_fail_str1("{{.*}}convert-tile-to-gpu-signals.mlir\00")
// DEBUG-LABEL: gpu.func @hand_over
// DEBUG: llvm.call @__assertfail(%{{.*}}, %{{.*}}, %c{{[0-9]+}}_i32, %{{.*}}, %c1_i64)
// CHECK-NOT: __assertfail
// CHECK-LABEL: gpu.func @hand_over
// CHECK: gpu.barrier
// CHECK: arith.cmpi ult, %{{.*}}, %c32_i64
// CHECK: scf.if
// CHECK: llvm.getelementptr %{{.*}}[%{{.*}}] : (!llvm.ptr<1>, i64) -> !llvm.ptr<1>, i32
// CHECK: llvm.inline_asm has_side_effects {{.*}}cp.async.bulk.wait_group 0; fence.proxy.async.global; @first st.release.gpu.global.b32 [$0], $1;
// CHECK-NOT: gpu.barrier
// CHECK: scf.if
// CHECK: "mov.u64 $0, %globaltimer;"
// CHECK: scf.while
// CHECK: llvm.inline_asm has_side_effects {{.*}}"ld.acquire.gpu.global.b32 $0, [$1];", "=r,l"
// CHECK: arith.cmpi ne
// CHECK: arith.cmpi sgt, {{.*}}, %c10000000000_i64
// CHECK: "trap;"
// CHECK: scf.condition
// CHECK: llvm.inline_asm has_side_effects {{.*}}"fence.proxy.async.global;"
// CHECK: gpu.barrier
// PTX-LABEL: .entry hand_over
// PTX-SAME: bar.sync \090;
// PTX-SAME: @first st.release.gpu.global.b32
// PTX-SAME: ld.acquire.gpu.global.b32
// PTX-SAME: bar.sync \090;
func.func @hand_over(%flags: !tile.ptr<i32>, %next: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %pid = tile.program_id 0
  %one = arith.constant 1 : i32
  tile.notify %flags[%pid], %one : !tile.ptr<i32>
  tile.wait_flag %flags[%next], %one : !tile.ptr<i32>
  return
}

// -----
// In a warp-specialized kernel the consumers' barriers around the wait are
// named barrier 1 over the consumer threads (the producer never waits on a flag).
// PTX-LABEL: .entry specialized
// PTX-SAME: ld.acquire.gpu.global.b32
// PTX-SAME: bar.sync 1, 256;
func.func @specialized(%flags: !tile.ptr<i32>, %bar: !tile.mbarrier, %phase: i1) attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %one = arith.constant 1 : i32
  %zero = arith.constant 0 : i32
  tile.warp_specialize producer {
    tile.wait %bar, %phase : !tile.mbarrier
  } consumer {
    tile.wait_flag %flags[%zero], %one : !tile.ptr<i32>
  }
  return
}
