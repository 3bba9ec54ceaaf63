"""Attention forward, bf16, causal and not: tile vs SDPA (flash and cuDNN backends)
and vs the Triton kernel of benchmarks/triton_ref.py, side by side in one process.

Cases: B8 H16, N in {1024, 4096, 8192}, d in {64, 128}, causal and not (12).
tile's kernels are tile.ops' (python/tile/ops/attention_kernels.py), through
@tile.autotune over tile.ops.attention's configurations (per N, d and causal);
each row also tries the persistent kernel and keeps the faster one; the row
names the choice.

Each row checks tile's, Triton's and cuDNN's outputs against SDPA flash's from
the same run (relative Frobenius error; cuDNN's is reported, not required) and
times each with rows.interleaved (do_bench medians in five rounds that take the
runners in turn; L2 cleared before every timed run). FLOPs: 4·B·H·N²·d, half of it when causal.
"""
from __future__ import annotations

import math

import tile
from tile.ops import sdpa
from tile.ops.attention_kernels import attention_fwd, attention_fwd_persistent

from .rows import fastest, run_cases, throughput_row, timed

TOLERANCE = 1e-2
# The configurations tile.ops.attention tunes over (python/tile/ops/sdpa.py says
# what fits where); the default (TILE_AUTOTUNE=0) fits every case.
CONFIGS, PERSISTENT_CONFIGS = sdpa.BLOCK_CONFIGS, sdpa.PERSISTENT_CONFIGS
attention_tuned = tile.autotune(CONFIGS, key=["seq_len"],
                                default=sdpa.DEFAULT_BLOCK_CONFIG)(attention_fwd)
# Attention also runs as a persistent kernel (one program an SM; the producer
# loads the next tile's Q, K and V during this one's epilogue); the faster of
# the two tuned kernels makes the row, which says which ran.
persistent_tuned = tile.autotune(PERSISTENT_CONFIGS, key=["seq_len"])(attention_fwd_persistent)


def cases(quick: bool = False) -> list[tuple]:
    """(B, H, N, D, causal) per row."""
    if quick:
        return [(8, 16, 1024, 64, False), (8, 16, 1024, 128, True)]
    return [(8, 16, n, d, causal) for causal in (False, True) for d in (64, 128)
            for n in (1024, 4096, 8192)]


def case_name(B, H, N, D, causal) -> str:
    return f"attention fwd B{B} H{H} N{N} d{D} {'causal' if causal else 'non-causal'}"


def bench_case(B, H, N, D, causal, warmup=100, rep=500) -> dict:
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    from . import triton_ref
    q, k, v = (torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16) for _ in range(3))
    o = torch.full_like(q, float("nan"))
    o_triton = torch.full_like(q, float("nan"))
    scale = 1 / math.sqrt(D)
    flat = [t.view(B * H * N, D) for t in (q, k, v, o)]
    # N is a multiple of every block (EVEN_SEQ); one query head a kv head; no LSE
    # (the output stands for its array).
    even = dict(D=D, CAUSAL=causal, EVEN_SEQ=N % sdpa.EVEN == 0)
    grid = lambda meta: (tile.cdiv(N, meta["BM"]), B * H)
    run_tile = lambda: attention_tuned[grid](*flat, flat[3], N, 1, scale, **even)
    # The faster of the two tuned kernels, plain and persistent.
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    persistent_grid = lambda meta: (min(programs, tile.cdiv(N, meta["BM"]) * B * H),)
    run_persistent = lambda: persistent_tuned[persistent_grid](*flat, flat[3], N, B * H, 1, scale,
                                                               **even)
    tuned, persistent = attention_tuned, False
    choice_ms = {}
    choice = fastest({"plain": run_tile, "persistent": run_persistent}, medians=choice_ms)
    if choice == "persistent":
        run_tile, tuned, persistent = run_persistent, persistent_tuned, True
    o.fill_(float("nan"))
    run_triton = lambda: triton_ref.attention(q, k, v, causal, out=o_triton)
    runs, outputs, unavailable = {"tile": run_tile, "Triton": run_triton}, {}, {}
    for name, backend in (("flash", SDPBackend.FLASH_ATTENTION),
                          ("cuDNN", SDPBackend.CUDNN_ATTENTION)):
        def run_sdpa(backend=backend):
            with sdpa_kernel(backend):
                return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
        try:
            outputs[name] = run_sdpa()
            runs[name] = run_sdpa
        except RuntimeError as e:  # a backend this build or GPU lacks: reported, not fatal
            unavailable[name] = str(e).splitlines()[0][:120]
    run_tile()  # tunes on first use, then runs the choice
    run_triton()
    torch.cuda.synchronize()
    result = {"case": case_name(B, H, N, D, causal), "kind": "attention",
              "shape": [B, H, N, D], "causal": causal, "unavailable": unavailable}
    ref_name = "flash" if "flash" in outputs else "cuDNN" if "cuDNN" in outputs else None
    if ref_name is None:
        raise RuntimeError(f"no SDPA backend ran: {unavailable}")
    ref = outputs[ref_name].float()
    norm = ref.norm()
    candidates = {"tile": o, "Triton": o_triton, **{n: t for n, t in outputs.items()
                                                     if n != ref_name}}
    errors = {n: float((t.float() - ref).norm() / norm) for n, t in candidates.items()}
    config = tuned.best_config  # what run_tile launched
    result.update(reference=f"SDPA {ref_name}", errors=errors, choice_ms=choice_ms,
                  tile_config=(f"{config.kwargs['BM']}x{config.kwargs['BN']} w{config.num_warps}"
                               f" s{config.num_stages or 3}"
                               f"{' ws' if config.warp_specialize else ''}"
                               f"{' persistent' if persistent else ''}"),
                  triton_config=triton_ref.attention_config(N, D, causal))
    result["correct"] = errors["tile"] < TOLERANCE and errors["Triton"] < TOLERANCE
    result.update(timed(runs, 4.0 * B * H * N * N * D / (2 if causal else 1), warmup, rep))
    return result


def bench(selected=None, quick: bool = False) -> list[dict]:
    return run_cases(selected if selected is not None else cases(quick), "attention", bench_case,
                     case_name, row, quick)


def row(r: dict) -> str:
    """One line of the table: case | check | tile | references | tile / reference."""
    if "error" in r:
        return throughput_row(r, "")
    errors = r["errors"]
    others = ", ".join(f"{k} {v:.1e}" for k, v in errors.items() if k != "tile")
    check = (f"rel err {errors['tile']:.1e} vs {r['reference']} ({others})" if r["correct"]
             else f"FAILED: rel err vs {r['reference']}: tile {errors['tile']:.1e}, {others}")
    return throughput_row(r, check)

