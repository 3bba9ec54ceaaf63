"""GEMM for few rows (decode, small batches): C = A @ B with M = 1 .. 256, computed
as Cᵀ = Bᵀ · Aᵀ so that N, not M, fills the mma's rows.

A WGMMA's rows come 64 a warpgroup, so a C tile of 64 x BN for M = 16 wastes three
quarters of every mma and, worse, gives only N / BN programs a K-loop each (64
programs at N = 4096: half the H100 idle). Swapped, each program computes the BN x
BM tile of Cᵀ, BN rows of N on the mma's rows and the BM (16 to 64) rows of A on
its columns: B's (BK, BN) tile is the mma's a, transposed, and A's (BM, BK) tile its
b, K-major (`transpose_b`); the accumulator is BN x BM, a handful of registers, and
C's tile is its transpose. Both tiles come by TMA into the pipeline's stages, so
the weight B, the bytes that matter at small M, streams through as many stages as
shared memory holds.

Runs against torch on a GPU; otherwise on the CPU interpreter against numpy.
"""
import sys

import tile


@tile.jit
def gemm_swap_ab(A, B, C, BN: tile.constexpr, BM: tile.constexpr, BK: tile.constexpr):
    """Grid (cdiv(N, BN), cdiv(M, BM)): program (p, q) writes C[q·BM : +BM, p·BN : +BN]."""
    j = tile.program_id(0) * BN
    i = tile.program_id(1) * BM
    acc = tile.zeros((BN, BM), tile.float32)  # Cᵀ's tile
    for k in range(0, A.shape[1], BK):
        b = tile.load(B, (k, j), (BK, BN))
        a = tile.load(A, (i, k), (BM, BK))
        acc = tile.mma(b, a, acc, transpose_a=True, transpose_b=True)  # += Bᵀ · Aᵀ
    tile.store(C, (i, j), acc.T.to(C.dtype))


# BM the rows of A a program takes (16 at decode), BN the rows of B's transpose;
# stages as shared memory allows (the weight's tiles in flight). At M = 128-256 the
# narrow BN = 64 tiles give N / 64 programs (128 at N = 8192) where a 128 x 128 tile of
# C gives half the multiprocessors work.
CONFIGS = [tile.Config(dict(BN=BN, BM=BM, BK=64), num_warps=BN // 16, num_stages=stages)
           for BN, BM, stages in [(64, 16, 8), (128, 16, 6), (64, 32, 8), (128, 32, 6),
                                  (128, 64, 4), (64, 128, 6), (128, 128, 4), (64, 256, 4)]]
KEY = ["A.shape[0]", "B.shape[1]", "A.shape[1]"]


def rows_fit(args, configs):
    """The configurations whose BM is no larger than M's power of two (at least 16):
    a wider tile of A's rows only multiplies padding."""
    rows = max(16, 1 << max(0, args["A"].shape[0] - 1).bit_length())
    return [c for c in configs if c.kwargs["BM"] <= rows]


gemm_swap_ab_tuned = tile.autotune(CONFIGS, key=KEY, default=CONFIGS[0],
                                   prune=rows_fit)(gemm_swap_ab)


def grid(M, N):
    return lambda meta: (tile.cdiv(N, meta["BN"]), tile.cdiv(M, meta["BM"]))


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import torch
    ok = True
    for M, N, K in [(1, 4096, 4096), (16, 8192, 8192), (100, 4096, 1024), (256, 8192, 2048)]:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
        gemm_swap_ab_tuned[grid(M, N)](a, b, c)
        want = a.float() @ b.float()
        error = float((c.float() - want).norm() / want.norm())
        ok &= error < 1e-2
        print(f"{M} x {N} x {K}: relative error {error:.1e}: "
              f"{'matches' if error < 1e-2 else 'DIFFERS FROM'} torch ({gemm_swap_ab_tuned.best_config})")
    return 0 if ok else 1


def run_on_interpreter() -> int:
    import ml_dtypes
    import numpy as np
    print("Running on the CPU interpreter (no CUDA GPU here), against numpy:")
    rng = np.random.default_rng(0)
    ok = True
    for M, N, K in [(1, 200, 128), (16, 136, 192), (33, 64, 64)]:
        a = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
        b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
        c = np.zeros((M, N), ml_dtypes.bfloat16)
        gemm_swap_ab_tuned[grid(M, N)].interpret(a, b, c)
        want = a.astype(np.float64) @ b.astype(np.float64)
        error = np.linalg.norm(c.astype(np.float64) - want) / np.linalg.norm(want)
        ok &= error < 1e-2
        print(f"{M} x {N} x {K}: relative error {error:.1e}: "
              f"{'matches' if error < 1e-2 else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
