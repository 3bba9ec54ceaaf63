// RUN: tile-opt %s -split-input-file -tile-assign-layouts -convert-tile-to-gpu -verify-diagnostics

// Registers move to and from 2-D shared tiles in runs that stay within a
// swizzle chunk: an unswizzled tile (no tile-select-swizzle) is refused,
// naming the op and the direction.
func.func @store_unswizzled(%x: !tile.ptr<bf16> {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %v = tile.make_view %x, [%c0, %c0], [%c0, %c0] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  %t = tile.load %v[%c0, %c0] : !tile.view<bf16, 2> -> tensor<64x64xbf16>
  %s = tile.alloc_shared : !tile.shared<64x64xbf16>
  // expected-error @+2 {{store_shared lowers into 2-D shared tiles with a chosen swizzle (tile-select-swizzle), rows of whole swizzle spans (or 16-byte chunks) and, for several boxes, a multiple of 8 rows}}
  // expected-error @+1 {{failed to legalize operation 'tile.store_shared'}}
  tile.store_shared %t, %s : tensor<64x64xbf16>, !tile.shared<64x64xbf16>
  return
}

// -----

func.func @load_unswizzled(%y: !tile.ptr<bf16> {tile.divisibility = 16 : i64})
    attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %s = tile.alloc_shared : !tile.shared<64x64xbf16>
  // expected-error @+2 {{load_shared lowers from 2-D shared tiles with a chosen swizzle (tile-select-swizzle), rows of whole swizzle spans (or 16-byte chunks) and, for several boxes, a multiple of 8 rows}}
  // expected-error @+1 {{failed to legalize operation 'tile.load_shared'}}
  %t = tile.load_shared %s : !tile.shared<64x64xbf16> -> tensor<64x64xbf16>
  %v = tile.make_view %y, [%c0, %c0], [%c0, %c0] : !tile.ptr<bf16> -> !tile.view<bf16, 2>
  tile.store %t, %v[%c0, %c0] : tensor<64x64xbf16>, !tile.view<bf16, 2>
  return
}
