// RUN: tile-opt %s -tile-to-llvm | FileCheck %s --check-prefix=LLVM
// RUN: tile-opt %s -tile-to-llvm -gpu-module-to-binary=format=isa | FileCheck %s --check-prefix=PTX
// Options that do not parse fail the pipeline instead of running part of it:
// RUN: not tile-opt %s -tile-to-llvm="stages=3 bogus=1" 2>&1 | FileCheck %s --check-prefix=BROKEN
// BROKEN: no such option bogus
// BROKEN: tile-to-llvm: bad options 'stages=3 bogus=1'
// The passes are built from the options' values, not from text: a value is
// never read as more options.
// RUN: tile-opt %s -tile-to-llvm="chip='sm_90a bogus=1'" | FileCheck %s --check-prefix=VERBATIM
// VERBATIM: chip = "sm_90a bogus=1"

// The whole pipeline: vector add ends as NVVM/LLVM in a gpu.module, then PTX
// for sm_90a with 16-byte global loads and stores.
// LLVM: gpu.module @tile_kernels [#nvvm.target<O = 3, chip = "sm_90a", features = "+ptx81">]
// LLVM: llvm.func @vector_add(%{{.*}}: !llvm.ptr<1>
// LLVM-SAME: nvvm.kernel
// LLVM: nvvm.read.ptx.sreg.ctaid.x
// LLVM: nvvm.read.ptx.sreg.tid.x
// LLVM-NOT: tile.
// PTX: .target sm_90a
// PTX: .visible .entry vector_add(
// PTX: .maxntid 128, 1, 1
// PTX: ld.global.v4.b32
// PTX: st.global.v4.b32
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
