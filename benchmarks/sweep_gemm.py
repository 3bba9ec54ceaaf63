"""Tries GEMM tile shapes, warp counts, stage counts and a grouped tile order
against cuBLAS (each result checked): how bench_gemm.py's configuration was
chosen.   python3 benchmarks/sweep_gemm.py"""
import os
import sys

import torch
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import tile  # noqa: E402
from gemm import gemm  # noqa: E402


@tile.jit
def gemm_grouped(A, B, C, BM: tile.constexpr, BN: tile.constexpr, BK: tile.constexpr,
                 GROUP: tile.constexpr):
    """examples/gemm.py with programs walking GROUP rows of tiles per column
    sweep (a 1-D grid), so that neighbouring programs share B's tiles in L2."""
    pid = tile.program_id(0)
    tiles_m = tile.cdiv(A.shape[0], BM)
    tiles_n = tile.cdiv(B.shape[1], BN)
    first_m = (pid // (GROUP * tiles_n)) * GROUP
    rows = tiles_m - first_m
    if rows > GROUP:
        rows = GROUP
    i = (first_m + pid % rows) * BM
    j = ((pid % (GROUP * tiles_n)) // rows) * BN
    acc = tile.zeros((BM, BN), tile.float32)
    for k in range(0, A.shape[1], BK):
        a = tile.load(A, (i, k), (BM, BK))
        b = tile.load(B, (k, j), (BK, BN))
        acc = tile.mma(a, b, acc)
    tile.store(C, (i, j), acc.to(C.dtype))


def main():
    for (M, N, K) in [(4096, 4096, 4096), (8192, 8192, 8192)]:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        ref = a @ b
        t_ref = do_bench(lambda: torch.matmul(a, b, out=ref), warmup=50, rep=300,
                         return_mode="median")
        configs = [("plain", 128, 256, 8, 3), ("plain", 128, 256, 8, 4), ("plain", 256, 128, 8, 4),
                   ("grouped8", 128, 256, 8, 3), ("grouped8", 128, 256, 8, 4)]
        for order, BM, BN, warps, stages in configs:
            c.fill_(float("nan"))
            if order == "plain":
                grid = (tile.cdiv(M, BM), tile.cdiv(N, BN))
                run = lambda: gemm[grid](a, b, c, BM=BM, BN=BN, BK=64, num_warps=warps,
                                         num_stages=stages)
            else:
                grid = (tile.cdiv(M, BM) * tile.cdiv(N, BN),)
                run = lambda: gemm_grouped[grid](a, b, c, BM=BM, BN=BN, BK=64, GROUP=8,
                                                 num_warps=warps, num_stages=stages)
            try:
                run()
                torch.cuda.synchronize()
                err = float((c.float() - ref.float()).norm() / ref.float().norm())
                t = do_bench(run, warmup=50, rep=300, return_mode="median")
                print(f"{M}x{N}x{K} {order} BM={BM} BN={BN} warps={warps} stages={stages}: "
                      f"{2 * M * N * K / t / 1e9:.0f} TFLOP/s, cuBLAS {2 * M * N * K / t_ref / 1e9:.0f},"
                      f" ratio {t_ref / t:.3f}, rel err {err:.1e}")
            except Exception as e:  # a configuration that does not fit is reported, not fatal
                print(f"{order} BM={BM} BN={BN} warps={warps} stages={stages}: "
                      f"{type(e).__name__}: {str(e)[:160]}")


if __name__ == "__main__":
    main()
