"""Split-K GEMM: C += A @ B for skinny shapes (M small, K large), where one program
per BM x BN tile of C would leave most SMs idle. Grid axis 2 splits K into SPLITS
slices: each program multiplies its slice, A[i:i+BM, k-slice] @ B[k-slice, j:j+BN],
and adds the partial tile into C (float32, zeroed first) with atomic_add, so the
slices of one tile combine in whatever order they finish.

With a GPU it runs against torch; otherwise on the CPU interpreter against numpy.
"""
import sys

import tile


@tile.jit
def gemm_split_k(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                 SPLITS: tile.constexpr):
    i = tile.program_id(0) * BM
    j = tile.program_id(1) * BN
    K = A.shape[1]
    # This program's slice of K: whole BK steps, the last slice shorter.
    per_split = tile.cdiv(tile.cdiv(K, SPLITS), BK) * BK
    k_start = tile.program_id(2) * per_split
    k_stop = tile.minimum(k_start + per_split, K)
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(k_start, k_stop, BK):  # tiles sticking out of A or B read zeros
        acc = tile.mma(tile.load(A, (i, k), (BM, BK)), tile.load(B, (k, j), (BK, BN)), acc)
    rows = i + tile.arange(BM)
    cols = j + tile.arange(BN)
    offsets = (rows * C.shape[1])[:, None] + cols[None, :]  # C is contiguous
    inside = (rows < C.shape[0])[:, None] & (cols < C.shape[1])[None, :]
    tile.atomic_add(C, offsets, acc, mask=inside, sem="relaxed")


BLOCKS = dict(BM=64, BN=64, BK=64, SPLITS=8)


def grid(M, N):
    return (tile.cdiv(M, BLOCKS["BM"]), tile.cdiv(N, BLOCKS["BN"]), BLOCKS["SPLITS"])


def main() -> int:
    if not tile.gpu_available():
        return run_on_interpreter()
    import torch
    M, N, K = 16, 1024, 16384
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.zeros(M, N, device="cuda", dtype=torch.float32)
    gemm_split_k[grid(M, N)](a, b, c, **BLOCKS)
    torch.cuda.synchronize()
    ok = torch.allclose(c, a.float() @ b.float(), rtol=1e-3, atol=1e-2)
    print(f"GPU result {'matches' if ok else 'DIFFERS FROM'} torch ({M} x {K} @ {K} x {N})")
    return 0 if ok else 1


def run_on_interpreter() -> int:
    import ml_dtypes
    import numpy as np
    M, N, K = 20, 100, 1000  # ragged: tiles stick out of M, N and the last K slice
    print("No CUDA GPU here: running the kernel's tile IR on the CPU interpreter "
          f"(tile.interpreter, numpy arrays) instead: {M} x {K} @ {K} x {N}, bf16 in, "
          f"float32 out, K in {BLOCKS['SPLITS']} slices.")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((M, K)).astype(ml_dtypes.bfloat16)
    b = rng.standard_normal((K, N)).astype(ml_dtypes.bfloat16)
    c = np.zeros((M, N), np.float32)
    gemm_split_k[grid(M, N)].interpret(a, b, c, **BLOCKS)
    reference = a.astype(np.float64) @ b.astype(np.float64)
    ok = np.allclose(c, reference, rtol=1e-4, atol=1e-3)
    print(f"interpreter result {'matches' if ok else 'DIFFERS FROM'} numpy")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
