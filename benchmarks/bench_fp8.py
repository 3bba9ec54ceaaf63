"""fp8 e4m3 GEMM (C = A @ W.T, f32 accumulate, bf16 out): tile's `gemm_nt`
(examples/gemm.py, 128x256x128 tiles, 8 warps, 3 and 4 stages) vs cuBLAS through
torch._scaled_mm (unit scales), side by side in one process, tile's result checked
against cuBLAS's (relative Frobenius error); examples/gemm_fp8.py's scaled GEMMs
(bench_scaled_case) and tile.ops.attention_fp8 (bench_attention_case), each against
its reference as its docstring says. Timing: rows.interleaved with 50 ms of warm-up
and 300 ms of repeats (the figures in docs/ were taken so); --quick runs two cases
with the quick timings. torch is imported inside the functions, so listing the
cases needs neither torch nor a GPU."""
from __future__ import annotations

from .rows import interleaved, run_cases

TOLERANCE = 1e-2
SCALINGS = ("rowwise", "blockwise")  # examples/gemm_fp8.py's, besides the unit scales


def cases(quick: bool = False) -> list[tuple]:
    """(M, N, K, stages) per unit-scale row; (M, N, K, scaling) per scaled row."""
    if quick:
        return [(4096, 4096, 4096, 4), (1024, 4096, 4096, "blockwise")]
    return ([(m, m, m, stages) for m in (4096, 8192) for stages in (3, 4)]
            + [(m, 4096, 4096, scaling) for scaling in SCALINGS for m in (64, 1024, 8192)]
            + [(4, 16, 8192, 128, causal) for causal in (False, True)])


def case_name(M, N, K, stages, BM=128, BN=256, BK=128, warps=8) -> str:
    if isinstance(BM, bool):  # an attention case: (B, H, N, D, causal)
        return (f"attention fwd fp8 B{M} H{N} N{K} d{stages} "
                f"{'causal' if BM else 'non-causal'} (tile.ops.attention_fp8)")
    shape = f"{M}³" if M == N == K else f"{M}x{N}x{K}"
    if stages in SCALINGS:
        return f"fp8 GEMM {shape}, {stages} scales (examples/gemm_fp8.py)"
    return f"fp8 GEMM {shape} ({BM}x{BN}x{BK} w{warps} s{stages})"


def bench_scaled_case(M, N, K, scaling, warmup=50, rep=300) -> dict:
    """examples/gemm_fp8.py with per-row x per-column or 1x128 / 128x128 block scales,
    against cuBLAS through torch._scaled_mm: with the same row and column scales for
    "rowwise", with one scale per tensor for "blockwise" (the same product with the
    cheapest scaling: the bar block scaling is held to). Checked against the scaled
    product in float32."""
    import torch

    from . import examples
    fp8 = examples.gemm_fp8
    a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
    w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    scale_a, scale_w = (torch.rand(shape, device="cuda") + 0.5
                        for shape in fp8.scale_shapes(scaling, M, N, K))
    run = lambda: fp8.launch(scaling, a, w, scale_a, scale_w, c)  # noqa: E731
    if scaling == "rowwise":
        ref = lambda: torch._scaled_mm(a, w.t(), scale_a=scale_a[:, None],  # noqa: E731
                                       scale_b=scale_w[None, :], out_dtype=torch.bfloat16)
        expect = (a.float() @ w.float().t()) * scale_a[:, None] * scale_w[None, :]
    else:
        one = torch.ones((), device="cuda")
        ref = lambda: torch._scaled_mm(a, w.t(), scale_a=one, scale_b=one,  # noqa: E731
                                       out_dtype=torch.bfloat16)
        rows = scale_a.t().repeat_interleave(fp8.BLOCK, dim=1)
        cols = scale_w.repeat_interleave(fp8.BLOCK, 0).repeat_interleave(fp8.BLOCK, 1)
        expect = (a.float() * rows) @ (w.float() * cols).t()
    run()
    ref()
    torch.cuda.synchronize()
    error = float((c.float() - expect).norm() / expect.norm())
    ms, _ = interleaved({"tile": run, "cuBLAS": ref}, warmup=warmup, rep=rep)
    tf = lambda ms: 2.0 * M * N * K / (ms * 1e-3) / 1e12  # noqa: E731
    return {"case": case_name(M, N, K, scaling), "kind": "fp8", "correct": error < TOLERANCE,
            "rel_error": error, "tile_TFLOPs": tf(ms["tile"]), "ref_TFLOPs": {"cuBLAS": tf(ms["cuBLAS"])},
            "vs": {"cuBLAS": ms["cuBLAS"] / ms["tile"]},
            "reference": "rowwise" if scaling == "rowwise" else "per-tensor"}


def bench_case(M, N, K, stages, BM=128, BN=256, BK=128, warps=8, warmup=50, rep=300) -> dict:
    import torch

    import tile.ops

    from . import examples
    gemm_nt = examples.gemm.gemm_nt
    a = torch.randn(M, K, device="cuda").to(torch.float8_e4m3fn)
    w = torch.randn(N, K, device="cuda").to(torch.float8_e4m3fn)
    c = torch.empty(M, N, device="cuda", dtype=torch.bfloat16)
    one = torch.ones((), device="cuda")
    run = lambda: gemm_nt[(tile.cdiv(M, BM), tile.cdiv(N, BN))](
        a, w, c, BM=BM, BN=BN, BK=BK, num_warps=warps, num_stages=stages)
    ref = lambda: torch._scaled_mm(a, w.t(), scale_a=one, scale_b=one, out_dtype=torch.bfloat16)
    run()
    expect = ref()
    torch.cuda.synchronize()
    error = float((c.float() - expect.float()).norm() / expect.float().norm())
    ms, _ = interleaved({"tile": run, "cuBLAS": ref}, warmup=warmup, rep=rep)
    t_tile, t_ref = ms["tile"], ms["cuBLAS"]
    tf = lambda ms: 2.0 * M * N * K / (ms * 1e-3) / 1e12
    return {"case": case_name(M, N, K, stages, BM, BN, BK, warps), "kind": "fp8",
            "correct": error < TOLERANCE, "rel_error": error, "tile_TFLOPs": tf(t_tile),
            "ref_TFLOPs": {"cuBLAS": tf(t_ref)}, "vs": {"cuBLAS": t_ref / t_tile}}


ATTENTION_TOLERANCE = 5e-2  # P rounded to e4m3 costs ~2.5 % (test_attention_fp8.py)


def bench_attention_case(B, H, N, D, causal, warmup=50, rep=300) -> dict:
    """tile.ops.attention_fp8 (per-tensor scales) against tile's own bf16 forward
    (tile.ops.attention) and SDPA's cuDNN backend on the same values in bf16. Check:
    the fp8 output against SDPA flash's on the dequantized inputs (< 5e-2)."""
    import torch
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel

    import tile.ops
    q8, k8, v8 = (torch.randn(B, H, N, D, device="cuda").to(torch.float8_e4m3fn)
                  for _ in range(3))
    scales = dict(q_scale=0.5, k_scale=0.5, v_scale=2.0)
    q, k, v = (x.to(torch.bfloat16) * scales[n] for x, n in
               ((q8, "q_scale"), (k8, "k_scale"), (v8, "v_scale")))
    run = lambda: tile.ops.attention_fp8(q8, k8, v8, causal=causal, **scales)  # noqa: E731
    bf16 = lambda: tile.ops.attention(q, k, v, causal=causal)  # noqa: E731

    def cudnn():
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            return F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    with sdpa_kernel(SDPBackend.FLASH_ATTENTION):
        expect = F.scaled_dot_product_attention(q, k, v, is_causal=causal).float()
    out = run()
    bf16()
    torch.cuda.synchronize()
    error = float((out.float() - expect).norm() / expect.norm())
    ms, _ = interleaved({"tile": run, "tile bf16": bf16, "cuDNN bf16": cudnn}, warmup=warmup,
                        rep=rep)
    tf = lambda ms: 4.0 * B * H * N * N * D / (2 if causal else 1) / (ms * 1e-3) / 1e12  # noqa
    return {"case": case_name(B, H, N, D, causal), "kind": "fp8",
            "correct": error < ATTENTION_TOLERANCE, "rel_error": error,
            "tile_TFLOPs": tf(ms["tile"]), "attention": True,
            "ref_TFLOPs": {n: tf(t) for n, t in ms.items() if n != "tile"},
            "vs": {n: t / ms["tile"] for n, t in ms.items() if n != "tile"}}


def bench(selected=None, quick: bool = False) -> list[dict]:
    def timed_case(*case, warmup, rep):  # the full run keeps bench_case's own timings
        timing = dict(warmup=warmup, rep=rep) if quick else {}
        if len(case) == 5:
            return bench_attention_case(*case, **timing)
        if case[3] in SCALINGS:
            return bench_scaled_case(*case, **timing)
        return bench_case(*case, **timing)
    return run_cases(selected if selected is not None else cases(quick), "fp8", timed_case,
                     case_name, row, quick)


def row(r: dict) -> str:
    """One line of the table: case | check | tile | reference | tile / reference."""
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    check = f"rel err {r['rel_error']:.1e}" if r["correct"] else \
        f"FAILED: rel err {r['rel_error']:.1e}"
    if r.get("attention"):
        refs = ", ".join(f"{n} {t:.0f}" for n, t in r["ref_TFLOPs"].items())
        ratios = ", ".join(f"{v:.3f} × {n}" for n, v in r["vs"].items())
        return (f"| {r['case']} | {check} | {r['tile_TFLOPs']:.0f} TFLOP/s | {refs} TFLOP/s | "
                f"{ratios} |")
    scales = f", {r['reference']} scales" if "reference" in r else ""
    return (f"| {r['case']} | {check} | {r['tile_TFLOPs']:.0f} TFLOP/s | cuBLAS fp8 "
            f"(_scaled_mm{scales}) {r['ref_TFLOPs']['cuBLAS']:.0f} TFLOP/s | "
            f"{r['vs']['cuBLAS']:.3f} × cuBLAS |")
