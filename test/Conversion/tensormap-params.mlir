// RUN: tile-opt %s -tile-tensormap-params | FileCheck %s
// Parameters named in tile.tma become by-value __grid_constant__ tensor maps;
// others, and functions that are not kernels, are left alone.

// CHECK-LABEL: llvm.func @k(
// CHECK-SAME: %{{.*}}: !llvm.ptr<1>,
// CHECK-SAME: %{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant})
// CHECK-LABEL: llvm.func @helper(
// CHECK-SAME: %{{.*}}: !llvm.ptr)
module attributes {tile.tma = [{box = array<i64: 64, 64>, dtype = bf16, param = 1 : i64, pointer = 0 : i64, swizzle = 128 : i64}]} {
  llvm.func @k(%p: !llvm.ptr<1>, %desc: !llvm.ptr) attributes {nvvm.kernel} {
    llvm.return
  }
  llvm.func @helper(%p: !llvm.ptr<1>, %desc: !llvm.ptr) {
    llvm.return
  }
}
