"""w8a16 GEMM: Y = X @ (W * scale[:, None]).T with X bf16 (M, K), W int8 (N, K) and
one scale per output channel (N,), the weight dequantized inside the kernel: each
program's K loop loads W's int8 tile, converts it to bf16 in registers and multiplies
X's tile by it on the tensor cores. The compiler copies X's and W's tiles by TMA into
stages ahead of the loop (tile-pipeline; W's is read back from its stage into
registers) and writes the dequantized tile to shared memory for WGMMA
(tile-store-mma-operands: two stages, so the multiply of one K step runs on while the
next is dequantized). The scale is constant along K, so it
multiplies the f32 sums once, in the epilogue: (X @ W.T) * scale, the same product
with BM x BN multiplies instead of BN x K.

Small M (decode, M = 1..16) takes the same kernel: X's tile sticks out of X (rows
past M read zeros, TMA fetches none of them) and Y's store skips those rows.

With a GPU it runs against torch; otherwise on the CPU interpreter against numpy.
"""
import sys

import tile


@tile.jit
def w8a16(X, W, scale, Y, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr):
    # This program's tile of Y starts at row i, column j.
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, X.shape[1], BK):
        x = tile.load(X, (i, k), (BM, BK))
        w = tile.load(W, (j, k), (BN, BK)).to(tile.bfloat16)  # exact: int8 fits bf16
        acc = tile.mma(x, w, acc, transpose_b=True)  # acc += x @ w.T
    s = tile.load(scale, j, BN, bound=W.shape[0]).to(tile.float32)
    tile.store(Y, (i, j), (acc * s[None, :]).to(Y.dtype))


def blocks(M: int) -> dict:
    """Tiles for M rows: 64-row tiles (WGMMA's smallest M) and narrow 64-column ones
    while M is small (decode), so that N / BN programs fill the GPU, with stages
    enough to keep several of W's tiles in flight (decode reads the weight and little
    else); 128 x 128 tiles once M gives programs enough."""
    if M <= 64:
        return dict(BM=64, BN=64, BK=64, num_warps=4, num_stages=6)
    return dict(BM=128, BN=128, BK=64, num_warps=8, num_stages=4)


# What @tile.autotune times per shape: decode wants many of W's tiles in flight
# (stages, narrower tiles for more programs), prefill the tensor cores' larger tiles.
CONFIGS = [tile.Config(dict(BM=64, BN=64, BK=64), num_warps=4, num_stages=6),
           tile.Config(dict(BM=64, BN=64, BK=64), num_warps=4, num_stages=4),
           tile.Config(dict(BM=64, BN=32, BK=64), num_warps=4, num_stages=8),
           tile.Config(dict(BM=128, BN=128, BK=64), num_warps=8, num_stages=4),
           tile.Config(dict(BM=128, BN=256, BK=64), num_warps=8, num_stages=3)]
w8a16_tuned = tile.autotune(CONFIGS, key=["X.shape[0]", "W.shape[0]", "W.shape[1]"],
                            default=CONFIGS[0])(w8a16)


def launch(x, w, scale, y, run=None):
    """Y = X @ (W * scale[:, None]).T into y; `run` picks how: "interpret" (the CPU
    interpreter, `blocks`' tiles), "tuned" (w8a16_tuned) or, by default, the GPU
    with `blocks`' tiles."""
    M, N = x.shape[0], w.shape[0]
    if run == "tuned":
        grid = lambda meta: (tile.cdiv(M, meta["BM"]), tile.cdiv(N, meta["BN"]))  # noqa: E731
        return w8a16_tuned[grid](x, w, scale, y)
    config = blocks(M)
    kernel = w8a16[(tile.cdiv(M, config["BM"]), tile.cdiv(N, config["BN"]))]
    if run == "interpret":
        return kernel.interpret(x, w, scale, y, BM=config["BM"], BN=config["BN"],
                                BK=config["BK"])
    return kernel(x, w, scale, y, **config)


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import torch
    ok = True
    for M, N, K in ((16, 4096, 4096), (4096, 4096, 4096)):
        x = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        w = torch.randint(-128, 128, (N, K), device="cuda", dtype=torch.int8)
        scale = torch.rand(N, device="cuda", dtype=torch.bfloat16) / 64
        y = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        launch(x, w, scale, y)
        torch.cuda.synchronize()
        expect = x.float() @ (w.float() * scale.float()[:, None]).T
        error = float((y.float() - expect).norm() / expect.norm())
        ok &= error < 1e-2
        print(f"GPU result {'matches' if error < 1e-2 else 'DIFFERS FROM'} torch "
              f"({M} x {K} @ ({N} x {K} int8).T, rel err {error:.1e})")
    return 0 if ok else 1


def run_on_interpreter() -> int:
    import ml_dtypes
    import numpy as np
    M, N, K = 5, 80, 200  # ragged: tiles stick out of M, N and K
    print("No CUDA GPU here: running the kernel's tile IR on the CPU interpreter "
          f"(tile.interpreter, numpy arrays) instead: {M} x {K} bf16 @ ({N} x {K} int8).T "
          "with per-channel scales.")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    w = rng.integers(-128, 128, (N, K), dtype=np.int8)
    scale = (rng.random(N) / 64).astype(ml_dtypes.bfloat16)
    y = np.zeros((M, N), ml_dtypes.bfloat16)
    launch(x, w, scale, y, run="interpret")
    expect = x.astype(np.float64) @ (w.astype(np.float64) * scale.astype(np.float64)[:, None]).T
    error = np.linalg.norm(y.astype(np.float64) - expect) / np.linalg.norm(expect)
    ok = error < 1e-2
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy (rel err {error:.1e})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
