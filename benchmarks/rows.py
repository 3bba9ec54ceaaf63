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
