// RUN: tile-opt %s -split-input-file -tile-pipeline=stages=4 -tile-tma-store -tile-select-swizzle -tile-synthesize-tma -tile-assign-layouts -convert-tile-to-gpu -canonicalize | FileCheck %s
// RUN: tile-opt %s -split-input-file -tile-to-llvm=stages=4 -gpu-module-to-binary=format=isa | FileCheck %s --check-prefix=PTX

// The GEMM epilogue at 128x256x64, 8 warps, 4 stages. Shared memory: the 4
// stages of A (16 KiB) and B (32 KiB) and 4 barriers, 196640 bytes; the
// epilogue's 64 KiB tile reuses the stages' bytes (at offset 0), the
// barriers keep theirs.
// CHECK: module attributes {gpu.container_module, tile.block_threads = 256 : i64, tile.shared_bytes = 196640 : i64
// After the accumulator's last wait: a CTA barrier (every warpgroup is done
// with the stages), each warp's registers into the 128B-swizzled tile with
// stmatrix (8x8 matrices of 16-bit elements, four a stmatrix.x4: 16 a thread
// for its 16 x 256 share), its fence for the async proxy, a CTA barrier, then thread
// 0 stores the four 128x64 boxes (16 KiB apart in shared memory, 64 columns
// apart in C) and commits them; before returning, it waits until they have
// been read.
// CHECK: wgmma.wait_group.sync.aligned 0;
// CHECK: gpu.barrier
// CHECK-NOT: llvm.store
// CHECK-COUNT-16: stmatrix.sync.aligned.m8n8.x4.shared.b16 [$0], {$1, $2, $3, $4};
// CHECK-NOT: stmatrix
// CHECK-NOT: llvm.store
// CHECK: fence.proxy.async.shared::cta;
// CHECK-NEXT: gpu.barrier
// CHECK: scf.if
// CHECK: llvm.inline_asm has_side_effects "cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [$0, {$1, $2}], [$3];", "l,r,r,r" %[[DESC:[^,]+]], %[[COL:[^,]+]], %[[ROW:[^,]+]], %{{[^,]+}} : (i64, i32, i32, i32) -> ()
// CHECK: llvm.getelementptr %{{.*}}[16384]
// CHECK: %[[COL1:.*]] = arith.addi %[[COL]], %c64_i32
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group {{.*}} %[[DESC]], %[[COL1]], %[[ROW]]
// CHECK: %[[COL2:.*]] = arith.addi %[[COL]], %c128_i32
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group {{.*}} %[[DESC]], %[[COL2]], %[[ROW]]
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// CHECK-NOT: cp.async.bulk.tensor.2d.global
// CHECK: cp.async.bulk.commit_group;
// CHECK: scf.if
// CHECK-NEXT: cp.async.bulk.wait_group.read 0;
// CHECK: gpu.return
// In the PTX, no st.global is left: four bulk tensor stores from C's
// descriptor, one commit, one wait.
// PTX: .visible .entry gemm_epilogue(
// PTX-SAME: .param .align 64 .b8 gemm_epilogue_param_11[128]
// PTX-NOT: st.global
// PTX: fence.proxy.async.shared::cta;
// PTX-SAME: bar.sync
// PTX-COUNT-4: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group [%rd{{[0-9]+}}, {%r{{[0-9]+}}, %r{{[0-9]+}}}], [%r{{[0-9]+}}];
// PTX-NOT: cp.async.bulk.tensor.2d.global
// PTX-SAME: cp.async.bulk.commit_group;
// PTX-SAME: cp.async.bulk.wait_group.read 0;
// PTX-SAME: ret;
// PTX-NOT: st.global
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
  tile.store %c, %C[%i, %j] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// A copy of a 64x32 bf16 tile (64-byte rows: 64B swizzle), from the blocked
// layout of a load (16-byte runs): chunk c of row r goes to
// c ^ ((r / 2) % 4), rows 64 bytes apart; one box, one TMA store.
// CHECK-LABEL: gpu.func @copy_64b
// CHECK: gpu.barrier
// CHECK: %[[CHUNK:.*]] = arith.divui %{{.*}}, %c16_i64 : i64
// CHECK-NEXT: %[[PAIR:.*]] = arith.divui %[[ROW:.*]], %c2_i64 : i64
// CHECK-NEXT: %[[PHASE:.*]] = arith.remui %[[PAIR]], %c4_i64 : i64
// CHECK-NEXT: arith.xori %[[CHUNK]], %[[PHASE]] : i64
// CHECK-NEXT: arith.muli %[[ROW]], %c64_i64 : i64
// CHECK: llvm.store {{.*}} {alignment = 16 : i64} : vector<8xbf16>, !llvm.ptr<3>
// CHECK: gpu.barrier
// CHECK-COUNT-1: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// CHECK-NOT: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// CHECK: cp.async.bulk.commit_group;
// PTX-LABEL: .visible .entry copy_64b(
// PTX-NOT: st.global
// PTX-SAME: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// PTX-NOT: st.global
func.func @copy_64b(%px: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %py: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                    %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %px, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %Y = tile.make_view %py, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x32xbf16>
  tile.store %t, %Y[%c0, %c0] : tensor<64x32xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// 16-byte rows (64x8 bf16): no swizzle, rows 16 bytes apart (4 bf16 a
// thread here).
// CHECK-LABEL: gpu.func @copy_unswizzled
// CHECK: gpu.barrier
// CHECK-NOT: arith.xori
// CHECK: llvm.store {{.*}} {alignment = 8 : i64} : vector<4xbf16>, !llvm.ptr<3>
// CHECK-NOT: arith.xori
// CHECK: fence.proxy.async.shared::cta
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
func.func @copy_unswizzled(%px: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %py: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                           %n: i32 {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %X = tile.make_view %px, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %Y = tile.make_view %py, [%n, %n], [%n, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %t = tile.load %X[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x8xbf16>
  tile.store %t, %Y[%c0, %c0] : tensor<64x8xbf16>, !tile.view<bf16, 2>
  return
}

// -----

// A persistent GEMM at 128x256x64, 4 stages: the stages stay live across
// tiles, so the 64 KiB result tile does not fit beside them; it goes in four
// windows of 64 columns through two 16 KiB tiles in turn (192 KiB of stages +
// 32 KiB + barriers). A window's registers are those of its 8-column groups:
// 4 stmatrix.x4 a thread each, as many as the whole tile's 16. Thread 0
// waits until one store is left reading before a tile takes its third and
// fourth windows.
// CHECK-LABEL: module attributes {gpu.container_module, tile.block_threads = 256 : i64, tile.shared_bytes = 229408 : i64
// CHECK: gpu.func @persistent_epilogue
// CHECK: scf.for
// CHECK: cp.async.bulk.wait_group.read 0;
// CHECK-COUNT-4: stmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-NOT: stmatrix
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// CHECK-COUNT-4: stmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-NOT: stmatrix
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// CHECK: cp.async.bulk.wait_group.read 1;
// CHECK-COUNT-4: stmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: cp.async.bulk.wait_group.read 1;
// CHECK-COUNT-4: stmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK-NOT: stmatrix
// CHECK: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// CHECK: cp.async.bulk.wait_group.read 0;
// CHECK: gpu.return
// PTX-LABEL: .visible .entry persistent_epilogue(
// PTX-COUNT-4: cp.async.bulk.tensor.2d.global.shared::cta.bulk_group
// PTX-NOT: st.global
func.func @persistent_epilogue(%pa: !tile.ptr<bf16> {tile.divisibility = 16 : i64}, %pb: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                               %pc: !tile.ptr<bf16> {tile.divisibility = 16 : i64},
                               %K: i32 {tile.divisibility = 16 : i64}, %ld: i32 {tile.divisibility = 16 : i64}, %tiles: i32)
    attributes {tile.kernel, tile.num_warps = 8 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %c64 = arith.constant 64 : i32
  %c128 = arith.constant 128 : i32
  %A = tile.make_view %pa, [%ld, %K], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %B = tile.make_view %pb, [%K, %ld], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %C = tile.make_view %pc, [%ld, %ld], [%ld, %c1] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %pid = tile.program_id 0
  %n = tile.num_programs 0
  scf.for %t = %pid to %tiles step %n : i32 {
    %i = arith.muli %t, %c128 : i32
    %zero = arith.constant dense<0.0> : tensor<128x256xf32>
    %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x256xf32>) : i32 {
      %a = tile.load %A[%i, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
      %b = tile.load %B[%k, %c0] : !tile.view<bf16, 2> -> tensor<64x256xbf16>
      %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x256xbf16>, tensor<128x256xf32> -> tensor<128x256xf32>
      scf.yield %next : tensor<128x256xf32>
    }
    %c = arith.truncf %acc : tensor<128x256xf32> to tensor<128x256xbf16>
    tile.store %c, %C[%i, %c0] : tensor<128x256xbf16>, !tile.view<bf16, 2>
  }
  return
}
