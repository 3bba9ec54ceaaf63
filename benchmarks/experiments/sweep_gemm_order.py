"""Tile order and grid of the persistent warp-specialized GEMM (128x256, 4
stages) side by side with cuBLAS: GROUP 8 and 16 rows of tiles per column
sweep on one program per SM, and GROUP 16 on the grid of equal rounds
(persistent_grid, the benchmark's); the persistent cluster kernel (GROUP 8
blocks of 2 x 128 rows). Results checked against torch first; three passes of
five interleaved rounds, medians. With --profile each kernel runs once more and
nothing is timed (for ncu: dram__bytes_read.sum). Predicted DRAM bytes:
benchmarks/experiments/l2_model.py.
    SHAPES=4096,8192x4096x4096 python -m benchmarks.experiments.sweep_gemm_order [--profile]"""
import os
import statistics
import sys

import torch

from ..examples import gemm as gemm_example
from ..rows import check_each, interleaved

gemm_persistent, gemm_persistent_cluster = (gemm_example.gemm_persistent,
                                            gemm_example.gemm_persistent_cluster)
persistent_grid = gemm_example.persistent_grid

WS = dict(BM=128, BN=256, BK=64, num_warps=8, num_stages=4, warp_specialize=True)
SHAPES = [(4096, 4096, 4096), (8192, 8192, 8192), (8192, 4096, 4096), (8192, 4096, 14336),
          (8192, 14336, 4096), (8192, 14336, 14336)]


def name(M, N, K) -> str:
    return str(M) if M == N == K else f"{M}x{N}x{K}"


def main():
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    only = os.environ.get("SHAPES")
    for M, N, K in [s for s in SHAPES if not only or name(*s) in only.split(",")]:
        a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
        c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
        ref = a @ b
        even = persistent_grid(M, N, programs)(WS)
        runs = {"cuBLAS": lambda: torch.matmul(a, b, out=ref),
                "P G8": lambda: gemm_persistent[(programs,)](a, b, c, GROUP=8, **WS),
                "P G16": lambda: gemm_persistent[(programs,)](a, b, c, GROUP=16, **WS),
                f"P G16 on {even[0]}": lambda: gemm_persistent[even](a, b, c, GROUP=16, **WS),
                "PC G8": lambda: gemm_persistent_cluster[(programs // 2 * 2,)](
                    a, b, c, GROUP=8, num_ctas=2, **WS)}
        check_each(runs, c, ref, name(M, N, K))
        if "--profile" in sys.argv:
            for run in runs.values():
                run()
            torch.cuda.synchronize()
            continue
        passes = [interleaved(runs, warmup=100, rep=500, rounds=5)[0] for _ in range(3)]
        flops = 2.0 * M * N * K
        base = statistics.median(p["cuBLAS"] for p in passes)
        for kernel in runs:
            t = statistics.median(p[kernel] for p in passes)
            print(f"{name(M, N, K)} {kernel:12s} {t * 1e3:8.1f} us {flops / t / 1e9:5.0f} TFLOP/s "
                  f"{base / t:.3f} x cuBLAS (passes " +
                  " ".join(f"{p['cuBLAS'] / p[kernel]:.3f}" for p in passes) + ")", flush=True)


if __name__ == "__main__":
    main()
