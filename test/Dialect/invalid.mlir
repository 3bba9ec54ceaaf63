// RUN: tile-opt %s -split-input-file -verify-diagnostics
// Every verifier rule of the tile dialect, one case each.

// ---- types and attributes

// expected-error @+1 {{!tile.ptr element type must be one of}}
func.func @ptr_element(%p: !tile.ptr<f64>) { return }

// -----
// expected-error @+1 {{!tile.view rank must be 1 to 5 (the TMA limit), got 6}}
func.func @view_rank(%v: !tile.view<f32, 6>) { return }

// -----
// expected-error @+1 {{!tile.shared element type must be one of}}
func.func @shared_element(%s: !tile.shared<16x16xf64>) { return }

// -----
// expected-error @+1 {{#tile.swizzle must be 0, 32, 64 or 128 bytes, got 96}}
func.func @swizzle(%s: !tile.shared<16x64xbf16, #tile.swizzle<96>>) { return }

// -----
// expected-error @+1 {{#tile.blocked threads_per_warp must multiply to 32, got 16}}
func.func @lanes(%a: tensor<64xf32, #tile.blocked<size_per_thread = [1], threads_per_warp = [16], warps_per_cta = [4]>>) { return }

// -----
// expected-error @+1 {{#tile.blocked entries must be positive powers of two}}
func.func @blocked_pow2(%a: tensor<64xf32, #tile.blocked<size_per_thread = [3], threads_per_warp = [32], warps_per_cta = [4]>>) { return }

// -----
// expected-error @+1 {{#tile.blocked arrays differ in rank}}
func.func @blocked_rank(%a: tensor<64xf32, #tile.blocked<size_per_thread = [1, 1], threads_per_warp = [32], warps_per_cta = [4]>>) { return }

// ---- grid

// -----
func.func @axis_range() -> i32 {
  // expected-error @+1 {{attribute 'axis' failed to satisfy constraint}}
  %pid = tile.program_id 3
  return %pid : i32
}

// -----
func.func @multiple_pow2(%x: i32) -> i32 {
  // expected-error @+1 {{multiple must be a power of two, got 12}}
  %a = tile.assume_multiple %x, 12 : i32
  return %a : i32
}

// ---- make_view

// -----
func.func @view_element(%p: !tile.ptr<f32>, %n: i32) {
  // expected-error @+1 {{element type mismatch: pointer '!tile.ptr<f32>' but view '!tile.view<bf16, 1>'}}
  %v = tile.make_view %p, [%n], [%n] : !tile.ptr<f32> -> !tile.view<bf16, 1>
  return
}

// -----
func.func @view_sizes(%p: !tile.ptr<f32>, %n: i32) {
  // expected-error @+1 {{a rank-2 view needs 2 sizes and strides, got 1 sizes and 2 strides}}
  %v = tile.make_view %p, [%n], [%n, %n] : !tile.ptr<f32> -> !tile.view<f32, 2>
  return
}

// ---- load / store

// -----
func.func @load_element(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{element type mismatch: '!tile.ptr<f32>' holds 'f32' but tile 'tensor<1024xf16>' holds 'f16'}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<1024xf16>
  return
}

// -----
func.func @store_element(%p: !tile.ptr<f16>, %off: i32, %v: tensor<64xf32>) {
  // expected-error @+1 {{element type mismatch: '!tile.ptr<f16>' holds 'f16' but tile 'tensor<64xf32>' holds 'f32'}}
  tile.store %v, %p[%off] : tensor<64xf32>, !tile.ptr<f16>
  return
}

// -----
func.func @load_pow2(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{tile dimensions must be powers of two, got 1000}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<1000xf32>
  return
}

// -----
func.func @multicast_pointer(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{multicast loads a tile of a view, not of a pointer}}
  %a = tile.load %p[%off] {multicast} : !tile.ptr<f32> -> tensor<1024xf32>
  return
}

// -----
func.func @store_shared_window(%v: tensor<128x256xbf16>, %s: !tile.shared<128x64xbf16>) {
  // expected-error @+1 {{columns 224 .. 287 are outside 'tensor<128x256xbf16>'}}
  tile.store_shared %v, %s {column = 224 : i64} : tensor<128x256xbf16>, !tile.shared<128x64xbf16>
  return
}

// -----
func.func @store_shared_window_rows(%v: tensor<128x256xbf16>, %s: !tile.shared<64x64xbf16>) {
  // expected-error @+1 {{a window of columns of a 2-D register tile goes into a shared tile of as many rows}}
  tile.store_shared %v, %s {column = 64 : i64} : tensor<128x256xbf16>, !tile.shared<64x64xbf16>
  return
}

// -----
func.func @pointer_rank(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{a pointer access is 1-D; tile 'tensor<16x16xf32>' has rank 2 (use a !tile.view)}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<16x16xf32>
  return
}

// -----
func.func @pointer_offsets(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{a pointer access takes 1 offset, got 2}}
  %a = tile.load %p[%off, %off] : !tile.ptr<f32> -> tensor<16xf32>
  return
}

// -----
func.func @view_tile_rank(%v: !tile.view<f32, 2>, %i: i32) {
  // expected-error @+1 {{rank mismatch: view '!tile.view<f32, 2>' has rank 2 but tile 'tensor<16xf32>' has rank 1}}
  %a = tile.load %v[%i] : !tile.view<f32, 2> -> tensor<16xf32>
  return
}

// -----
func.func @view_offsets(%v: !tile.view<f32, 2>, %i: i32, %t: tensor<16x16xf32>) {
  // expected-error @+1 {{a rank-2 view takes 2 offsets, got 1}}
  tile.store %t, %v[%i] : tensor<16x16xf32>, !tile.view<f32, 2>
  return
}

// -----
func.func @view_bound(%v: !tile.view<f32, 1>, %i: i32) {
  // expected-error @+1 {{'bound' is only for pointers; a view is bounded by its sizes}}
  %a = tile.load %v[%i] bound %i : !tile.view<f32, 1> -> tensor<16xf32>
  return
}

// -----
func.func @layout_rank(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{layout rank 2 differs from tile rank 1}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32, #tile.blocked<size_per_thread = [1, 1], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>
  return
}

// -----
func.func @not_a_layout(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{tile layout 1 : i32 is not a tile layout}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32, 1 : i32>
  return
}

// -----
// expected-note @+1 {{prior use here}}
func.func @offset_type(%p: !tile.ptr<f32>, %off: i64) {
  // expected-error @+1 {{use of value '%off' expects different type than prior uses: 'i32' vs 'i64'}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32>
  return
}

// ---- gather / scatter / atomics

// -----
func.func @gather_offsets_type(%p: !tile.ptr<f32>, %off: tensor<128xf32>) {
  // expected-error @+1 {{offsets must be a tile of i32 or i64, got 'tensor<128xf32>'}}
  %a = tile.gather %p[%off : tensor<128xf32>] : !tile.ptr<f32> -> tensor<128xf32>
  return
}

// -----
func.func @gather_offsets_pow2(%p: !tile.ptr<f32>, %off: tensor<96xi32>) {
  // expected-error @+1 {{tile dimensions must be powers of two, got 96}}
  %a = tile.gather %p[%off : tensor<96xi32>] : !tile.ptr<f32> -> tensor<96xf32>
  return
}

// -----
func.func @gather_mask_type(%p: !tile.ptr<f32>, %off: tensor<128xi32>, %m: tensor<128xi32>) {
  // expected-error @+1 {{mask must be a tile of i1, got 'tensor<128xi32>'}}
  %a = tile.gather %p[%off : tensor<128xi32>] mask(%m : tensor<128xi32>) : !tile.ptr<f32> -> tensor<128xf32>
  return
}

// -----
func.func @gather_mask_shape(%p: !tile.ptr<f32>, %off: tensor<128xi32>, %m: tensor<64xi1>) {
  // expected-error @+1 {{mask 'tensor<64xi1>' must have the offsets' shape 128}}
  %a = tile.gather %p[%off : tensor<128xi32>] mask(%m : tensor<64xi1>) : !tile.ptr<f32> -> tensor<128xf32>
  return
}

// -----
func.func @gather_mask_layout(%p: !tile.ptr<f32>, %off: tensor<128xi32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [4]>>, %m: tensor<128xi1, #tile.blocked<size_per_thread = [2], threads_per_warp = [32], warps_per_cta = [2]>>) {
  // expected-error @+1 {{mask 'tensor<128xi1, #tile.blocked<size_per_thread = [2], threads_per_warp = [32], warps_per_cta = [2]>>' must have the offsets' layout}}
  %a = tile.gather %p[%off : tensor<128xi32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [4]>>] mask(%m : tensor<128xi1, #tile.blocked<size_per_thread = [2], threads_per_warp = [32], warps_per_cta = [2]>>) : !tile.ptr<f32> -> tensor<128xf32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [4]>>
  return
}

// -----
func.func @gather_element(%p: !tile.ptr<f32>, %off: tensor<128xi32>) {
  // expected-error @+1 {{element type mismatch: '!tile.ptr<f32>' holds 'f32' but result 'tensor<128xf16>' holds 'f16'}}
  %a = tile.gather %p[%off : tensor<128xi32>] : !tile.ptr<f32> -> tensor<128xf16>
  return
}

// -----
func.func @gather_result_shape(%p: !tile.ptr<f32>, %off: tensor<128xi32>) {
  // expected-error @+1 {{result 'tensor<8x16xf32>' must have the offsets' shape 128}}
  %a = tile.gather %p[%off : tensor<128xi32>] : !tile.ptr<f32> -> tensor<8x16xf32>
  return
}

// -----
func.func @gather_other(%p: !tile.ptr<f32>, %off: tensor<128xi32>, %x: i32) {
  // expected-error @+1 {{'other' must be a scalar of the element type 'f32', got 'i32'}}
  %a = tile.gather %p[%off : tensor<128xi32>] other(%x : i32) : !tile.ptr<f32> -> tensor<128xf32>
  return
}

// -----
func.func @scatter_value_shape(%p: !tile.ptr<f32>, %off: tensor<128xi32>, %v: tensor<64xf32>) {
  // expected-error @+1 {{value 'tensor<64xf32>' must have the offsets' shape 128}}
  tile.scatter %v, %p[%off : tensor<128xi32>] : tensor<64xf32>, !tile.ptr<f32>
  return
}

// -----
func.func @scatter_value_layout(%p: !tile.ptr<f32>, %off: tensor<128xi32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [4]>>, %v: tensor<128xf32>) {
  // expected-error @+1 {{value 'tensor<128xf32>' must have the offsets' layout}}
  tile.scatter %v, %p[%off : tensor<128xi32, #tile.blocked<size_per_thread = [1], threads_per_warp = [32], warps_per_cta = [4]>>] : tensor<128xf32>, !tile.ptr<f32>
  return
}

// -----
func.func @atomic_add_dtype(%p: !tile.ptr<i8>, %off: tensor<128xi32>, %v: tensor<128xi8>) {
  // expected-error @+1 {{atomic add takes f32, f16, bf16, i32 or i64 elements, got 'i8'}}
  %o = tile.atomic_rmw add %p[%off : tensor<128xi32>], %v : !tile.ptr<i8>, tensor<128xi8>
  return
}

// -----
func.func @atomic_max_dtype(%p: !tile.ptr<bf16>, %off: tensor<128xi32>, %v: tensor<128xbf16>) {
  // expected-error @+1 {{atomic max takes i32, i64 or f32 elements, got 'bf16'}}
  %o = tile.atomic_rmw max %p[%off : tensor<128xi32>], %v : !tile.ptr<bf16>, tensor<128xbf16>
  return
}

// -----
func.func @atomic_xchg_dtype(%p: !tile.ptr<f16>, %off: tensor<128xi32>, %v: tensor<128xf16>) {
  // expected-error @+1 {{atomic xchg takes i32, i64 or f32 elements, got 'f16'}}
  %o = tile.atomic_rmw xchg %p[%off : tensor<128xi32>], %v : !tile.ptr<f16>, tensor<128xf16>
  return
}

// -----
func.func @atomic_element(%p: !tile.ptr<f32>, %off: tensor<128xi32>, %v: tensor<128xi32>) {
  // expected-error @+1 {{element type mismatch: '!tile.ptr<f32>' holds 'f32' but value 'tensor<128xi32>' holds 'i32'}}
  %o = tile.atomic_rmw add %p[%off : tensor<128xi32>], %v : !tile.ptr<f32>, tensor<128xi32>
  return
}

// -----
func.func @atomic_sem(%p: !tile.ptr<f32>, %off: tensor<128xi32>, %v: tensor<128xf32>) {
  // expected-error @+2 {{expected ::mlir::tile::MemorySemantics to be one of: relaxed, acquire, release, acq_rel}}
  // expected-error @+1 {{failed to parse Tile_MemorySemanticsAttr parameter 'value'}}
  %o = tile.atomic_rmw add %p[%off : tensor<128xi32>], %v sem = seq_cst : !tile.ptr<f32>, tensor<128xf32>
  return
}

// -----
func.func @cas_dtype(%p: !tile.ptr<bf16>, %off: tensor<128xi32>, %v: tensor<128xbf16>) {
  // expected-error @+1 {{atomic compare-and-swap takes i32, i64 or f32 elements, got 'bf16'}}
  %o = tile.atomic_cas %p[%off : tensor<128xi32>], %v, %v : !tile.ptr<bf16>, tensor<128xbf16>
  return
}

// -----
func.func @cas_mask_shape(%p: !tile.ptr<i32>, %off: tensor<128xi32>, %v: tensor<128xi32>, %m: tensor<8x16xi1>) {
  // expected-error @+1 {{mask 'tensor<8x16xi1>' must have the offsets' shape 128}}
  %o = tile.atomic_cas %p[%off : tensor<128xi32>], %v, %v mask(%m : tensor<8x16xi1>) : !tile.ptr<i32>, tensor<128xi32>
  return
}

// ---- splat / iota

// -----
func.func @splat_type(%x: f16) {
  // expected-error @+1 {{scalar type 'f16' differs from the tile's element type 'f32'}}
  %s = tile.splat %x : f16 -> tensor<16x16xf32>
  return
}

// -----
func.func @iota_type() {
  // expected-error @+1 {{result must be a 1-D tile of i32, got 'tensor<16x16xi32>'}}
  %r = tile.iota : tensor<16x16xi32>
  return
}

// ---- mma

// -----
func.func @mma_k(%a: tensor<64x32xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{K mismatch: a (64x32) has K = 32 but b (16x64) has K = 16}}
  %d = tile.mma %a, %b, %c : tensor<64x32xbf16>, tensor<16x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----
func.func @mma_k_transposed(%a: tensor<64x32xbf16>, %b: tensor<64x16xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{K mismatch: a (64x32) has K = 32 but b (64x16, transposed) has K = 16}}
  %d = tile.mma %a, %b, %c {transpose_b} : tensor<64x32xbf16>, tensor<64x16xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----
func.func @mma_acc_shape(%a: tensor<64x16xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x32xf32>) {
  // expected-error @+1 {{accumulator is 64x32 but a·b is 64x64}}
  %d = tile.mma %a, %b, %c : tensor<64x16xbf16>, tensor<16x64xbf16>, tensor<64x32xf32> -> tensor<64x32xf32>
  return
}

// -----
func.func @mma_result(%a: tensor<64x16xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{result type 'tensor<64x64xf16>' differs from the accumulator type 'tensor<64x64xf32>'}}
  %d = tile.mma %a, %b, %c : tensor<64x16xbf16>, tensor<16x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf16>
  return
}

// -----
func.func @mma_mixed(%a: tensor<64x16xbf16>, %b: tensor<16x64xf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{a holds 'bf16' but b holds 'f16'; tensor cores need both bf16, both f16 or both fp8}}
  %d = tile.mma %a, %b, %c : tensor<64x16xbf16>, tensor<16x64xf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----
func.func @mma_f32_operands(%a: tensor<64x16xf32>, %b: tensor<16x64xf32>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{operands must be bf16, f16 or fp8, got 'f32'}}
  %d = tile.mma %a, %b, %c : tensor<64x16xf32>, tensor<16x64xf32>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----
func.func @mma_acc_type(%a: tensor<64x16xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x64xbf16>) {
  // expected-error @+1 {{accumulator must be f32, got 'bf16' (accumulate in f32, then convert the result with .to())}}
  %d = tile.mma %a, %b, %c : tensor<64x16xbf16>, tensor<16x64xbf16>, tensor<64x64xbf16> -> tensor<64x64xbf16>
  return
}

// -----
func.func @mma_multiple_16(%a: tensor<64x8xbf16>, %b: tensor<8x64xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{M, N and K must be multiples of 16, got M = 64, N = 64, K = 8}}
  %d = tile.mma %a, %b, %c : tensor<64x8xbf16>, tensor<8x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----
func.func @mma_rank(%a: tensor<64xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{operands must be 2-D; a is 64, b is 16x64, acc is 64x64}}
  %d = tile.mma %a, %b, %c : tensor<64xbf16>, tensor<16x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// ---- reduce / broadcast

// -----
func.func @reduce_shape(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{reducing 64x128 along dim 1 gives a different shape than 128}}
  %m = tile.reduce max %s, dim = 1 : tensor<64x128xf32> -> tensor<128xf32>
  return
}

// -----
func.func @reduce_dim(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{dim 2 is out of range for a rank-2 tile}}
  %m = tile.reduce sum %s, dim = 2 : tensor<64x128xf32> -> tensor<64xf32>
  return
}

// -----
func.func @reduce_element(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{element type changes from 'f32' to 'f16'}}
  %m = tile.reduce min %s, dim = 0 : tensor<64x128xf32> -> tensor<128xf16>
  return
}

// -----
// The lowering combines f32 and i32; the frontend promotes f16, bf16 and
// narrower integers before it reduces.
func.func @reduce_f16(%s: tensor<64x128xf16>) {
  // expected-error @+1 {{reduces f32, i32 or i64 tiles, got 'f16'}}
  %m = tile.reduce sum %s, dim = 1 : tensor<64x128xf16> -> tensor<64xf16>
  return
}

// -----
func.func @reduce_kind(%s: tensor<64x128xf32>) {
  // expected-error @+2 {{expected ::mlir::tile::ReduceKind to be one of: sum, max, min, argmax, argmin}}
  // expected-error @+1 {{failed to parse Tile_ReduceKindAttr parameter 'value'}}
  %m = tile.reduce prod %s, dim = 0 : tensor<64x128xf32> -> tensor<128xf32>
  return
}

// -----
func.func @reduce_scalar_dim(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{reduces every dimension to a scalar with dim = 0, got dim 1}}
  %m = tile.reduce sum %s, dim = 1 : tensor<64x128xf32> -> f32
  return
}

// -----
func.func @reduce_1d_to_tile(%s: tensor<128xf32>) {
  // expected-error @+1 {{reduces a 1-D tile to a scalar, got 'tensor<1xf32>'}}
  %m = tile.reduce max %s, dim = 0 : tensor<128xf32> -> tensor<1xf32>
  return
}

// -----
func.func @reduce_scalar_element(%s: tensor<128xi32>) {
  // expected-error @+1 {{element type changes from 'i32' to 'f32'}}
  %m = tile.reduce sum %s, dim = 0 : tensor<128xi32> -> f32
  return
}

// -----
func.func @argmax_index(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{argmax gives i32 indices, got 'f32'}}
  %m = tile.reduce argmax %s, dim = 1 : tensor<64x128xf32> -> tensor<64xf32>
  return
}

// -----
func.func @scan_dim(%s: tensor<64x128xf32>) {
  // expected-error @+1 {{dim 2 is out of range for a rank-2 tile}}
  %c = tile.scan sum %s, dim = 2 : tensor<64x128xf32>
  return
}

// -----
// Scans of f16/bf16 run in f32 and of narrower integers in i32 (the frontend
// converts), as sums do.
func.func @scan_f16(%s: tensor<128xf16>) {
  // expected-error @+1 {{scans f32, i32 or i64 tiles, got 'f16'}}
  %c = tile.scan prod %s, dim = 0 : tensor<128xf16>
  return
}

// -----
// Sorts, as scans, take f32, i32 or i64 (the frontend converts); indices are i32.
func.func @sort_f16(%s: tensor<128xf16>) {
  // expected-error @+1 {{sorts f32, i32 or i64 tiles, got 'f16'}}
  %v, %i = tile.sort %s, dim = 0 : tensor<128xf16> -> tensor<128xi32>
  return
}

// -----
func.func @sort_indices(%s: tensor<8x128xf32>) {
  // expected-error @+1 {{indices must be i32 of the source's shape and layout, got 'tensor<8x128xi64>'}}
  %v, %i = tile.sort %s, dim = 1 : tensor<8x128xf32> -> tensor<8x128xi64>
  return
}

// -----
func.func @take_index_sizes(%s: tensor<8x128xf32>, %i: tensor<4x16xi32>) {
  // expected-error @+1 {{index must have the source's size in every dim but 1, got 4x16 for 8x128}}
  %t = tile.take %s[%i], dim = 1 : tensor<8x128xf32>, tensor<4x16xi32> -> tensor<4x16xf32>
  return
}

// -----
func.func @take_result(%s: tensor<8x128xf32>, %i: tensor<8x16xi32>) {
  // expected-error @+1 {{result must have the index's shape and layout and the source's element type, got 'tensor<8x16xi32>'}}
  %t = tile.take %s[%i], dim = 1 : tensor<8x128xf32>, tensor<8x16xi32> -> tensor<8x16xi32>
  return
}

// -----
func.func @sort_length(%s: tensor<8x96xf32>) {
  // expected-error @+1 {{sorts rows of a power-of-two length, got 96}}
  %v, %i = tile.sort %s, dim = 1 : tensor<8x96xf32> -> tensor<8x96xi32>
  return
}

func.func @assert_condition(%s: tensor<128xi32>) {
  // expected-error @+1 {{operand #0 must be 1-bit signless integer or statically shaped tensor of 1-bit signless integer values}}
  tile.assert %s, "positive" : tensor<128xi32>
  return
}

// -----
func.func @reduce_layout(%s: tensor<64x128xf32, #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>) {
  // expected-error @+1 {{result layout #tile.slice<dim = 0, parent = #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>> is not the slice of the source layout along dim 1}}
  %m = tile.reduce max %s, dim = 1 : tensor<64x128xf32, #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>> -> tensor<64xf32, #tile.slice<dim = 0, parent = #tile.blocked<size_per_thread = [1, 4], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>>
  return
}

// -----
func.func @broadcast_shape(%v: tensor<64xf32>) {
  // expected-error @+1 {{broadcasting 64 along new dim 0 cannot give 64x128}}
  %b = tile.broadcast %v, dim = 0 : tensor<64xf32> -> tensor<64x128xf32>
  return
}

// -----
func.func @broadcast_dim(%v: tensor<64xf32>) {
  // expected-error @+1 {{dim 2 is out of range for a rank-2 result}}
  %b = tile.broadcast %v, dim = 2 : tensor<64xf32> -> tensor<64x128xf32>
  return
}

// ---- transpose / convert_layout

// -----
func.func @transpose_shape(%a: tensor<64x128xbf16>) {
  // expected-error @+1 {{transposing 'tensor<64x128xbf16>' cannot give 'tensor<64x128xbf16>'}}
  %t = tile.transpose %a : tensor<64x128xbf16> -> tensor<64x128xbf16>
  return
}

// -----
func.func @convert_shape(%a: tensor<64x128xf32>) {
  // expected-error @+1 {{converts the layout only; 'tensor<64x128xf32>' and 'tensor<128x64xf32>' differ in shape or element type}}
  %t = tile.convert_layout %a : tensor<64x128xf32> -> tensor<128x64xf32>
  return
}

// ---- shared memory

// -----
func.func @load_shared(%s: !tile.shared<64x64xbf16>) {
  // expected-error @+1 {{shared tile '!tile.shared<64x64xbf16>' and register tile 'tensor<64x32xbf16>' differ in shape or element type}}
  %a = tile.load_shared %s : !tile.shared<64x64xbf16> -> tensor<64x32xbf16>
  return
}

// -----
func.func @store_shared(%s: !tile.shared<64x64xbf16>, %a: tensor<64x64xf16>) {
  // expected-error @+1 {{shared tile '!tile.shared<64x64xbf16>' and register tile 'tensor<64x64xf16>' differ in shape or element type}}
  tile.store_shared %a, %s : tensor<64x64xf16>, !tile.shared<64x64xbf16>
  return
}

// -----
func.func @async_element(%v: !tile.view<f16, 2>, %s: !tile.shared<64x64xbf16>, %b: !tile.mbarrier, %i: i32) {
  // expected-error @+1 {{element type mismatch: view '!tile.view<f16, 2>' but shared tile '!tile.shared<64x64xbf16>'}}
  tile.async_load %v[%i, %i], %s, %b : !tile.view<f16, 2>, !tile.shared<64x64xbf16>, !tile.mbarrier
  return
}

// -----
func.func @async_rank(%v: !tile.view<bf16, 1>, %s: !tile.shared<64x64xbf16>, %b: !tile.mbarrier, %i: i32) {
  // expected-error @+1 {{rank mismatch: view '!tile.view<bf16, 1>' but shared tile '!tile.shared<64x64xbf16>'}}
  tile.async_load %v[%i], %s, %b : !tile.view<bf16, 1>, !tile.shared<64x64xbf16>, !tile.mbarrier
  return
}

// -----
func.func @async_offsets(%v: !tile.view<bf16, 2>, %s: !tile.shared<64x64xbf16>, %b: !tile.mbarrier, %i: i32) {
  // expected-error @+1 {{a rank-2 view takes 2 offsets, got 1}}
  tile.async_load %v[%i], %s, %b : !tile.view<bf16, 2>, !tile.shared<64x64xbf16>, !tile.mbarrier
  return
}

// -----
func.func @async_box(%v: !tile.view<bf16, 2>, %s: !tile.shared<512x64xbf16>, %b: !tile.mbarrier, %i: i32) {
  // expected-error @+1 {{a TMA box is at most 256 elements a dimension; shared tile '!tile.shared<512x64xbf16>' has 512}}
  tile.async_load %v[%i, %i], %s, %b : !tile.view<bf16, 2>, !tile.shared<512x64xbf16>, !tile.mbarrier
  return
}

// -----
func.func @async_store_element(%v: !tile.view<f16, 2>, %s: !tile.shared<64x64xbf16>, %i: i32) {
  // expected-error @+1 {{element type mismatch: view '!tile.view<f16, 2>' but shared tile '!tile.shared<64x64xbf16>'}}
  tile.async_store %s, %v[%i, %i] : !tile.shared<64x64xbf16>, !tile.view<f16, 2>
  return
}

// -----
func.func @async_store_rank(%v: !tile.view<bf16, 1>, %s: !tile.shared<64x64xbf16>, %i: i32) {
  // expected-error @+1 {{rank mismatch: view '!tile.view<bf16, 1>' but shared tile '!tile.shared<64x64xbf16>'}}
  tile.async_store %s, %v[%i] : !tile.shared<64x64xbf16>, !tile.view<bf16, 1>
  return
}

// -----
func.func @async_store_offsets(%v: !tile.view<bf16, 2>, %s: !tile.shared<64x64xbf16>, %i: i32) {
  // expected-error @+1 {{a rank-2 view takes 2 offsets, got 3}}
  tile.async_store %s, %v[%i, %i, %i] : !tile.shared<64x64xbf16>, !tile.view<bf16, 2>
  return
}

// -----
func.func @async_store_box(%v: !tile.view<bf16, 2>, %s: !tile.shared<64x512xbf16>, %i: i32) {
  // expected-error @+1 {{a TMA box is at most 256 elements a dimension; shared tile '!tile.shared<64x512xbf16>' has 512}}
  tile.async_store %s, %v[%i, %i] : !tile.shared<64x512xbf16>, !tile.view<bf16, 2>
  return
}

// -----
// expected-note @+1 {{prior use here}}
func.func @wait_phase(%b: !tile.mbarrier, %p: i32) {
  // expected-error @+1 {{use of value '%p' expects different type than prior uses: 'i1' vs 'i32'}}
  tile.wait %b, %p : !tile.mbarrier
  return
}

// ---- stages, pipelines

// -----
func.func @stage_shape(%buf: !tile.shared<3x128x64xbf16>, %i: i32) {
  // expected-error @+1 {{a stage of '!tile.shared<3x128x64xbf16>' drops its first dimension; got '!tile.shared<128x32xbf16>'}}
  %s = tile.stage %buf[%i] : !tile.shared<3x128x64xbf16> -> !tile.shared<128x32xbf16>
  return
}

// -----
func.func @stage_barrier(%bars: !tile.mbarrier<3>, %i: i32) {
  // expected-error @+1 {{a stage of '!tile.mbarrier<3>' is one '!tile.mbarrier', not '!tile.mbarrier<2>'}}
  %b = tile.stage %bars[%i] : !tile.mbarrier<3> -> !tile.mbarrier<2>
  return
}

// -----
func.func @arrivals() {
  // expected-error @+1 {{attribute 'arrivals' failed to satisfy constraint}}
  %b = tile.alloc_mbarrier {arrivals = 0 : i32} : !tile.mbarrier
  return
}

// -----
func.func @pending(%a: tensor<64x16xbf16>, %b: tensor<16x64xbf16>, %c: tensor<64x64xf32>) {
  // expected-error @+1 {{attribute 'pending' failed to satisfy constraint}}
  %d = tile.mma %a, %b, %c {pending = 3 : i32} : tensor<64x16xbf16>, tensor<16x64xbf16>, tensor<64x64xf32> -> tensor<64x64xf32>
  return
}

// -----
func.func @mma_wait_type(%c: tensor<64x64xf32>) {
  // expected-error @+1 {{'tile.mma_wait' op failed to verify that all of {acc, result} have same type}}
  %d = "tile.mma_wait"(%c) : (tensor<64x64xf32>) -> tensor<64x64xf16>
  return
}

// -----
func.func @wgmma_rank(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{a #tile.wgmma layout is for 2-D tiles, got 'tensor<64xf32, #tile.wgmma<warpgroups = 1>>'}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32, #tile.wgmma<warpgroups = 1>>
  return
}

// -----
func.func @warp_specialize_outside_kernel() {
  // expected-error @+1 {{'tile.warp_specialize' op must be directly in the body of a tile.kernel function}}
  tile.warp_specialize producer {
  } consumer {
  }
  return
}

// -----
func.func @producer_holds_a_tile(%x: tensor<64xf32>) attributes {tile.kernel} {
  // expected-error @+1 {{'tile.warp_specialize' op the producer runs on one thread and cannot hold register tiles}}
  tile.warp_specialize producer {
    %y = arith.addf %x, %x : tensor<64xf32>
  } consumer {
  }
  return
}

// -----
func.func @two_warp_specializes() attributes {tile.kernel} {
  // expected-error @+1 {{'tile.warp_specialize' op a kernel has at most one warp_specialize}}
  tile.warp_specialize producer {
  } consumer {
  }
  tile.warp_specialize producer {
  } consumer {
  }
  return
}

// -----
func.func @turn_outside_consumer() attributes {tile.kernel} {
  // expected-error @+1 {{'tile.turn_wait' op must be in the consumer region of a tile.warp_specialize}}
  tile.turn_wait
  return
}

// -----
func.func @turn_in_producer() attributes {tile.kernel} {
  tile.warp_specialize producer {
    // expected-error @+1 {{'tile.turn_pass' op must be in the consumer region of a tile.warp_specialize}}
    tile.turn_pass
  } consumer {
  }
  return
}

// -----
func.func @notify_flags(%flags: !tile.ptr<f32>, %i: i32, %v: i32) {
  // expected-error @+1 {{flags must be an array of i32, got '!tile.ptr<f32>'}}
  tile.notify %flags[%i], %v : !tile.ptr<f32>
  return
}

// -----
func.func @wait_flags(%flags: !tile.ptr<i16>, %i: i32, %v: i32) {
  // expected-error @+1 {{flags must be an array of i32, got '!tile.ptr<i16>'}}
  tile.wait_flag %flags[%i], %v : !tile.ptr<i16>
  return
}

// -----
func.func @notify_scope(%flags: !tile.ptr<i32>, %i: i32, %v: i32) {
  // expected-error @+1 {{scope must be gpu or sys (flags order programs), got cta}}
  tile.notify %flags[%i], %v scope = cta : !tile.ptr<i32>
  return
}

// -----
func.func @wait_scope(%flags: !tile.ptr<i32>, %i: i32, %v: i32) {
  // expected-error @+1 {{scope must be gpu or sys (flags order programs), got cta}}
  tile.wait_flag %flags[%i], %v scope = cta : !tile.ptr<i32>
  return
}

// -----
// Kernel attributes that passes divide by are checked when the IR is read.
// expected-error @+1 {{tile.num_warps must be a power of two from 1 to 32 (warps per CTA: at most 1024 threads), got 0}}
func.func @no_warps() attributes {tile.kernel, tile.num_warps = 0 : i32} {
  %p = tile.program_id 0
  return
}

// -----
// expected-error @+1 {{tile.num_warps must be an i32 integer}}
func.func @float_warps() attributes {tile.kernel, tile.num_warps = 4.0 : f32} {
  %p = tile.program_id 0
  return
}

// -----
// expected-error @+1 {{tile.num_ctas must be a power of two from 1 to 8 (CTAs per cluster), got 3}}
func.func @three_ctas() attributes {tile.kernel, tile.num_ctas = 3 : i32} {
  %p = tile.program_id 0
  return
}
