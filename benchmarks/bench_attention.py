"""Attention forward, bf16, causal and not: tile vs SDPA (flash and cuDNN backends),
side by side; each result checked against SDPA's in the same run."""
from __future__ import annotations

import math
import os
import sys

import torch
from triton.testing import do_bench

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "examples"))
from attention import attention_fwd  # noqa: E402

# Per head dimension: (BM, BN, num_warps, num_stages), from benchmarks/sweep_attention.py.
CONFIGS = {64: (128, 64, 4, 3), 128: (128, 64, 8, 3)}


def bench_case(B: int, H: int, N: int, D: int, causal: bool = False) -> dict:
    from torch.nn.attention import SDPBackend, sdpa_kernel
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(D)
    flat = lambda t: t.view(B * H * N, D)
    BM, BN, warps, stages = CONFIGS[D]
    run = lambda: attention_fwd[(N // BM, B * H)](flat(q), flat(k), flat(v), flat(o), N, scale,
                                                   BM=BM, BN=BN, D=D, CAUSAL=causal,
                                                   num_warps=warps, num_stages=stages)
    run()
    results = {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION), ("cudnn", SDPBackend.CUDNN_ATTENTION)):
        try:
            with sdpa_kernel(backend):
                ref = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=causal)
                results[name] = do_bench(
                    lambda: torch.nn.functional.scaled_dot_product_attention(q, k, v,
                                                                             is_causal=causal),
                    warmup=100, rep=500, return_mode="median")
        except RuntimeError:
            results[name] = None
    torch.cuda.synchronize()
    error = float((o.float() - ref.float()).norm() / ref.float().norm())
    t_tile = do_bench(run, warmup=100, rep=500, return_mode="median")
    flops = 4.0 * B * H * N * N * D / (2 if causal else 1)
    tf = lambda ms: flops / (ms * 1e-3) / 1e12 if ms else float("nan")
    best = min(t for t in results.values() if t)
    kind = "causal" if causal else "non-causal"
    return {"case": f"attention fwd B{B} H{H} N{N} d{D} {kind}", "kind": "attention",
            "correct": error < 1e-2, "rel_error": error, "tile_TFLOPs": tf(t_tile),
            "flash_TFLOPs": tf(results["flash"]), "cudnn_TFLOPs": tf(results["cudnn"]),
            "vs_cudnn": (results["cudnn"] / t_tile) if results["cudnn"] else None,
            "vs_flash": (results["flash"] / t_tile) if results["flash"] else None,
            "vs_best": best / t_tile}


def bench() -> list[dict]:
    return [bench_case(8, 16, 4096, 64), bench_case(8, 16, 4096, 128),
            bench_case(8, 16, 4096, 64, causal=True), bench_case(8, 16, 4096, 128, causal=True),
            bench_case(8, 16, 1024, 64), bench_case(8, 16, 8192, 128)]


def row(r: dict) -> str:
    check = f"rel err {r['rel_error']:.1e}" if r["correct"] else f"WRONG ({r['rel_error']:.1e})"
    return (f"| {r['case']} | {check} | {r['tile_TFLOPs']:.0f} TFLOP/s | SDPA flash "
            f"{r['flash_TFLOPs']:.0f}, cuDNN {r['cudnn_TFLOPs']:.0f} TFLOP/s | "
            f"{r['vs_cudnn']:.3f} vs cuDNN, {r['vs_flash']:.3f} vs flash |")


if __name__ == "__main__":
    for r in bench():
        print(row(r))
