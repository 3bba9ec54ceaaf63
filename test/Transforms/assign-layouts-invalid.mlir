// RUN: tile-opt %s -split-input-file -tile-assign-layouts -verify-diagnostics

// A tile no thread can hold: 2^17 f32 over 4 warps is 1024 registers a thread.
func.func @too_large(%p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  // expected-error @+1 {{this 131072 f32 tile needs 1024 registers a thread with num_warps=4, more than the 255 a thread has: use a smaller tile or more warps}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<131072xf32>
  tile.store %a, %p[%off] : tensor<131072xf32>, !tile.ptr<f32>
  return
}

// -----

// WGMMA's M is 64 rows a warpgroup: a 16-row accumulator cannot be one.
func.func @mma_rows(%a: !tile.shared<16x64xbf16>, %b: !tile.shared<64x128xbf16>) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %acc = arith.constant dense<0.0> : tensor<16x128xf32>
  // expected-error @+1 {{an mma accumulator (WGMMA) needs a multiple of 64 rows (64 per warpgroup, num_warps=4) and of 8 columns, got 16x128}}
  %r = tile.mma %a, %b, %acc : !tile.shared<16x64xbf16>, !tile.shared<64x128xbf16>, tensor<16x128xf32> -> tensor<16x128xf32>
  return
}

// -----

// Carried by a loop, the accumulator is reported at its mma (not at the loop
// or the zeros it starts from).
func.func @mma_rows_in_loop(%a: !tile.shared<16x64xbf16>, %b: !tile.shared<64x128xbf16>, %n: i32) attributes {tile.kernel, tile.num_warps = 4 : i32} {
  %c0 = arith.constant 0 : i32
  %c1 = arith.constant 1 : i32
  %zero = arith.constant dense<0.0> : tensor<16x128xf32>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %zero) -> (tensor<16x128xf32>) : i32 {
    // expected-error @+1 {{an mma accumulator (WGMMA) needs a multiple of 64 rows (64 per warpgroup, num_warps=4) and of 8 columns, got 16x128}}
    %next = tile.mma %a, %b, %acc : !tile.shared<16x64xbf16>, !tile.shared<64x128xbf16>, tensor<16x128xf32> -> tensor<16x128xf32>
    scf.yield %next : tensor<16x128xf32>
  }
  return
}

// -----

// At 16 warps a thread has 128 registers: a 256x256 f32 accumulator would take
// them all (the wgmma needs more), so the most a tile may take is 127.
func.func @all_registers(%a: !tile.shared<256x64xbf16>, %b: !tile.shared<64x256xbf16>) attributes {tile.kernel, tile.num_warps = 16 : i32} {
  %acc = arith.constant dense<0.0> : tensor<256x256xf32>
  // expected-error @+1 {{this 256x256 f32 tile needs 128 registers a thread with num_warps=16, more than the 127 a thread has: use a smaller tile}}
  %r = tile.mma %a, %b, %acc : !tile.shared<256x64xbf16>, !tile.shared<64x256xbf16>, tensor<256x256xf32> -> tensor<256x256xf32>
  return
}

// -----

// An accumulator that has fewer than 64 rows a warpgroup (128 rows over 4
// warpgroups), whose row maximum comes first, is reported at its mma with the
// accumulator's rule, not at the row vector with the layout's text.
func.func @accumulator_rows(%a: !tile.shared<128x64xbf16>, %b: !tile.shared<64x64xbf16>, %p: !tile.ptr<f32>, %off: i32) attributes {tile.kernel, tile.num_warps = 16 : i32} {
  %m0 = arith.constant dense<0xFF800000> : tensor<128xf32>
  %acc = arith.constant dense<0.0> : tensor<128x64xf32>
  // expected-error @+1 {{an mma accumulator (WGMMA) needs a multiple of 256 rows (64 per warpgroup, num_warps=16) and of 8 columns, got 128x64}}
  %r = tile.mma %a, %b, %acc : !tile.shared<128x64xbf16>, !tile.shared<64x64xbf16>, tensor<128x64xf32> -> tensor<128x64xf32>
  %m1 = tile.reduce max %r, dim = 1 : tensor<128x64xf32> -> tensor<128xf32>
  %m = arith.maximumf %m0, %m1 : tensor<128xf32>
  tile.store %m, %p[%off] : tensor<128xf32>, !tile.ptr<f32>
  return
}
