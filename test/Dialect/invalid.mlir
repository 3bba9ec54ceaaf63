// RUN: tile-opt %s -split-input-file -verify-diagnostics

func.func @load_element_mismatch(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{element type mismatch: pointer '!tile.ptr<f32>' holds 'f32' but tile 'tensor<1024xf16>' holds 'f16'}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<1024xf16>
  return
}

// -----

func.func @store_element_mismatch(%p: !tile.ptr<f16>, %off: i32, %v: tensor<64xf32>) {
  // expected-error @+1 {{element type mismatch: pointer '!tile.ptr<f16>' holds 'f16' but tile 'tensor<64xf32>' holds 'f32'}}
  tile.store %v, %p[%off] : tensor<64xf32>, !tile.ptr<f16>
  return
}

// -----

func.func @not_power_of_two(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{tile length must be a power of two, got 1000}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<1000xf32>
  return
}

// -----

func.func @rank_two(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{global tile access is 1-D for now}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<16x16xf32>
  return
}

// -----

func.func @layout_rank(%p: !tile.ptr<f32>, %off: i32) {
  // expected-error @+1 {{layout rank 2 differs from tile rank 1}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32, #tile.blocked<size_per_thread = [1, 1], threads_per_warp = [1, 32], warps_per_cta = [4, 1]>>
  return
}

// -----

// expected-error @+1 {{#tile.blocked threads_per_warp must multiply to 32, got 16}}
func.func @lanes(%a: tensor<64xf32, #tile.blocked<size_per_thread = [1], threads_per_warp = [16], warps_per_cta = [4]>>) {
  return
}

// -----

// expected-error @+1 {{!tile.ptr element type must be one of}}
func.func @ptr_element(%p: !tile.ptr<f64>) {
  return
}

// -----

func.func @axis_range() -> i32 {
  // expected-error @+1 {{attribute 'axis' failed to satisfy constraint}}
  %pid = tile.program_id 3
  return %pid : i32
}

// -----

// expected-note @+1 {{prior use here}}
func.func @offset_type(%p: !tile.ptr<f32>, %off: i64) {
  // expected-error @+1 {{use of value '%off' expects different type than prior uses: 'i32' vs 'i64'}}
  %a = tile.load %p[%off] : !tile.ptr<f32> -> tensor<64xf32>
  return
}
