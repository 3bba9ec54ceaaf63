"""Runs the benchmark cases in one process and prints a table last, one line a case.

Each case checks its result against its reference in the same run; a failed
check (or a case that raised) marks its row FAILED and makes the exit status 1.
    python3 benchmarks/run.py [--quick] [--only GROUP[,GROUP...]] [--list] [--json FILE]
    (or, from the repository root, python -m benchmarks.run ...)
Groups: launch, compile, vector_add, softmax, norms, memory, gemm, fp8, w8a16, moe,
attention, attention_bwd, decode, varlen, training (default: all).
--quick runs a few cases of each group with shorter timings (a smoke test);
--list prints the cases that would run, and needs neither torch nor a GPU.
"""
from __future__ import annotations

import argparse
import datetime
import importlib
import json
import os
import sys

if __name__ == "__main__" and not __package__:
    # Run as a file (python3 benchmarks/run.py, as scripts/gpu-suite.sh and the docs
    # do): Python put benchmarks/ first on sys.path, where the package's modules
    # cannot import each other; the repository root goes there instead, and this
    # file runs as part of the package. The one bootstrap: every other module is
    # imported through the package.
    sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    __package__ = "benchmarks"

# Each group's module (in this package): its bench(...) gives the rows, row(r) a line.
GROUP_MODULES = {"launch": "launch_overhead", "compile": "compile_time",
                 "vector_add": "bench_vector_add", "softmax": "bench_softmax",
                 "norms": "bench_norms", "memory": "bench_memory", "gemm": "bench_gemm",
                 "fp8": "bench_fp8", "w8a16": "bench_w8a16", "moe": "bench_moe",
                 "attention": "bench_attention", "attention_bwd": "bench_attention_backward",
                 "decode": "bench_decode", "varlen": "bench_varlen", "training": "bench_training"}
GROUPS = tuple(GROUP_MODULES)


def parse_groups(text: str) -> list[str]:
    groups = [g.strip() for g in text.split(",") if g.strip()]
    unknown = [g for g in groups if g not in GROUPS]
    if unknown or not groups:
        raise argparse.ArgumentTypeError(f"unknown group(s) {unknown or text!r}; "
                                         f"choose from {', '.join(GROUPS)}")
    return groups


def group_module(group: str):
    return importlib.import_module(f"{__package__}.{GROUP_MODULES[group]}")


# The groups whose one or few cases are fixed; every other group's module gives
# cases(quick) and case_name(*case), and imports without torch.
FIXED_CASES = {"launch": ["launch overhead (cached, 4 args)",
                          "CUDA graph of 100 cached launches (vector add 4096)"],
               "compile": ["cold compile, vector add", "cold compile, GEMM 128x256x64",
                           "cold compile, attention d128 128x128"],
               "vector_add": ["vector add 2^28 f32"]}


def case_names(groups: list[str], quick: bool) -> list[str]:
    names = []
    for group in groups:
        if group in FIXED_CASES:
            names += FIXED_CASES[group]
        else:
            module = group_module(group)
            names += [module.case_name(*case) for case in module.cases(quick)]
    return names


def run_group(group: str, quick: bool) -> list[dict]:
    """The results of one group; a group that raises gives one FAILED row."""
    try:
        module = group_module(group)
        if group == "launch":
            return [dict(module.bench(), kind="launch"), dict(module.bench_graph(), kind="launch")]
        if group == "compile":
            return [dict(module.bench(), kind="compile"), dict(module.bench_gemm(), kind="compile"),
                    dict(module.bench_attention(), kind="compile")]
        if group == "vector_add":
            return [dict(module.bench(), kind="vector_add")]
        return module.bench(quick=quick)
    except Exception as e:
        return [{"case": f"{group} (whole group)", "kind": group, "correct": False,
                 "error": f"{type(e).__name__}: {str(e).splitlines()[0][:200]}"}]


def row(r: dict) -> str:
    if "error" in r:
        return f"| {r['case']} | FAILED: {r['error']} | | | |"
    return group_module(r["kind"]).row(r)


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
