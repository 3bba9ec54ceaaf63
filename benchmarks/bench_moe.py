"""MoE grouped GEMM (examples/moe.py): tile's grouped_gemm_tuned against a loop of
torch.mm per expert (cuBLAS) and against the Triton kernel of the same job
(benchmarks/triton_moe.py), side by side in one process, at Mixtral-like (8
experts, top-2) and DeepSeek-like (64 experts, top-8) shapes, bf16 in and out,
f32 accumulation.

Each case routes and permutes once with the example's kernels (not timed):
the rows of x in expert order, each expert's segment padded to 128 rows. The
timed job is Yp = Xp @ W[e] over the segments: tile (the faster of the tuned
plain and persistent kernels, as the GEMM rows choose) and Triton take the
padded rows and the tile -> expert map in one launch; the cuBLAS loop multiplies each
expert's rows (unpadded) into the same places. TFLOP/s count the useful
2 * tokens * top-k * H * N. The check, in the same run: the three outputs (NaN
before) agree on every routed row (relative Frobenius error under 1e-2 against
the cuBLAS loop), and the whole layer (route, permute, GEMM, combine) matches
torch's routing and a float32 loop over experts.
torch and triton are imported inside the functions, so listing the cases
needs neither.
"""
from __future__ import annotations

from .rows import fastest, run_cases, throughput_row, timed

TOLERANCE = 1e-2


def cases(quick: bool = False) -> list[tuple]:
    """(tokens, experts, top-k, H, N) per row."""
    mixtral = (4096, 8, 2, 4096, 14336)  # Mixtral 8x7B's w1/w3
    deepseek = (4096, 64, 8, 7168, 2048)  # DeepSeek-V3's hidden and expert sizes, 64 experts
    if quick:
        return [mixtral]
    return [mixtral, (16384, 8, 2, 4096, 14336), deepseek, (16384, 64, 8, 7168, 2048)]


def case_name(T, E, topk, H, N) -> str:
    return f"MoE grouped GEMM {T} tokens, {E} experts top-{topk}, {H}->{N} bf16"


def routed_rows(starts: list[int], counts: list[int]) -> list[int]:
    """The permuted rows that hold a (token, slot) pair: each segment's first
    count rows (the rest of it is padding)."""
    return [r for s, c in zip(starts, counts) for r in range(s, s + c)]


def relative_errors(outputs: dict, reference) -> dict:
    """Each output's relative Frobenius error against `reference` (torch or numpy
    arrays of float32 values); NaN where an output was not written."""
    def norm(a):
        return float((a * a).sum()) ** 0.5
    ref_norm = norm(reference)
    return {name: norm(out - reference) / ref_norm for name, out in outputs.items()}


def passed(errors: dict) -> bool:
    return all(e < TOLERANCE for e in errors.values())  # NaN fails


def bench_case(T, E, topk, H, N, warmup=100, rep=500) -> dict:
    import torch

    from . import examples, triton_moe
    moe = examples.moe
    torch.manual_seed(0)
    x = torch.randn(T, H, device="cuda", dtype=torch.bfloat16)
    w = (torch.randn(E * H, N, device="cuda") / H ** 0.5).to(torch.bfloat16)
    logits = moe.distinct_logits(T, E).cuda()
    b = moe.torch_buffers(T, E, H, N, topk, "bfloat16", moe.GEMM["BM"])
    out = torch.full((T, N), float("nan"), device="cuda", dtype=torch.bfloat16)
    moe.moe_steps(x, logits, w, out, b, topk)  # the whole layer, checked below
    want, experts, _ = moe.torch_reference(x, logits, w, topk)
    layer_error = relative_errors({"layer": out.float()}, want)["layer"]
    routing_ok = torch.equal(b.experts.long(), experts)

    starts, counts = b.starts.tolist(), b.counts.tolist()
    rows = torch.tensor(routed_rows(starts, counts), device="cuda")
    W = w.view(E, H, N)
    y_tile, y_cublas, y_triton = (torch.full_like(b.yp, float("nan")) for _ in range(3))
    programs = torch.cuda.get_device_properties(0).multi_processor_count
    rows_p = b.xp.shape[0]
    candidates = {  # the faster of the tuned plain and persistent kernels
        "plain": (moe.grouped_gemm_tuned, moe.gemm_grid(rows_p, N)),
        "persistent": (moe.grouped_gemm_persistent_tuned, moe.gemm_grid(rows_p, N, programs))}
    choice_ms = {}
    choice = fastest({name: (lambda k=k, g=g: k[g](b.xp, w, y_tile, b.tile_experts))
                      for name, (k, g) in candidates.items()}, medians=choice_ms)
    kernel, grid = candidates[choice]

    def run_cublas():
        for e in range(E):
            if counts[e]:
                s = starts[e]
                torch.mm(b.xp[s:s + counts[e]], W[e], out=y_cublas[s:s + counts[e]])
    runs = {"tile": lambda: kernel[grid](b.xp, w, y_tile, b.tile_experts),
            "cuBLAS loop": run_cublas,
            "Triton": lambda: triton_moe.grouped_gemm(b.xp, w, y_triton, b.tile_experts)}
    y_tile.fill_(float("nan"))  # the choice above wrote it
    for run in runs.values():
        run()  # Triton's autotuner tunes here
    torch.cuda.synchronize()
    ref = y_cublas[rows].float()
    errors = relative_errors({"tile": y_tile[rows].float(), "Triton": y_triton[rows].float()},
                             ref)
    errors["layer"] = layer_error
    result = {"case": case_name(T, E, topk, H, N), "kind": "moe",
              "shape": [T, E, topk, H, N], "errors": errors, "routing_ok": routing_ok,
              "padded_rows": int(sum(-(-c // moe.GEMM["BM"]) * moe.GEMM["BM"] for c in counts)),
              "correct": routing_ok and passed(errors),
              "tile_config": _config(kernel.best_config) + ("" if choice == "plain" else
                                                            " " + choice),
              "choice_ms": choice_ms,
              "triton_config": triton_moe.grouped_gemm_config(b.xp.shape[0], N, H)}
    result.update(timed(runs, 2.0 * T * topk * H * N, warmup, rep))
    return result


def _config(config) -> str:
    kw = config.kwargs
    return f"{kw['BM']}x{kw['BN']}x{kw['BK']} w{config.num_warps} s{config.num_stages or 3}"


def bench(quick: bool = False) -> list[dict]:
    return run_cases(cases(quick), "moe", bench_case, case_name, row, quick)


def row(r: dict) -> str:
    """case | check | tile | cuBLAS loop, Triton | tile / each."""
    if "error" in r:
        return throughput_row(r, "")
    e = r["errors"]
    if r["correct"]:
        check = f"rel err {e['tile']:.1e} (Triton {e['Triton']:.1e}; layer {e['layer']:.1e})"
    else:
        check = ("FAILED: " + ("" if r["routing_ok"] else "routing differs from torch; ") +
                 "rel err " + ", ".join(f"{k} {v:.1e}" for k, v in e.items()))
    return throughput_row(r, check)
