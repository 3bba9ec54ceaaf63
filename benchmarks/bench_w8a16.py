"""w8a16 GEMM (Y = X @ (W * scale[:, None]).T, X bf16, W int8, per-channel scales):
examples/w8a16.py's `w8a16_tuned` (tuned per shape over its CONFIGS) against the
torch path a user would otherwise take, dequantize then multiply,
`x @ (w.to(bf16) * scale[:, None]).T`, eager and under torch.compile. Decode shapes
(M = 1, 16) read the weight once and are memory-bound (GB/s of the weight); prefill
shapes (M = 4096) are TFLOP/s. Every side's result is checked against a float32
reference of the same product in the same run (relative Frobenius error below
1e-2); torch is imported inside the functions, so listing the cases needs neither
torch nor a GPU."""
from __future__ import annotations

from .rows import interleaved, run_cases

TOLERANCE = 1e-2
SIDES = ("tile", "torch", "torch.compile")


def cases(quick: bool = False) -> list[tuple]:
    """(M, N, K) per row: decode and prefill at two LLM widths."""
    if quick:
        return [(16, 4096, 4096), (4096, 4096, 4096)]
    return [(m, n, n) for n in (4096, 8192) for m in (1, 16, 4096)]


def case_name(M, N, K) -> str:
    return f"w8a16 GEMM {M}x{N}x{K}"


def check(errors: dict) -> tuple[bool, str]:
    """Whether every side's relative error is below TOLERANCE, and the check's
    text: the worst error, or which sides are off."""
    wrong = [name for name, e in errors.items() if not e < TOLERANCE]  # NaN is wrong
    if wrong:
        return False, "WRONG: " + ", ".join(f"{n} rel err {errors[n]:.1e}" for n in wrong)
    return True, f"rel err {max(errors.values()):.1e}"


def bench_case(M, N, K, warmup, rep) -> dict:
    import torch

    from .examples import w8a16
    torch.manual_seed(0)
    x = torch.randn(M, K, device="cuda", dtype=torch.bfloat16)
    w = torch.randint(-128, 128, (N, K), device="cuda", dtype=torch.int8)
    scale = torch.rand(N, device="cuda", dtype=torch.bfloat16) / 64
    outputs = {name: torch.full((M, N), float("nan"), device="cuda", dtype=torch.bfloat16)
               for name in SIDES}

    def dequantized_matmul(x, w, scale):
        return x @ (w.to(torch.bfloat16) * scale[:, None]).T

    compiled = torch.compile(dequantized_matmul, dynamic=False)
    runs = {"tile": lambda: w8a16.launch(x, w, scale, outputs["tile"], run="tuned"),
            "torch": lambda: outputs["torch"].copy_(dequantized_matmul(x, w, scale)),
            "torch.compile": lambda: outputs["torch.compile"].copy_(compiled(x, w, scale))}
    for run in runs.values():
        run()
    expect = x.float() @ (w.float() * scale.float()[:, None]).T
    torch.cuda.synchronize()
    errors = {name: float((out.float() - expect).norm() / expect.norm())
              for name, out in outputs.items()}
    correct, text = check(errors)
    # Timed without the copies into `outputs`: the torch sides as a user runs them.
    runs.update({"torch": lambda: dequantized_matmul(x, w, scale),
                 "torch.compile": lambda: compiled(x, w, scale)})
    ms, _ = interleaved(runs, warmup=warmup, rep=rep)
    return {"case": case_name(M, N, K), "kind": "w8a16", "correct": correct, "check": text,
            "rel_errors": errors, "ms": ms,
            "TFLOPs": {n: 2.0 * M * N * K / (t * 1e-3) / 1e12 for n, t in ms.items()},
            "weight_GBps": {n: N * K / (t * 1e-3) / 1e9 for n, t in ms.items()},
            "vs": {n: ms[n] / ms["tile"] for n in SIDES[1:]}}


def bench(quick: bool = False) -> list[dict]:
    return run_cases(cases(quick), "w8a16", bench_case, case_name, row, quick)


def row(r: dict) -> str:
    """One line: case | check | tile | torch, torch.compile | tile / each. Decode rows
    (M <= 64) in GB/s of the int8 weight, prefill rows in TFLOP/s."""
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    decode = int(r["case"].split()[-1].split("x")[0]) <= 64
    figures, unit = (r["weight_GBps"], "GB/s (weight)") if decode else (r["TFLOPs"], "TFLOP/s")
    refs = ", ".join(f"{n} {figures[n]:.0f}" for n in SIDES[1:])
    ratios = ", ".join(f"{r['vs'][n]:.3f} × {n}" for n in SIDES[1:])
    return f"| {r['case']} | {r['check']} | {figures['tile']:.0f} {unit} | {refs} | {ratios} |"
