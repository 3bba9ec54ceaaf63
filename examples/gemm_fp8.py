"""Scaled fp8 GEMM: C = A @ W.T with A (M, K) and W (N, K) in e4m3 (as nn.Linear stores
W: both operands K-major, the layout fp8 WGMMA takes) and float32 scales, bf16 out.

Three ways to scale, as fp8 training and inference recipes use them:
- per tensor: one scale for A and one for W (`gemm_fp8_scaled`, ROWWISE=False);
- per row of A and per row of W, that is per output column (`gemm_fp8_scaled`,
  ROWWISE=True): C[m, n] = scale_a[m] * scale_w[n] * sum_k A[m, k] W[n, k];
- per block (DeepSeek-V3 / DeepGEMM): A's scales per 1 x 128 block (one per row and
  128 columns of K), W's per 128 x 128 block (`gemm_fp8_blockwise`). The scale changes
  along K, so it cannot wait for the epilogue: each 128-wide K step is multiplied into
  a fresh f32 tile by the tensor cores and then added, scaled, into the f32 sum.
  Adding each block's products in f32 is also what DeepGEMM does against the drift of
  fp8 WGMMA's narrower accumulation over long K.

The per-tensor and per-row scales are constant along K: they multiply the f32 sums
once, in the epilogue (BM x BN multiplies, not BN x K).

With a GPU it runs against torch; otherwise on the CPU interpreter against numpy.
"""
import sys

from gemm import matmul_nt_tile

import tile

BLOCK = 128  # the scaling block along K (and along N for W), DeepGEMM's


@tile.jit
def gemm_fp8_scaled(A, W, C, scale_a, scale_w, BM: tile.constexpr, BN: tile.constexpr,
                    BK: tile.constexpr, ROWWISE: tile.constexpr):
    """C = (A @ W.T) * scale_a[:, None] * scale_w[None, :] (ROWWISE: scale_a of M
    floats, scale_w of N), or times scale_a[0] * scale_w[0] (one float each)."""
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = matmul_nt_tile(A, W, i, j, BM, BN, BK)
    if ROWWISE:
        sa = tile.load(scale_a, i, BM, bound=A.shape[0])
        sw = tile.load(scale_w, j, BN, bound=W.shape[0])
        acc = acc * sa[:, None] * sw[None, :]
    else:
        acc = acc * (tile.load(scale_a, 0, 1) * tile.load(scale_w, 0, 1))[None, :]
    tile.store(C, (i, j), acc.to(C.dtype))


@tile.jit
def gemm_fp8_blockwise(A, W, C, scale_a, scale_w, BM: tile.constexpr, BN: tile.constexpr):
    """C = sum over K blocks kb of (A[:, kb] @ W[:, kb].T) * scale_a[kb, rows] (per 1 x 128
    block of A, stored K-block-major: (K/128, M), as DeepGEMM takes it) * scale_w[n
    block, kb] (per 128 x 128 block of W: (N/128, K/128)). BN = 128: one W block a tile."""
    tile.static_assert(BN == 128, "gemm_fp8_blockwise: BN must be 128, one scale block of W")
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], 128):
        a = tile.load(A, (i, k), (BM, 128))
        w = tile.load(W, (j, k), (BN, 128))
        block = tile.mma(a, w, tile.zeros((BM, BN), tile.float32), transpose_b=True)
        kb = k // 128
        sa = tile.load(scale_a, (kb, i), (BM,))  # row kb of (K/128, M): this tile's rows
        sw = tile.load(scale_w, (j // 128, kb), (1,))  # W's block (j / 128, kb), as a 1-tile
        acc = acc + block * (sa[:, None] * sw[None, :])
    tile.store(C, (i, j), acc.to(C.dtype))


def launch_scaled(a, w, scale_a, scale_w, c, rowwise: bool, interpret: bool = False):
    M, N = a.shape[0], w.shape[0]
    config = dict(BM=128, BN=128, BK=128, ROWWISE=rowwise)
    kernel = gemm_fp8_scaled[(tile.cdiv(M, 128), tile.cdiv(N, 128))]
    if interpret:
        return kernel.interpret(a, w, c, scale_a, scale_w, **config)
    return kernel(a, w, c, scale_a, scale_w, num_warps=8, num_stages=4, **config)


def launch_blockwise(a, w, scale_a, scale_w, c, interpret: bool = False):
    """scale_a: (K/128, M) (a (M, K/128) tensor's transpose works: any strides)."""
    M, N = a.shape[0], w.shape[0]
    kernel = gemm_fp8_blockwise[(tile.cdiv(M, 128), tile.cdiv(N, 128))]
    if interpret:
        return kernel.interpret(a, w, c, scale_a, scale_w, BM=128, BN=128)
    return kernel(a, w, c, scale_a, scale_w, BM=128, BN=128, num_warps=8, num_stages=4)


MODES = ("tensorwise", "rowwise", "blockwise")


def scale_shapes(mode: str, M: int, N: int, K: int) -> tuple:
    """The shapes of A's and W's scales: (1,) each, (M,) and (N,), or A's per 1 x 128
    block K-block-major, (K/128, M), and W's per 128 x 128 block, (N/128, K/128)."""
    if mode == "blockwise":
        return (K // BLOCK, M), (tile.cdiv(N, BLOCK), K // BLOCK)
    return ((M,), (N,)) if mode == "rowwise" else ((1,), (1,))


def launch(mode: str, a, w, scale_a, scale_w, c, interpret: bool = False):
    """C = A @ W.T scaled as `mode` says, into c."""
    if mode == "blockwise":
        return launch_blockwise(a, w, scale_a, scale_w, c, interpret)
    return launch_scaled(a, w, scale_a, scale_w, c, mode == "rowwise", interpret)


def reference(np, a, w, scale_a, scale_w, mode: str):
    """The exact product in float64 (numpy arrays), each way of scaling."""
    a64, w64 = a.astype(np.float64), w.astype(np.float64)
    if mode == "blockwise":
        rows = np.repeat(scale_a.astype(np.float64).T, BLOCK, axis=1)[:, :a.shape[1]]
        cols = np.repeat(np.repeat(scale_w.astype(np.float64), BLOCK, axis=0), BLOCK,
                         axis=1)[:w.shape[0], :w.shape[1]]
        return (a64 * rows) @ (w64 * cols).T
    product = a64 @ w64.T
    if mode == "rowwise":
        return product * scale_a.astype(np.float64)[:, None] * scale_w.astype(np.float64)[None, :]
    return product * float(scale_a[0]) * float(scale_w[0])


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import numpy as np
    import torch
    ok = True
    M, N, K = 4096, 4096, 4096
    for mode in MODES:
        a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
        w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
        scale_a, scale_w = (torch.rand(shape, device="cuda") + 0.5
                            for shape in scale_shapes(mode, M, N, K))
        c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
        launch(mode, a, w, scale_a, scale_w, c)
        torch.cuda.synchronize()
        expect = reference(np, a.float().cpu().numpy(), w.float().cpu().numpy(),
                           scale_a.cpu().numpy(), scale_w.cpu().numpy(), mode)
        got = c.float().cpu().numpy()
        error = float(np.linalg.norm(got - expect) / np.linalg.norm(expect))
        ok &= error < 1e-2
        print(f"GPU result ({mode}) {'matches' if error < 1e-2 else 'DIFFERS FROM'} torch "
              f"({M} x {K} @ ({N} x {K}).T e4m3, rel err {error:.1e})")
    return 0 if ok else 1


def run_on_interpreter() -> int:
    import ml_dtypes
    import numpy as np
    M, N, K = 136, 200, 384  # ragged M and N: tiles stick out
    print("No CUDA GPU here: running the kernels' tile IR on the CPU interpreter "
          f"(tile.interpreter, numpy arrays) instead: {M} x {K} @ ({N} x {K}).T e4m3, "
          "scaled per tensor, per row and per block.")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(ml_dtypes.float8_e4m3fn)
    w = rng.standard_normal((N, K)).astype(ml_dtypes.float8_e4m3fn)
    ok = True
    for mode in MODES:
        scale_a, scale_w = ((rng.random(shape) + 0.5).astype(np.float32)
                            for shape in scale_shapes(mode, M, N, K))
        c = np.zeros((M, N), ml_dtypes.bfloat16)
        launch(mode, a, w, scale_a, scale_w, c, interpret=True)
        expect = reference(np, a, w, scale_a, scale_w, mode)
        error = np.linalg.norm(c.astype(np.float64) - expect) / np.linalg.norm(expect)
        ok &= error < 1e-2
        print(f"CPU interpreter result ({mode}) {'matches' if error < 1e-2 else 'DIFFERS FROM'} "
              f"numpy (rel err {error:.1e})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
