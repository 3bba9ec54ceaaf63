// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu -canonicalize -cse | FileCheck %s

// Math functions with no lowering of their own stay upstream ops on the
// registers (convert-gpu-to-nvvm makes them libdevice calls: __nv_tanhf, ...;
// fma, floor, ceil and abs become LLVM intrinsics).
// CHECK-LABEL: gpu.func @libdevice_functions
// CHECK: math.tanh %{{.*}} : vector<4xf32>
// CHECK: math.erf %{{.*}} : vector<4xf32>
// CHECK: math.sin %{{.*}} : vector<4xf32>
// CHECK: math.cos %{{.*}} : vector<4xf32>
// CHECK: math.rsqrt %{{.*}} : vector<4xf32>
// CHECK: math.floor %{{.*}} : vector<4xf32>
// CHECK: math.ceil %{{.*}} : vector<4xf32>
// CHECK: math.absf %{{.*}} : vector<4xf32>
// CHECK: math.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: arith.minimumf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: arith.maximumf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-NOT: llvm.call_intrinsic
func.func @libdevice_functions(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<f32> -> tensor<512xf32>
  %0 = math.tanh %t : tensor<512xf32>
  %1 = math.erf %0 : tensor<512xf32>
  %2 = math.sin %1 : tensor<512xf32>
  %3 = math.cos %2 : tensor<512xf32>
  %4 = math.rsqrt %3 : tensor<512xf32>
  %5 = math.floor %4 : tensor<512xf32>
  %6 = math.ceil %5 : tensor<512xf32>
  %7 = math.absf %6 : tensor<512xf32>
  %8 = math.fma %7, %t, %t : tensor<512xf32>
  %9 = arith.minimumf %8, %t : tensor<512xf32>
  %10 = arith.maximumf %9, %t : tensor<512xf32>
  tile.store %10, %x[%c0] : tensor<512xf32>, !tile.ptr<f32>
  return
}

// -----

// Integer abs of any width is llvm.abs (PTX abs.s16/abs.s32; libdevice has
// abs only for i32 and i64), with |INT_MIN| = INT_MIN rather than poison;
// integer min/max stay arith ops (PTX min/max).
// CHECK-LABEL: gpu.func @integer_abs_min_max
// CHECK: "llvm.intr.abs"(%{{.*}}) <{is_int_min_poison = false}> : (vector<4xi16>) -> vector<4xi16>
// CHECK: arith.minui %{{.*}}, %{{.*}} : vector<4xi16>
// CHECK: arith.maxsi %{{.*}}, %{{.*}} : vector<4xi16>
// CHECK-NOT: math.absi
func.func @integer_abs_min_max(%x: !tile.ptr<i16> {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<i16> -> tensor<512xi16>
  %a = math.absi %t : tensor<512xi16>
  %m = arith.minui %a, %t : tensor<512xi16>
  %n = arith.maxsi %m, %t : tensor<512xi16>
  tile.store %n, %x[%c0] : tensor<512xi16>, !tile.ptr<i16>
  return
}

// -----

// Scalars lower as tiles do: abs through llvm.abs, exp through the SFU,
// tile.fdiv's division through div.full (not libdevice's __nv_expf or div.rn).
// CHECK-LABEL: gpu.func @scalars
// CHECK: "llvm.intr.abs"(%{{.*}}) <{is_int_min_poison = false}> : (i32) -> i32
// CHECK: llvm.call_intrinsic "llvm.nvvm.ex2.approx.ftz.f"(%{{.*}}) : (f32) -> f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.div.full"(%{{.*}}, %{{.*}}) : (f32, f32) -> f32
// CHECK: math.tanh %{{.*}} : f32
// CHECK-NOT: math.absi
// CHECK-NOT: math.exp
func.func @scalars(%x: !tile.ptr<f32> {tile.divisibility = 16 : i64}, %i: i32, %f: f32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %a = math.absi %i : i32
  %af = arith.sitofp %a : i32 to f32
  %e = math.exp %f : f32
  %q = arith.divf %e, %af fastmath<afn> : f32
  %t = math.tanh %q : f32
  %s = tile.splat %t : f32 -> tensor<128xf32>
  tile.store %s, %x[%c0] : tensor<128xf32>, !tile.ptr<f32>
  return
}

// -----

// exp/exp2/log on bf16 (and f16) tiles compute in f32 and round back, as the
// frontend's promotion writes them.
// CHECK-LABEL: gpu.func @half_precision_sfu
// CHECK: arith.extf %{{.*}} : bf16 to f32
// CHECK: llvm.call_intrinsic "llvm.nvvm.lg2.approx.ftz.f"(%{{.*}}) : (f32) -> f32
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// CHECK-NOT: math.log
func.func @half_precision_sfu(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64}) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %t = tile.load %x[%c0] : !tile.ptr<bf16> -> tensor<128xbf16>
  %l = math.log %t : tensor<128xbf16>
  tile.store %l, %x[%c0] : tensor<128xbf16>, !tile.ptr<bf16>
  return
}
