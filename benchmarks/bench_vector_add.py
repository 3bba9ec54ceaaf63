"""Vector add of 2^28 float32 elements: tile vs torch.add, side by side.

Each figure is checked against torch in the same run (bitwise), timed with
rows.interleaved (do_bench medians in rounds), and reported as bandwidth (bytes read +
written) and as a ratio to torch.add and to a device-to-device copy.
"""
from __future__ import annotations

import torch

from .examples import vector_add
from .rows import interleaved

add = vector_add.add


def bench(n: int = 1 << 28, block: int = 1024) -> dict:
    x = torch.randn(n, device="cuda")
    y = torch.randn(n, device="cuda")
    out = torch.full_like(x, float("nan"))
    grid = ((n + block - 1) // block,)
    add[grid](x, y, out, n, BLOCK=block)
    torch.cuda.synchronize()
    ref = torch.add(x, y)
    correct = torch.equal(out, ref)
    src = torch.empty(2 * n, device="cuda")
    dst = torch.empty_like(src)
    ms, _ = interleaved({"tile": lambda: add[grid](x, y, out, n, BLOCK=block),
                         "torch": lambda: torch.add(x, y, out=ref),
                         "copy": lambda: dst.copy_(src)}, warmup=100, rep=1000)
    t_tile, t_torch, t_copy = ms["tile"], ms["torch"], ms["copy"]
    gbs = lambda nbytes, ms: nbytes / (ms * 1e-3) / 1e9
    tile_bw = gbs(3 * 4 * n, t_tile)
    torch_bw = gbs(3 * 4 * n, t_torch)
    copy_bw = gbs(2 * 2 * 4 * n, t_copy)
    return {"case": "vector add 2^28 f32", "correct": correct, "tile_ms": t_tile,
            "torch_ms": t_torch, "tile_GBps": tile_bw, "torch_GBps": torch_bw,
            "copy_GBps": copy_bw, "vs_torch": tile_bw / torch_bw, "vs_copy": tile_bw / copy_bw}


def row(r: dict) -> str:
    check = "exact" if r["correct"] else "FAILED (differs from torch)"
    return (f"| {r['case']} | {check} | {r['tile_GBps']:.0f} GB/s | torch.add "
            f"{r['torch_GBps']:.0f} GB/s (copy {r['copy_GBps']:.0f}) | {r['vs_torch']:.3f} "
            f"(vs copy {r['vs_copy']:.3f}) |")

