"""Row softmax (f16 in and out, f32 math): tile vs torch.softmax and a device copy.

Memory-bound: the floor is reading and writing the matrix once, so the figure
that matters is bandwidth against a device-to-device copy in the same run.
"""
from __future__ import annotations

import tile

from .examples import softmax as softmax_example
from .rows import interleaved

softmax = softmax_example.softmax
# (M, N, BM, BN) per row; --quick runs the first.
CASES = [(65536, 1024, 4, 1024), (32768, 2048, 2, 2048)]


def cases(quick: bool = False) -> list[tuple]:
    return CASES[:1 if quick else None]


def case_name(M: int, N: int, BM: int, BN: int) -> str:
    return f"softmax {M}x{N} f16"


def bench_case(M: int, N: int, BM: int, BN: int) -> dict:
    import torch
    x = torch.randn(M, N, device="cuda", dtype=torch.float16)
    y = torch.full_like(x, float("nan"))
    grid = (tile.cdiv(M, BM),)
    softmax[grid](x, y, BM=BM, BN=BN)
    ref = torch.softmax(x, dim=1)
    torch.cuda.synchronize()
    error = float((y.float() - ref.float()).abs().max())
    src = torch.empty_like(x)
    ms, _ = interleaved({"tile": lambda: softmax[grid](x, y, BM=BM, BN=BN),
                         "torch": lambda: torch.softmax(x, dim=1),
                         "copy": lambda: src.copy_(x)}, warmup=100, rep=500)
    t_tile, t_torch, t_copy = ms["tile"], ms["torch"], ms["copy"]
    gbs = lambda ms: 2 * x.numel() * x.element_size() / (ms * 1e-3) / 1e9
    return {"case": case_name(M, N, BM, BN), "kind": "softmax", "correct": error < 2e-3,
            "max_abs_error": error, "tile_GBps": gbs(t_tile), "torch_GBps": gbs(t_torch),
            "copy_GBps": gbs(t_copy), "vs_torch": t_torch / t_tile, "vs_copy": t_copy / t_tile}


def bench(quick: bool = False) -> list[dict]:
    return [bench_case(*case) for case in cases(quick)]


def row(r: dict) -> str:
    check = f"max err {r['max_abs_error']:.1e}" if r["correct"] else \
        f"WRONG ({r['max_abs_error']:.1e})"
    return (f"| {r['case']} | {check} | {r['tile_GBps']:.0f} GB/s | torch.softmax "
            f"{r['torch_GBps']:.0f} GB/s (copy {r['copy_GBps']:.0f}) | {r['vs_torch']:.3f} "
            f"(vs copy {r['vs_copy']:.3f}) |")
