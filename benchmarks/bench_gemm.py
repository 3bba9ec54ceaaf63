"""GEMM (f32 accumulate, output in the inputs' dtype): tile vs torch.matmul (cuBLAS)
and vs the Triton kernel of benchmarks/triton_ref.py, side by side in one process.

Cases: 4096³ and 8192³ bf16, the LLM shapes M=8192 with (N, K) in {4096, 14336}²
in bf16, one fp16 row, three ragged shapes (N = 4104, 5000, 5008: rows of 16-byte
multiples that are no multiple of 16 elements), five of few rows (M = 1 .. 256, N = K =
8192: examples/gemm_small_m.py's swapped kernel is one more candidate there), and
C = gelu(A @ B + bias) against torch (addmm, then
gelu) and the Triton kernel with the same fused epilogue. tile's kernels are
`gemm_tuned` / `gemm_bias_act_tuned` (examples/gemm.py, gemm_epilogue.py):
@tile.autotune over four tilings, chosen per shape; plain GEMM rows also try
`gemm_persistent_tuned` and the cluster kernels (pairs of programs multicasting
B: `gemm_cluster_tuned`, `gemm_persistent_cluster_tuned`) and keep the fastest;
the row names the choice.

Each row checks tile's and Triton's output against torch's from the same run
(relative Frobenius error) and times each with rows.interleaved (do_bench
medians in five rounds that take the runners in turn; L2 cleared before every
timed run). torch and triton are
imported inside the functions, so listing the cases needs neither.
"""
from __future__ import annotations

from .rows import fastest, run_cases, throughput_row, timed

TOLERANCE = 1e-2
LLM = [(8192, n, k) for n in (4096, 14336) for k in (4096, 14336)]
# N no multiple of 16 elements, rows of whole 16 bytes (TMA's rule) but for none: the
# specialization's stride facts decide the path (docs/perf-notes.md).
RAGGED = [(4096, 4104, 4096), (3000, 5000, 2000), (3000, 5008, 2000)]
# Few rows (decode, small batches): examples/gemm_small_m.py's swapped kernel joins the
# candidates at M <= SMALL_M.
SMALL = [(m, 8192, 8192) for m in (1, 16, 64, 128, 256)]
SMALL_M = 256


def cases(quick: bool = False) -> list[tuple]:
    """(M, N, K, dtype, epilogue) per row."""
    if quick:
        return [(4096, 4096, 4096, "bfloat16", None), (4096, 4096, 4096, "float16", None),
                (4096, 4096, 4096, "bfloat16", "gelu")]
    return ([(4096, 4096, 4096, "bfloat16", None), (8192, 8192, 8192, "bfloat16", None)]
            + [(m, n, k, "bfloat16", None) for m, n, k in LLM]
            + [(8192, 8192, 8192, "float16", None), (8192, 14336, 4096, "bfloat16", "gelu")]
            + [(m, n, k, "bfloat16", None) for m, n, k in RAGGED]
            + [(m, n, k, "bfloat16", None) for m, n, k in SMALL])


def case_name(M, N, K, dtype, epilogue) -> str:
    short = {"bfloat16": "bf16", "float16": "f16"}[dtype]
    shape = f"{M}³" if M == N == K else f"{M}x{N}x{K}"
    return f"GEMM {shape} {short}" + (f" + bias + {epilogue}" if epilogue else "")


def _config(config) -> str:
    kw = config.kwargs
    stages = config.num_stages or 3
    ws = " ws" if config.warp_specialize else ""
    return f"{kw['BM']}x{kw['BN']}x{kw['BK']} w{config.num_warps} s{stages}{ws}"


def bench_case(M, N, K, dtype, epilogue, warmup=100, rep=500) -> dict:
    import torch

    from . import examples, triton_ref
    gemm = examples.gemm
    cluster_grid, grouped_grid, persistent_grid = (gemm.cluster_grid, gemm.grouped_grid,
                                                   gemm.persistent_grid)
    gemm_tuned, gemm_persistent_tuned = gemm.gemm_tuned, gemm.gemm_persistent_tuned
    gemm_cluster_tuned = gemm.gemm_cluster_tuned
    gemm_persistent_cluster_tuned = gemm.gemm_persistent_cluster_tuned
    gemm_bias_act_tuned = examples.gemm_epilogue.gemm_bias_act_tuned
    torch_dtype = getattr(torch, dtype)
    a = torch.randn(M, K, device="cuda", dtype=torch_dtype)
    b = torch.randn(K, N, device="cuda", dtype=torch_dtype)
    bias = torch.randn(N, device="cuda", dtype=torch_dtype) if epilogue else None
    c = torch.full((M, N), float("nan"), device="cuda", dtype=torch_dtype)  # poison
    c_triton = torch.full_like(c, float("nan"))
    grid = grouped_grid(M, N)
    choice, choice_ms = "plain", {}
    if epilogue:
        kernel = gemm_bias_act_tuned
        run_tile = lambda: kernel[grid](a, b, c, bias, ACT=epilogue)
        run_torch = lambda: torch.nn.functional.gelu(torch.addmm(bias, a, b), approximate="tanh")
        torch_name = "torch addmm+gelu"
    else:
        kernel = gemm_tuned
        run_tile = lambda: kernel[grid](a, b, c)
        # The fastest of the tuned plain, persistent and cluster (B multicast) kernels.
        programs = torch.cuda.get_device_properties(0).multi_processor_count
        candidates = {
            "plain": (kernel, run_tile),
            "persistent": (gemm_persistent_tuned, lambda: gemm_persistent_tuned[
                persistent_grid(M, N, programs)](a, b, c)),
            "cluster": (gemm_cluster_tuned,
                        lambda: gemm_cluster_tuned[cluster_grid(M, N)](a, b, c)),
            "persistent cluster": (gemm_persistent_cluster_tuned, lambda: (
                gemm_persistent_cluster_tuned[cluster_grid(M, N, programs)](a, b, c)))}
        if M <= SMALL_M:
            small = examples.load("gemm_small_m")
            candidates["swap AB"] = (small.gemm_swap_ab_tuned, lambda: (
                small.gemm_swap_ab_tuned[small.grid(M, N)](a, b, c)))
        choice = fastest({name: run for name, (_, run) in candidates.items()},
                         medians=choice_ms)
        kernel, run_tile = candidates[choice]
        c.fill_(float("nan"))
        ref_out = torch.empty_like(c)
        run_torch = lambda: torch.matmul(a, b, out=ref_out)
        torch_name = "cuBLAS"
    run_triton = lambda: triton_ref.matmul(a, b, bias, epilogue or "none", out=c_triton)
    result = {"case": case_name(M, N, K, dtype, epilogue), "kind": "gemm",
              "shape": [M, N, K], "dtype": dtype, "epilogue": epilogue}
    run_tile()  # tunes on first use, then runs the choice
    ref = run_torch()
    run_triton()
    torch.cuda.synchronize()
    norm = ref.float().norm()
    errors = {"tile": float((c.float() - ref.float()).norm() / norm),
              "Triton": float((c_triton.float() - ref.float()).norm() / norm)}
    kind = "" if epilogue or choice == "plain" else " " + choice
    result.update(errors=errors, choice_ms=choice_ms,
                  tile_config=_config(kernel.best_config) + kind,
                  triton_config=triton_ref.matmul_config(M, N, K, bias is not None,
                                                         epilogue or "none"))
    result["correct"] = all(e < TOLERANCE for e in errors.values())  # NaN fails too
    runs = {"tile": run_tile, torch_name: run_torch, "Triton": run_triton}
    result.update(timed(runs, 2.0 * M * N * K, warmup, rep))
    return result


def bench(selected=None, quick: bool = False) -> list[dict]:
    return run_cases(selected if selected is not None else cases(quick), "gemm", bench_case,
                     case_name, row, quick)


def row(r: dict) -> str:
    """One line of the table: case | check | tile | references | tile / reference."""
    if "error" in r:
        return throughput_row(r, "")
    errors = r["errors"]
    check = (f"rel err {errors['tile']:.1e} (Triton {errors['Triton']:.1e})" if r["correct"]
             else "FAILED: rel err " + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))
    return throughput_row(r, check)

