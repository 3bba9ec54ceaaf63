"""Decode attention, bf16: tile.ops.attention_decode (flash-decoding, python/tile/ops/
decode.py) against SDPA on the same keys and values, side by side in one process.

tile's row is the default split kernel (decode.SPLIT_KERNEL, "transposed"); the other
one ("rows", decode_split) is timed beside it and checked alike.
Cases: one new token per sequence, H32 over H_kv 8 (GQA) at d128, batches 1-64 and
KV lengths 4k-128k, contiguous and paged (pages of 16 or 64 tokens, shuffled); and
multi-head d64. SDPA's inputs are its own best layout, (B, H_kv, N, D) contiguous
with enable_gqa, the paged cache gathered into it before timing (so SDPA reads as
many bytes, with no page table). Each row checks tile's output against SDPA's
(relative Frobenius error below TOLERANCE), then times both with rows.interleaved.
Bandwidth: the bytes of K and V read (2 · B · N · H_kv · D · 2), per side.
"""
from __future__ import annotations

from .rows import run_cases, timed

TOLERANCE = 1e-2


def cases(quick: bool = False) -> list[tuple]:
    """(B, H, H_kv, D, N, page) per row; page None: a contiguous cache."""
    if quick:
        return [(8, 32, 8, 128, 4096, None), (8, 32, 8, 128, 4096, 16)]
    return [(1, 32, 8, 128, 131072, None), (1, 32, 8, 128, 131072, 64),
            (8, 32, 8, 128, 8192, None), (8, 32, 8, 128, 8192, 16),
            (64, 32, 8, 128, 4096, None), (64, 32, 8, 128, 4096, 64),
            (16, 16, 16, 64, 16384, None)]


def case_name(B, H, H_kv, D, N, page) -> str:
    cache = f"paged by {page}" if page else "contiguous"
    return f"decode B{B} H{H} over {H_kv} d{D} N{N}, {cache}"


def kv_bytes(B, H_kv, D, N) -> int:
    return 2 * B * N * H_kv * D * 2


def bench_case(B, H, H_kv, D, N, page, warmup=100, rep=500) -> dict:
    import torch
    import torch.nn.functional as F

    import tile.ops
    from tile.ops import decode
    torch.manual_seed(0)
    q = torch.randn(B, 1, H, D, device="cuda", dtype=torch.bfloat16)
    lengths = torch.full((B,), N, device="cuda", dtype=torch.int32)
    if page is None:
        k_cache, v_cache = (torch.randn(B, N, H_kv, D, device="cuda", dtype=torch.bfloat16)
                            for _ in range(2))
        table, keys, values = None, k_cache, v_cache
    else:
        per = N // page
        table = torch.randperm(B * per, device="cuda").to(torch.int32).reshape(B, per)
        k_cache, v_cache = (torch.randn(B * per, page, H_kv, D, device="cuda",
                                        dtype=torch.bfloat16) for _ in range(2))
        keys, values = (c[table.long()].reshape(B, N, H_kv, D) for c in (k_cache, v_cache))
    k_sdpa, v_sdpa = (t.transpose(1, 2).contiguous() for t in (keys, values))
    q_sdpa = q.transpose(1, 2)
    def split_kernel(name):  # tile.ops.attention_decode with decode.SPLIT_KERNEL = name
        def run():
            default, decode.SPLIT_KERNEL = decode.SPLIT_KERNEL, name
            try:
                return tile.ops.attention_decode(q, k_cache, v_cache, lengths, table)
            finally:
                decode.SPLIT_KERNEL = default
        return run

    other = "rows" if decode.SPLIT_KERNEL == "transposed" else "transposed"
    runs = {"tile": split_kernel(decode.SPLIT_KERNEL),
            f"tile {other}": split_kernel(other),
            "SDPA": lambda: F.scaled_dot_product_attention(q_sdpa, k_sdpa, v_sdpa,
                                                           enable_gqa=True)}
    want = runs["SDPA"]().transpose(1, 2).float()
    errors = {name: float((runs[name]().float() - want).norm() / want.norm())
              for name in ("tile", f"tile {other}")}
    torch.cuda.synchronize()
    width = max(64, 1 << (D - 1).bit_length())
    _, rows, keys = decode.split_blocks(decode.SPLIT_KERNEL, H // H_kv, width)
    result = {"case": case_name(B, H, H_kv, D, N, page), "kind": "decode",
              "shape": [B, H, H_kv, D, N], "page": page, "rel_error": errors["tile"],
              "errors": errors, "correct": all(e < TOLERANCE for e in errors.values()),
              "tile_config": f"{decode.SPLIT_KERNEL}, {rows} rows x {keys} keys"}
    result.update(timed(runs, 0.0, warmup, rep))
    seconds = {name: ms * 1e-3 for name, ms in result["ms"].items()}
    result["GBps"] = {name: kv_bytes(B, H_kv, D, N) / s / 1e9 for name, s in seconds.items()}
    return result


def bench(selected=None, quick: bool = False) -> list[dict]:
    return run_cases(selected if selected is not None else cases(quick), "decode",
                     bench_case, case_name, row, quick)


def row(r: dict) -> str:
    """case | check | tile GB/s | SDPA GB/s | SDPA time / tile time."""
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    errors = r.get("errors", {"tile": r["rel_error"]})
    worst = ", ".join(f"{name} {e:.1e}" for name, e in errors.items())
    check = f"rel err vs SDPA: {worst}" if r["correct"] else f"FAILED: rel err vs SDPA: {worst}"
    g = r["GBps"]
    others = ", ".join(f"{name} {g[name]:.0f}" for name in g if name != "tile")
    ratios = ", ".join(f"{v:.3f} × {name}" for name, v in r["vs"].items())
    return (f"| {r['case']} | {check} | {g['tile']:.0f} GB/s of K and V "
            f"({r['ms']['tile'] * 1e3:.1f} µs; {r['tile_config']}) | {others} GB/s | {ratios} |")
