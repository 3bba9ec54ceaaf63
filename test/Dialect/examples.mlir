// RUN: tile-opt %s | FileCheck %s
// The two kernels the dialect exists for, written in it (docs/dialect.md
// shows them): a GEMM main loop and a flash-attention forward inner loop.

// C[m0:m0+128, n0:n0+128] = A[m0:, :] · B[:, n0:] with f32 accumulation.
// CHECK-LABEL: func.func @gemm_main_loop
// CHECK: scf.for
// CHECK: tile.mma
func.func @gemm_main_loop(%A: !tile.view<bf16, 2>, %B: !tile.view<bf16, 2>, %C: !tile.view<bf16, 2>,
                          %K: i32, %m0: i32, %n0: i32) {
  %c0 = arith.constant 0 : i32
  %c64 = arith.constant 64 : i32
  %zero = arith.constant dense<0.0> : tensor<128x128xf32>
  %acc = scf.for %k = %c0 to %K step %c64 iter_args(%acc = %zero) -> (tensor<128x128xf32>) : i32 {
    %a = tile.load %A[%m0, %k] : !tile.view<bf16, 2> -> tensor<128x64xbf16>
    %b = tile.load %B[%k, %n0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
    %next = tile.mma %a, %b, %acc : tensor<128x64xbf16>, tensor<64x128xbf16>, tensor<128x128xf32> -> tensor<128x128xf32>
    scf.yield %next : tensor<128x128xf32>
  }
  %c = arith.truncf %acc : tensor<128x128xf32> to tensor<128x128xbf16>
  tile.store %c, %C[%m0, %n0] : tensor<128x128xbf16>, !tile.view<bf16, 2>
  return
}

// One query block against all key/value blocks, with the online softmax:
// S = Q·Kᵀ·scale (log2 units), m' = max(m, rowmax S), P = 2^(S - m'),
// l' = l·2^(m - m') + rowsum P, O' = O·2^(m - m') + P·V; finally O / l.
// CHECK-LABEL: func.func @attention_inner_loop
// CHECK: tile.mma {{.*}} {transpose_b}
// CHECK: tile.reduce max
// CHECK: math.exp2
// CHECK: tile.reduce sum
func.func @attention_inner_loop(%Q: !tile.view<bf16, 2>, %K: !tile.view<bf16, 2>, %V: !tile.view<bf16, 2>,
                                %O: !tile.view<bf16, 2>, %N: i32, %q0: i32, %scale: f32) {
  %c0 = arith.constant 0 : i32
  %c128 = arith.constant 128 : i32
  %q = tile.load %Q[%q0, %c0] : !tile.view<bf16, 2> -> tensor<64x128xbf16>
  %o0 = arith.constant dense<0.0> : tensor<64x128xf32>
  %m0 = arith.constant dense<0xFF800000> : tensor<64xf32>
  %l0 = arith.constant dense<0.0> : tensor<64xf32>
  %zs = arith.constant dense<0.0> : tensor<64x128xf32>
  %sc = tile.splat %scale : f32 -> tensor<64x128xf32>
  %o, %m, %l = scf.for %kv = %c0 to %N step %c128 iter_args(%o = %o0, %m = %m0, %l = %l0)
      -> (tensor<64x128xf32>, tensor<64xf32>, tensor<64xf32>) : i32 {
    %k = tile.load %K[%kv, %c0] : !tile.view<bf16, 2> -> tensor<128x128xbf16>
    %v = tile.load %V[%kv, %c0] : !tile.view<bf16, 2> -> tensor<128x128xbf16>
    %s0 = tile.mma %q, %k, %zs {transpose_b} : tensor<64x128xbf16>, tensor<128x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    %s = arith.mulf %s0, %sc : tensor<64x128xf32>
    %rowmax = tile.reduce max %s, dim = 1 : tensor<64x128xf32> -> tensor<64xf32>
    %mnew = arith.maximumf %m, %rowmax : tensor<64xf32>
    %mb = tile.broadcast %mnew, dim = 1 : tensor<64xf32> -> tensor<64x128xf32>
    %sd = arith.subf %s, %mb : tensor<64x128xf32>
    %p = math.exp2 %sd : tensor<64x128xf32>
    %dm = arith.subf %m, %mnew : tensor<64xf32>
    %alpha = math.exp2 %dm : tensor<64xf32>
    %rowsum = tile.reduce sum %p, dim = 1 : tensor<64x128xf32> -> tensor<64xf32>
    %la = arith.mulf %l, %alpha : tensor<64xf32>
    %lnew = arith.addf %la, %rowsum : tensor<64xf32>
    %ab = tile.broadcast %alpha, dim = 1 : tensor<64xf32> -> tensor<64x128xf32>
    %os = arith.mulf %o, %ab : tensor<64x128xf32>
    %pb = arith.truncf %p : tensor<64x128xf32> to tensor<64x128xbf16>
    %onew = tile.mma %pb, %v, %os : tensor<64x128xbf16>, tensor<128x128xbf16>, tensor<64x128xf32> -> tensor<64x128xf32>
    scf.yield %onew, %mnew, %lnew : tensor<64x128xf32>, tensor<64xf32>, tensor<64xf32>
  }
  %lb = tile.broadcast %l, dim = 1 : tensor<64xf32> -> tensor<64x128xf32>
  %out = arith.divf %o, %lb : tensor<64x128xf32>
  %outb = arith.truncf %out : tensor<64x128xf32> to tensor<64x128xbf16>
  tile.store %outb, %O[%q0, %c0] : tensor<64x128xbf16>, !tile.view<bf16, 2>
  return
}
