"""Runs every benchmark case in one process and prints a table last.

Each case checks its result against the reference in the same run; a figure
whose check failed is marked, never reported as a win.
    python3 benchmarks/run.py [--json FILE]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--json", help="write the results here")
    args = parser.parse_args()
    import torch
    import bench_attention
    import bench_gemm
    import bench_softmax
    import bench_vector_add
    import compile_time
    import launch_overhead
    device = torch.cuda.get_device_name()
    # Host-side measurements first, before big allocations.
    rows = {"launch": launch_overhead, "compile": compile_time, "gemm": bench_gemm,
            "softmax": bench_softmax, "attention": bench_attention}
    results = [dict(launch_overhead.bench(), kind="launch"),
               dict(compile_time.bench(), kind="compile"),
               dict(compile_time.bench_gemm(), kind="compile"), bench_vector_add.bench()]
    results += bench_softmax.bench()
    results += bench_gemm.bench()
    results += bench_attention.bench()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"date": datetime.date.today().isoformat(), "device": device,
                       "results": results}, f, indent=2)
    print(f"\n{device}, {datetime.date.today().isoformat()}")
    print(f"| case | check | tile | reference | tile / reference |")
    print(f"|---|---|---|---|---|")
    for r in results:
        if r.get("kind") in rows:
            print(rows[r["kind"]].row(r))
            continue
        check = "exact" if r["correct"] else "WRONG"
        print(f"| {r['case']} | {check} | {r['tile_GBps']:.0f} GB/s | torch.add "
              f"{r['torch_GBps']:.0f} GB/s (copy {r['copy_GBps']:.0f}) | {r['vs_torch']:.3f} "
              f"(vs copy {r['vs_copy']:.3f}) |")
    return 0 if all(r["correct"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
