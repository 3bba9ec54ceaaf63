"""Tries GEMM tile shapes, warp counts, stage counts and a grouped tile order
against cuBLAS (each result checked): how bench_gemm.py's configuration was
chosen.   python3 benchmarks/sweep_gemm.py"""
import os
import sys

import torch
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import tile  # noqa: E402
from gemm import gemm, gemm_grouped  # noqa: E402


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
