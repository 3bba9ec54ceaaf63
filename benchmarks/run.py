"""Runs the benchmark cases in one process and prints a table last, one line a case.

Each case checks its result against its reference in the same run; a failed
check (or a case that raised) marks its row FAILED and makes the exit status 1.
    python3 benchmarks/run.py [--quick] [--only GROUP[,GROUP...]] [--list] [--json FILE]
Groups: launch, compile, vector_add, softmax, gemm, attention (default: all).
--quick runs a few cases of each group with shorter timings (a smoke test);
--list prints the cases that would run, and needs neither torch nor a GPU.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))

GROUPS = ("launch", "compile", "vector_add", "softmax", "gemm", "attention")


def parse_groups(text: str) -> list[str]:
    groups = [g.strip() for g in text.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise argparse.ArgumentTypeError(f"unknown group(s) {unknown or text!r}; "
                                         f"choose from {', '.join(GROUPS)}")
    return groups


def case_names(groups: list[str], quick: bool) -> list[str]:
    import bench_attention
    import bench_gemm
    names = {"launch": ["launch overhead (cached, 4 args)"],
             "compile": ["cold compile, vector add", "cold compile, GEMM 128x256x64",
                         "cold compile, attention d128 128x128"],
             "vector_add": ["vector add 2^28 f32"],
             "softmax": ["softmax 65536x1024 f16"] + ([] if quick else ["softmax 32768x2048 f16"]),
             "gemm": [bench_gemm.case_name(*c) for c in bench_gemm.cases(quick)],
             "attention": [bench_attention.case_name(*c) for c in bench_attention.cases(quick)]}
    return [name for g in groups for name in names[g]]


def vector_add_row(r: dict) -> str:
    check = "exact" if r["correct"] else "FAILED (differs from torch)"
    return (f"| {r['case']} | {check} | {r['tile_GBps']:.0f} GB/s | torch.add "
            f"{r['torch_GBps']:.0f} GB/s (copy {r['copy_GBps']:.0f}) | {r['vs_torch']:.3f} "
            f"(vs copy {r['vs_copy']:.3f}) |")


def run_group(group: str, quick: bool) -> list[dict]:
    """The results of one group; a group that raises gives one FAILED row."""
    try:
        if group == "launch":
            import launch_overhead
            return [dict(launch_overhead.bench(), kind="launch")]
        if group == "compile":
            import compile_time
            return [dict(compile_time.bench(), kind="compile"),
                    dict(compile_time.bench_gemm(), kind="compile"),
                    dict(compile_time.bench_attention(), kind="compile")]
        if group == "vector_add":
            import bench_vector_add
            return [dict(bench_vector_add.bench(), kind="vector_add")]
        if group == "softmax":
            import bench_softmax
            cases = [(65536, 1024, 4, 1024)] + ([] if quick else [(32768, 2048, 2, 2048)])
            return [bench_softmax.bench_case(*c) for c in cases]
        if group == "gemm":
            import bench_gemm
            return bench_gemm.bench(quick=quick)
        import bench_attention
        return bench_attention.bench(quick=quick)
    except Exception as e:
        return [{"case": f"{group} (whole group)", "kind": group, "correct": False,
                 "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}]


def row(r: dict) -> str:
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    if r["kind"] == "vector_add":
        return vector_add_row(r)
    import importlib
    module = {"launch": "launch_overhead", "compile": "compile_time", "softmax": "bench_softmax",
              "gemm": "bench_gemm", "attention": "bench_attention"}[r["kind"]]
    return importlib.import_module(module).row(r)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", type=parse_groups, default=list(GROUPS),
                        help=f"comma-separated groups: {', '.join(GROUPS)}")
    parser.add_argument("--quick", action="store_true", help="few cases, short timings")
    parser.add_argument("--list", action="store_true", help="print the cases and exit")
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args(argv)
    if args.list:
        print("\n".join(case_names(args.only, args.quick)))
        return 0
    import torch
    device = torch.cuda.get_device_name()
    results = []
    for group in args.only:  # host-side groups first, before big allocations
        results += run_group(group, args.quick)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.date.today().isoformat(), "device": device,
                       "quick": args.quick, "groups": args.only, "results": results}, f,
                      indent=2, default=str)
    print(f"\n{device}, {datetime.date.today().isoformat()}"
          f"{' (--quick)' if args.quick else ''}")
    lines, failed = report(results)
    print("\n".join(lines))
    return 1 if failed else 0


def report(results: list[dict]) -> tuple[list[str], list[str]]:
    """The table (one line a case) and the names of the cases that failed."""
    failed = [r["case"] for r in results if not r.get("correct")]
    lines = ["| case | check | tile | reference | tile / reference |", "|---|---|---|---|---|"]
    lines += [row(r) for r in results]
    if failed:
        lines.append(f"\n{len(failed)} case(s) FAILED: {', '.join(failed)}")
    return lines, failed


if __name__ == "__main__":
    sys.exit(main())
