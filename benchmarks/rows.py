"""What the throughput benchmarks share: run each case, and turn a case that
raised into a FAILED row (the other cases still run)."""
from __future__ import annotations


def failed_row(case: str, kind: str, error: Exception) -> dict:
    lines = " / ".join(str(error).splitlines()[:4])[:400]
    return {"case": case, "kind": kind, "correct": False,
            "error": f"{type(error).__name__}: {lines}"}


def run_cases(cases, kind: str, bench_case, case_name, row, quick: bool) -> list[dict]:
    """bench_case(*case, warmup=, rep=) for each case, printing each row as it lands."""
    rows = []
    warmup, rep = (25, 100) if quick else (100, 500)
    for case in cases:
        try:
            rows.append(bench_case(*case, warmup=warmup, rep=rep))
        except Exception as e:  # noqa: BLE001 - the row fails, the others still run
            rows.append(failed_row(case_name(*case), kind, e))
        print(row(rows[-1]), flush=True)
    return rows


def bandwidth_row(r: dict) -> str:
    """A memory-bound benchmark's row: tile's GB/s beside torch's (and
    torch.compile's) and a device copy's."""
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    worst = max(r["rel_errors"])
    check = f"rel err {worst:.1e}" if r["correct"] else f"WRONG (rel err {worst:.1e})"
    g = r["GBps"]
    refs = f"torch {g['torch']:.0f}" + (f", torch.compile {g['torch.compile']:.0f}"
                                        if "torch.compile" in g else "")
    ratios = f"{r['vs_torch']:.3f} × torch" + (f", {r['vs_compile']:.3f} × torch.compile"
                                               if r["vs_compile"] else "")
    return (f"| {r['case']} | {check} | {g['tile']:.0f} GB/s | {refs} GB/s (copy "
            f"{g['copy']:.0f}) | {ratios} (vs copy {r['vs_copy']:.3f}) |")


def interleaved(runs: dict, warmup: int, rep: int, rounds: int = 5) -> tuple[dict, dict]:
    """Times each of `runs` in `rounds` rounds that take the runners in turn,
    each round starting one runner later (no runner always first while the
    GPU's clocks drift as it warms up, none always right after the same
    other): do_bench medians, `warmup` and `rep` ms spread over the rounds.
    Returns each runner's median over its rounds and the rounds themselves."""
    import statistics

    from triton.testing import do_bench
    names = list(runs)
    per_round = {name: [] for name in names}
    for r in range(rounds):
        for name in names[r % len(names):] + names[:r % len(names)]:
            per_round[name].append(do_bench(runs[name], warmup=max(1, warmup // rounds),
                                            rep=max(1, rep // rounds), return_mode="median"))
    return {name: statistics.median(t) for name, t in per_round.items()}, per_round


def check_each(runs: dict, out, ref, label: str) -> None:
    """Runs each of `runs` but the first (the reference, which wrote `ref`)
    into `out`, filled with NaN before, and exits naming the first whose
    result is off (relative Frobenius error of 1e-2 or more)."""
    import torch
    for name, run in list(runs.items())[1:]:
        out.fill_(float("nan"))
        run()
        torch.cuda.synchronize()
        error = float((out.float() - ref.float()).norm() / ref.float().norm())
        if not error < 1e-2:
            raise SystemExit(f"{label} {name}: rel err {error:.1e}, WRONG")


def timed(runs: dict, flops: float, warmup: int, rep: int) -> dict:
    """Interleaved medians of each runner ("tile" first among them) and the
    fields of a throughput row: TFLOP/s per side and reference time / tile
    time (the median of the rounds' ratios beside it as a check on drift)."""
    import statistics
    ms, rounds = interleaved(runs, warmup, rep)
    tflops = {name: flops / (t * 1e-3) / 1e12 for name, t in ms.items()}
    return dict(ms=ms, rounds_ms=rounds, tile_TFLOPs=tflops.pop("tile"), ref_TFLOPs=tflops,
                vs={name: ms[name] / ms["tile"] for name in tflops},
                vs_round_median={name: statistics.median(
                    ref / t for ref, t in zip(rounds[name], rounds["tile"])) for name in tflops})


def fastest(runs: dict, rounds: int = 3, medians: dict | None = None) -> str:
    """The name of the fastest of `runs` (each run once first, so that an
    autotuned kernel has tuned): choosing between tuned kernels of one job
    (plain, persistent, cluster), as an autotuner chooses between
    configurations: `interleaved` rounds (10 ms warm-up and 40 ms of repeats
    each), each kernel's time the median of its rounds."""
    for fn in runs.values():
        fn()
    median, _ = interleaved(runs, warmup=10 * rounds, rep=40 * rounds, rounds=rounds)
    if medians is not None:  # the caller keeps them (the benchmark rows record them)
        medians.update(median)
    return min(median, key=median.get)


def throughput_row(r: dict, check: str) -> str:
    """One line of a GEMM or attention table: case | check | tile | references |
    tile / reference, from a row `timed` filled (or a failed row)."""
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    refs = ", ".join(f"{name} {t:.0f}" for name, t in r["ref_TFLOPs"].items())
    ratios = ", ".join(f"{v:.3f} × {name}" for name, v in r["vs"].items())
    return (f"| {r['case']} | {check} | {r['tile_TFLOPs']:.0f} TFLOP/s ({r['tile_config']}) | "
            f"{refs} TFLOP/s | {ratios} |")
