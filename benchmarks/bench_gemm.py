"""bf16 GEMM (f32 accumulate, bf16 out): tile vs torch.matmul (cuBLAS), side by side.

Each case checks tile's result against cuBLAS's in the same run (relative
Frobenius error) and times both with do_bench (median) on random data.
"""
from __future__ import annotations

import os
import sys

import torch
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
import tile  # noqa: E402
from gemm import gemm_grouped  # noqa: E402

# 128 x 256 tiles over two consumer warpgroups (one 64-row slab each), 4 TMA
# stages, grouped tile order: the best of the configurations
# benchmarks/sweep_gemm.py tried (docs/perf-notes.md).
BLOCKS = dict(BM=128, BN=256, BK=64, GROUP=8)
NUM_WARPS, NUM_STAGES = 8, 4


def bench_case(M: int, N: int, K: int) -> dict:
    a = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    b = torch.randn(K, N, device="cuda", dtype=torch.bfloat16)
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)  # poison
    grid = (tile.cdiv(M, BLOCKS["BM"]) * tile.cdiv(N, BLOCKS["BN"]),)
    launch = lambda: gemm_grouped[grid](a, b, c, **BLOCKS, num_warps=NUM_WARPS,
                                        num_stages=NUM_STAGES)
    launch()
    ref = torch.matmul(a, b)
    torch.cuda.synchronize()
    error = float((c.float() - ref.float()).norm() / ref.float().norm())
    t_tile = do_bench(launch, warmup=100, rep=500, return_mode="median")
    t_ref = do_bench(lambda: torch.matmul(a, b, out=ref), warmup=100, rep=500,
                     return_mode="median")
    flops = 2.0 * M * N * K
    tflops = lambda ms: flops / (ms * 1e-3) / 1e12
    return {"case": f"GEMM {M}x{N}x{K} bf16 (128x256x64, 8 warps, 4 stages, grouped)", "kind": "gemm", "correct": error < 1e-2,
            "rel_error": error, "tile_ms": t_tile, "cublas_ms": t_ref,
            "tile_TFLOPs": tflops(t_tile), "cublas_TFLOPs": tflops(t_ref),
            "vs_cublas": t_ref / t_tile}


def bench() -> list[dict]:
    return [bench_case(4096, 4096, 4096), bench_case(8192, 8192, 8192),
            bench_case(8192, 4096, 14336)]


def row(r: dict) -> str:
    check = f"rel err {r['rel_error']:.1e}" if r["correct"] else f"WRONG ({r['rel_error']:.1e})"
    return (f"| {r['case']} | {check} | {r['tile_TFLOPs']:.0f} TFLOP/s | cuBLAS "
            f"{r['cublas_TFLOPs']:.0f} TFLOP/s | {r['vs_cublas']:.3f} |")
